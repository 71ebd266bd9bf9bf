internal import CRdKafka
public import Logging

/// Publishes messages and checks their delivery reports.
///
/// Not `Sendable`: one owner thread sends, polls, flushes and closes. Delivery reports arrive
/// during `poll`/`flush` on that thread, through the handle's opaque pointer to `reports`.
/// Invariant: once closed (`close`, or at deinit when never closed) the librdkafka handle is
/// gone; `send` then throws and `poll` does nothing.
public final class KafkaProducer {
    /// nil once closed.
    private var handle: OpaquePointer?
    private var topics: [String: OpaquePointer] = [:]
    private let reports: DeliveryReports

    /// Counts of delivery reports received so far.
    public var delivered: Int { reports.delivered }
    public var failed: Int { reports.failed }
    /// The first delivery failure, if any.
    public var firstFailure: KafkaError? { reports.firstFailure }

    public init(
        bootstrapServers: String, properties: [(String, String)] = [], logger: Logger = Logger(label: "doralog.kafka")
    ) throws(KafkaError) {
        let configuration = try KafkaConfiguration([("bootstrap.servers", bootstrapServers)] + properties)
        reports = DeliveryReports(logger: logger)
        KafkaClientContext.routeLogs(configuration)
        rd_kafka_conf_set_opaque(configuration.pointer, Unmanaged.passUnretained(reports).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(configuration.pointer) { _, message, opaque in
            guard let opaque, let message else { return }
            let reports = Unmanaged<DeliveryReports>.fromOpaque(opaque).takeUnretainedValue()
            let token = UInt(bitPattern: message.pointee._private)
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                reports.delivered += 1
                if token != 0 { reports.outcomes.append((token, nil)) }
            } else {
                reports.failed += 1
                let error = KafkaError("delivery failed", message.pointee.err)
                if reports.firstFailure == nil { reports.firstFailure = error }
                if token != 0 { reports.outcomes.append((token, error)) }
            }
        }
        handle = try makeHandle(RD_KAFKA_PRODUCER, configuration)
    }

    deinit {
        close(flushingFor: 5000)
    }

    /// Waits up to `milliseconds` for the queued messages to be delivered, then destroys the
    /// handle and its threads. An owner that shuts down calls it at a moment of its choosing: a
    /// handle left to `deinit` is destroyed wherever the last reference goes, which may be a
    /// shared task-pool thread (blocked for the flush) or a thread racing the process's exit.
    /// Later calls do nothing.
    public func close(flushingFor milliseconds: Int32) {
        guard let handle else { return }
        rd_kafka_flush(handle, milliseconds)
        for topic in topics.values { rd_kafka_topic_destroy(topic) }
        topics.removeAll()
        rd_kafka_destroy(handle)
        self.handle = nil
    }

    /// Queues one message (copied); retries while the local queue is full.
    /// - Parameter token: when not 0, the message's delivery report is kept under it for
    ///   `takeOutcomes` (a caller that answers only once its message is acknowledged).
    public func send(topic: String, key: [UInt8]?, value: [UInt8], token: UInt = 0) throws(KafkaError) {
        guard let handle else { throw KafkaError(code: -1, message: "the producer is closed") }
        let rkt: OpaquePointer
        if let existing = topics[topic] {
            rkt = existing
        } else {
            guard let created = rd_kafka_topic_new(handle, topic, nil) else {
                throw KafkaError("cannot open topic \(topic)", rd_kafka_last_error(), topic: topic)
            }
            topics[topic] = created
            rkt = created
        }
        while true {
            let result = value.withUnsafeBytes { v in
                (key ?? []).withUnsafeBytes { k in
                    rd_kafka_produce(
                        rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, UnsafeMutableRawPointer(mutating: v.baseAddress),
                        v.count, key == nil ? nil : k.baseAddress, key == nil ? 0 : k.count, UnsafeMutableRawPointer(bitPattern: token))
                }
            }
            if result == 0 { return }
            let err = rd_kafka_last_error()
            guard err == RD_KAFKA_RESP_ERR__QUEUE_FULL else { throw KafkaError("produce", err, topic: topic) }
            rd_kafka_poll(handle, 100)
        }
    }

    /// Serves delivery reports without blocking.
    public func poll() {
        guard let handle else { return }
        rd_kafka_poll(handle, 0)
    }

    /// The delivery reports of the messages sent with a token since the last call: the token,
    /// and the error when the message was not delivered.
    public func takeOutcomes() -> [(token: UInt, error: KafkaError?)] {
        defer { reports.outcomes.removeAll() }
        return reports.outcomes
    }

    /// Waits until every queued message is delivered or failed.
    /// - Throws: `KafkaError` when messages are still queued after `timeoutMilliseconds`.
    public func flush(timeoutMilliseconds: Int32 = 30_000) throws(KafkaError) {
        guard let handle else { return }
        let err = rd_kafka_flush(handle, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError("flush (\(rd_kafka_outq_len(handle)) messages still queued)", err)
        }
    }
}

/// Delivery report counts, written by the report callback on the producer's owner thread.
private final class DeliveryReports: KafkaClientContext {
    var outcomes: [(token: UInt, error: KafkaError?)] = []
    var delivered = 0
    var failed = 0
    var firstFailure: KafkaError?
}
