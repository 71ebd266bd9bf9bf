import DoraEventLog
import DoraKafka
import DoraPipeline
import DoraTestSupport
import Foundation
import Synchronization
import Testing

/// Kafka ingestion while the mock cluster's broker goes down and comes back. Run in a test
/// process of their own (see `KafkaTesting.mayTakeBrokersDown`).
@Suite(.timeLimit(.minutes(5)), .enabled(if: KafkaTesting.mayTakeBrokersDown, "run alone by scripts/test.sh"))
struct KafkaIngestorBrokerFaultTests {
    @Test func brokerDowntimeAndInjectedRequestErrorsLoseAndDoubleNothing() async throws {
        try await onOwnThread {
            try withTemporaryDirectory { dir in
                let (lines, ids) = KafkaIngestorTests.stream(8_000)
                let cluster = try KafkaIngestorTests.cluster(with: lines, partitions: 3)
                // Fetch (API key 1) and OffsetCommit (API key 8) fail a few times with retriable errors.
                cluster.failNextRequests(apiKey: 1, count: 3, errorCode: 7)  // REQUEST_TIMED_OUT
                cluster.failNextRequests(apiKey: 8, count: 3, errorCode: 16)  // NOT_COORDINATOR
                let box = UncheckedBox(cluster)
                let faults = Thread {
                    Thread.sleep(forTimeInterval: 4)
                    try? box.value.setBroker(1, up: false)
                    Thread.sleep(forTimeInterval: 3)
                    try? box.value.setBroker(1, up: true)
                }
                faults.start()
                let log = try EventLog(directory: dir)
                _ = try KafkaIngestorTests.ingest(cluster, topic: "events", group: "g", into: log, batchMessages: 500)
                while !faults.isFinished { Thread.sleep(forTimeInterval: 0.1) }
                let stored = try LogTesting.storedIDs(dir)
                #expect(stored.count == Set(stored).count && Set(stored) == ids)
                #expect(log.partitionOffsets.values.reduce(0, +) == Int64(lines.count))
            }
        }
    }

    @Test func aMemberThatLosesEveryBrokerSaysSoAndNoticesTheirReturnOnAnIdleTopic() async throws {
        try await onOwnThread {
            try withTemporaryDirectory { dir in
                let (lines, _) = KafkaIngestorTests.stream(200)
                let cluster = try KafkaIngestorTests.cluster(with: lines, partitions: 1)
                let log = try EventLog(directory: dir)
                var configuration = KafkaIngestor.Configuration(brokers: cluster.bootstrapServers, topics: ["events"], group: "g")
                configuration.properties = [("session.timeout.ms", "6000"), ("heartbeat.interval.ms", "500")]
                let ingestor = KafkaIngestor(configuration: configuration, log: log)
                let changes = Mutex<[Bool]>([])
                ingestor.onConnection = { connected in changes.withLock { $0.append(connected) } }
                let box = UncheckedBox(ingestor)
                let thread = Thread { try? box.value.run() }
                thread.start()
                func waitFor(_ expected: [Bool]) -> Bool {
                    for _ in 0..<600 where changes.withLock({ $0 }) != expected { Thread.sleep(forTimeInterval: 0.1) }
                    return changes.withLock { $0 } == expected
                }
                #expect(waitFor([true]), "connected at start")
                for _ in 0..<300 where (try? LogTesting.storedIDs(dir).count) ?? 0 == 0 { Thread.sleep(forTimeInterval: 0.1) }
                try cluster.setBroker(1, up: false)
                #expect(waitFor([true, false]), "the loss is seen: \(changes.withLock { $0 })")
                try cluster.setBroker(1, up: true)
                // Nothing more arrives on the topic: only the probe can see the brokers back.
                #expect(waitFor([true, false, true]), "the return is seen: \(changes.withLock { $0 })")
                ingestor.stopRequest.request()
                while !thread.isFinished { Thread.sleep(forTimeInterval: 0.1) }
            }
        }
    }

    @Test func aStopWhileTheBrokerStopsAnsweringEndsWithinTheBoundOfItsLastCommits() async throws {
        try await onOwnThread {
            try withTemporaryDirectory { dir in
                let (lines, ids) = KafkaIngestorTests.stream(200)
                let cluster = try KafkaIngestorTests.cluster(with: lines, partitions: 1)
                let log = try EventLog(directory: dir)
                let configuration = KafkaIngestor.Configuration(brokers: cluster.bootstrapServers, topics: ["events"], group: "g")
                let ingestor = KafkaIngestor(configuration: configuration, log: log)
                let box = UncheckedBox(ingestor)
                let thread = Thread { try? box.value.run() }
                thread.start()
                for _ in 0..<600 where (try? LogTesting.storedIDs(dir).count) ?? 0 < ids.count { Thread.sleep(forTimeInterval: 0.1) }
                // The broker keeps its connections but answers nothing for two minutes: the
                // ingestor still counts it connected, so it waits for its last commits.
                try cluster.delayAnswers(ofBroker: -1, milliseconds: 120_000)
                ingestor.stopRequest.request()
                // The last commit waits 5 s and leaving the group 10 s at most; librdkafka's
                // own synchronous commit waited for the answer.
                for _ in 0..<450 where !thread.isFinished { Thread.sleep(forTimeInterval: 0.1) }
                #expect(thread.isFinished, "the stop still waits after 45 s")
                try cluster.delayAnswers(ofBroker: -1, milliseconds: 0)
                while !thread.isFinished { Thread.sleep(forTimeInterval: 0.1) }
                #expect(Set(try LogTesting.storedIDs(dir)) == ids)
            }
        }
    }
}
