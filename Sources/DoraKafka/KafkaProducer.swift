internal import CRdKafka
public import Logging

/// Publishes messages and checks their delivery reports.
///
/// Not `Sendable`: one owner thread sends, polls and flushes. Delivery reports arrive during
/// `poll`/`flush` on that thread, through the handle's opaque pointer to `reports`.
public final class KafkaProducer {
    private let handle: OpaquePointer
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
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                reports.delivered += 1
            } else {
                reports.failed += 1
                if reports.firstFailure == nil {
                    reports.firstFailure = KafkaError("delivery failed", message.pointee.err)
                }
            }
        }
        handle = try makeHandle(RD_KAFKA_PRODUCER, configuration)
    }

    deinit {
        rd_kafka_flush(handle, 5000)
        for topic in topics.values { rd_kafka_topic_destroy(topic) }
        rd_kafka_destroy(handle)
    }

    /// Queues one message (copied); retries while the local queue is full.
    public func send(topic: String, key: [UInt8]?, value: [UInt8]) throws(KafkaError) {
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
                        v.count, key == nil ? nil : k.baseAddress, key == nil ? 0 : k.count, nil)
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
        rd_kafka_poll(handle, 0)
    }

    /// Waits until every queued message is delivered or failed.
    /// - Throws: `KafkaError` when messages are still queued after `timeoutMilliseconds`.
    public func flush(timeoutMilliseconds: Int32 = 30_000) throws(KafkaError) {
        let err = rd_kafka_flush(handle, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError("flush (\(rd_kafka_outq_len(handle)) messages still queued)", err)
        }
    }
}

/// Delivery report counts, written by the report callback on the producer's owner thread.
private final class DeliveryReports: KafkaClientContext {
    var delivered = 0
    var failed = 0
    var firstFailure: KafkaError?
}
