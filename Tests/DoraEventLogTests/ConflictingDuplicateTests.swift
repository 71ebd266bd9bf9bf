import DoraEvents
import DoraTestSupport
import Foundation
import Testing

@testable import DoraEventLog

/// A message whose id is stored already is a duplicate; when its content (the decoded event)
/// differs from the stored copy's, it is a conflicting duplicate: counted apart and set aside
/// in the dead letters with both places, while the stored copy stays.
@Suite struct ConflictingDuplicateTests {
    static let original = EventJSON.deploy("o-1", at: "2026-07-01T10:00:00Z", version: "v42", commits: [("a1", "2026-06-30T15:00:00Z")])

    /// The dead-letter lines, parsed.
    func deadLetters(_ dir: String) throws -> [[String: Any]] {
        let path = dir + "/dead-letters.jsonl"
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// The id of the record that a dead letter's `stored` place names, read from the segment.
    func idAt(_ stored: [String: Any], in dir: String) throws -> String {
        let scanner = try SegmentScanner(path: dir + "/" + (stored["segment"] as! String))
        let block = try scanner.readBlock(at: stored["block_offset"] as! Int)
        var ids: [String] = []
        var scratch: [UInt8] = []
        try block.forEachRecord(using: ZstdDecompressor(), scratch: &scratch) { event, _ in ids.append(event.id) }
        return ids[stored["record"] as! Int]
    }

    @Test(arguments: [
        // Member order and white space.
        #"{ "version": "v42", "service": "checkout", "time": "2026-07-01T10:00:00Z", "type": "deploy", "id": "o-1", "commits": [{"time": "2026-06-30T15:00:00Z", "sha": "a1"}] }"#,
        // The same instants in another offset, with fractional zeros, and an escaped character.
        #"{"id":"o-1","type":"deploy","time":"2026-07-01T12:00:00.000+02:00","service":"check\u006fut","version":"v42","commits":[{"sha":"a1","time":"2026-06-30T17:00:00+02:00"}]}"#,
        // Defaults written out, and a field doralog does not read.
        #"{"id":"o-1","type":"deploy","time":"2026-07-01T10:00:00Z","service":"checkout","environment":"production","status":"succeeded","unplanned":false,"schema_version":1,"version":"v42","commits":[{"sha":"a1","time":"2026-06-30T15:00:00Z"}],"x-proxy":"re-sent"}"#,
    ])
    func aRedeliveryInAnotherSpellingIsAPlainDuplicate(_ respelled: String) throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            _ = try log.append(LogTesting.batch([Self.original]))
            let summary = try log.append(LogTesting.batch([respelled]))
            #expect(summary == AppendSummary(read: 1, stored: 0, duplicates: 1, conflictingDuplicates: 0))
            #expect(try deadLetters(dir).isEmpty)
        }
    }

    @Test(arguments: [
        EventJSON.deploy("o-1", at: "2026-07-01T10:00:00Z", version: "v43", commits: [("a1", "2026-06-30T15:00:00Z")]),
        EventJSON.deploy("o-1", at: "2026-07-01T10:00:00.000001Z", version: "v42", commits: [("a1", "2026-06-30T15:00:00Z")]),
        EventJSON.deploy("o-1", at: "2026-07-01T10:00:00Z", version: "v42", commits: [("a1", "2026-06-30T15:00:00Z")], unplanned: true),
        EventJSON.deploy("o-1", at: "2026-07-01T10:00:00Z", environment: "staging", version: "v42", commits: [("a1", "2026-06-30T15:00:00Z")]),
        EventJSON.deploy("o-1", at: "2026-07-01T10:00:00Z", version: "v42"),
        EventJSON.alert("o-1", at: "2026-07-01T10:00:00Z", alertID: "a-1", status: "firing"),
    ])
    func anEventWithAStoredIDAndOtherContentIsAConflictingDuplicate(_ changed: String) throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            _ = try log.append(LogTesting.batch(LogTesting.deploys(3) + [Self.original], file: "first.jsonl"))
            let summary = try log.append(LogTesting.batch([LogTesting.deploys(5)[4], changed], file: "second.jsonl"))
            #expect(summary == AppendSummary(read: 2, stored: 1, duplicates: 1, conflictingDuplicates: 1))
            #expect(log.totals.duplicates == 1 && log.totals.conflictingDuplicates == 1)

            let letters = try deadLetters(dir)
            try #require(letters.count == 1)
            let letter = letters[0]
            #expect(letter["reason"] as? String == "conflicting_duplicate")
            #expect(letter["id"] as? String == "o-1" && letter["field"] as? String == "id")
            #expect((letter["message"] as? String)?.contains("Give a changed event a new id") == true)
            let source = letter["source"] as? [String: Any]
            #expect(source?["file"] as? String == "second.jsonl" && source?["line"] as? Int == 2)
            #expect(letter["raw_base64"] as? String == Data(changed.utf8).base64EncodedString())
            let stored = try #require(letter["stored"] as? [String: Any])
            #expect(stored["segment"] as? String == "segment-00000001.zst")
            #expect(stored["block_offset"] as? Int == LogFormat.segmentHeaderBytes && stored["record"] as? Int == 3)
            #expect(try idAt(stored, in: dir) == "o-1")

            // The first stored copy wins.
            var kept: [Event] = []
            try LogReader(directory: dir).forEachEvent { if $0.id == "o-1" { kept.append($0) } }
            #expect(kept == [event(Self.original)])
        }
    }

    @Test func bothCopiesInOneBatchNameThatBatchsOwnBlock() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            _ = try log.append(LogTesting.batch(LogTesting.deploys(2)))
            let changed = EventJSON.deploy("o-1", at: "2026-07-01T10:00:00Z", version: "v43")
            let summary = try log.append(LogTesting.batch([LogTesting.deploys(3)[2], Self.original, Self.original, changed]))
            #expect(summary == AppendSummary(read: 4, stored: 2, duplicates: 2, conflictingDuplicates: 1))
            let letters = try deadLetters(dir)
            try #require(letters.count == 1)
            let stored = try #require(letters[0]["stored"] as? [String: Any])
            #expect(stored["record"] as? Int == 1 && (stored["block_offset"] as? Int ?? 0) > LogFormat.segmentHeaderBytes)
            #expect(try idAt(stored, in: dir) == "o-1")
            #expect((letters[0]["source"] as? [String: Any])?["line"] as? Int == 4)
        }
    }

    @Test func theStoredCopiesSurviveReopeningTheLog() throws {
        try withTemporaryDirectory { dir in
            do {
                let log = try EventLog(directory: dir)
                _ = try log.append(LogTesting.batch(LogTesting.deploys(4)))
                _ = try log.append(LogTesting.batch([Self.original]))
            }
            do {
                let log = try EventLog(directory: dir)
                let changed = EventJSON.deploy("o-1", at: "2026-07-01T10:00:00Z", version: "v43")
                let summary = try log.append(LogTesting.batch([Self.original, changed, LogTesting.deploys(4)[2]]))
                #expect(summary == AppendSummary(read: 3, stored: 0, duplicates: 3, conflictingDuplicates: 1))
            }
            let stored = try #require(try deadLetters(dir).first?["stored"] as? [String: Any])
            #expect(try idAt(stored, in: dir) == "o-1")
            #expect(stored["record"] as? Int == 0)
            // The count is in the block headers: a reader and a reopened writer both see it.
            #expect(try LogReader(directory: dir).totals.conflictingDuplicates == 1)
            #expect(try EventLog(directory: dir).totals == LogTotals(stored: 5, duplicates: 3, conflictingDuplicates: 1))
        }
    }

    @Test func aCopyInASealedSegmentIsFoundAndItsPlaceNamed() throws {
        try withTemporaryDirectory { dir in
            let small = LogTesting.smallSegments
            try LogTesting.writeSealedSegments(in: dir)
            #expect(try TestFiles.list(dir).filter { $0.hasSuffix(".idx") }.count >= 2)
            // Changed copies of events in the first, a middle and the last batch, twice over:
            // before and after a reopen (the sealed runs come from the sidecars then).
            let changed = ["b0-7", "b25-42", "b59-99"].map { EventJSON.deploy($0, at: "2026-07-01T10:00:00Z", version: "changed") }
            for round in 0..<2 {
                let log = try EventLog(directory: dir, configuration: small)
                let summary = try log.append(LogTesting.batch(changed))
                #expect(summary.conflictingDuplicates == 3 && summary.stored == 0)
                let letters = try deadLetters(dir).suffix(3)
                #expect(letters.count == 3)
                for (letter, id) in zip(letters, ["b0-7", "b25-42", "b59-99"]) {
                    let stored = try #require(letter["stored"] as? [String: Any], "round \(round)")
                    #expect(try idAt(stored, in: dir) == id)
                }
                let first = try #require(try deadLetters(dir).first?["stored"] as? [String: Any])
                #expect(first["segment"] as? String == "segment-00000001.zst")
                #expect(first["block_offset"] as? Int == LogFormat.segmentHeaderBytes && first["record"] as? Int == 7)
            }
            let report = try LogVerifier.verify(directory: dir)
            #expect(report.isClean, "\(report.problems)")
            #expect(try LogReader(directory: dir).totals.conflictingDuplicates == 6)
        }
    }

    @Test func conflictsAcrossPipelinedAppendsAreToldApartAndPlaced() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            let appender = PipelinedAppender(log: log)
            var total = AppendSummary()
            // Each batch repeats the previous batch's ids, every other one changed: their
            // stored copies are in flight when the batch is prepared.
            for b in 0..<6 {
                var lines = LogTesting.deploys(50, prefix: "p\(b)")
                if b > 0 {
                    lines += LogTesting.deploys(50, prefix: "p\(b - 1)").enumerated().map { i, line in
                        i % 2 == 0 ? line : EventJSON.deploy("p\(b - 1)-\(i)", at: "2026-07-01T10:00:00Z", version: "changed")
                    }
                }
                if let done = try appender.submit(LogTesting.batch(lines, file: "batch-\(b).jsonl")) { total += done }
            }
            while let done = try appender.flush() { total += done }
            #expect(total == AppendSummary(read: 550, stored: 300, duplicates: 250, conflictingDuplicates: 125))
            let letters = try deadLetters(dir)
            #expect(letters.count == 125)
            for letter in letters {
                let stored = try #require(letter["stored"] as? [String: Any])
                #expect(try idAt(stored, in: dir) == letter["id"] as? String)
            }
        }
    }

    @Test func idsInFlightWhenTheBloomGrowsAreStillFoundAsDuplicates() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            let appender = PipelinedAppender(log: log)
            var total = AppendSummary()
            let batches = (0..<4).map { LogTesting.deploys(50, prefix: "g\($0)") }
            for (b, lines) in batches.enumerated() {
                if let done = try appender.submit(LogTesting.batch(lines, file: "batch-\(b).jsonl")) { total += done }
            }
            // The first two batches are prepared, not committed: the bloom is rebuilt larger
            // while they are in flight. A batch repeating every id of the four follows.
            try log.reserveCapacity(forNewIDs: 2_000_000)
            if let done = try appender.submit(LogTesting.batch(batches.flatMap { $0 }, file: "again.jsonl")) { total += done }
            while let done = try appender.flush() { total += done }
            #expect(total == AppendSummary(read: 400, stored: 200, duplicates: 200))
        }
    }

    // MARK: - Logs written before conflicting duplicates were told apart

    /// The block at `offset` of `segment`, rewritten as a version 1 block (no conflict count).
    func rewriteAsVersion1(_ path: String) throws {
        let scanner = try SegmentScanner(path: path)
        var out = Array(try TestFiles.read(path)[0..<LogFormat.segmentHeaderBytes])
        var offset = LogFormat.segmentHeaderBytes
        while offset < scanner.fileSize {
            let block = try scanner.readBlock(at: offset)
            var header = block.header
            let frames = Array(block.bytes[header.headerBytes...])
            header.version = 1
            header.conflictingDuplicates = 0
            let unsigned = header.encoded()
            var crc = CRC32C()
            unsigned.withUnsafeBytes { crc.update(UnsafeRawBufferPointer(rebasing: $0[8..<unsigned.count - 4])) }
            frames.withUnsafeBytes { crc.update($0) }
            header.checksum = crc.finalized
            out += header.encoded() + frames
            offset += block.header.totalBytes
        }
        try TestFiles.write(out, to: path)
    }

    /// The sidecar of segment `number` in the older layout (`DORAIDX2`: 44-byte block
    /// entries, no copies), made from the segment as it is now.
    func writeLayout2Sidecar(_ dir: String, segment number: UInt32) throws {
        let scanner = try SegmentScanner(path: dir + "/" + LogFormat.segmentName(number))
        var blocks: [BlockLocation] = []
        var ids: [IDFingerprint] = []
        var scratch: [UInt8] = []
        _ = try scanner.scan { (checked) throws(EventLogError) in
            blocks.append(checked.location(segment: number))
            try checked.forEachRecord(using: ZstdDecompressor(), scratch: &scratch) { event, _ in ids.append(IDFingerprint(id: event.id)) }
        }
        var out = Array("DORAIDX2".utf8)
        out.appendLE(number)
        out.appendLE(UInt64(scanner.fileSize))
        out.appendLE(UInt32(blocks.count))
        for b in blocks {
            out.appendLE(UInt64(b.offset))
            for v in [b.totalBytes, b.recordCount, b.duplicates, b.rejected, b.unknownTypes] { out.appendLE(UInt32(v)) }
            out.appendLE(UInt64(bitPattern: b.minTime.microseconds))
            out.appendLE(UInt64(bitPattern: b.maxTime.microseconds))
        }
        out.appendOffsets([])
        out.appendLE(UInt64(ids.count))
        for f in ids.sorted() {
            out.appendLE(f.high)
            out.appendLE(f.low)
        }
        out.appendLE(CRC32C.checksum(out))
        try TestFiles.write(out, to: dir + "/" + LogFormat.indexName(number))
    }

    @Test func aLogOfTheOlderLayoutIsReadAndItsCopiesAreRebuiltOnOpen() throws {
        try withTemporaryDirectory { dir in
            let small = LogTesting.smallSegments
            do {
                let log = try EventLog(directory: dir, configuration: small)
                for b in 0..<30 { _ = try log.append(LogTesting.batch(LogTesting.deploys(100, prefix: "b\(b)") + ["not json"])) }
            }
            let segments = try TestFiles.list(dir).filter { $0.hasSuffix(".zst") }.sorted()
            #expect(segments.count >= 2)
            for name in segments { try rewriteAsVersion1(dir + "/" + name) }
            for number in 1..<UInt32(segments.count) { try writeLayout2Sidecar(dir, segment: number) }
            let sidecar = dir + "/segment-00000001.idx"
            let size = try TestFiles.size(dir + "/segment-00000001.zst")
            #expect(SegmentIndexFile.load(path: sidecar, segmentNumber: 1, segmentBytes: size)?.copiesOffset == nil)

            // Readers and verify take it as it is.
            #expect(try LogReader(directory: dir).totals == LogTotals(stored: 3_000, duplicates: 0, rejected: 30))
            let before = try LogVerifier.verify(directory: dir)
            #expect(before.isClean, "\(before.problems)")

            // A writer rebuilds the sidecar with copies, and finds conflicts in old blocks.
            let log = try EventLog(directory: dir, configuration: small)
            #expect(SegmentIndexFile.load(path: sidecar, segmentNumber: 1, segmentBytes: size)?.copiesOffset != nil)
            let changed = ["b0-3", "b29-5"].map { EventJSON.deploy($0, at: "2026-07-01T10:00:00Z", version: "changed") }
            let summary = try log.append(LogTesting.batch(changed + [LogTesting.deploys(100, prefix: "b1")[1]]))
            #expect(summary == AppendSummary(read: 3, stored: 0, duplicates: 3, conflictingDuplicates: 2))
            for letter in try deadLetters(dir).filter({ $0["reason"] as? String == "conflicting_duplicate" }) {
                #expect(try idAt(try #require(letter["stored"] as? [String: Any]), in: dir) == letter["id"] as? String)
            }
            let after = try LogVerifier.verify(directory: dir)
            #expect(after.isClean, "\(after.problems)")
        }
    }
}
