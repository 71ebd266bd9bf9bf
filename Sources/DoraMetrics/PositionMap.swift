import DoraEvents

/// A map from string fingerprints to positions, for lookups done millions of times per
/// replay: deploys by id and by version in an analysis, services by name as events are added
/// (`FingerprintTable`, so no key is hashed twice). Two strings sharing a 128-bit fingerprint
/// would share an entry: a user that cannot accept that checks the key it finds (the engine
/// does for service names).
struct PositionMap {
    private var table: FingerprintTable<Int32>

    init(capacity: Int) {
        table = FingerprintTable(capacity: capacity)
    }

    var count: Int { table.count }

    /// Sets `key`'s position and returns the one it replaces, if any.
    @discardableResult
    mutating func updateValue(_ position: Int, forKey key: IDFingerprint) -> Int? {
        table.updateValue(Int32(position), forKey: key).map(Int.init)
    }

    subscript(key: IDFingerprint) -> Int? {
        table[key].map(Int.init)
    }
}
