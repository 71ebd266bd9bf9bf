import DoraEvents

/// A map from string fingerprints to positions, for lookups done millions of times per
/// replay (deploys by id and by version in an analysis, services by name as events are added),
/// where a `[String: Int]` spends most of its time hashing. Open addressing on the
/// fingerprint's own bits (already uniform), so nothing is hashed twice. Two strings sharing a
/// 128-bit fingerprint would share an entry: a user that cannot accept that checks the key it
/// finds (the engine does for service names). Invariant: at most 5/8 of the slots are full
/// (it doubles when an insertion would pass that).
struct PositionMap {
    private var keys: [IDFingerprint]
    /// Per slot, its position; -1: empty.
    private var values: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size * 5 / 8 < capacity { size *= 2 }
        keys = Array(repeating: IDFingerprint(high: 0, low: 0), count: size)
        values = Array(repeating: -1, count: size)
        mask = size - 1
    }

    /// Sets `key`'s position and returns the one it replaces, if any.
    @discardableResult
    mutating func updateValue(_ position: Int, forKey key: IDFingerprint) -> Int? {
        var i = Int(truncatingIfNeeded: key.low) & mask
        while values[i] >= 0 {
            if keys[i] == key {
                defer { values[i] = Int32(position) }
                return Int(values[i])
            }
            i = (i + 1) & mask
        }
        if (count + 1) * 8 > values.count * 5 {
            grow()
            return updateValue(position, forKey: key)
        }
        keys[i] = key
        values[i] = Int32(position)
        count += 1
        return nil
    }

    /// Doubles the slots, re-inserting every entry.
    private mutating func grow() {
        var bigger = PositionMap(capacity: values.count)
        for i in values.indices where values[i] >= 0 { bigger.updateValue(Int(values[i]), forKey: keys[i]) }
        self = bigger
    }

    subscript(key: IDFingerprint) -> Int? {
        var i = Int(truncatingIfNeeded: key.low) & mask
        while values[i] >= 0 {
            if keys[i] == key { return Int(values[i]) }
            i = (i + 1) & mask
        }
        return nil
    }
}
