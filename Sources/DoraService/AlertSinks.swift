public import DoraKafka
import DoraSLO
public import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Where SLO transitions go. `send` must not block ingestion: slow sinks queue.
public protocol AlertSink: Sendable {
    func send(_ alerts: [SLOAlert]) async
    /// After the replay at start-up: the alerts firing as of the log (their latest firing
    /// transitions). A sink that holds state for the receiver (Alertmanager, which forgets an
    /// alert that is not re-asserted) asserts them again; a sink of transitions does nothing,
    /// since these are not new transitions.
    func restore(firing alerts: [SLOAlert]) async
}

extension AlertSink {
    public func restore(firing alerts: [SLOAlert]) async {}
}

/// JSON lines on standard output, one per transition.
public struct StandardOutputAlertSink: AlertSink {
    public init() {}

    public func send(_ alerts: [SLOAlert]) async {
        var text = ""
        for a in alerts { text += a.json + "\n" }
        var bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            written += n
        }
        bytes.removeAll()
    }
}

/// Each transition as a message on a Kafka topic, keyed by SLO name, delivery checked by
/// librdkafka's retries; a message it finally fails to deliver is logged.
public actor KafkaAlertSink: AlertSink {
    private let producer: KafkaProducer
    private let topic: String
    private let logger: Logger

    public init(brokers: String, topic: String, properties: [(String, String)], logger: Logger) throws(KafkaError) {
        producer = try KafkaProducer(bootstrapServers: brokers, properties: properties, logger: logger)
        self.topic = topic
        self.logger = logger
    }

    public func send(_ alerts: [SLOAlert]) async {
        for a in alerts {
            do {
                try producer.send(topic: topic, key: Array(a.slo.utf8), value: Array(a.json.utf8))
            } catch {
                logger.error("alert not queued for Kafka", metadata: ["topic": "\(topic)", "error": "\(error)"])
            }
        }
        producer.poll()
    }

    /// At shutdown: waits for outstanding deliveries, at most 10 s as the Alertmanager sink's
    /// drain does (what is still undelivered then is logged as lost), and closes the producer.
    /// Later sends are logged as not queued.
    public func close() {
        do {
            try producer.flush(timeoutMilliseconds: 10_000)
        } catch {
            logger.error("alerts not delivered to Kafka before shutdown", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
        producer.close(flushingFor: 0)
    }
}
