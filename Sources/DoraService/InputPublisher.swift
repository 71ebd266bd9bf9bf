public import DoraKafka
public import Logging

/// Produces the events of the HTTP inputs to the pipeline's topic and answers once the broker
/// has acknowledged them: the inputs' one write path (docs/inputs.md). The consumer group then
/// stores them as it stores every message, so the log keeps one writer per partition.
///
/// Invariants: the producer is idempotent with `acks=all`; a message is keyed by its service;
/// `publish` returns only when every message of the call is acknowledged, and throws when one
/// failed or the deadline passed (the sender retries: every mapped event has a deterministic id,
/// so a retry stores duplicates, never second events). An actor owns the producer; callers'
/// messages interleave, each call waiting for its own tokens.
public actor InputPublisher {
    private let producer: KafkaProducer
    private let topic: String
    private var nextToken: UInt = 1
    /// Delivery outcomes not yet claimed by their caller.
    private var outcomes: [UInt: KafkaError?] = [:]
    /// Tokens whose caller gave up waiting: their outcomes are dropped when they come.
    private var abandoned = Set<UInt>()

    public init(brokers: String, topic: String, properties: [(String, String)], logger: Logger) throws(KafkaError) {
        let settings = [("enable.idempotence", "true"), ("acks", "all"), ("linger.ms", "1")]
        producer = try KafkaProducer(bootstrapServers: brokers, properties: settings + properties, logger: logger)
        self.topic = topic
    }

    /// One message to produce: its key (the service; nil for a line that names none) and value.
    public struct Message: Sendable {
        public var key: [UInt8]?
        public var value: [UInt8]
        public init(key: [UInt8]?, value: [UInt8]) {
            self.key = key
            self.value = value
        }
    }

    /// Produces `messages` and waits until each is acknowledged.
    /// - Throws: `KafkaError` when a message was not delivered, or none came back by `timeout`.
    public func publish(_ messages: [Message], timeout: Duration = .seconds(10)) async throws(KafkaError) {
        guard !messages.isEmpty else { return }
        var pending = Set<UInt>()
        for m in messages {
            let token = nextToken
            nextToken += 1
            try producer.send(topic: topic, key: m.key, value: m.value, token: token)
            pending.insert(token)
        }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var failure: KafkaError?
        while !pending.isEmpty {
            producer.poll()
            for (token, error) in producer.takeOutcomes() where abandoned.remove(token) == nil { outcomes[token] = error }
            for token in pending {
                guard let outcome = outcomes.removeValue(forKey: token) else { continue }
                pending.remove(token)
                if let outcome, failure == nil { failure = outcome }
            }
            if pending.isEmpty { break }
            if ContinuousClock.now >= deadline {
                abandoned.formUnion(pending)
                throw KafkaError(code: -1, message: "\(pending.count) of \(messages.count) event(s) not acknowledged by the broker within \(timeout)")
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
        if let failure { throw failure }
    }
}
