import DoraEvents

/// What the id index keeps of the stored copy of an id, so that a later message with the same
/// id can be told apart as a plain redelivery or a conflicting duplicate, and the copy found.
///
/// Invariant: `content` is `ContentFingerprint.of` the copy's binary record; `ordinal` is the
/// copy's place among the records of its segment, from 0 (in an append not yet committed:
/// among that append's stored events).
struct StoredCopy: Equatable, Sendable {
    var content: UInt64
    var ordinal: UInt32
}

/// The fingerprint of an event's content: 64 bits of MurmurHash3 over its binary record.
///
/// The binary record is the decoded event (docs/log-format.md, "Records frame"), so two
/// messages that differ only in spelling (member order, white space, escapes, a time written
/// in another offset, unknown fields) have the same content; any difference in a field
/// doralog reads gives another fingerprint, except with probability 2^-64.
enum ContentFingerprint {
    static func of(record: UnsafeRawBufferPointer) -> UInt64 {
        IDFingerprint(bytes: record).low
    }
}

/// An exact map from id fingerprints to their `StoredCopy`: open addressing with linear
/// probing.
///
/// Fingerprints are uniformly distributed already, so their low bits are the slot; this
/// avoids re-hashing with SipHash on every lookup (the ingest hot path). The values sit in a
/// parallel array, touched only on a hit, so a probe reads 16-byte keys alone. Memory: 32 bytes
/// a slot, load factor at most 0.7. The all-zero fingerprint is kept apart (zero marks an
/// empty slot).
struct FingerprintMap {
    private var slots: [IDFingerprint]
    private var values: [StoredCopy]
    private var mask: Int
    private var zeroValue: StoredCopy?
    private(set) var count = 0

    init(minimumCapacity: Int = 1024) {
        var size = 16
        while size * 7 / 10 < minimumCapacity { size *= 2 }
        slots = [IDFingerprint](repeating: IDFingerprint(high: 0, low: 0), count: size)
        values = [StoredCopy](repeating: StoredCopy(content: 0, ordinal: 0), count: size)
        mask = size - 1
    }

    var isEmpty: Bool { count == 0 }

    func contains(_ f: IDFingerprint) -> Bool {
        slot(of: f) != nil
    }

    /// The value stored for `f`, or nil.
    subscript(_ f: IDFingerprint) -> StoredCopy? {
        guard let i = slot(of: f) else { return nil }
        return i < 0 ? zeroValue : values[i]
    }

    /// The slot holding `f` (-1 for the zero fingerprint), or nil.
    @inline(__always) private func slot(of f: IDFingerprint) -> Int? {
        if f.high == 0 && f.low == 0 { return zeroValue == nil ? nil : -1 }
        return slots.withUnsafeBufferPointer { s in
            var i = Int(truncatingIfNeeded: f.low) & mask
            while true {
                let e = s[i]
                if e.high == f.high && e.low == f.low { return i }
                if e.high == 0 && e.low == 0 { return nil }
                i = (i + 1) & mask
            }
        }
    }

    /// Inserts `f` with `value`; returns false (and changes nothing) if `f` was there already.
    @discardableResult
    mutating func insert(_ f: IDFingerprint, _ value: StoredCopy) -> Bool {
        if f.high == 0 && f.low == 0 {
            if zeroValue != nil { return false }
            zeroValue = value
            count += 1
            return true
        }
        if (count + 1) * 10 > slots.count * 7 { grow() }
        let m = mask
        let inserted = slots.withUnsafeMutableBufferPointer { s -> Int? in
            var i = Int(truncatingIfNeeded: f.low) & m
            while true {
                let e = s[i]
                if e.high == f.high && e.low == f.low { return nil }
                if e.high == 0 && e.low == 0 {
                    s[i] = f
                    return i
                }
                i = (i + 1) & m
            }
        }
        guard let inserted else { return false }
        values[inserted] = value
        count += 1
        return true
    }

    private mutating func grow() {
        let oldSlots = slots
        let oldValues = values
        slots = [IDFingerprint](repeating: IDFingerprint(high: 0, low: 0), count: oldSlots.count * 2)
        values = [StoredCopy](repeating: StoredCopy(content: 0, ordinal: 0), count: oldSlots.count * 2)
        mask = slots.count - 1
        count = zeroValue == nil ? 0 : 1
        for (i, e) in oldSlots.enumerated() where e.high != 0 || e.low != 0 { insert(e, oldValues[i]) }
    }

    /// The members with their values, in ascending order of fingerprint, as a sealed segment's
    /// sidecar lists them. One pass scatters them into buckets by their top 16 bits
    /// (fingerprints are uniform, so buckets are small), then each bucket is sorted: a few
    /// times faster than sorting the whole.
    func sortedMembers() -> [(IDFingerprint, StoredCopy)] {
        let zero = IDFingerprint(high: 0, low: 0)
        var out = [(IDFingerprint, StoredCopy)](repeating: (zero, StoredCopy(content: 0, ordinal: 0)), count: count)
        var next = [Int](repeating: 0, count: 1 << 16 + 1)
        slots.withUnsafeBufferPointer { s in
            for e in s where e.high != 0 || e.low != 0 { next[Int(e.high >> 48) + 1] += 1 }
            // The all-zero fingerprint, the smallest of all, goes first.
            if let zeroValue {
                next[0] = 1
                out[0] = (zero, zeroValue)
            }
            for b in 1..<next.count { next[b] += next[b - 1] }
            let starts = next
            out.withUnsafeMutableBufferPointer { o in
                for (i, e) in s.enumerated() where e.high != 0 || e.low != 0 {
                    let b = Int(e.high >> 48)
                    o[next[b]] = (e, values[i])
                    next[b] += 1
                }
                for b in 0..<(1 << 16) where next[b] - starts[b] > 1 {
                    o[starts[b]..<next[b]].sort { $0.0 < $1.0 }
                }
            }
        }
        return out
    }

    /// Calls `body` with every member's fingerprint, in no particular order.
    func forEachFingerprint(_ body: (IDFingerprint) -> Void) {
        if zeroValue != nil { body(IDFingerprint(high: 0, low: 0)) }
        for e in slots where e.high != 0 || e.low != 0 { body(e) }
    }
}
