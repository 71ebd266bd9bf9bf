import Dispatch
public import DoraEventLog
public import DoraEvents
public import DoraKafka
public import Logging
import Synchronization

/// Consumes topics as a consumer-group member and appends the events to an event log, with
/// no loss and no duplicates (docs/kafka.md).
///
/// Invariants: offsets are committed only after the events they cover are durable; each
/// append stores the batch's next offsets in the same block, and on assignment the consumer
/// resumes from the later of the log's offsets and the group's committed ones; redelivered
/// events are dropped by the log's id index. Runs on the calling thread, which it blocks.
public final class KafkaIngestor: KafkaRebalanceHandler {
    public struct Configuration: Sendable {
        public var brokers: String
        public var topics: [String]
        public var group: String
        /// Extra librdkafka properties (`-X key=value`).
        public var properties: [(String, String)] = []
        /// A batch is appended once it holds this many messages... Default 16384.
        public var batchMessages = 16_384
        /// ...or this many bytes... Default 4 MiB.
        public var batchBytes = 4 << 20
        /// ...or its first message waited this long. Default 100 ms.
        public var maximumDelayMilliseconds: Int64 = 100
        /// Stop once every assigned partition is at its end.
        public var untilEnd = false
        /// With `untilEnd`: fail if no partition has been assigned after this long (a group
        /// that never settles would otherwise wait for ever). Without it, a notice is logged
        /// after this long and ingestion keeps waiting. Default 60 s.
        public var assignmentTimeoutMilliseconds: Int64 = 60_000
        /// Record, per message, the time from its Kafka timestamp to durable (a benchmark aid).
        public var recordsLatency = false

        public init(brokers: String, topics: [String], group: String) {
            self.brokers = brokers
            self.topics = topics
            self.group = group
        }
    }

    private let configuration: Configuration
    private let log: EventLog
    private let logger: Logger
    private var consumer: KafkaConsumer!
    private var batch = MessageBatch()
    private var batchStarted: Int64 = 0
    /// Per partition, the next offset after the last message in the batch.
    private var pending: [TopicPartition: Int64] = [:]
    private var assigned = Set<TopicPartition>()
    private var atEnd = Set<TopicPartition>()
    private var failure: Error?
    /// Set from any thread (a signal handler): finish the batch and leave.
    public let stopRequest: StopRequest
    public private(set) var summary = AppendSummary()
    /// Called on the ingest thread about once a second with, per assigned partition whose end
    /// is known, how many messages are not durable in the log yet (end - durable offset).
    public var onLag: (@Sendable ([TopicPartition: Int64]) -> Void)?
    /// Called on the ingest thread after each durable append with the records of the events it
    /// stored (each stored event exactly once, in batch order) and the append's own duration
    /// (validate, encode, write, fsync): how `doralog run` feeds its live state. Keep it short;
    /// hand the work to another thread or task.
    public var onStored: (@Sendable (AppendSummary, StoredRecords, Duration) -> Void)?
    /// With `recordsLatency`: per message, milliseconds from its Kafka timestamp to durable.
    public private(set) var latenciesMilliseconds: [Int64] = []
    private var batchTimestamps: [Int64] = []

    public init(
        configuration: Configuration, log: EventLog, logger: Logger = Logger(label: "doralog.kafka"),
        stopRequest: StopRequest = StopRequest()
    ) {
        self.stopRequest = stopRequest
        self.configuration = configuration
        self.log = log
        self.logger = logger
    }

    /// Consumes until stopped (or, with `untilEnd`, until every assigned partition is at its end).
    /// - Throws: `PipelineError` on a fatal Kafka error or a log failure.
    public func run() throws(PipelineError) {
        do {
            consumer = try KafkaConsumer(
                bootstrapServers: configuration.brokers, group: configuration.group, properties: configuration.properties,
                handler: self, logger: logger)
            try consumer.subscribe(configuration.topics)
        } catch {
            throw PipelineError(.input, error.description, location: configuration.brokers)
        }
        var lastErrorLog: Int64 = 0
        var waitingSince = Self.now()  // when the assignment last became empty
        var warnedAboutWaiting = false
        var lastLag: Int64 = 0
        while !stopRequest.isRequested {
            switch consumer.poll(timeoutMilliseconds: 50) {
            case .message(let m):
                let key = TopicPartition(topic: m.topic, partition: m.partition)
                atEnd.remove(key)
                if batch.isEmpty { batchStarted = Self.now() }
                m.value.withUnsafeBytes {
                    batch.append($0, source: .kafka(topic: m.topic, partition: m.partition, offset: m.offset, key: m.key))
                }
                pending[key] = m.offset + 1
                if configuration.recordsLatency, let t = m.timestampMilliseconds { batchTimestamps.append(t) }
                if batch.count >= configuration.batchMessages || batch.byteCount >= configuration.batchBytes { try flush() }
            case .partitionEnd(let topic, let partition, _):
                atEnd.insert(TopicPartition(topic: topic, partition: partition))
            case .error(let e):
                if e.isFatal { throw PipelineError(.input, e.description, location: configuration.brokers) }
                let now = Self.now()
                if now - lastErrorLog > 5_000 {
                    lastErrorLog = now
                    logger.warning("Kafka is unreachable or failing; retrying", metadata: ["kafka.error": "\(e)"])
                }
            case .nothing:
                break
            }
            if let failure { throw PipelineError(.log, "\(failure)", location: log.directory) }
            if !batch.isEmpty && Self.now() - batchStarted >= configuration.maximumDelayMilliseconds { try flush() }
            if let onLag, Self.now() - lastLag >= 1_000 {
                lastLag = Self.now()
                onLag(lags())
            }
            if configuration.untilEnd && !assigned.isEmpty && assigned.isSubset(of: atEnd) && batch.isEmpty { break }
            if !assigned.isEmpty {
                waitingSince = Self.now()
                warnedAboutWaiting = false
            } else if !warnedAboutWaiting && Self.now() - waitingSince >= configuration.assignmentTimeoutMilliseconds {
                warnedAboutWaiting = true
                let message = Self.unassignedMessage(seconds: configuration.assignmentTimeoutMilliseconds / 1000)
                if configuration.untilEnd {
                    consumer.close()
                    throw PipelineError(.input, message, location: configuration.brokers)
                }
                logger.notice("\(message); still waiting")
            }
        }
        try makeDurable()
        commitDurable(synchronously: true)
        consumer.close()
        if let failure { throw PipelineError(.log, "\(failure)", location: log.directory) }
    }

