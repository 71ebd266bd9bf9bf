#if canImport(Glibc)
import Glibc
#endif
import DoraEvents

/// A hash table keyed by string fingerprints, for the maps the metrics consult millions of
/// times (positions by id; the newest of the commits a retention forgot, in front of
/// `SortedFingerprintTable`), where a `Dictionary` spends most of its time hashing the key
/// again with SipHash.
///
/// Open addressing with linear probing on the fingerprint's own low bits (already uniform),
/// key and value side by side in one slot, so a lookup that hits costs one cache line. No
/// removal: a smaller table is built with `filter`. Two strings sharing a 128-bit fingerprint
/// share an entry; a user that cannot accept that checks the key it finds.
///
/// Invariants: the slot count is zero (nothing held yet: an empty table allocates nothing)
/// or a power of two of at least 16, and at most 5/8 of the slots are full; an
/// empty slot holds the all-zero fingerprint, so that key itself lives in `zeroKeyValue`.
/// Iteration is in slot order, which depends only on the starting capacity and the keys in
/// insertion order: the same insertions give the same order (reports that list items in it
/// stay byte-identical).
struct FingerprintTable<Value: BitwiseCopyable & Sendable>: Sendable {
    private struct Slot: Sendable {
        var key: IDFingerprint
        var value: Value
    }

    private var slots: [Slot]
    /// The value of the all-zero fingerprint, which marks empty slots.
    private var zeroKeyValue: Value?
    private(set) var count = 0

    /// A table that holds `capacity` keys without growing.
    init(capacity: Int = 0) {
        slots = SlotSizing.zeroed(SlotSizing.count(forCapacity: capacity))
    }

    var isEmpty: Bool { count == 0 }

    private static var emptyKey: IDFingerprint { IDFingerprint(high: 0, low: 0) }

    subscript(key: IDFingerprint) -> Value? {
        guard key != Self.emptyKey else { return zeroKeyValue }
        guard !slots.isEmpty else { return nil }
        return slots.withUnsafeBufferPointer { s in
            let mask = s.count - 1
            var i = Int(truncatingIfNeeded: key.low) & mask
            while s[i].key != Self.emptyKey {
                if s[i].key == key { return s[i].value }
                i = (i + 1) & mask
            }
            return nil
        }
    }

    /// Lets `update` change `key`'s value, inserting `initial` first when the key is new
    /// (`isNew`); returns what `update` returns. Grows before it looks, should one more key
    /// pass the load limit.
    @discardableResult
    mutating func withValue<R>(
        forKey key: IDFingerprint, inserting initial: Value, _ update: (_ value: inout Value, _ isNew: Bool) -> R
    ) -> R {
        if SlotSizing.isFull(count: count, slots: slots.count) { grow() }
        if key == Self.emptyKey {
            let isNew = zeroKeyValue == nil
            if isNew { count += 1 }
            var value = zeroKeyValue ?? initial
            defer { zeroKeyValue = value }
            return update(&value, isNew)
        }
        let (result, isNew) = slots.withUnsafeMutableBufferPointer { s in
            let mask = s.count - 1
            var i = Int(truncatingIfNeeded: key.low) & mask
            while s[i].key != Self.emptyKey {
                if s[i].key == key { return (update(&s[i].value, false), false) }
                i = (i + 1) & mask
            }
            s[i] = Slot(key: key, value: initial)
            return (update(&s[i].value, true), true)
        }
        if isNew { count += 1 }
        return result
    }

    /// Sets `key`'s value; returns the one it replaces, if any.
    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: IDFingerprint) -> Value? {
        withValue(forKey: key, inserting: value) { held, isNew in
            guard !isNew else { return nil }
            defer { held = value }
            return held
        }
    }

    /// Calls `body` with every key and its value, in slot order.
    func forEach(_ body: (_ key: IDFingerprint, _ value: Value) -> Void) {
        if let zeroKeyValue { body(Self.emptyKey, zeroKeyValue) }
        for slot in slots where slot.key != Self.emptyKey { body(slot.key, slot.value) }
    }

    /// The entries `isIncluded` accepts, in a table sized for them.
    func filter(_ isIncluded: (_ key: IDFingerprint, _ value: Value) -> Bool) -> FingerprintTable {
        var kept = 0
        forEach { key, value in if isIncluded(key, value) { kept += 1 } }
        var table = FingerprintTable(capacity: kept)
        forEach { key, value in if isIncluded(key, value) { table.updateValue(value, forKey: key) } }
        return table
    }

    /// Doubles the slots (or makes the first 16), placing every entry again in slot order.
    private mutating func grow() {
        let old = slots
        slots = SlotSizing.zeroed(SlotSizing.grown(old.count))
        slots.withUnsafeMutableBufferPointer { s in
            let mask = s.count - 1
            for slot in old where slot.key != Self.emptyKey {
                var i = Int(truncatingIfNeeded: slot.key.low) & mask
                while s[i].key != Self.emptyKey { i = (i + 1) & mask }
                s[i] = slot
            }
        }
    }
}

extension FingerprintTable where Value: Comparable {
    /// Keeps the larger of `key`'s value and `value` (inserting it for a new key); returns
    /// whether the key is new.
    @discardableResult
    mutating func raiseValue(to value: Value, forKey key: IDFingerprint) -> Bool {
        withValue(forKey: key, inserting: value) { held, isNew in
            if !isNew && held < value { held = value }
            return isNew
        }
    }
}

/// The sizing that `FingerprintTable` and `FirstDeployMap` share, so that the same keys take
/// the same slots in both: a power of two of at least 16 slots (none until the first key), at
/// most 5/8 full, doubled when one more key would pass that; an all-zero slot is empty.
enum SlotSizing {
    /// The slots for `capacity` keys without growing (0 for none).
    static func count(forCapacity capacity: Int) -> Int {
        guard capacity > 0 else { return 0 }
        var size = 16
        while size * 5 / 8 < capacity { size *= 2 }
        return size
    }

    /// Whether a table of `slots` slots holding `count` keys must grow before one more.
    static func isFull(count: Int, slots: Int) -> Bool { (count + 1) * 8 > slots * 5 }

    /// The slot count after growing from `slots`.
    static func grown(_ slots: Int) -> Int { max(16, slots * 2) }

    /// `size` slots of zero bytes: empty, their other fields never read.
    static func zeroed<Slot>(_ size: Int) -> [Slot] {
        guard size > 0 else { return [] }
        return [Slot](unsafeUninitializedCapacity: size) { buffer, initialized in
            _ = memset(buffer.baseAddress!, 0, size * MemoryLayout<Slot>.stride)
            initialized = size
        }
    }
}
