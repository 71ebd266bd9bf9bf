import Dispatch
public import DoraEventLog
import DoraEvents
public import DoraInputs
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
        /// Fail when no broker can be reached for this long: at start-up, and with `untilEnd`
        /// also later. nil: keep retrying, with a warning once a minute (a long-running member
        /// must outlive a broker outage).
        public var connectTimeoutMilliseconds: Int64?
        /// The setting a user fixes when the brokers or topics are wrong, named in errors
        /// (`--brokers`, or `source.kafka.brokers` in a pipeline file).
        public var brokersSetting = "--brokers"
        public var topicsSetting = "--topic"
        /// Record, per message, the time from its Kafka timestamp to durable (a benchmark aid).
        public var recordsLatency = false
        /// What the messages are (docs/inputs.md, "CDEvents on Kafka"). Default doralog's events.
        public var format: MessageFormat = .doralog

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
    /// Whether a broker answered since the last "all brokers down", and since when not.
    private var connected = false
    private var disconnectedSince: Int64 = 0
    /// A commit before leaving waited its bound in vain: later ones do not wait again until
    /// the group assigns partitions anew.
    private var leavingCommitUnanswered = false
    /// Set from any thread (a signal handler): finish the batch and leave.
    public let stopRequest: StopRequest
    public private(set) var summary = AppendSummary()
    /// Called on the ingest thread about once a second with, per assigned partition whose end
    /// is known, how many messages are not durable in the log yet (end - durable offset).
    public var onLag: (@Sendable ([TopicPartition: Int64]) -> Void)?
    /// Called on the ingest thread after each durable append with the records of the events it
    /// stored (each stored event exactly once, in batch order) and the append's own duration
    /// (validate, encode, write, fsync): how `doralog run` feeds its live state. Keep it short;
    /// hand the work to another thread or task. It may wait to slow ingestion down (`run` does
    /// while its live state is too far behind): the append is durable, its offsets are
    /// committed after the call, and nothing is polled meanwhile, so a wait must stay well
    /// under `max.poll.interval.ms` (5 minutes by default).
    public var onStored: (@Sendable (AppendSummary, StoredRecords, Duration) -> Void)?
    /// Called on the ingest thread when the brokers become reachable (true) or all of them are
    /// lost (false): `doralog run`'s `/readyz` and `doralog_source_connected`.
    public var onConnection: (@Sendable (Bool) -> Void)?
    /// Called on the ingest thread with true once every assigned partition is at its end and
    /// every message read is durable (and handed to `onStored`), and with false as soon as a
    /// message is read after that: `doralog run` lets its clock follow the wall clock only
    /// while nothing it has read is still on its way.
    public var onCaughtUp: (@Sendable (Bool) -> Void)?
    private var caughtUp = false
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
        // Before the first poll, so that the first batch does not wait for it (`run` opens its
        // log with the id index deferred until the replay is done).
        do {
            let began = Self.now()
            if try log.loadIDIndex() {
                logger.notice("read the log's id index", metadata: ["seconds": "\(Double(Self.now() - began) / 1_000)"])
            }
        } catch {
            throw PipelineError(.log, error.description, location: log.directory)
        }
        do {
            consumer = try KafkaConsumer(
                bootstrapServers: configuration.brokers, group: configuration.group, properties: configuration.properties,
                handler: self, logger: logger)
        } catch {
            throw PipelineError(.input, error.description, location: configuration.brokers)
        }
        guard try connect() else {
            consumer.close()
            return
        }
        do {
            try consumer.subscribe(configuration.topics)
        } catch {
            throw PipelineError(.input, error.description, location: configuration.brokers)
        }
        var lastErrorLog: Int64 = 0
        var lastProbe: Int64 = 0
        var lastDownLog: Int64 = 0
        var lastCause = "all brokers are down"
        var waitingSince = Self.now()  // when the assignment last became empty
        var warnedAboutWaiting = false
        var lastLag: Int64 = 0
        while !stopRequest.isRequested {
            switch consumer.poll(timeoutMilliseconds: 50) {
            case .message(let m):
                setConnected(true)
                setCaughtUp(false)
                let key = TopicPartition(topic: m.topic, partition: m.partition)
                atEnd.remove(key)
                if batch.isEmpty { batchStarted = Self.now() }
                Self.append(m, as: configuration.format, to: &batch)
                pending[key] = m.offset + 1
                if configuration.recordsLatency, let t = m.timestampMilliseconds { batchTimestamps.append(t) }
                if batch.count >= configuration.batchMessages || batch.byteCount >= configuration.batchBytes { try flush() }
            case .partitionEnd(let topic, let partition, _):
                setConnected(true)
                atEnd.insert(TopicPartition(topic: topic, partition: partition))
            case .error(let e):
                if e.isFatal { throw PipelineError(.input, e.description, location: configuration.brokers) }
                let now = Self.now()
                if now - lastErrorLog >= 60_000 {
                    lastErrorLog = now
                    logger.warning("Kafka reports an error; retrying", metadata: ["kafka.error": "\(e)"])
                }
            case .nothing:
                break
            }
            if let trouble = consumer.takeConnectionTrouble() {
                if let fatal = trouble.fatal { throw PipelineError(.input, fatal.description, location: configuration.brokers) }
                if trouble.allBrokersDown && connected {
                    setConnected(false)
                    disconnectedSince = Self.now()
                    lastDownLog = 0
                }
                if let failure = trouble.lastFailure { lastCause = failure.cause }
            }
            if !connected {
                // Nothing may arrive to prove the brokers back (an idle topic): ask them.
                let now = Self.now()
                if now - lastProbe >= 5_000 {
                    lastProbe = now
                    if (try? consumer.topicNames(timeoutMilliseconds: 500)) != nil { setConnected(true) }
                }
                if connected {
                    logger.notice("the Kafka brokers are reachable again", metadata: ["kafka.brokers": "\(configuration.brokers)"])
                } else if configuration.untilEnd, let limit = configuration.connectTimeoutMilliseconds,
                    now - disconnectedSince >= limit
                {
                    throw PipelineError(.input, unreachableMessage(lost: true, seconds: limit / 1000, cause: lastCause))
                } else if now - lastDownLog >= 60_000 {
                    lastDownLog = now
                    logger.warning(
                        "\(unreachableMessage(lost: true, seconds: (now - disconnectedSince) / 1000, cause: lastCause)); still trying")
                }
            }
            if let failure { throw PipelineError(.log, "\(failure)", location: log.directory) }
            if !batch.isEmpty && Self.now() - batchStarted >= configuration.maximumDelayMilliseconds { try flush() }
            setCaughtUp(!assigned.isEmpty && assigned.isSubset(of: atEnd) && batch.isEmpty)
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
        commitDurableBeforeLeaving()
        consumer.close()
        if let failure { throw PipelineError(.log, "\(failure)", location: log.directory) }
    }

    /// Waits until a broker answers, then checks that every named topic exists there (so a
    /// typo is an error, not an empty topic that a broker auto-creates). Returns false when
    /// stopped meanwhile.
    /// - Throws: `PipelineError` when `connectTimeoutMilliseconds` passes with no answer, or a
    ///   topic is missing.
    private func connect() throws(PipelineError) -> Bool {
        let started = Self.now()
        var lastWarning = started
        // librdkafka's reason for the failed connections (it reports a repeated one once),
        // else the failed request's.
        var connectionCause: String?
        var requestCause = "no broker answered"
        while !stopRequest.isRequested {
            var names: [String]?
            do throws(KafkaError) {
                names = try consumer.topicNames(timeoutMilliseconds: 1_000)
            } catch {
                requestCause = error.cause
            }
            if let names {
                setConnected(true)
                try checkTopicsExist(names)
                return true
            }
            // Serve librdkafka's callbacks: the errors it reported meanwhile say why ("connection refused").
            _ = consumer.poll(timeoutMilliseconds: 0)
            if let failure = consumer.takeConnectionTrouble()?.lastFailure { connectionCause = failure.cause }
            let cause = connectionCause ?? requestCause
            let now = Self.now()
            if let limit = configuration.connectTimeoutMilliseconds, now - started >= limit {
                throw PipelineError(.input, unreachableMessage(lost: false, seconds: limit / 1000, cause: cause))
            }
            if now - lastWarning >= 60_000 {
                lastWarning = now
                logger.warning(
                    "\(unreachableMessage(lost: false, seconds: (now - started) / 1000, cause: cause)); still trying")
            }
        }
        return false
    }

    /// - Throws: `PipelineError` naming the topics of the configuration that `names` lacks
    ///   (a pattern, `^...`, is not checked).
    private func checkTopicsExist(_ names: [String]) throws(PipelineError) {
        let known = Set(names)
        let missing = configuration.topics.filter { !$0.hasPrefix("^") && !known.contains($0) }
        guard !missing.isEmpty else { return }
        let present = names.filter { !$0.hasPrefix("__") }.sorted()
        let listed = present.isEmpty ? "none" : present.prefix(10).joined(separator: ", ") + (present.count > 10 ? ", ..." : "")
        throw PipelineError(
            .input,
            "topic \(missing.joined(separator: ", ")) does not exist on the Kafka brokers \(configuration.brokers) "
                + "(topics there: \(listed)); create it or check \(configuration.topicsSetting)")
    }

    private func unreachableMessage(lost: Bool, seconds: Int64, cause: String) -> String {
        (lost ? "lost the Kafka brokers \(configuration.brokers) for \(seconds) s" : "cannot reach the Kafka brokers \(configuration.brokers) after \(seconds) s")
            + ": \(cause); check \(configuration.brokersSetting)"
    }

    private func setCaughtUp(_ value: Bool) {
        guard value != caughtUp else { return }
        caughtUp = value
        onCaughtUp?(value)
    }

    private func setConnected(_ value: Bool) {
        guard value != connected else { return }
        connected = value
        onConnection?(value)
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
        commitDurable()
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

    /// Commits the log's durable offsets of the assigned partitions, asynchronously.
    private func commitDurable() {
        do {
            try consumer.commit(durablePositions())
        } catch {
            logger.warning("offset commit failed; it is retried with the next batch", metadata: ["kafka.error": "\(error)"])
        }
    }

    /// Commits the log's durable offsets of the assigned partitions and waits for the answer,
    /// at most `leavingCommitMilliseconds`, before the partitions go (a stop, a revoke). The
    /// wait is bounded: a broker that stopped answering as the stop came would otherwise hold
    /// the stop for minutes, and the log holds the offsets anyway. Without a connected broker,
    /// or once such a wait went unanswered, the commit is only attempted.
    private func commitDurableBeforeLeaving() {
        guard connected && !leavingCommitUnanswered else { return commitDurable() }
        do {
            let answered = try consumer.commit(durablePositions(), waitingAtMost: Self.leavingCommitMilliseconds)
            if !answered {
                leavingCommitUnanswered = true
                logger.notice(
                    "the Kafka group did not answer the last offset commit within \(Self.leavingCommitMilliseconds / 1000) s; the log holds the offsets")
            }
        } catch {
            logger.warning("the last offset commit failed; the log holds the offsets", metadata: ["kafka.error": "\(error)"])
        }
    }

    /// How long a commit before leaving waits for the group's answer.
    static let leavingCommitMilliseconds: Int32 = 5_000

    private func durablePositions() -> [KafkaPosition] {
        assigned.compactMap { tp in
            log.partitionOffsets[tp].map { KafkaPosition(topic: tp.topic, partition: tp.partition, offset: $0) }
        }
    }

    // MARK: - KafkaRebalanceHandler

    public func partitionsAssigned(_ partitions: [KafkaPosition]) -> [Int64?] {
        leavingCommitUnanswered = false  // the group answered this assignment
        for p in partitions { assigned.insert(TopicPartition(topic: p.topic, partition: p.partition)) }
        logger.info("partitions assigned", metadata: ["kafka.partitions": "\(partitions.map { "\($0.topic)/\($0.partition)" })"])
        return partitions.map { log.partitionOffsets[TopicPartition(topic: $0.topic, partition: $0.partition)] }
    }

    public func partitionsRevoked(_ partitions: [KafkaPosition], lost: Bool) {
        // Make the in-flight batch durable and commit before the partitions go; when the
        // assignment is lost, another member may own them already: commit nothing.
        do {
            try makeDurable()
            if !lost { commitDurableBeforeLeaving() }
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

/// The shape of a Kafka source's messages (whatever it is, an HTTP input's rejected item,
/// `RejectedItem`, becomes a dead letter): doralog's events (stored as they are), CDEvents
/// (mapped by `CDEventsMapping`; a message that is none is rejected as `unmappable_input`), or
/// either (`auto`: a message that looks like a CloudEvent or a CDEvent is mapped, any other is
/// taken as doralog's, so its own errors apply).
public enum MessageFormat: Sendable {
    case doralog
    case cdevents(CDEventsMapping)
    case auto(CDEventsMapping)
}

extension KafkaIngestor {
    /// Adds one consumed message to `batch` in `format`: as it is, as the events it maps to
    /// (each from the message's position), or as an unmappable message.
    static func append(_ m: KafkaMessage, as format: MessageFormat, to batch: inout MessageBatch) {
        let source = MessageSource.kafka(topic: m.topic, partition: m.partition, offset: m.offset, key: m.key)
        if m.value.first == UInt8(ascii: "{"), let letter = RejectedItem.deadLetter(of: m.value) {
            Array(letter.item).withUnsafeBytes { batch.appendUnmappable($0, reason: letter.reason, source: source) }
            return
        }
        let mapping: CDEventsMapping
        let strict: Bool
        switch format {
        case .doralog:
            m.value.withUnsafeBytes { batch.append($0, source: source) }
            return
        case .cdevents(let c): (mapping, strict) = (c, true)
        case .auto(let c): (mapping, strict) = (c, false)
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(m.value)
        } catch {
            if strict {
                m.value.withUnsafeBytes { batch.appendUnmappable($0, reason: "not a CDEvent: the message is not JSON (\(error.message))", source: source) }
            } else {
                m.value.withUnsafeBytes { batch.append($0, source: source) }
            }
            return
        }
        guard strict || CDEventsMapping.looksLikeOne(value) else {
            m.value.withUnsafeBytes { batch.append($0, source: source) }
            return
        }
        do {
            for event in try mapping.map(value) { batch.append(event.json, source: source) }
        } catch {
            m.value.withUnsafeBytes { batch.appendUnmappable($0, reason: error.message, source: source) }
        }
    }
}