    /// Per assigned partition with a known end: end minus the log's durable offset.
    private func lags() -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        for tp in assigned {
            guard let high = consumer.cachedHighWatermark(topic: tp.topic, partition: tp.partition) else { continue }
            out[tp] = max(0, high - (log.partitionOffsets[tp] ?? 0))
        }
        return out
    }

    /// Makes the batch durable, then commits asynchronously (the steady-state path).
    private func flush() throws(PipelineError) {
        try makeDurable()
        commitDurable(synchronously: false)
    }

    /// Appends the batch and its partitions' next offsets to the log, in one durable block.
    private func makeDurable() throws(PipelineError) {
        guard !batch.isEmpty else { return }
        let offsets = pending.map { PartitionOffset(topic: $0.key.topic, partition: $0.key.partition, nextOffset: $0.value) }
        do {
            if let onStored {
                let started = ContinuousClock.now
                let (appended, stored) = try log.appendReportingStored(batch, offsets: offsets)
                summary += appended
                onStored(appended, stored, ContinuousClock.now - started)
            } else {
                summary += try log.append(batch, offsets: offsets)
            }
        } catch {
            throw PipelineError(.log, error.description, location: log.directory)
        }
        if configuration.recordsLatency {
            let now = Timestamp.now().microseconds / 1000
            latenciesMilliseconds += batchTimestamps.map { now - $0 }
            batchTimestamps.removeAll(keepingCapacity: true)
        }
        batch.removeAll()
        pending.removeAll()
    }

    /// Commits the log's durable offsets of the assigned partitions.
    private func commitDurable(synchronously: Bool) {
        let positions = assigned.compactMap { tp in
            log.partitionOffsets[tp].map { KafkaPosition(topic: tp.topic, partition: tp.partition, offset: $0) }
        }
        do {
            try consumer.commit(positions, synchronously: synchronously)
        } catch {
            logger.warning("offset commit failed; it is retried with the next batch", metadata: ["kafka.error": "\(error)"])
        }
    }

    // MARK: - KafkaRebalanceHandler

    public func partitionsAssigned(_ partitions: [KafkaPosition]) -> [Int64?] {
        for p in partitions { assigned.insert(TopicPartition(topic: p.topic, partition: p.partition)) }
        logger.info("partitions assigned", metadata: ["kafka.partitions": "\(partitions.map { "\($0.topic)/\($0.partition)" })"])
        return partitions.map { log.partitionOffsets[TopicPartition(topic: $0.topic, partition: $0.partition)] }
    }

    public func partitionsRevoked(_ partitions: [KafkaPosition], lost: Bool) {
        // Make the in-flight batch durable and commit before the partitions go; when the
        // assignment is lost, another member may own them already: commit nothing.
        do {
            try makeDurable()
            if !lost { commitDurable(synchronously: true) }
        } catch {
            failure = error
        }
        for p in partitions {
            let key = TopicPartition(topic: p.topic, partition: p.partition)
            assigned.remove(key)
            atEnd.remove(key)
        }
    }

    private static func unassignedMessage(seconds: Int64) -> String {
        "no partition was assigned to this member within \(seconds) s. Check that the topic exists; "
            + "other members may hold every partition, or the group may still be waiting for members that "
            + "died to pass their session.timeout.ms; a session.timeout.ms below the broker's "
            + "group.initial.rebalance.delay.ms (3 s by default) can keep a group from ever forming"
    }

    private static func now() -> Int64 {
        Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000)
    }

}

/// A request to stop, safe to make from any thread (a signal handler's queue).
public final class StopRequest: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    /// Asks the loop to finish its batch, make it durable, commit and return.
    public func request() {
        flag.store(true, ordering: .releasing)
    }

    public var isRequested: Bool { flag.load(ordering: .acquiring) }
}
