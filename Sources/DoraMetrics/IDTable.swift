import DoraEvents

/// A service's alert episodes (or any state keyed by an id string), found by the id's
/// fingerprint: the replay path looks an alert up by the bytes of its `alert_id`, making no
/// string and hashing nothing twice, where a `[String: Value]` made a string and ran the
/// standard hasher for every event (about 4 % of a replay's CPU).
///
/// Invariants: one entry per distinct id (ids compared as UTF-8 bytes); entries keep the order
/// of their first sight; each id's string is made once, on first sight. A fingerprint hit is
/// checked against the id it found, and the rare id sharing its fingerprint with another lives
/// in `collided`, so two ids are never mixed.
struct IDTable<Value>: Sequence {
    private(set) var ids: [String] = []
    private(set) var values: [Value] = []
    /// Fingerprint -> position of the first id seen with that fingerprint.
    private var positions = PositionMap(capacity: 0)
    /// The positions of ids whose fingerprint an earlier id already had.
    private var collided: [String: Int] = [:]

    init() {}

    /// A table that takes `capacity` ids before its arrays grow.
    init(capacity: Int) {
        reserveCapacity(capacity)
    }

    var count: Int { ids.count }
    var isEmpty: Bool { ids.isEmpty }

    /// Makes room for `capacity` ids in all, so that neither the arrays nor the position map
    /// grow by doubling on the way there (a consolidation knows about how many ids its parts
    /// bring: grown by doubling, the tables of a live run's start-up held up to twice their
    /// ids' room; bench/RESULTS.md, thirty-fifth session).
    mutating func reserveCapacity(_ capacity: Int) {
        guard capacity > ids.capacity else { return }
        ids.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
        var rebuilt = PositionMap(capacity: capacity)
        for (p, id) in ids.enumerated() where collided.isEmpty || collided[id] != p {
            rebuilt.updateValue(p, forKey: IDFingerprint(id: id))
        }
        positions = rebuilt
    }

    /// The position of the entry of the id given by its bytes, made with `initial` on first sight.
    mutating func position(of bytes: EventRecord.Bytes, initial: @autoclosure () -> Value) -> Int {
        let fingerprint = IDFingerprint(bytes: bytes)
        if let p = positions[fingerprint] {
            if EventRecord.equal(bytes, ids[p]) { return p }
            return collidedPosition(of: EventRecord.string(bytes), initial: initial())
        }
        return append(EventRecord.string(bytes), fingerprint: fingerprint, initial())
    }

    /// The position of `id`'s entry, made with `initial` on first sight.
    mutating func position(of id: String, initial: @autoclosure () -> Value) -> Int {
        let fingerprint = IDFingerprint(id: id)
        if let p = positions[fingerprint] {
            if ids[p].utf8.elementsEqual(id.utf8) { return p }
            return collidedPosition(of: id, initial: initial())
        }
        return append(id, fingerprint: fingerprint, initial())
    }

    /// The value of `id`, if it has an entry.
    subscript(id: String) -> Value? {
        guard let p = positions[IDFingerprint(id: id)] else { return nil }
        if ids[p].utf8.elementsEqual(id.utf8) { return values[p] }
        return collided[id].map { values[$0] }
    }

    /// The value at `position` (from `position(of:initial:)`), changed in place.
    subscript(position position: Int) -> Value {
        get { values[position] }
        _modify { yield &values[position] }
    }

    private mutating func append(_ id: String, fingerprint: IDFingerprint, _ value: Value) -> Int {
        positions.updateValue(ids.count, forKey: fingerprint)
        ids.append(id)
        values.append(value)
        return ids.count - 1
    }

    private mutating func collidedPosition(of id: String, initial: Value) -> Int {
        if let p = collided[id] { return p }
        collided[id] = ids.count
        ids.append(id)
        values.append(initial)
        return ids.count - 1
    }

    /// The entries as (id, value), in the order of first sight.
    func makeIterator() -> Zip2Sequence<[String], [Value]>.Iterator {
        zip(ids, values).makeIterator()
    }
}

extension IDTable: Sendable where Value: Sendable {}
