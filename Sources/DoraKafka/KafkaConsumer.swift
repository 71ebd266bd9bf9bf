internal import CRdKafka
import Dispatch
public import Logging
import Synchronization

/// One consumed message, copied out of librdkafka's buffers.
public struct KafkaMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    /// The message's timestamp (CreateTime: set by the producer), in ms since 1970, if any.
    public var timestampMilliseconds: Int64?

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], timestampMilliseconds: Int64?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestampMilliseconds = timestampMilliseconds
    }
}

/// A topic and partition with an offset (the next one to read, or a committed one).
public struct KafkaPosition: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// What the owner of a consumer does when the group moves partitions.
///
/// Called on the polling thread, from inside `poll`.
public protocol KafkaRebalanceHandler: AnyObject {
    /// Partitions were assigned; return the offset to resume each at, if the caller knows a
    /// durable position (nil: the group's committed offset). The consumer starts at the later of
    /// the two, so nothing durable is read again and nothing committed is skipped.
    func partitionsAssigned(_ partitions: [KafkaPosition]) -> [Int64?]
    /// Partitions are being taken away: make in-flight work durable and commit now, unless
    /// `lost` (another member may own them already).
    func partitionsRevoked(_ partitions: [KafkaPosition], lost: Bool)
}

/// The result of one poll.
public enum KafkaPollResult: Sendable {
    case message(KafkaMessage)
    /// The end of a partition was reached (more may come later).
    case partitionEnd(topic: String, partition: Int32, offset: Int64)
    case error(KafkaError)
    case nothing
}

/// A consumer group member with manual commits: offsets are committed only when the owner says
/// its messages are durable.
///
/// Not `Sendable`: one thread owns it and calls `poll` (which blocks up to its timeout), and
/// the rebalance handler runs on that thread.
public final class KafkaConsumer {
    private let handle: OpaquePointer
    private let box: RebalanceBox
    /// Whether `close` was called (it is not called twice).
    private var isClosing = false

