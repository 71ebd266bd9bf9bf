import DoraEvents

/// A fixed-capacity map from string fingerprints to positions, for the per-service lookups of
/// an analysis (deploys by id, by version): millions per replay, where a `[String: Int]`
/// spends most of its time hashing. Open addressing on the fingerprint's own bits (already
/// uniform), so nothing is hashed twice. Two strings sharing a 128-bit fingerprint would share
/// an entry, which doralog accepts as it does for the id index (docs/log-format.md).
/// Invariant: holds at most the capacity it was made for.
struct PositionMap {
    private var keys: [IDFingerprint]
    /// Per slot, its position; -1: empty.
    private var values: [Int32]
    private let mask: Int

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
        keys[i] = key
        values[i] = Int32(position)
        return nil
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
