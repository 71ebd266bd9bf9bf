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

    @Test func fingerprintsOfDistinctIDsDifferAndOfEqualIDsAgree() {
        var seen = Set<IDFingerprint>()
        for i in 0..<100_000 { seen.insert(IDFingerprint(id: "event-\(i)")) }
        #expect(seen.count == 100_000)
        #expect(IDFingerprint(id: "event-7") == IDFingerprint(id: "event-7"))
        // Ids compare as bytes: canonically equivalent spellings are different ids.
        #expect(IDFingerprint(id: "\u{e9}") != IDFingerprint(id: "e\u{301}"))
    }

    /// A distinct value per member, so a lookup that returns another member's value fails.
    func copy(_ i: Int) -> StoredCopy { StoredCopy(content: UInt64(i) &* 0x9E37_79B9_7F4A_7C15, ordinal: UInt32(i)) }

    @Test func theFingerprintMapIsExactAndKeepsEachMembersValue() {
        let members = randomFingerprints(50_000, seed: 1)
        let others = randomFingerprints(50_000, seed: 2)
        var map = FingerprintMap()
        var allNew = true
        for (i, f) in members.enumerated() { allNew = map.insert(f, copy(i)) && allNew }
        #expect(allNew)
        let again = map.insert(members[10], copy(99))
        #expect(!again)
        #expect(map[members[10]] == copy(10), "a second insert changes nothing")
        #expect(map.count == 50_000)
        #expect(members.enumerated().allSatisfy { map[$0.element] == copy($0.offset) })
        #expect(!others.contains(where: map.contains))
        var withZero = FingerprintMap()
        #expect(!withZero.contains(IDFingerprint(high: 0, low: 0)))
        withZero.insert(IDFingerprint(high: 0, low: 0), copy(3))
        #expect(withZero[IDFingerprint(high: 0, low: 0)] == copy(3) && withZero.count == 1)
    }

    @Test func theFingerprintMapListsItsMembersInAscendingOrderWithTheirValues() {
        // Random members, some sharing their top 16 bits (one bucket), and the zero fingerprint.
        var members = randomFingerprints(30_000, seed: 5)
        members += randomFingerprints(300, seed: 6).map { IDFingerprint(high: 0x1234 << 48 | $0.high >> 16, low: $0.low) }
        members += [IDFingerprint(high: 0, low: 0), IDFingerprint(high: 0, low: 1), IDFingerprint(high: 7, low: 3), IDFingerprint(high: 7, low: 2)]
        var map = FingerprintMap()
        for (i, f) in members.enumerated() { map.insert(f, copy(i)) }
        let sorted = map.sortedMembers()
        #expect(sorted.map(\.0) == members.sorted())
        let valueOf = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($0.element, copy($0.offset)) })
        #expect(sorted.allSatisfy { valueOf[$0.0] == $0.1 })
        #expect(FingerprintMap().sortedMembers().isEmpty)
    }

    @Test func theIDIndexStaysExactWhenItsBloomIsReservedOrGrows() {
        let members = randomFingerprints(200_000, seed: 7)
        var index = IDIndex(bitsPerID: 10, expectedCount: 1000)  // grows several times
        for (i, f) in members[..<100_000].enumerated() { index.insertActive(f, copy(i)) }
        index.reserveCapacity(500_000)  // rebuilt once, larger
        for (i, f) in members[100_000...].enumerated() { index.insertActive(f, copy(100_000 + i)) }
        #expect(members.enumerated().allSatisfy { index.storedCopy(of: $0.element)?.copy == copy($0.offset) })
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