    /// Joins `group` with these librdkafka properties added (any property, e.g. TLS/SASL).
    public init(
        bootstrapServers: String, group: String, properties: [(String, String)] = [], handler: KafkaRebalanceHandler,
        logger: Logger = Logger(label: "doralog.kafka")
    ) throws(KafkaError) {
        let configuration = try KafkaConfiguration(
            [
                ("bootstrap.servers", bootstrapServers), ("group.id", group), ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"), ("enable.partition.eof", "true"),
                ("auto.offset.reset", "earliest"),
                // A fetch answers after at most 10 ms instead of librdkafka's 500 ms: at a few
                // thousand events per second this is what keeps produce-to-durable under 250 ms.
                ("fetch.wait.max.ms", "10"),
            ] + properties)
        box = RebalanceBox(handler: handler, logger: logger)
        KafkaClientContext.routeLogs(configuration)
        rd_kafka_conf_set_opaque(configuration.pointer, Unmanaged.passUnretained(box).toOpaque())
        // Client-wide errors (a refused connection, every broker down) come here rather than
        // as messages of `poll`; the owner reads them with `takeConnectionTrouble`.
        rd_kafka_conf_set_error_cb(configuration.pointer) { rk, err, reason, opaque in
            guard let opaque else { return }
            let box = Unmanaged<RebalanceBox>.fromOpaque(opaque).takeUnretainedValue()
            let code = rd_kafka_resp_err_t(rawValue: err)
            box.noteError(code, reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(code)))
        }
        rd_kafka_conf_set_rebalance_cb(configuration.pointer) { rk, err, list, opaque in
            guard let rk, let list, let opaque else { return }
            let box = Unmanaged<RebalanceBox>.fromOpaque(opaque).takeUnretainedValue()
            KafkaConsumer.rebalance(rk, err, list, box)
        }
        handle = try makeHandle(RD_KAFKA_CONSUMER, configuration)
        rd_kafka_poll_set_consumer(handle)
    }

    deinit {
        // Closed here if not before, within its bound: destroying must not close again.
        if close() {
            rd_kafka_destroy_flags(handle, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)
        } else {
            // A close that gave up leaves librdkafka waiting for the group (an unanswered
            // commit or leave) until the session times out, and destroying waits for that too:
            // it is done on another thread, which a process that exits does not wait for.
            let abandoned = AbandonedHandle(pointer: handle, context: box)
            DispatchQueue.global(qos: .utility).async {
                rd_kafka_destroy_flags(abandoned.pointer, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)
                withExtendedLifetime(abandoned.context) {}
            }
        }
    }

    /// Subscribes to `topics` (the group assigns partitions during later polls).
    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for t in topics { rd_kafka_topic_partition_list_add(list, t, RD_KAFKA_PARTITION_UA) }
        let err = rd_kafka_subscribe(handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("subscribe", err) }
    }

    /// Waits up to `timeoutMilliseconds` for a message or event.
    public func poll(timeoutMilliseconds: Int32) -> KafkaPollResult {
        guard let message = rd_kafka_consumer_poll(handle, timeoutMilliseconds) else { return .nothing }
        defer { rd_kafka_message_destroy(message) }
        let m = message.pointee
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            return .partitionEnd(topic: topic, partition: m.partition, offset: m.offset)
        }
        if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            // The message's own text says more than the code's ("Connect to ipv4#127.0.0.1:1
            // failed: Connection refused" rather than "Local: Broker transport failure").
            return .error(
                KafkaError(
                    code: m.err.rawValue, message: "consume: \(String(cString: rd_kafka_message_errstr(message)))",
                    isFatal: m.err == RD_KAFKA_RESP_ERR__FATAL, topic: topic.isEmpty ? nil : topic, partition: m.partition))
        }
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return .message(
            KafkaMessage(
                topic: topic, partition: m.partition, offset: m.offset, key: key, value: value,
                timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp))
    }

    /// The names of every topic the brokers have, from one metadata request for all topics
    /// (which, unlike a request naming a topic, makes no broker auto-create one). Blocks up to
    /// `timeoutMilliseconds`; succeeding is the proof that a broker is reachable.
    /// - Throws: `KafkaError` when no broker answered in time.
    public func topicNames(timeoutMilliseconds: Int32) throws(KafkaError) -> [String] {
        var metadata: UnsafePointer<rd_kafka_metadata_t>?
        let err = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError("metadata", err) }
        defer { rd_kafka_metadata_destroy(metadata) }
        let m = metadata.pointee
        return (0..<Int(m.topic_cnt)).map { String(cString: m.topics[$0].topic) }
    }

    /// The connection trouble librdkafka reported since the last call, if any.
    public func takeConnectionTrouble() -> KafkaConnectionTrouble? {
        box.trouble.withLock { trouble in
            defer { trouble = nil }
            return trouble
        }
    }

    /// Commits next-offsets asynchronously: errors surface in later polls.
    public func commit(_ positions: [KafkaPosition]) throws(KafkaError) {
        guard !positions.isEmpty else { return }
        let list = Self.partitionList(positions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_commit(handle, list, 1)
        guard Self.commitSucceeded(err) else { throw KafkaError("commit", err) }
    }

    /// Commits next-offsets and waits for the group coordinator's answer, at most
    /// `milliseconds`. librdkafka's synchronous commit has no bound of its own: with every
    /// broker gone it waited for minutes, and a process asked to stop must not. Past the bound
    /// the commit may still complete in the background while the handle lives.
    /// - Returns: whether the answer came within the bound.
    /// - Throws: `KafkaError` when the commit could not be sent or the coordinator refused it.
    @discardableResult
    public func commit(_ positions: [KafkaPosition], waitingAtMost milliseconds: Int32) throws(KafkaError) -> Bool {
        guard !positions.isEmpty else { return true }
        let list = Self.partitionList(positions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard let queue = rd_kafka_queue_new(handle) else { throw KafkaError("commit", RD_KAFKA_RESP_ERR__FAIL) }
        defer { rd_kafka_queue_destroy(queue) }
        // The answer comes through the callback, served from the queue. The callback owns one
        // reference to the result: an answer after the bound still finds it alive, and one
        // that never comes leaves only that small object behind.
        let result = CommitAnswer()
        let opaque = Unmanaged.passRetained(result).toOpaque()
        let err = rd_kafka_commit_queue(
            handle, list, queue,
            { _, err, _, opaque in
                guard let opaque else { return }
                Unmanaged<CommitAnswer>.fromOpaque(opaque).takeRetainedValue().error.withLock { $0 = err.rawValue }
            }, opaque)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            Unmanaged<CommitAnswer>.fromOpaque(opaque).release()
            throw KafkaError("commit", err)
        }
        let deadline = Self.deadline(in: milliseconds)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            _ = rd_kafka_queue_poll_callback(queue, 50)
            guard let code = result.error.withLock({ $0 }) else { continue }
            let answer = rd_kafka_resp_err_t(rawValue: code)
            guard Self.commitSucceeded(answer) else { throw KafkaError("commit", answer) }
            return true
        }
        return false
    }

    /// A commit's result that counts as done: no error, or nothing to commit.
    private static func commitSucceeded(_ err: rd_kafka_resp_err_t) -> Bool {
        err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET
    }

    /// `milliseconds` from now, as `DispatchTime.uptimeNanoseconds` (the bounded waits' end).
    private static func deadline(in milliseconds: Int32) -> UInt64 {
        DispatchTime.now().uptimeNanoseconds + UInt64(max(0, milliseconds)) * 1_000_000
    }

    private static func partitionList(_ positions: [KafkaPosition]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(positions.count))!
        for p in positions { rd_kafka_topic_partition_list_add(list, p.topic, p.partition).pointee.offset = p.offset }
        return list
    }

    /// The partition's end (high watermark) as last seen in this consumer's fetch responses;
    /// no request is made. nil until a fetch has returned it.
    public func cachedHighWatermark(topic: String, partition: Int32) -> Int64? {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_get_watermark_offsets(handle, topic, partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return high
    }

    /// Leaves the group: the handler is told of the revoked partitions (and commits), and the
    /// group of the leave. Blocks, at most `timeoutMilliseconds` (librdkafka's own close waits
    /// up to `session.timeout.ms`, 45 s by default, when no broker answers; a process asked to
    /// stop must not). Past the bound the group learns of the leave when the session times
    /// out; the log holds the durable offsets either way. Later calls do nothing.
    /// - Returns: whether the close completed within the bound.
    @discardableResult
    public func close(timeoutMilliseconds: Int32 = 10_000) -> Bool {
        guard !isClosing else { return rd_kafka_consumer_closed(handle) != 0 }
        isClosing = true
        guard let queue = rd_kafka_queue_new(handle) else { return false }
        defer { rd_kafka_queue_destroy(queue) }
        if let error = rd_kafka_consumer_close_queue(handle, queue) {
            box.logger.warning("closing the Kafka consumer failed", metadata: ["kafka.error": "\(String(cString: rd_kafka_error_string(error)))"])
            rd_kafka_error_destroy(error)
            return false
        }
        // The revoke is served here, on this thread. The queue is read as events, not served
        // through callbacks: it also gets the messages fetched before the close, which a
        // callback poll cannot serve (librdkafka 2.0.2 aborts the process). They are dropped
        // unread; the next member reads them again from the committed offsets.
        let deadline = Self.deadline(in: timeoutMilliseconds)
        while rd_kafka_consumer_closed(handle) == 0 {
            guard DispatchTime.now().uptimeNanoseconds < deadline else {
                box.logger.notice("the Kafka consumer did not leave its group within \(timeoutMilliseconds / 1000) s; the group will notice when its session times out")
                return false
            }
            guard let event = rd_kafka_queue_poll(queue, 50) else { continue }
            if rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE, let list = rd_kafka_event_topic_partition_list(event) {
                Self.rebalance(handle, rd_kafka_event_error(event), list, box)
            }
            rd_kafka_event_destroy(event)
        }
        return true
    }

    // MARK: - Rebalance

    private static func positions(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaPosition] {
        (0..<Int(list.pointee.cnt)).map { i in
            let e = list.pointee.elems[i]
            return KafkaPosition(topic: String(cString: e.topic), partition: e.partition, offset: e.offset)
        }
    }

    private static func rebalance(
        _ rk: OpaquePointer, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
        _ box: RebalanceBox
    ) {
        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            // The later of the group's committed offset and the owner's durable one.
            _ = rd_kafka_committed(rk, list, 10_000)
            let durable = box.handler?.partitionsAssigned(positions(list)) ?? []
            for i in 0..<Int(list.pointee.cnt) {
                let committed = list.pointee.elems[i].offset
                if i < durable.count, let d = durable[i], d > committed {
                    list.pointee.elems[i].offset = d
                } else if committed < 0 {
                    list.pointee.elems[i].offset = Int64(RD_KAFKA_OFFSET_INVALID)
                }
            }
            rd_kafka_assign(rk, list)
        } else {
            box.handler?.partitionsRevoked(positions(list), lost: rd_kafka_assignment_lost(rk) != 0)
            rd_kafka_assign(rk, nil)
        }
    }
}

