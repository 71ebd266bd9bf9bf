import DoraEventLog
import DoraEvents
import DoraGenerator
import DoraKafka
import DoraPipeline
import DoraTestSupport
import Foundation
import Synchronization
import Testing

/// Kafka ingestion against the mock cluster over TCP on loopback.
@Suite(.timeLimit(.minutes(5)))
struct KafkaIngestorTests {
    /// Generated lines, and the ids of their distinct valid events.
    static func stream(_ count: Int) -> (lines: [String], ids: Set<String>) {
        var configuration = GeneratorConfiguration()
        configuration.events = count
        configuration.days = 30
        let lines = EventGenerator(configuration: configuration).lines()
        var ids = Set<String>()
        for line in lines { if let e = try? EventDecoder.decode(line) { ids.insert(e.id) } }
        return (lines, ids)
    }

    static func produce(_ lines: [String], to cluster: MockCluster, topic: String) throws {
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        for line in lines {
            let key = (try? EventDecoder.decode(line)).map { Array($0.service.utf8) }
            try producer.send(topic: topic, key: key, value: Array(line.utf8))
        }
        try producer.flush()
        #expect(producer.failed == 0)
    }

    /// A mock cluster whose topic `events` holds `lines`.
    static func cluster(with lines: [String], partitions: Int32) throws -> MockCluster {
        let cluster = try MockCluster()
        try cluster.createTopic("events", partitions: partitions)
        try produce(lines, to: cluster, topic: "events")
        return cluster
    }

    static func ingest(
        _ cluster: MockCluster, topic: String, group: String, into log: EventLog, batchMessages: Int = 16_384
    ) throws -> AppendSummary {
        var configuration = KafkaIngestor.Configuration(brokers: cluster.bootstrapServers, topics: [topic], group: group)
        configuration.untilEnd = true
        configuration.batchMessages = batchMessages
        // The mock cluster makes a member that joins after another left wait session.timeout.ms
        // minus 1 s (44 s with librdkafka's default): keep sessions short, above its 3 s initial delay.
        configuration.properties = [("session.timeout.ms", "6000"), ("heartbeat.interval.ms", "500")]
        let ingestor = KafkaIngestor(configuration: configuration, log: log)
        try ingestor.run()
        return ingestor.summary
    }

    @Test func oneHundredThousandEventsAcrossSixPartitionsAreStoredExactlyOnce() async throws {
        try await onOwnThread {
            try withTemporaryDirectory { dir in
                let (lines, ids) = Self.stream(100_000)
                let cluster = try Self.cluster(with: lines, partitions: 6)
                let log = try EventLog(directory: dir)
                let summary = try Self.ingest(cluster, topic: "events", group: "g", into: log)
                #expect(summary.read == lines.count)
                let stored = try LogTesting.storedIDs(dir)
                #expect(stored.count == Set(stored).count && Set(stored) == ids)
                #expect(summary.rejected > 0 && summary.duplicates > 0)
                // Dead letters carry topic, partition and offset.
                let letters = String(decoding: try TestFiles.read(dir + "/dead-letters.jsonl"), as: UTF8.self).split(separator: "\n")
                #expect(letters.count == summary.rejected)
                let first = try JSONSerialization.jsonObject(with: Data(letters[0].utf8)) as? [String: Any]
                let source = first?["source"] as? [String: Any]
                #expect(source?["topic"] as? String == "events" && source?["partition"] is Int && source?["offset"] is Int)
                // Offsets are in the log, and the group committed them.
                #expect(log.partitionOffsets.values.reduce(0, +) == Int64(lines.count))
            }
        }
    }

    @Test func aRestartResumesFromTheLogsOffsetsEvenWithoutCommittedOnes() async throws {
        try await onOwnThread {
            try withTemporaryDirectory { dir in
                let (lines, ids) = Self.stream(3_000)
                let cluster = try Self.cluster(with: lines, partitions: 3)
                do {
                    let log = try EventLog(directory: dir)
                    #expect(try Self.ingest(cluster, topic: "events", group: "first", into: log).read == lines.count)
                }
                // A new group has committed nothing: the log's own offsets say where to resume.
                let log = try EventLog(directory: dir)
                let again = try Self.ingest(cluster, topic: "events", group: "second", into: log)
                #expect(again.read == 0)
                // New events after the restart are picked up.
                try Self.produce([EventJSON.deploy("late-1", at: "2026-08-01T00:00:00Z")], to: cluster, topic: "events")
                let more = try Self.ingest(cluster, topic: "events", group: "second", into: log)
                #expect(more.read == 1 && more.stored == 1)
                #expect(Set(try LogTesting.storedIDs(dir)) == ids.union(["late-1"]))
            }
        }
    }
}

/// Lets a test hand a value to another thread; the test guarantees the use is safe (librdkafka
/// handles are thread-safe for the calls made).
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension KafkaIngestorTests {
    @Test func aTopicTheBrokersDoNotHaveIsAnErrorAndIsNotCreated() async throws {
        try await onOwnThread {
            try withTemporaryDirectory { dir in
                let cluster = try Self.cluster(with: [], partitions: 1)
                let log = try EventLog(directory: dir)
                for _ in 0..<2 {  // the first attempt must not have created it for the second
                    var configuration = KafkaIngestor.Configuration(brokers: cluster.bootstrapServers, topics: ["evnets"], group: "g")
                    configuration.untilEnd = true
                    configuration.topicsSetting = "source.kafka.topics"
                    do {
                        try KafkaIngestor(configuration: configuration, log: log).run()
                        Issue.record("a missing topic was consumed")
                    } catch {
                        #expect("\(error)".contains("topic evnets does not exist on the Kafka brokers"), "\(error)")
                        #expect("\(error)".contains("(topics there: events); create it or check source.kafka.topics"), "\(error)")
                    }
                }
            }
        }
    }
}
