import DoraEvents
import DoraTestSupport
import Foundation
import Testing

@testable import DoraEventLog

@Suite struct EventLogAppendTests {
    @Test func everyMessageEndsAsExactlyOneOfStoredDuplicateOrRejected() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            let lines = LogTesting.deploys(10) + ["not json", LogTesting.deploys(1)[0], #"{"id":"x"}"#]
            let summary = try log.append(LogTesting.batch(lines))
            #expect(summary == AppendSummary(read: 13, stored: 10, duplicates: 1, rejected: 2))
            #expect(summary.read == summary.stored + summary.duplicates + summary.rejected)
            #expect(log.totals == LogTotals(stored: 10, duplicates: 1, rejected: 2))
        }
    }

    @Test func anAppendReportsTheEventsItStoredAndNoOthers() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            _ = try log.append(LogTesting.batch(LogTesting.deploys(3)))
            let lines = LogTesting.deploys(6) + ["not json", EventJSON.specExample[1]]
            let (summary, stored) = try log.appendReportingStored(LogTesting.batch(lines))
            #expect(summary.stored == 4 && summary.duplicates == 3 && summary.rejected == 1)
            let expected = (Array(LogTesting.deploys(6)[3...]) + [EventJSON.specExample[1]]).map { try! EventDecoder.decode($0) }
            #expect(stored.count == 4)
            #expect(stored.events == expected, "the stored events, read from the records just written, in batch order")
        }
    }

    @Test func theRecordsOfASmallAppendAfterALargeOneHoldOnlyTheirOwnBytes() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            let large = try log.appendReportingStored(LogTesting.batch(LogTesting.deploys(20_000))).stored
            let small = try log.appendReportingStored(LogTesting.batch(LogTesting.deploys(1, prefix: "x"))).stored
            #expect(small.count == 1)
            // The log reuses the large append's buffer for the next one; a small append's
            // records, held by a live state's queue, must not hold that buffer's size.
            #expect(large.byteCount > 500_000)
            #expect(small.byteCount < 1_000, "the records of one event hold \(small.byteCount) bytes")
        }
    }

    @Test func appendingTheSameEventsAgainStoresNothingNew() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            _ = try log.append(LogTesting.batch(LogTesting.deploys(50)))
            let again = try log.append(LogTesting.batch(LogTesting.deploys(50)))
            #expect(again.stored == 0 && again.duplicates == 50)
            #expect(try LogTesting.storedIDs(dir).count == 50)
        }
    }

    @Test func theIDIndexSurvivesReopeningTheLog() throws {
        try withTemporaryDirectory { dir in
            do {
                let log = try EventLog(directory: dir)
                _ = try log.append(LogTesting.batch(LogTesting.deploys(20)))
            }
            let reopened = try EventLog(directory: dir)
            #expect(try reopened.contains(id: "d-7"))
            #expect(try !reopened.contains(id: "d-20"))
            let summary = try reopened.append(LogTesting.batch(LogTesting.deploys(25)))
            #expect(summary.stored == 5 && summary.duplicates == 20)
            #expect(reopened.totals.stored == 25 && reopened.totals.duplicates == 20)
        }
    }

    @Test func aSecondWriterOnTheSameDirectoryIsRefused() throws {
        try withTemporaryDirectory { dir in
            let first = try EventLog(directory: dir)
            #expect(throws: EventLogError.self) { _ = try EventLog(directory: dir) }
            _ = first
        }
    }

    /// As when a child being spawned by another thread still holds a copy of the lock's
    /// descriptor for a moment after the log that took it has closed.
    @Test func aLockHeldBrieflyByAnotherDescriptorIsWaitedFor() throws {
        try withTemporaryDirectory { dir in
            do { _ = try EventLog(directory: dir) }
            let holder = try PosixFile.open(dir + "/lock", flags: O_RDWR)
            #expect(flock(holder.descriptor, LOCK_EX | LOCK_NB) == 0)
            let descriptor = holder.descriptor
            let released = DispatchSemaphore(value: 0)
            Thread {
                usleep(200_000)
                flock(descriptor, LOCK_UN)
                released.signal()
            }.start()
            let log = try EventLog(directory: dir)
            released.wait()
            #expect(throws: EventLogError.self) { _ = try EventLog(directory: dir) }
            _ = log
        }
    }

    @Test func storedRawBytesComeBackByteIdenticalOnReplay() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            let lines = EventJSON.specExample + [
                "  {\"id\" : \"w\",\"type\":\"deploy\" ,\"time\":\"2026-07-01T00:00:00Z\",\"service\":\"s\",\"version\":\"v\",\"x\":{\"y\":[1, 2.5e-3]}}\t",
                "{\"id\":\"multi\",\r\n\"type\":\"deploy\",\"time\":\"2026-07-01T00:00:00Z\",\"service\":\"s\u{e9}\",\"version\":\"v\"}",
            ]
            _ = try log.append(LogTesting.batch(lines))
            var replayed: [String: [UInt8]] = [:]
            try LogReader(directory: dir).forEachEventWithRawBytes { event, raw in replayed[event.id] = Array(raw) }
            for line in lines {
                let id = event(line).id
                #expect(replayed[id] == Array(line.utf8), "raw bytes of \(id)")
            }
        }
    }

    @Test func unknownTypesAndFieldsAreStoredAndComeBackOnReplay() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            let note = #"{"id":"n","type":"incident_note","time":"2026-07-01T00:00:00Z","service":"s","text":"later version reads me"}"#
            #expect(try log.append(LogTesting.batch([note])).stored == 1)
            var raw: [UInt8] = []
            try LogReader(directory: dir).forEachEventWithRawBytes { _, r in raw = Array(r) }
            #expect(String(decoding: raw, as: UTF8.self).contains("later version reads me"))
        }
    }

    @Test func rejectedMessagesLandInTheDeadLetterStoreWithReasonAndSource() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            _ = try log.append(LogTesting.batch(["{bad", LogTesting.deploys(1)[0], #"{"id":"e"}"#], file: "events.jsonl", firstLine: 40))
            let text = String(decoding: try TestFiles.read(dir + "/dead-letters.jsonl"), as: UTF8.self)
            let entries = text.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            #expect(entries.count == 2)
            #expect(entries[0]["reason"] as? String == "invalid_json")
            #expect((entries[0]["source"] as? [String: Any])?["line"] as? Int == 40)
            #expect((entries[0]["source"] as? [String: Any])?["file"] as? String == "events.jsonl")
            #expect(Data(base64Encoded: entries[0]["raw_base64"] as! String) == Data("{bad".utf8))
            #expect(entries[1]["reason"] as? String == "missing_field")
            #expect(entries[1]["field"] as? String == "type")
            #expect((entries[1]["source"] as? [String: Any])?["line"] as? Int == 42)
        }
    }

    @Test func aTornLastDeadLetterLineIsCutWhenTheLogOpens() throws {
        try withTemporaryDirectory { dir in
            do {
                let log = try EventLog(directory: dir)
                _ = try log.append(LogTesting.batch(["{bad"]))
            }
            let path = dir + "/dead-letters.jsonl"
            let whole = try TestFiles.read(path)
            try TestFiles.write(whole + Array("{\"reason\":\"inval".utf8), to: path)
            _ = try EventLog(directory: dir)
            #expect(try TestFiles.read(path) == whole)
        }
    }

    @Test func kafkaOffsetsAreStoredWithTheirBatchAndRecoveredOnOpen() throws {
        try withTemporaryDirectory { dir in
            do {
                let log = try EventLog(directory: dir)
                _ = try log.append(LogTesting.batch(LogTesting.deploys(3)), offsets: [PartitionOffset(topic: "events", partition: 2, nextOffset: 17)])
                _ = try log.append(MessageBatch(), offsets: [PartitionOffset(topic: "events", partition: 2, nextOffset: 20)])
            }
            let reopened = try EventLog(directory: dir)
            #expect(reopened.partitionOffsets == [TopicPartition(topic: "events", partition: 2): 20])
        }
    }

    @Test func anEmptyAppendWritesNoBlock() throws {
        try withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            _ = try log.append(MessageBatch())
            #expect(try LogReader(directory: dir).blocks.isEmpty)
        }
    }

    @Test func invalidConfigurationIsRefusedWithTheSettingNamed() throws {
        try withTemporaryDirectory { dir in
            #expect(throws: EventLogError.self) { _ = try EventLog(directory: dir, configuration: LogConfiguration(zstdLevel: 99)) }
            #expect(throws: EventLogError.self) { _ = try EventLog(directory: dir, configuration: LogConfiguration(segmentBytes: 10)) }
        }
    }
}
