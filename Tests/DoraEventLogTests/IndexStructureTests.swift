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

    /// The members of `map` in the order `withMembersSortedInPlace` gives them, which empties it.
    func sealed(_ map: inout FingerprintMap) throws -> [(IDFingerprint, StoredCopy)] {
        try map.withMembersSortedInPlace { Array($0) }
    }

    @Test(arguments: [0, 1, 33, 30_000])
    func aSealedFingerprintMapListsItsMembersInAscendingOrderWithTheirValuesThenIsEmpty(count: Int) throws {
        // Random members; groups sharing their top 16 bits, their whole high word, or all but
        // the last byte (radix buckets at every depth); and the zero fingerprint.
        var members = randomFingerprints(count, seed: 5)
        members += randomFingerprints(300, seed: 6).map { IDFingerprint(high: 0x1234 << 48 | $0.high >> 16, low: $0.low) }
        members += randomFingerprints(100, seed: 9).map { IDFingerprint(high: 0x8000_0000_0000_0000, low: $0.low) }
        members += (0..<40).map { IDFingerprint(high: 5, low: 0xABCD_0000 | UInt64($0 * 37 % 256)) }
        members += [IDFingerprint(high: 0, low: 0), IDFingerprint(high: 0, low: 1), IDFingerprint(high: 7, low: 3), IDFingerprint(high: 7, low: 2)]
        var map = FingerprintMap()
        for (i, f) in members.enumerated() { map.insert(f, copy(i)) }
        let sorted = try sealed(&map)
        let inOrder = sorted.map(\.0) == members.sorted()  // not in the expectation: it would print both lists
        #expect(inOrder, "the members are not all there in ascending order")
        let valueOf = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($0.element, copy($0.offset)) })
        #expect(sorted.allSatisfy { valueOf[$0.0] == $0.1 })
        #expect(map.isEmpty)
        #expect(!members.contains(where: map.contains), "a member of before the seal is still there")
        var empty = FingerprintMap()
        #expect(try sealed(&empty).isEmpty)
    }

    @Test func aSealedFingerprintMapTakesTheNextSegmentsMembers() throws {
        var map = FingerprintMap()
        for (i, f) in randomFingerprints(20_000, seed: 11).enumerated() { map.insert(f, copy(i)) }
        _ = try sealed(&map)
        let next = randomFingerprints(20_000, seed: 12)
        var allNew = true
        for (i, f) in next.enumerated() { allNew = map.insert(f, copy(i)) && allNew }
        #expect(allNew && map.count == next.count)
        #expect(next.enumerated().allSatisfy { map[$0.element] == copy($0.offset) })
        let inOrder = try sealed(&map).map(\.0) == next.sorted()
        #expect(inOrder, "the members are not all there in ascending order")
    }

    @Test func aFingerprintMapWhoseSealFailsStillHoldsEveryMemberWithItsValue() {
        let members = randomFingerprints(20_000, seed: 13) + [IDFingerprint(high: 0, low: 0)]
        var map = FingerprintMap()
        for (i, f) in members.enumerated() { map.insert(f, copy(i)) }
        #expect(throws: EventLogError.self) {
            try map.withMembersSortedInPlace { (_) throws(EventLogError) in throw EventLogError(.io, "disk full", file: "x.idx") }
        }
        #expect(map.count == members.count)
        #expect(members.enumerated().allSatisfy { map[$0.element] == copy($0.offset) })
        #expect(!randomFingerprints(20_000, seed: 14).contains(where: map.contains))
    }

    @Test func theIDIndexStaysExactWhenItsBloomIsReservedOrGrows() throws {
        let members = randomFingerprints(200_000, seed: 7)
        var index = IDIndex(bitsPerID: 10, expectedCount: 1000)  // grows several times
        for (i, f) in members[..<100_000].enumerated() { try index.insertActive(f, copy(i)) }
        try index.reserveCapacity(500_000, keeping: [])  // rebuilt once, larger
        for (i, f) in members[100_000...].enumerated() { try index.insertActive(f, copy(100_000 + i)) }
        #expect(try members.enumerated().allSatisfy { try index.storedCopy(of: $0.element)?.copy == copy($0.offset) })
        #expect(try !randomFingerprints(50_000, seed: 8).contains(where: index.contains))
    }

    @Test func aBloomGrownWhileAppendsAreInFlightKeepsTheirMarks() throws {
        let inFlight = randomFingerprints(60_000, seed: 21)
        var index = IDIndex(bitsPerID: 10, expectedCount: 0)  // room for 65,536 ids
        var pending = FingerprintMap()
        for (i, f) in inFlight.enumerated() {
            pending.insert(f, copy(i))
            index.mark(f)
        }
        try index.makeRoom(for: 60_000, keeping: [pending])  // rebuilt from the runs, the active map and `pending`
        let allMarked = inFlight.allSatisfy(index.mayContain)
        #expect(allMarked, "an id in flight is never answered as new")
        #expect(index.count == 60_000)
        // Once committed, they are stored, without being counted again.
        index.insertMarkedActive(inFlight, contents: inFlight.indices.map { copy($0).content }, firstOrdinal: 0)
        let allFound = try inFlight.enumerated().allSatisfy { try index.storedCopy(of: $0.element)?.copy == copy($0.offset) }
        #expect(allFound)
        #expect(index.count == 60_000)
        #expect(try !randomFingerprints(20_000, seed: 22).contains(where: index.contains))
    }

    /// Writes `members` (sorted here) as the sidecar of segment `number`, and loads it back;
    /// what loads is what the writer said it wrote.
    func sidecar(_ members: [(IDFingerprint, StoredCopy)], number: UInt32, in directory: String) throws -> (String, SegmentIndexFile) {
        let path = directory + "/segment-\(number).idx"
        let written = try SegmentIndexFile.write(
            to: path, directory: directory, segmentNumber: number, segmentBytes: 1 << 20, blocks: [], offsets: [],
            members: members.sorted { $0.0 < $1.0 })
        let loaded = try #require(SegmentIndexFile.load(path: path, segmentNumber: number, segmentBytes: 1 << 20))
        #expect(loaded == written)
        return (path, loaded)
    }

    /// The sidecar's run opened both ways: reading its file, and from its bytes read at open.
    @Test(arguments: [false, true], [1, FingerprintRun.bucketSize - 1, FingerprintRun.bucketSize, FingerprintRun.bucketSize + 1, 1000, 70_000])
    func aRunFindsEachOfItsFingerprintsWithItsCopyAndNoOther(fromBytes: Bool, count: Int) throws {
        try withTemporaryDirectory { directory in
            // Random members, and a group sharing their high word across bucket boundaries.
            var fingerprints = randomFingerprints(count, seed: UInt64(count))
            for i in stride(from: 0, to: count, by: 3) { fingerprints[i] = IDFingerprint(high: 0x8000_0000_0000_0000, low: UInt64(i)) }
            let members = fingerprints.enumerated().map { ($0.element, copy($0.offset)) }
            let (path, loaded) = try sidecar(members, number: 1, in: directory)
            let bytes = fromBytes ? try #require(SegmentIndexFile.loadWithBytes(path: path, segmentNumber: 1, segmentBytes: 1 << 20)).bytes : nil
            var visited: [IDFingerprint] = []
            let run = try FingerprintRun(path: path, index: loaded, bytes: bytes) { chunk in
                for i in 0..<chunk.count / 16 {
                    visited.append(
                        IDFingerprint(
                            high: chunk.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self).littleEndian,
                            low: chunk.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self).littleEndian))
                }
            }
            let sorted = members.sorted { $0.0 < $1.0 }
            let inOrder = visited == sorted.map(\.0)  // not in the expectation: it would print both lists
            #expect(inOrder, "the open did not visit every fingerprint in ascending order")
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
            #expect(throws: EventLogError.self) { try run.forEachChunk { _ in } }
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
            try index.reserveCapacity(1_000_000, keeping: [])  // re-reads every run into a bigger bloom
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
            #expect(throws: EventLogError.self) { try index.reserveCapacity(1_000_000, keeping: []) }
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

    @Test func aDeferredIDIndexIsReadOnFirstUseAndTellsDuplicatesApartAsAnIndexReadAtTheOpen() throws {
        try withTemporaryDirectory { dir in
            let small = LogTesting.smallSegments
            try LogTesting.writeSealedSegments(in: dir)
            let sidecars = try TestFiles.list(dir).filter { $0.hasSuffix(".idx") }.sorted()
            #expect(sidecars.count >= 2)
            // Ids of the first (sealed) and the last batch, among new ones.
            let lines = LogTesting.deploys(100, prefix: "b0") + LogTesting.deploys(50, prefix: "new") + LogTesting.deploys(10, prefix: "b59")
            let eagerTotals = try EventLog(directory: dir, configuration: small).totals
            do {
                let log = try EventLog(directory: dir, configuration: small, deferringIDIndex: true)
                #expect(!log.isIDIndexLoaded)
                #expect(log.totals == eagerTotals, "the open reads the sidecars' counts all the same")
                let summary = try log.append(LogTesting.batch(lines))
                #expect(log.isIDIndexLoaded)
                #expect(summary.stored == 50 && summary.duplicates == 110)
            }
            // A sidecar that cannot be read when the index is: the use fails, and the next one,
            // with the sidecar back, reads it.
            let log = try EventLog(directory: dir, configuration: small, deferringIDIndex: true)
            let path = dir + "/" + sidecars[0]
            #expect(rename(path, path + ".away") == 0)
            #expect(throws: EventLogError.self) { _ = try log.contains(id: "b0-1") }
            #expect(!log.isIDIndexLoaded)
            #expect(rename(path + ".away", path) == 0)
            #expect(try log.contains(id: "b0-1") && log.contains(id: "new-49") && !log.contains(id: "new-50"))
            #expect(log.isIDIndexLoaded)
        }
    }
}
