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
/// messages interleave. One pump serves every waiting call: it polls the producer's delivery
/// reports while any call waits and resumes each call when its last message is settled, so
/// a thousand waiting requests cost one poll a millisecond, not a thousand.
public actor InputPublisher {
    private let producer: KafkaProducer
    private let topic: String
    private var nextToken: UInt = 1
    private var nextCall: UInt = 1
    /// The calls waiting for their messages' delivery reports.
    private var calls: [UInt: Call] = [:]
    /// Per message in flight (its token), the call that waits for it. An entry whose call is
    /// gone (it timed out, or its sending failed) is dropped when its report comes.
    private var callOfToken: [UInt: UInt] = [:]
    private var pumping = false

    /// How often the pump polls while calls wait.
    private static var pollInterval: Duration { .milliseconds(1) }

    private struct Call {
        var unsettled: Int
        let count: Int
        var failure: KafkaError?
        let deadline: ContinuousClock.Instant
        let timeout: Duration
        let continuation: CheckedContinuation<KafkaError?, Never>
    }

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
    /// - Throws: `KafkaError` when a message was not delivered, or not all came back by `timeout`.
    public func publish(_ messages: [Message], timeout: Duration = .seconds(10)) async throws(KafkaError) {
        guard !messages.isEmpty else { return }
        let id = nextCall
        nextCall += 1
        for m in messages {
            let token = nextToken
            nextToken += 1
            // Registered first: a failed send leaves the earlier messages' entries to be
            // dropped when their reports come (no call is waiting for them).
            callOfToken[token] = id
            do {
                try producer.send(topic: topic, key: m.key, value: m.value, token: token)
            } catch {
                callOfToken[token] = nil
                throw error
            }
        }
        let failure = await withCheckedContinuation { continuation in
            calls[id] = Call(
                unsettled: messages.count, count: messages.count, deadline: ContinuousClock.now.advanced(by: timeout),
                timeout: timeout, continuation: continuation)
            if !pumping {
                pumping = true
                Task { await pump() }
            }
        }
        if let failure { throw failure }
    }

    /// Ends publishing at shutdown, once the HTTP endpoint has stopped: waits up to
    /// `milliseconds` for what is queued, destroys the producer's handle now (not wherever the
    /// actor's last reference happens to go), answers the calls still waiting (an error for what
    /// was not acknowledged: the sender retries). Later calls of `publish` throw.
    public func close(flushingFor milliseconds: Int32 = 5000) {
        producer.close(flushingFor: milliseconds)
        settleDelivered()
        for call in calls.values {
            call.continuation.resume(
                returning: KafkaError(code: -1, message: "\(call.unsettled) of \(call.count) event(s) not acknowledged before shutdown"))
        }
        calls.removeAll()
        callOfToken.removeAll()
    }

    /// Polls the delivery reports while calls wait, and resumes each call once its messages are
    /// all settled (the first failure, if any, is its answer) or its deadline has passed.
    private func pump() async {
        while !calls.isEmpty {
            producer.poll()
            settleDelivered()
            let now = ContinuousClock.now
            for (id, call) in calls where call.deadline <= now {
                calls[id] = nil
                call.continuation.resume(
                    returning: KafkaError(
                        code: -1, message: "\(call.unsettled) of \(call.count) event(s) not acknowledged by the broker within \(call.timeout)"))
            }
            if calls.isEmpty { break }
            try? await Task.sleep(for: Self.pollInterval)
        }
        pumping = false
    }

    /// Counts the delivery reports received so far against their calls, and resumes each call
    /// whose messages are all settled.
    private func settleDelivered() {
        for (token, error) in producer.takeOutcomes() {
            guard let id = callOfToken.removeValue(forKey: token), calls[id] != nil else { continue }
            calls[id]!.unsettled -= 1
            if let error, calls[id]!.failure == nil { calls[id]!.failure = error }
            if calls[id]!.unsettled == 0 {
                let call = calls.removeValue(forKey: id)!
                call.continuation.resume(returning: call.failure)
            }
        }
    }
}
