#if canImport(Glibc)
import Glibc
#endif
import DoraEvents

/// A hash table keyed by string fingerprints, for the maps the metrics consult millions of
/// times (positions by id; the newest of the commits a retention forgot, in front of
/// `SortedFingerprintTable`), where a `Dictionary` spends most of its time hashing the key
/// again with SipHash.
///
/// Open addressing with linear probing from the fingerprint's own low bits (already uniform),
/// key and value side by side in one slot, so a lookup that hits costs one cache line. No
/// removal: a smaller table is built with `filter`. Two strings sharing a 128-bit fingerprint
/// share an entry; a user that cannot accept that checks the key it finds.
///
/// Invariants: the slot count is zero (nothing held yet: an empty table allocates nothing)
/// or at least 16, and at most 7/10 of the slots are full (`SlotSizing`); an
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
            var i = SlotSizing.home(UInt32(truncatingIfNeeded: key.low), slots: s.count)
            while s[i].key != Self.emptyKey {
                if s[i].key == key { return s[i].value }
                i = SlotSizing.next(i, slots: s.count)
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
            var i = SlotSizing.home(UInt32(truncatingIfNeeded: key.low), slots: s.count)
            while s[i].key != Self.emptyKey {
                if s[i].key == key { return (update(&s[i].value, false), false) }
                i = SlotSizing.next(i, slots: s.count)
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
            for slot in old where slot.key != Self.emptyKey {
                var i = SlotSizing.home(UInt32(truncatingIfNeeded: slot.key.low), slots: s.count)
                while s[i].key != Self.emptyKey { i = SlotSizing.next(i, slots: s.count) }
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

/// The sizing and placement that `FingerprintTable` and `FirstDeployMap` share, so that the
/// same keys take the same slots in both. A table made for a known number of keys gets
/// exactly the slots that keep it at most 7/10 full; one that grows past that doubles; none
/// until the first key, then at least 16. (Power-of-two sizes left the tables a third to two
/// thirds full: the live run's per-service tables, rebuilt at each retention step, held about
/// twice their keys' room; bench/RESULTS.md, thirty-fifth session.) A key's home slot is its
/// fingerprint's low 32 bits scaled to the slot count (a multiply and a shift, for any count);
/// probing is linear and wraps at the end. An all-zero slot is empty.
enum SlotSizing {
    /// The slots for `capacity` keys without growing (0 for none).
    static func count(forCapacity capacity: Int) -> Int {
        guard capacity > 0 else { return 0 }
        return max(16, capacity * 10 / 7 + 1)
    }

    /// Whether a table of `slots` slots holding `count` keys must grow before one more.
    static func isFull(count: Int, slots: Int) -> Bool { (count + 1) * 10 > slots * 7 }

    /// The slot count after growing from `slots`.
    static func grown(_ slots: Int) -> Int {
        precondition(slots < 1 << 31, "a fingerprint table outgrew 32-bit placement")
        return max(16, slots * 2)
    }

    /// The slot a key whose fingerprint's low 32 bits are `bits` is placed from.
    @inline(__always) static func home(_ bits: UInt32, slots: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(bits) &* UInt64(truncatingIfNeeded: slots)) >> 32)
    }

    /// The slot probed after `i`.
    @inline(__always) static func next(_ i: Int, slots: Int) -> Int { i + 1 == slots ? 0 : i + 1 }

    /// `size` slots of zero bytes: empty, their other fields never read.
    static func zeroed<Slot>(_ size: Int) -> [Slot] {
        guard size > 0 else { return [] }
        return [Slot](unsafeUninitializedCapacity: size) { buffer, initialized in
            _ = memset(buffer.baseAddress!, 0, size * MemoryLayout<Slot>.stride)
            initialized = size
        }
    }
}
