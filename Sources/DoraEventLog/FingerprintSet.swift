import DoraEvents
/// An exact set of id fingerprints: open addressing with linear probing.
///
/// Fingerprints are uniformly distributed already, so their low bits are the slot; this
/// avoids re-hashing with SipHash on every lookup (the ingest hot path). Memory: 16 bytes a
/// slot, load factor at most 0.7. The all-zero fingerprint is kept in a flag (zero marks an
/// empty slot).
struct FingerprintSet: Sequence {
    private var slots: [IDFingerprint]
    private var mask: Int
    private var hasZero = false
    private(set) var count = 0

    init(minimumCapacity: Int = 1024) {
        var size = 16
        while size * 7 / 10 < minimumCapacity { size *= 2 }
        slots = [IDFingerprint](repeating: IDFingerprint(high: 0, low: 0), count: size)
        mask = size - 1
    }

    var isEmpty: Bool { count == 0 }

    func contains(_ f: IDFingerprint) -> Bool {
        if f.high == 0 && f.low == 0 { return hasZero }
        return slots.withUnsafeBufferPointer { s in
            var i = Int(truncatingIfNeeded: f.low) & mask
            while true {
                let e = s[i]
                if e.high == f.high && e.low == f.low { return true }
                if e.high == 0 && e.low == 0 { return false }
                i = (i + 1) & mask
            }
        }
    }

    /// Inserts `f`; returns false if it was there already.
    @discardableResult
    mutating func insert(_ f: IDFingerprint) -> Bool {
        if f.high == 0 && f.low == 0 {
            if hasZero { return false }
            hasZero = true
            count += 1
            return true
        }
        if (count + 1) * 10 > slots.count * 7 { grow() }
        let m = mask
        let inserted = slots.withUnsafeMutableBufferPointer { s -> Bool in
            var i = Int(truncatingIfNeeded: f.low) & m
            while true {
                let e = s[i]
                if e.high == f.high && e.low == f.low { return false }
                if e.high == 0 && e.low == 0 {
                    s[i] = f
                    return true
                }
                i = (i + 1) & m
            }
        }
        if inserted { count += 1 }
        return inserted
    }

    private mutating func grow() {
        let old = slots
        let hadZero = hasZero
        slots = [IDFingerprint](repeating: IDFingerprint(high: 0, low: 0), count: old.count * 2)
        mask = slots.count - 1
        count = 0
        hasZero = false
        for e in old where e.high != 0 || e.low != 0 { insert(e) }
        if hadZero { insert(IDFingerprint(high: 0, low: 0)) }
    }

    /// The members in ascending order, as a sealed segment's sidecar lists them. One pass
    /// scatters them into buckets by their top 16 bits (fingerprints are uniform, so buckets
    /// are small), then each bucket is sorted: a few times faster than sorting the whole.
    func sortedMembers() -> [IDFingerprint] {
        let zero = IDFingerprint(high: 0, low: 0)
        var out = [IDFingerprint](repeating: zero, count: count)
        var next = [Int](repeating: 0, count: 1 << 16 + 1)
        slots.withUnsafeBufferPointer { s in
            for e in s where e.high != 0 || e.low != 0 { next[Int(e.high >> 48) + 1] += 1 }
            // The all-zero fingerprint, the smallest of all, goes first.
            next[0] = hasZero ? 1 : 0
            for b in 1..<next.count { next[b] += next[b - 1] }
            let starts = next
            out.withUnsafeMutableBufferPointer { o in
                for e in s where e.high != 0 || e.low != 0 {
                    let b = Int(e.high >> 48)
                    o[next[b]] = e
                    next[b] += 1
                }
                for b in 0..<(1 << 16) where next[b] - starts[b] > 1 {
                    o[starts[b]..<next[b]].sort()
                }
            }
        }
        return out
    }

    func makeIterator() -> AnyIterator<IDFingerprint> {
        var i = 0
        var zeroPending = hasZero
        let slots = self.slots
        return AnyIterator {
            if zeroPending {
                zeroPending = false
                return IDFingerprint(high: 0, low: 0)
            }
            while i < slots.count {
                let e = slots[i]
                i += 1
                if e.high != 0 || e.low != 0 { return e }
            }
            return nil
        }
    }
}
