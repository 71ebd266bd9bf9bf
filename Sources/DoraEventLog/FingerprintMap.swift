internal import CPrefetch
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
/// avoids re-hashing with SipHash on every lookup (the ingest hot path). The values sit in
/// parallel arrays, touched only on a hit, so a probe reads 16-byte keys alone; a value's two
/// fields have an array each, 12 bytes where a `StoredCopy` takes 16. Memory: 28 bytes a slot,
/// load factor at most 0.8: a 64 MiB segment of generated events (about 820,000 ids) then fits
/// 2^20 slots, where at 0.7 it took 2^21 (29 MB more at the peak of a restart over 100M events;
/// an insert probes about 3 slots on average over the filling, 2 at 0.7). The all-zero
/// fingerprint is kept apart (zero marks an empty slot).
struct FingerprintMap {
    private var slots: [IDFingerprint]
    /// Per slot, its value's `content` and `ordinal`.
    private var contents: [UInt64]
    private var ordinals: [UInt32]
    private var mask: Int
    private var zeroValue: StoredCopy?
    private(set) var count = 0

    init(minimumCapacity: Int = 1024) {
        var size = 16
        while size * 8 / 10 < minimumCapacity { size *= 2 }
        slots = HugePages.array(repeating: IDFingerprint(high: 0, low: 0), count: size)
        contents = HugePages.array(repeating: 0, count: size)
        ordinals = HugePages.array(repeating: 0, count: size)
        mask = size - 1
    }

    var isEmpty: Bool { count == 0 }

    func contains(_ f: IDFingerprint) -> Bool {
        slot(of: f) != nil
    }

    /// Starts loading the slot a lookup or insert of `f` starts at.
    func prefetch(_ f: IDFingerprint) {
        guard !slots.isEmpty else { return }
        let i = Int(truncatingIfNeeded: f.low) & mask
        slots.withUnsafeBufferPointer { doralog_prefetch($0.baseAddress! + i) }
    }

    /// The value stored for `f`, or nil.
    subscript(_ f: IDFingerprint) -> StoredCopy? {
        guard let i = slot(of: f) else { return nil }
        return i < 0 ? zeroValue : StoredCopy(content: contents[i], ordinal: ordinals[i])
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
        if (count + 1) * 10 > slots.count * 8 { grow() }
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
        contents[inserted] = value.content
        ordinals[inserted] = value.ordinal
        count += 1
        return true
    }

    private mutating func grow() {
        let (oldSlots, oldContents, oldOrdinals) = (slots, contents, ordinals)
        slots = HugePages.array(repeating: IDFingerprint(high: 0, low: 0), count: oldSlots.count * 2)
        contents = HugePages.array(repeating: 0, count: oldSlots.count * 2)
        ordinals = HugePages.array(repeating: 0, count: oldSlots.count * 2)
        mask = slots.count - 1
        count = zeroValue == nil ? 0 : 1
        for (i, e) in oldSlots.enumerated() where e.high != 0 || e.low != 0 {
            insert(e, StoredCopy(content: oldContents[i], ordinal: oldOrdinals[i]))
        }
    }

    /// Calls `body` with the members and their values in ascending order of fingerprint, as a
    /// sealed segment's sidecar lists them, then empties the map, keeping its size (the next
    /// segment's ids will be about as many, and regrowing to them would hold the old and the
    /// new arrays at once: 44 MB at the last doubling for a full segment).
    ///
    /// The members are sorted in the map's own arrays, not copied: a sorted copy would add
    /// 32 bytes per member (26 MB for a full segment) at the seal, the peak of a large ingest.
    /// Should `body` throw, the map is rebuilt and answers as before.
    mutating func withMembersSortedInPlace<Value>(
        _ body: (SortedMembers) throws(EventLogError) -> Value
    ) throws(EventLogError) -> Value {
        let n = slots.withUnsafeMutableBufferPointer { s in
            contents.withUnsafeMutableBufferPointer { c in
                ordinals.withUnsafeMutableBufferPointer { o in
                    // The members to the front (empty slots come after them), then sorted there.
                    var n = 0
                    for i in s.indices where s[i].high != 0 || s[i].low != 0 {
                        (s[n], c[n], o[n]) = (s[i], c[i], o[i])
                        n += 1
                    }
                    Self.sort(s, Columns(contents: c, ordinals: o), 0..<n, shift: 120)
                    return n
                }
            }
        }
        let result: Result<Value, EventLogError> = slots.withUnsafeBufferPointer { s in
            contents.withUnsafeBufferPointer { c in
                ordinals.withUnsafeBufferPointer { o in
                    let members = SortedMembers(
                        zeroValue: zeroValue, fingerprints: UnsafeBufferPointer(rebasing: s[..<n]),
                        contents: UnsafeBufferPointer(rebasing: c[..<n]), ordinals: UnsafeBufferPointer(rebasing: o[..<n]))
                    return Result { () throws(EventLogError) in try body(members) }
                }
            }
        }
        guard case .failure = result else {
            removeAll()
            return try result.get()
        }
        // The members are no longer where a lookup probes for them: put them back.
        var rebuilt = FingerprintMap(minimumCapacity: count)
        if let zeroValue { rebuilt.insert(IDFingerprint(high: 0, low: 0), zeroValue) }
        for i in 0..<n { rebuilt.insert(slots[i], StoredCopy(content: contents[i], ordinal: ordinals[i])) }
        self = rebuilt
        return try result.get()
    }

