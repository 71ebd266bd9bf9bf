import DoraEvents
import DoraTestSupport
import Foundation
import Testing

@testable import DoraEventLog

@Suite struct SegmentTests {
    static let small = LogConfiguration(segmentBytes: 64 << 10, zstdLevel: 3)

    static let start: Int64 = 1_782_864_000_000_000
    static let hour: Int64 = 3_600_000_000

    /// A log of several sealed segments: 120 batches of 100 events, each batch 100 hours on.
    func makeMultiSegmentLog(_ dir: String) throws {
        let log = try EventLog(directory: dir, configuration: Self.small)
        for b in 0..<120 {
            _ = try log.append(LogTesting.batch(batch(b)))
        }
    }

    func batch(_ b: Int, prefix: String? = nil) -> [String] {
        LogTesting.deploys(100, prefix: prefix ?? "b\(b)", start: Self.start + Int64(b) * 100 * Self.hour)
    }

    @Test func segmentsRollAtTheirSizeAndDuplicatesAreFoundInSealedOnes() throws {
        try withTemporaryDirectory { dir in
            try makeMultiSegmentLog(dir)
            let files = try TestFiles.list(dir)
            let segments = files.filter { $0.hasSuffix(".zst") }
            #expect(segments.count > 3)
            #expect(files.filter { $0.hasSuffix(".idx") }.count == segments.count - 1)
            let log = try EventLog(directory: dir, configuration: Self.small)
            let again = try log.append(LogTesting.batch(batch(0) + batch(5) + batch(0, prefix: "new")))
            #expect(again.duplicates == 200 && again.stored == 100)
            #expect(try LogTesting.storedIDs(dir).count == 12_100)
            #expect(try LogVerifier.verify(directory: dir).isClean)
        }
    }

    @Test func aLostOrDamagedSegmentIndexIsRebuiltFromItsSegment() throws {
        try withTemporaryDirectory { dir in
            try makeMultiSegmentLog(dir)
            let first = dir + "/segment-00000001.idx"
            let second = dir + "/segment-00000002.idx"
            let original = try TestFiles.read(first)
            try FileManager.default.removeItem(atPath: first)
            var damaged = try TestFiles.read(second)
            damaged[damaged.count / 2] ^= 0x40
            try TestFiles.write(damaged, to: second)
            let log = try EventLog(directory: dir, configuration: Self.small)
            #expect(try TestFiles.read(first) == original)
            #expect(try log.contains(id: "b0-5"))
            #expect(try log.append(LogTesting.batch(batch(1))).duplicates == 100)
            #expect(try LogVerifier.verify(directory: dir).isClean)
        }
    }

    @Test func aSidecarWithAValidChecksumButNonsenseInsideIsRebuiltNotTrusted() throws {
        try withTemporaryDirectory { dir in
            try makeMultiSegmentLog(dir)
            let path = dir + "/segment-00000001.idx"
            let original = try TestFiles.read(path)
            // Same signature, segment and size, then huge counts, re-checksummed.
            var forged = Array(original[0..<20]) + [UInt8](repeating: 0xFF, count: 64)
            forged += withUnsafeBytes(of: CRC32C.checksum(forged).littleEndian, Array.init)
            try TestFiles.write(forged, to: path)
            #expect(SegmentIndexFile.load(path: path, segmentNumber: 1, segmentBytes: try TestFiles.size(dir + "/segment-00000001.zst")) == nil)
            _ = try LogReader(directory: dir).blocks
            _ = try EventLog(directory: dir, configuration: Self.small)
            #expect(try TestFiles.read(path) == original)
        }
    }

    @Test func aMissingSegmentStopsTheOpenAndVerifyNamesIt() throws {
        try withTemporaryDirectory { dir in
            try makeMultiSegmentLog(dir)
            try FileManager.default.removeItem(atPath: dir + "/segment-00000002.zst")
            #expect(throws: EventLogError.self) { _ = try EventLog(directory: dir, configuration: Self.small) }
            let report = try LogVerifier.verify(directory: dir)
            #expect(report.problems.contains { $0.message.contains("missing") })
        }
    }

    @Test func aTimeRangeReadsOnlyTheBlocksThatOverlapIt() throws {
        try withTemporaryDirectory { dir in
            try makeMultiSegmentLog(dir)
            let reader = try LogReader(directory: dir)
            let start = Timestamp(microseconds: Self.start + 1_000 * Self.hour)
            let range = start..<start.advanced(byMicroseconds: 400 * Self.hour)
            let selected = reader.blocks(overlapping: range)
            #expect(!selected.isEmpty && selected.count < reader.blocks.count)
            var inRange = 0
            try reader.forEachEvent(in: selected) { if range.contains($0.time) { inRange += 1 } }
            var expected = 0
            try reader.forEachEvent { if range.contains($0.time) { expected += 1 } }
            #expect(inRange == expected && expected == 400)
        }
    }

    @Test func aParallelFoldHandsEveryStoredEventToExactlyOneWorker() throws {
        try withTemporaryDirectory { dir in
            try makeMultiSegmentLog(dir)
            let reader = try LogReader(directory: dir)
            let parts = try reader.fold(reader.blocks(overlapping: nil), into: [[String](), [String](), [String]()]) { ids, record in
                ids.append(EventRecord.string(record.id))
                // A worker lingers 10 ms per 100 events (one block here), so the others surely
                // start and take blocks however late a loaded machine schedules them.
                if ids.count % 100 == 0 { Thread.sleep(forTimeInterval: 0.01) }
            }
            let all = parts.flatMap { $0 }
            #expect(all.count == 12_000 && Set(all).count == 12_000)
            #expect(Set(all) == Set(try LogTesting.storedIDs(dir)))
            #expect(parts.filter { !$0.isEmpty }.count > 1, "the blocks are shared between workers")
        }
    }

    @Test func aParallelFoldThrowsTheDamagedBlockWithItsSegmentAndOffset() throws {
        try withTemporaryDirectory { dir in
            try makeMultiSegmentLog(dir)
            let target = try LogReader(directory: dir).blocks[5]
            let path = dir + "/" + LogFormat.segmentName(target.segment)
            var bytes = try TestFiles.read(path)
            bytes[target.offset + target.totalBytes / 2] ^= 0x01
            try TestFiles.write(bytes, to: path)
            let reader = try LogReader(directory: dir)
            do throws(EventLogError) {
                _ = try reader.fold(reader.blocks(overlapping: nil), into: [0, 0]) { count, _ in count += 1 }
                Issue.record("a damaged block was folded")
            } catch {
                #expect(error.file == path && error.byteOffset == target.offset, "\(error)")
            }
        }
    }
}

