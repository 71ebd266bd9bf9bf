import DoraEvents
import DoraTestSupport
import Foundation
import Testing

@testable import DoraEventLog

@Suite struct CrashRecoveryTests {
    /// A one-segment log of `batches` blocks of 20 events; returns each block's end offset.
    func makeLog(_ dir: String, batches: Int = 8) throws -> [Int] {
        let log = try EventLog(directory: dir)
        for b in 0..<batches { _ = try log.append(LogTesting.batch(LogTesting.deploys(20, prefix: "b\(b)"))) }
        return try LogReader(directory: dir).blocks.map { $0.offset + $0.totalBytes }
    }

    @Test func truncatingTheLastSegmentAnywhereKeepsEveryCompleteBlock() throws {
        try withTemporaryDirectory { root in
            let pristine = root + "/pristine"
            let ends = try makeLog(pristine)
            let segment = "/segment-00000001.zst"
            let size = try TestFiles.size(pristine + segment)
            var rng = SystemRandomNumberGenerator()
            var cuts = (0..<40).map { _ in Int.random(in: 0..<size, using: &rng) }
            cuts += [0, 1, 35, 36, 37, ends[0] - 1, ends[0], ends[0] + 1, size - 1]
            for (i, cut) in cuts.enumerated() {
                let dir = root + "/cut\(i)"
                try TestFiles.copyDirectory(pristine, to: dir)
                TestFiles.truncate(dir + segment, to: cut)
                let complete = ends.filter { $0 <= cut }.count
                let log = try EventLog(directory: dir)
                #expect(log.totals.stored == complete * 20, "cut at \(cut)")
                // Appends continue, and the log is clean afterwards.
                let summary = try log.append(LogTesting.batch(LogTesting.deploys(20, prefix: "b0") + ["{\"id\":\"after\",\"type\":\"deploy\",\"time\":\"2026-07-01T00:00:00Z\",\"service\":\"s\",\"version\":\"v\"}"]))
                #expect(summary.stored == (complete == 0 ? 21 : 1), "cut at \(cut)")
                #expect(try LogVerifier.verify(directory: dir).isClean, "cut at \(cut)")
                #expect(try LogTesting.storedIDs(dir).count == complete * 20 + summary.stored)
            }
        }
    }

    @Test func aFlippedByteInAMiddleBlockIsReportedAndNothingElse() throws {
        try withTemporaryDirectory { dir in
            _ = try makeLog(dir)
            let blocks = try LogReader(directory: dir).blocks
            let target = blocks[3]
            let path = dir + "/segment-00000001.zst"
            for offsetInBlock in [4, 30, target.totalBytes / 2, target.totalBytes - 1] {
                var bytes = try TestFiles.read(path)
                bytes[target.offset + offsetInBlock] ^= 0x01
                try TestFiles.write(bytes, to: path)
                let report = try LogVerifier.verify(directory: dir)
                #expect(report.problems.count == 1, "flip at +\(offsetInBlock): \(report.problems)")
                #expect(report.problems.first?.byteOffset == target.offset)
                #expect(report.problems.first?.file.hasSuffix("segment-00000001.zst") == true)
                // A writer refuses to cut it (it is not the tail); a reader names it.
                #expect(throws: EventLogError.self) { _ = try EventLog(directory: dir) }
                #expect(throws: EventLogError.self) { try LogReader(directory: dir).forEachEvent { _ in } }
                bytes[target.offset + offsetInBlock] ^= 0x01
                try TestFiles.write(bytes, to: path)
                #expect(try LogVerifier.verify(directory: dir).isClean)
            }
        }
    }

    @Test func garbageAfterTheLastBlockIsCutAsATornTail() throws {
        try withTemporaryDirectory { dir in
            _ = try makeLog(dir, batches: 3)
            let path = dir + "/segment-00000001.zst"
            let bytes = try TestFiles.read(path)
            try TestFiles.write(bytes + [UInt8](repeating: 0, count: 4096), to: path)
            #expect(!(try LogVerifier.verify(directory: dir).isClean))
            let log = try EventLog(directory: dir)
            #expect(log.totals.stored == 60)
            #expect(try TestFiles.read(path) == bytes)
        }
    }

    @Test func aTornNewestSegmentHeaderIsRewritten() throws {
        try withTemporaryDirectory { dir in
            try TestFiles.write([0x5D, 0x2A, 0x4D], to: dir + "/segment-00000001.zst")
            let log = try EventLog(directory: dir)
            #expect(try log.append(LogTesting.batch(LogTesting.deploys(2))).stored == 2)
            #expect(try LogVerifier.verify(directory: dir).isClean)
        }
    }
}