    /// Sorts `range` of the fingerprints ascending, moving each value with its fingerprint:
    /// an in-place radix sort on the byte of the 128-bit fingerprint at bit `shift` (an
    /// American flag sort), then each bucket on the next byte, small ones by insertion. With
    /// uniform fingerprints a full segment's members need two levels; the buckets of the
    /// second fit the cache.
    private static func sort(_ s: UnsafeMutableBufferPointer<IDFingerprint>, _ v: Columns, _ range: Range<Int>, shift: Int) {
        guard range.count > 32 && shift >= 0 else {
            for i in range.dropFirst() {
                var j = i
                while j > range.lowerBound && s[j] < s[j - 1] {
                    s.swapAt(j, j - 1)
                    v.swapAt(j, j - 1)
                    j -= 1
                }
            }
            return
        }
        @inline(__always) func digit(_ f: IDFingerprint) -> Int {
            Int(truncatingIfNeeded: (shift >= 64 ? f.high >> UInt64(shift - 64) : f.low >> UInt64(shift)) & 0xFF)
        }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 512) { bounds in
            // bounds[b]: where bucket b's next unplaced member goes; bounds[256 + b]: its end.
            bounds.initialize(repeating: 0)
            for i in range { bounds[256 + digit(s[i])] += 1 }
            var start = range.lowerBound
            for b in 0..<256 {
                bounds[b] = start
                start += bounds[256 + b]
                bounds[256 + b] = start
            }
            for b in 0..<256 {
                while bounds[b] < bounds[256 + b] {
                    let i = bounds[b]
                    let d = digit(s[i])
                    if d == b {
                        bounds[b] += 1
                    } else {
                        s.swapAt(i, bounds[d])
                        v.swapAt(i, bounds[d])
                        bounds[d] += 1
                    }
                }
            }
            var lower = range.lowerBound
            for b in 0..<256 {
                let upper = bounds[256 + b]
                if upper - lower > 1 { sort(s, v, lower..<upper, shift: shift - 8) }
                lower = upper
            }
        }
    }

    /// The members of a map in ascending order of fingerprint, read in place in its arrays
    /// (`withMembersSortedInPlace`); valid only inside that call.
    struct SortedMembers: RandomAccessCollection {
        /// The value of the all-zero fingerprint, which has no slot and comes first.
        fileprivate let zeroValue: StoredCopy?
        fileprivate let fingerprints: UnsafeBufferPointer<IDFingerprint>
        fileprivate let contents: UnsafeBufferPointer<UInt64>
        fileprivate let ordinals: UnsafeBufferPointer<UInt32>

        var startIndex: Int { 0 }
        var endIndex: Int { fingerprints.count + (zeroValue == nil ? 0 : 1) }

        subscript(position: Int) -> (IDFingerprint, StoredCopy) {
            guard let zeroValue else { return member(position) }
            return position == 0 ? (IDFingerprint(high: 0, low: 0), zeroValue) : member(position - 1)
        }

        private func member(_ i: Int) -> (IDFingerprint, StoredCopy) {
            (fingerprints[i], StoredCopy(content: contents[i], ordinal: ordinals[i]))
        }
    }

    /// The value arrays of the slots being sorted, swapped together.
    private struct Columns {
        let contents: UnsafeMutableBufferPointer<UInt64>
        let ordinals: UnsafeMutableBufferPointer<UInt32>

        func swapAt(_ i: Int, _ j: Int) {
            contents.swapAt(i, j)
            ordinals.swapAt(i, j)
        }
    }

    /// Empties the map and keeps its size.
    mutating func removeAll() {
        slots.withUnsafeMutableBufferPointer { $0.update(repeating: IDFingerprint(high: 0, low: 0)) }
        zeroValue = nil
        count = 0
    }

    /// Calls `body` with every member's fingerprint, in no particular order.
    func forEachFingerprint(_ body: (IDFingerprint) -> Void) {
        if zeroValue != nil { body(IDFingerprint(high: 0, low: 0)) }
        for e in slots where e.high != 0 || e.low != 0 { body(e) }
    }
}
