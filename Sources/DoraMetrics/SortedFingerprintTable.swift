import DoraEvents

/// A map from commit shas (as `ShortFingerprint`s) to values, for a map that is large,
/// long-lived and read more than it is written: the commits a live run's retention forgot
/// (`ServiceState.shippedBefore`, about a tenth of the run's memory at the 100M stream's
/// density).
///
/// Most entries sit in one array sorted by key, packed with no empty slot (16 bytes an entry
/// for an `Int64`, where a `FingerprintTable` at its 31 to 62 % load spends 39 to 77).
/// New keys go to a small `FingerprintTable`, `recent`, which is merged into the array once it
/// holds more than an eighth of it (`mergeThreshold`), so inserting n keys costs O(n log n)
/// and the extra memory stays near an eighth. Both exist because a sorted array alone makes
/// every insertion O(n), and a hash table alone is the memory this type saves; a differential
/// test holds this type to `FingerprintTable`.
///
/// Invariants: `sorted` is in strictly ascending key order, and `directory` says where
/// its ranges start; no key is in both `sorted` and `recent`. Iteration (`forEach`) visits
/// `sorted` then `recent`: an order that callers must not depend on.
struct SortedFingerprintTable<Value: BitwiseCopyable & Sendable>: Sendable {
    struct Entry: Sendable {
        var key: ShortFingerprint
        var value: Value
    }

    private var sorted: [Entry] = []
    /// Where each range of keys starts in `sorted`: `directory[b]` is the first position whose
    /// key's top `directoryBits` bits are b or more, and its last entry is `sorted.count`. Keys
    /// are uniform, so a range holds about 4 to 8 keys and a
    /// lookup searches only those (a binary search of the whole array cost a live run's
    /// start-up about 0.8 s more CPU than the hash table; bench/RESULTS.md, twenty-seventh
    /// session). Empty while `sorted` is; rebuilt whenever its keys change (`sortedChanged`).
    private var directory: [UInt32] = []
    private var directoryBits = 0
    /// Keyed by `ShortFingerprint.fingerprint`.
    private var recent = FingerprintTable<Value>()

    init() {}

    /// A table of `entries` (unique keys, in any order).
    private init(unique entries: [Entry]) {
        var entries = entries
        entries.sort { $0.key < $1.key }
        sorted = entries
        sortedChanged()
    }

    var count: Int { sorted.count + recent.count }

    var isEmpty: Bool { count == 0 }

    /// How many entries `recent` may hold before it is merged into `sorted`.
    var mergeThreshold: Int { 64 + sorted.count / 8 }

    /// How many entries are in the packed array (for tests of the merge).
    var packedCount: Int { sorted.count }

    subscript(key: ShortFingerprint) -> Value? {
        if let i = position(of: key) { return sorted[i].value }
        return recent[key.fingerprint]
    }

    /// The position of `key` in `sorted`, if there: the key's range of the directory, then a
    /// binary search of it without branches on the keys (they are random, so such a branch
    /// would be mispredicted half the time).
    private func position(of key: ShortFingerprint) -> Int? {
        guard !sorted.isEmpty else { return nil }
        let range = directoryBits == 0 ? 0 : Int(truncatingIfNeeded: key.bits >> UInt64(64 - directoryBits))
        let (start, end) = (Int(directory[range]), Int(directory[range + 1]))
        return sorted.withUnsafeBufferPointer { s in
            guard start < end else { return nil }
            // Invariant: if the key is here, it is in s[base ..< base + length].
            var (base, length) = (start, end - start)
            while length > 1 {
                let half = length / 2
                base += s[base + half].key.bits <= key.bits ? half : 0
                length -= half
            }
            return s[base].key == key ? base : nil
        }
    }

    /// Calls `body` with every key and its value (`sorted`, then `recent`).
    func forEach(_ body: (_ key: ShortFingerprint, _ value: Value) -> Void) {
        for entry in sorted { body(entry.key, entry.value) }
        forEachRecent(body)
    }

    /// Calls `body` with every key of `recent` and its value.
    private func forEachRecent(_ body: (_ key: ShortFingerprint, _ value: Value) -> Void) {
        recent.forEach { fingerprint, value in body(ShortFingerprint(bits: fingerprint.low), value) }
    }