/// A consumer handle whose close gave up, handed to the thread that destroys it, with the
/// context its callbacks reach through the handle's opaque pointer (kept alive until the
/// handle is gone); nothing else uses either any more.
private struct AbandonedHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    let context: RebalanceBox
}

/// Connection errors that librdkafka reported (it retries them itself).
public struct KafkaConnectionTrouble: Sendable {
    /// Every broker of the cluster was down at some point.
    public var allBrokersDown = false
    /// The last failed connection's error (a refused connection, an unknown host...).
    public var lastFailure: KafkaError?
    /// A fatal error: the client cannot go on.
    public var fatal: KafkaError?
}

/// The rebalance handler and the error callback's findings, reachable from the C callbacks
/// through the handle's opaque pointer.
private final class RebalanceBox: KafkaClientContext {
    weak var handler: KafkaRebalanceHandler?
    /// Written by the error callback (librdkafka calls it from inside `poll`), taken by the owner.
    let trouble = Mutex<KafkaConnectionTrouble?>(nil)

    init(handler: KafkaRebalanceHandler, logger: Logger) {
        self.handler = handler
        super.init(logger: logger)
    }

    func noteError(_ err: rd_kafka_resp_err_t, _ reason: String) {
        var error = KafkaError(code: err.rawValue, message: reason, isFatal: err == RD_KAFKA_RESP_ERR__FATAL)
        error.isAllBrokersDown = err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN
        error.isBrokerTransportFailure = err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__RESOLVE
        trouble.withLock { trouble in
            var t = trouble ?? KafkaConnectionTrouble()
            if error.isAllBrokersDown { t.allBrokersDown = true }
            if error.isBrokerTransportFailure { t.lastFailure = error }
            if error.isFatal { t.fatal = error }
            trouble = t
        }
        if !(error.isFatal || error.isAllBrokersDown || error.isBrokerTransportFailure) {
            logger.warning("Kafka client error", metadata: ["kafka.error": "\(reason)"])
        }
    }
}

/// The group's answer to one bounded commit (`KafkaConsumer.commit(_:waitingAtMost:)`): set
/// by librdkafka's callback, read by the waiting thread.
private final class CommitAnswer: Sendable {
    let error = Mutex<Int32?>(nil)
}
