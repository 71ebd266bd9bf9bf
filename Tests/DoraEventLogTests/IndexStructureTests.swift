import DoraEvents
import DoraTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

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

    @Test func theIDIndexStaysExactWhenItsBloomIsReservedOrGrows() throws {
        let members = randomFingerprints(200_000, seed: 7)
        var index = IDIndex(bitsPerID: 10, expectedCount: 1000)  // grows several times
        for (i, f) in members[..<100_000].enumerated() { try index.insertActive(f, copy(i)) }
        try index.reserveCapacity(500_000)  // rebuilt once, larger
        for (i, f) in members[100_000...].enumerated() { try index.insertActive(f, copy(100_000 + i)) }
        #expect(try members.enumerated().allSatisfy { try index.storedCopy(of: $0.element)?.copy == copy($0.offset) })
        #expect(try !randomFingerprints(50_000, seed: 8).contains(where: index.contains))
    }

    /// Writes `members` (sorted here) as the sidecar of segment `number`, and loads it back.
    func sidecar(_ members: [(IDFingerprint, StoredCopy)], number: UInt32, in directory: String) throws -> (String, SegmentIndexFile) {
        let path = directory + "/segment-\(number).idx"
        let bytes = SegmentIndexFile.encode(
            segmentNumber: number, segmentBytes: 1 << 20, blocks: [], offsets: [], members: members.sorted { $0.0 < $1.0 })
        try PosixFile.writeAtomically(bytes, to: path, directory: directory)
        return (path, try #require(SegmentIndexFile.load(path: path, segmentNumber: number, segmentBytes: 1 << 20)))
    }

    @Test(arguments: [1, FingerprintRun.bucketSize - 1, FingerprintRun.bucketSize, FingerprintRun.bucketSize + 1, 1000, 70_000])
    func aRunFindsEachOfItsFingerprintsWithItsCopyAndNoOther(count: Int) throws {
        try withTemporaryDirectory { directory in
            // Random members, and a group sharing their high word across bucket boundaries.
            var fingerprints = randomFingerprints(count, seed: UInt64(count))
            for i in stride(from: 0, to: count, by: 3) { fingerprints[i] = IDFingerprint(high: 0x8000_0000_0000_0000, low: UInt64(i)) }
            let members = fingerprints.enumerated().map { ($0.element, copy($0.offset)) }
            let (path, loaded) = try sidecar(members, number: 1, in: directory)
            var visited: [IDFingerprint] = []
            let run = try FingerprintRun(path: path, index: loaded) { visited.append($0) }
            let sorted = members.sorted { $0.0 < $1.0 }
            #expect(visited == sorted.map(\.0))
            for (position, (f, c)) in sorted.enumerated() {
                let i = try #require(try run.index(of: f), "member \(position) of \(count) not found")
                #expect(i == position)
                #expect(try run.copy(at: i) == c)
            }
            #expect(try randomFingerprints(2_000, seed: 99).allSatisfy { try run.index(of: $0) == nil })
            #expect(try run.index(of: IDFingerprint(high: 0, low: 0)) == nil)
            #expect(try run.index(of: IDFingerprint(high: .max, low: .max)) == nil)
            var listed: [(IDFingerprint, StoredCopy?)] = []
            try run.forEachMember { listed.append(($0, $1)) }
            #expect(listed.map(\.0) == sorted.map(\.0) && listed.map(\.1) == sorted.map(\.1))
        }
    }

    @Test func aRunWhoseSidecarIsCutShortAfterItOpenedFailsWithAnIOErrorInsteadOfAnswering() throws {
        try withTemporaryDirectory { directory in
            let members = randomFingerprints(5_000, seed: 11).enumerated().map { ($0.element, copy($0.offset)) }
            let (path, loaded) = try sidecar(members, number: 1, in: directory)
            let run = try FingerprintRun(path: path, index: loaded)
            #expect(truncate(path, off_t(loaded.fingerprintOffset + 16 * 100)) == 0)
            let late = members.map(\.0).sorted()[4_000]
            #expect(throws: EventLogError.self) { try run.index(of: late) }
            #expect(throws: EventLogError.self) { try run.forEach { _ in } }
        }
    }

    @Test func theIDIndexFindsIDsInEverySealedRunAndInTheActiveSegmentAfterItsBloomGrows() throws {
        try withTemporaryDirectory { directory in
            let all = randomFingerprints(40_000, seed: 12).enumerated().map { ($0.element, copy($0.offset)) }
            var index = IDIndex(bitsPerID: 10, expectedCount: 0)
            var runPaths: [String] = []
            for r in 0..<3 {
                let (path, loaded) = try sidecar(Array(all[(r * 10_000)..<((r + 1) * 10_000)]), number: UInt32(r + 1), in: directory)
                try index.addRun(path: path, index: loaded)
                runPaths.append(path)
            }
            for (f, c) in all[30_000...] { try index.insertActive(f, c) }
            try index.reserveCapacity(1_000_000)  // re-reads every run into a bigger bloom
            for (position, (f, c)) in all.enumerated() {
                let found = try #require(try index.storedCopy(of: f))
                #expect(found.copy == c)
                #expect(found.run?.path == (position < 30_000 ? runPaths[position / 10_000] : nil))
            }
            #expect(index.count == 40_000)
            #expect(try !randomFingerprints(20_000, seed: 13).contains(where: index.contains))
        }
    }

    @Test func aBloomRebuildThatCannotReadARunLeavesAnIndexThatNeverAnswersNotStoredWrongly() throws {
        try withTemporaryDirectory { directory in
            let all = randomFingerprints(3_000, seed: 14).enumerated().map { ($0.element, copy($0.offset)) }
            var index = IDIndex(bitsPerID: 10, expectedCount: 0)
            let (path, loaded) = try sidecar(Array(all[..<2_000]), number: 1, in: directory)
            try index.addRun(path: path, index: loaded)
            for (f, c) in all[2_000...] { try index.insertActive(f, c) }
            #expect(truncate(path, 0) == 0)
            #expect(throws: EventLogError.self) { try index.reserveCapacity(1_000_000) }
            #expect(try all[2_000...].allSatisfy { try index.storedCopy(of: $0.0)?.copy == $0.1 })
            for (f, _) in all[..<2_000].prefix(50) {
                #expect(throws: EventLogError.self, "an id of the unreadable run is not answered") { try index.contains(f) }
            }
        }
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