    /// Calls `body` with each key held here that `other` does not hold: in one walk of the
    /// two packed arrays, where a lookup per key would search `other` for each (a retention
    /// step asks this of every service's whole table).
    func forEachKey(notIn other: SortedFingerprintTable, _ body: (ShortFingerprint) -> Void) {
        var j = 0
        for entry in sorted {
            while j < other.sorted.count && other.sorted[j].key < entry.key { j += 1 }
            if j < other.sorted.count && other.sorted[j].key == entry.key { continue }
            if other.recent[entry.key.fingerprint] == nil { body(entry.key) }
        }
        forEachRecent { key, _ in if other[key] == nil { body(key) } }
    }

    /// The entries `isIncluded` accepts, all packed.
    func filter(_ isIncluded: (_ key: ShortFingerprint, _ value: Value) -> Bool) -> SortedFingerprintTable {
        // Counted first, so that the array is sized once and exactly.
        var count = 0
        forEach { key, value in if isIncluded(key, value) { count += 1 } }
        var kept: [Entry] = []
        kept.reserveCapacity(count)
        forEach { key, value in if isIncluded(key, value) { kept.append(Entry(key: key, value: value)) } }
        return SortedFingerprintTable(unique: kept)
    }

    /// Builds `directory` again for the keys of `sorted`, with about 4 to 8 keys a range.
    private mutating func sortedChanged() {
        precondition(sorted.count < Int(UInt32.max), "a fingerprint table exceeds 32-bit positions")
        guard !sorted.isEmpty else {
            (directory, directoryBits) = ([], 0)
            return
        }
        var bits = 0
        while 8 << bits < sorted.count { bits += 1 }
        var starts = [UInt32](repeating: UInt32(sorted.count), count: (1 << bits) + 1)
        var next = 0  // the first range whose start is not set yet
        for (i, entry) in sorted.enumerated() {
            let range = bits == 0 ? 0 : Int(truncatingIfNeeded: entry.key.bits >> UInt64(64 - bits))
            while next <= range {
                starts[next] = UInt32(i)
                next += 1
            }
        }
        (directory, directoryBits) = (starts, bits)
    }

    /// Moves every entry of `recent` into `sorted`, leaving `recent` empty.
    mutating func pack() {
        guard !recent.isEmpty else { return }
        var incoming: [Entry] = []
        incoming.reserveCapacity(recent.count)
        forEachRecent { key, value in incoming.append(Entry(key: key, value: value)) }
        incoming.sort { $0.key < $1.key }
        recent = FingerprintTable()
        // The two hold different keys (the invariant), so `combine` is never called.
        merge(incoming) { held, _ in held }
    }

    /// Merges `incoming` (sorted by key; of several entries of one key, the first is taken)
    /// into `sorted`, sized for both: a key already there keeps `combine(held, incoming)`.
    private mutating func merge(_ incoming: [Entry], combine: (_ held: Value, _ incoming: Value) -> Value) {
        let old = sorted
        sorted = []
        sorted.reserveCapacity(old.count + incoming.count)
        var (i, j) = (0, 0)
        while i < old.count || j < incoming.count {
            if j == incoming.count || (i < old.count && old[i].key < incoming[j].key) {
                sorted.append(old[i])
                i += 1
                continue
            }
            var entry = incoming[j]
            if i < old.count && old[i].key == entry.key {
                entry.value = combine(old[i].value, entry.value)
                i += 1
            }
            sorted.append(entry)
            while j < incoming.count && incoming[j].key == entry.key { j += 1 }
        }
        sortedChanged()
    }
}

extension SortedFingerprintTable where Value: Comparable {
    /// `raiseValue` for each of `entries` (in any order, a key any number of times), in one
    /// merge: a retention step remembers a day of forgotten commits at once. Sized for every
    /// entry, so keys already held leave that much room spare (a day's worth, in a step).
    mutating func raiseValues(_ entries: [Entry]) {
        guard !entries.isEmpty else { return }
        pack()
        var incoming = entries
        incoming.sort { $0.key != $1.key ? $0.key < $1.key : $0.value > $1.value }  // a key's largest first
        merge(incoming, combine: max)
    }

    /// Keeps the larger of `key`'s value and `value` (inserting it for a new key); returns
    /// whether the key is new.
    @discardableResult
    mutating func raiseValue(to value: Value, forKey key: ShortFingerprint) -> Bool {
        if let i = position(of: key) {
            if sorted[i].value < value { sorted[i].value = value }
            return false
        }
        let isNew = recent.raiseValue(to: value, forKey: key.fingerprint)
        if recent.count > mergeThreshold { pack() }
        return isNew
    }
}
