import DoraEvents
import DoraTestSupport
import Testing

@testable import DoraMetrics

/// The packed table of the commits a retention forgot, held to a `FingerprintTable` of the
/// same keys (as `ShortFingerprint.fingerprint`).
@Suite struct SortedFingerprintTableTests {
    /// Every key and value, compared as a dictionary (the two iterate in different orders).
    static func contents(_ forEach: ((ShortFingerprint, Int64) -> Void) -> Void) -> [ShortFingerprint: Int64] {
        var listed: [ShortFingerprint: Int64] = [:]
        forEach { key, value in
            #expect(listed[key] == nil, "a key listed twice")
            listed[key] = value
        }
        return listed
    }

    static func contents(_ table: FingerprintTable<Int64>) -> [ShortFingerprint: Int64] {
        contents { body in table.forEach { fingerprint, value in body(ShortFingerprint(bits: fingerprint.low), value) } }
    }

    @Test(arguments: 0..<8)
    func raisesBulkRaisesLookupsFiltersAndPacksAnswerAsAFingerprintTableDoes(seed: UInt64) {
        var random = SplitMix64(state: 0x5EED_0100 + seed)
        // Few enough keys that raises hit held keys, in both parts: crowded ones, ones that
        // share their high half (so that one range of the directory holds many of them), and
        // the all-zero key, which a `FingerprintTable` holds apart.
        let sharingHigh = (1..<100).map { ShortFingerprint(bits: UInt64($0 % 3) << 32 | (UInt64($0) &* 0x9E37_79B9_7F4A_7C15) >> 32) }
        let keys = FirstDeployMapTests.crowded(200) + sharingHigh + (0..<2_000).map { ShortFingerprint(id: "sha-\($0)") } + [ShortFingerprint(bits: 0)]
        var packed = SortedFingerprintTable<Int64>()
        var table = FingerprintTable<Int64>()
        var (merges, filters, bulks, raisesOfHeld) = (0, 0, 0, 0)
        for step in 0..<30_000 {
            let key = keys.randomElement(using: &random)!
            switch Int.random(in: 0..<1_000, using: &random) {
            case 0..<700:
                let value = Int64.random(in: 0..<10_000, using: &random)
                let before = packed.packedCount
                if packed[key] != nil { raisesOfHeld += 1 }
                let isNew = packed.raiseValue(to: value, forKey: key)
                #expect(isNew == table.raiseValue(to: value, forKey: key.fingerprint), "step \(step)")
                if packed.packedCount > before { merges += 1 }
            case 700..<997:
                #expect(packed[key] == table[key.fingerprint], "step \(step)")
                #expect(packed[ShortFingerprint(id: "never-\(step)")] == nil)
            case 997:
                let entries = (0..<50).map { _ in
                    SortedFingerprintTable<Int64>.Entry(key: keys.randomElement(using: &random)!, value: Int64.random(in: 0..<10_000, using: &random))
                }
                packed.raiseValues(entries + entries.prefix(5))
                for entry in entries { table.raiseValue(to: entry.value, forKey: entry.key.fingerprint) }
                #expect(packed.packedCount == packed.count, "a bulk raise packs everything")
                bulks += 1
            case 998:
                let cutoff = Int64.random(in: 0..<5_000, using: &random)
                let before = packed
                packed = packed.filter { _, t in t >= cutoff }
                var missing: [ShortFingerprint: Int64] = [:]
                before.forEachKey(notIn: packed) { missing[$0, default: 0] += 1 }
                let dropped = Self.contents(table).filter { $0.value < cutoff }.mapValues { _ in Int64(1) }
                #expect(missing == dropped, "the keys a filter dropped, each once")
                var kept = 0
                packed.forEachKey(notIn: before) { _ in kept += 1 }  // `before` may hold some apart
                #expect(kept == 0, "a filter adds no key")
                table = table.filter { _, t in t >= cutoff }
                #expect(packed.packedCount == packed.count, "a filter packs everything")
                filters += 1
            default:
                packed.pack()
                #expect(packed.packedCount == packed.count)
            }
            #expect(packed.count == table.count && packed.isEmpty == table.isEmpty, "step \(step)")
        }
        #expect(Self.contents(packed.forEach) == Self.contents(table))
        // What the run above must have gone through for it to test anything.
        #expect(merges > 4, "merges \(merges)")
        #expect(filters > 10, "filters \(filters)")
        #expect(bulks > 10, "bulk raises \(bulks)")
        #expect(raisesOfHeld > 1_000, "raises of held keys \(raisesOfHeld)")
    }

    @Test func newKeysWaitApartOnlyUntilTheyPassAnEighthOfThePackedOnes() {
        var packed = SortedFingerprintTable<Int64>()
        for i in 0..<50_000 {
            let isNew = packed.raiseValue(to: Int64(i), forKey: ShortFingerprint(id: "sha-\(i)"))
            #expect(isNew)
            #expect(packed.count - packed.packedCount <= packed.mergeThreshold)
        }
        #expect(packed.packedCount > 40_000)
        packed.pack()
        #expect(packed.packedCount == 50_000 && packed.count == 50_000)
        #expect((0..<50_000).allSatisfy { packed[ShortFingerprint(id: "sha-\($0)")] == Int64($0) })
    }

    @Test func raisingAPackedKeyKeepsTheLargerValueAndSaysItIsNotNew() {
        var packed = SortedFingerprintTable<Int64>()
        let keys = FirstDeployMapTests.crowded(100)
        for (i, key) in keys.enumerated() { packed.raiseValue(to: Int64(100 + i), forKey: key) }
        packed.pack()
        for (i, key) in keys.enumerated() {
            let isNew = packed.raiseValue(to: i % 2 == 0 ? 1_000 : 0, forKey: key)
            #expect(!isNew)
            #expect(packed[key] == (i % 2 == 0 ? 1_000 : Int64(100 + i)))
        }
        #expect(packed.packedCount == 100 && packed.count == 100)
    }

    @Test func anEmptyTableFindsNothing() {
        let packed = SortedFingerprintTable<Int64>()
        #expect(packed.isEmpty && packed[ShortFingerprint(bits: 0)] == nil && packed[ShortFingerprint(id: "a")] == nil)
        #expect(Self.contents(packed.forEach).isEmpty)
    }
}
