import DoraEvents
import DoraTestSupport
import Testing

@testable import DoraEventLog

@Suite struct IndexStructureTests {
    func randomFingerprints(_ n: Int, seed: UInt64) -> [IDFingerprint] {
        var s = seed
        func next() -> UInt64 {
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return s ^ (s >> 29)
        }
        return (0..<n).map { _ in IDFingerprint(high: next(), low: next()) }
    }

    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    @Test func fingerprintsOfDistinctIDsDifferAndOfEqualIDsAgree() {
        var seen = Set<IDFingerprint>()
        for i in 0..<100_000 { seen.insert(IDFingerprint(id: "event-\(i)")) }
        #expect(seen.count == 100_000)
        #expect(IDFingerprint(id: "event-7") == IDFingerprint(id: "event-7"))
        // Ids compare as bytes: canonically equivalent spellings are different ids.
        #expect(IDFingerprint(id: "\u{e9}") != IDFingerprint(id: "e\u{301}"))
    }

    @Test func theFingerprintSetIsExact() {
        let members = randomFingerprints(50_000, seed: 1)
        let others = randomFingerprints(50_000, seed: 2)
        var set = FingerprintSet()
        var allNew = true
        for f in members { allNew = set.insert(f) && allNew }
        #expect(allNew)
        let again = set.insert(members[10])
        #expect(!again)
        #expect(set.count == 50_000)
        #expect(members.allSatisfy(set.contains))
        #expect(!others.contains(where: set.contains))
        var withZero = FingerprintSet()
        #expect(!withZero.contains(IDFingerprint(high: 0, low: 0)))
        withZero.insert(IDFingerprint(high: 0, low: 0))
        #expect(withZero.contains(IDFingerprint(high: 0, low: 0)) && withZero.count == 1)
    }

    @Test func theFingerprintSetListsItsMembersInAscendingOrder() {
        // Random members, some sharing their top 16 bits (one bucket), and the zero fingerprint.
        var members = randomFingerprints(30_000, seed: 5)
        members += randomFingerprints(300, seed: 6).map { IDFingerprint(high: 0x1234 << 48 | $0.high >> 16, low: $0.low) }
        members += [IDFingerprint(high: 0, low: 0), IDFingerprint(high: 0, low: 1), IDFingerprint(high: 7, low: 3), IDFingerprint(high: 7, low: 2)]
        var set = FingerprintSet()
        for f in members { set.insert(f) }
        #expect(set.sortedMembers() == members.sorted())
        #expect(FingerprintSet().sortedMembers().isEmpty)
    }

    @Test func theIDIndexStaysExactWhenItsBloomIsReservedOrGrows() {
        let members = randomFingerprints(200_000, seed: 7)
        var index = IDIndex(bitsPerID: 10, expectedCount: 1000)  // grows several times
        for f in members[..<100_000] { index.insertActive(f) }
        index.reserveCapacity(500_000)  // rebuilt once, larger
        for f in members[100_000...] { index.insertActive(f) }
        #expect(members.allSatisfy(index.contains))
        #expect(!randomFingerprints(50_000, seed: 8).contains(where: index.contains))
    }

    @Test func theBloomFilterHasNoFalseNegativesAndFewFalsePositives() {
        let members = randomFingerprints(100_000, seed: 3)
        var bloom = BlockedBloomFilter(capacity: 100_000, bitsPerID: 10)
        for f in members { bloom.insert(f) }
        #expect(members.allSatisfy(bloom.mayContain))
        let falsePositives = randomFingerprints(100_000, seed: 4).filter(bloom.mayContain).count
        #expect(falsePositives < 3_000, "\(falsePositives) false positives in 100k")
    }
}

