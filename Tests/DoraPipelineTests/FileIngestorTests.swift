import DoraEventLog
import DoraEvents
import DoraPipeline
import DoraTestSupport
import Foundation
import Testing

@Suite struct FileIngestorTests {
    func ingest(_ bytes: [UInt8], into dir: String, batchMessages: Int = 16_384) throws -> AppendSummary {
        let input = dir + "/input.jsonl"
        try TestFiles.write(bytes, to: input)
        let log = try EventLog(directory: dir + "/log")
        var ingestor = FileIngestor()
        ingestor.batchMessages = batchMessages
        return try ingestor.ingest(path: input, into: log)
    }

    func deadLetters(_ dir: String) throws -> [[String: Any]] {
        let text = String(decoding: try TestFiles.read(dir + "/log/dead-letters.jsonl"), as: UTF8.self)
        return text.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    @Test func aByteOrderMarkAtTheStartIsDroppedAndCRLFLineEndsAreAccepted() throws {
        try withTemporaryDirectory { dir in
            let lines = EventJSON.specExample.joined(separator: "\r\n") + "\r\n"
            let summary = try ingest([0xEF, 0xBB, 0xBF] + Array(lines.utf8), into: dir)
            #expect(summary == AppendSummary(read: 5, stored: 5, duplicates: 0, rejected: 0))
            var raw: [[UInt8]] = []
            try LogReader(directory: dir + "/log").forEachEventWithRawBytes { _, r in raw.append(Array(r)) }
            #expect(raw.first == Array(EventJSON.specExample[0].utf8), "no BOM, no CR in the stored bytes")
        }
    }

    @Test func aByteOrderMarkAnywhereElseMakesItsLineInvalid() throws {
        try withTemporaryDirectory { dir in
            let bytes = Array((EventJSON.specExample[0] + "\n").utf8) + [0xEF, 0xBB, 0xBF] + Array(EventJSON.specExample[1].utf8)
            let summary = try ingest(bytes, into: dir)
            #expect(summary.stored == 1 && summary.rejected == 1)
            #expect(try deadLetters(dir).first?["reason"] as? String == "invalid_json")
        }
    }

    @Test func blankLinesAreSkippedAndNotCounted() throws {
        try withTemporaryDirectory { dir in
            let text = "\n  \t \n" + EventJSON.specExample[0] + "\n\r\n" + EventJSON.specExample[1]
            let summary = try ingest(Array(text.utf8), into: dir)
            #expect(summary == AppendSummary(read: 2, stored: 2, duplicates: 0, rejected: 0))
        }
    }

    @Test func aLastLineWithoutLineEndIsRead() throws {
        try withTemporaryDirectory { dir in
            let summary = try ingest(Array(EventJSON.specExample.joined(separator: "\n").utf8), into: dir)
            #expect(summary.stored == 5)
        }
    }

    @Test func aLineOverOneMebibyteIsRejectedWithItsLineNumberAndIngestionGoesOn() throws {
        try withTemporaryDirectory { dir in
            let huge = "{\"pad\":\"" + String(repeating: "x", count: 3 << 20) + "\"}"
            let text = EventJSON.specExample[0] + "\n" + huge + "\n" + EventJSON.specExample[1] + "\n"
            let summary = try ingest(Array(text.utf8), into: dir)
            #expect(summary == AppendSummary(read: 3, stored: 2, duplicates: 0, rejected: 1))
            let letter = try #require(try deadLetters(dir).first)
            #expect(letter["reason"] as? String == "too_large")
            #expect((letter["source"] as? [String: Any])?["line"] as? Int == 2)
            #expect(letter["bytes"] as? Int == (1 << 20), "the dead letter keeps a bounded prefix")
        }
    }

    @Test func ingestingTheSameFileTwiceStoresNothingNew() throws {
        try withTemporaryDirectory { dir in
            let lines = LogTesting.deploys(3000) + ["junk"]
            let bytes = Array(lines.joined(separator: "\n").utf8)
            let first = try ingest(bytes, into: dir, batchMessages: 700)
            let second = try ingest(bytes, into: dir, batchMessages: 700)
            #expect(first == AppendSummary(read: 3001, stored: 3000, duplicates: 0, rejected: 1))
            #expect(second == AppendSummary(read: 3001, stored: 0, duplicates: 3000, rejected: 1))
        }
    }

    /// 4 batches all fit in the pipeline at once; 104 batches pass through it many times over.
    @Test(arguments: [2500, 97])
    func duplicatesWithinOnePipelinedRunAreCaughtAcrossBatches(batchMessages: Int) throws {
        try withTemporaryDirectory { dir in
            let lines = LogTesting.deploys(5000)
            let bytes = Array((lines + lines.reversed()).joined(separator: "\n").utf8)
            let summary = try ingest(bytes, into: dir, batchMessages: batchMessages)
            #expect(summary == AppendSummary(read: 10_000, stored: 5000, duplicates: 5000, rejected: 0))
            #expect(Set(try LogTesting.storedIDs(dir + "/log")).count == 5000)
        }
    }

    @Test func aMissingInputFileIsAClearError() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir + "/log")
            #expect(throws: PipelineError.self) { _ = try FileIngestor().ingest(path: dir + "/nope.jsonl", into: log) }
        }
    }
}
