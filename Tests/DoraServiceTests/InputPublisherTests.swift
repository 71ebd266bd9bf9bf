import DoraKafka
@testable import DoraService
import DoraTestSupport
import Logging
import Testing
#if canImport(Glibc)
import Glibc  // close
#endif

/// The HTTP inputs' write path on loopback, against librdkafka's mock cluster (a real
/// Kafka-protocol broker) and a broker that never answers: a call returns once its own
/// messages are acknowledged, however many wait, and gives up at its deadline.
@Suite(.timeLimit(.minutes(2)))
struct InputPublisherTests {
    let logger = { var l = Logger(label: "test"); l.logLevel = .critical; return l }()

    @Test func manyCallsWaitingAtOnceEachReturnAndEveryMessageIsInTheTopicOnce() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic("events", partitions: 3)
        let publisher = try InputPublisher(brokers: cluster.bootstrapServers, topic: "events", properties: [], logger: logger)
        // 200 calls of 1 to 5 messages each, all waiting at once: 600 messages.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for call in 0..<200 {
                group.addTask {
                    let messages = (0..<(call % 5 + 1)).map {
                        InputPublisher.Message(key: Array("s\(call % 7)".utf8), value: Array("c\(call)-m\($0)".utf8))
                    }
                    try await publisher.publish(messages)
                }
            }
            try await group.waitForAll()
        }
        let bootstrap = cluster.bootstrapServers
        let seen = try await onOwnThread { try Self.consume(from: bootstrap, expecting: 600) }
        withExtendedLifetime(cluster) {}  // the broker serves until the topic is read
        #expect(seen.count == 600 && seen.values.allSatisfy { $0 == 1 })
        #expect(seen["c199-m4"] == 1 && seen["c0-m0"] == 1)
    }

    @Test func aCallTheBrokerNeverAnswersThrowsAtItsDeadlineAndSoDoesTheNextOne() async throws {
        let (fd, port) = TestBroker.silentListener()
        defer { close(fd) }
        let publisher = try InputPublisher(brokers: "127.0.0.1:\(port)", topic: "events", properties: [], logger: logger)
        for attempt in 0..<2 {
            let started = ContinuousClock.now
            await #expect(throws: KafkaError.self, "attempt \(attempt)") {
                try await publisher.publish([.init(key: nil, value: Array("never \(attempt)".utf8))], timeout: .milliseconds(300))
            }
            // Without its own deadline the call would last until librdkafka's message timeout
            // (`message.timeout.ms`, 5 minutes). The bound is far above 300 ms because the
            // actor's pump runs on the shared task pool, which a loaded parallel test run can
            // hold up for seconds (25 s was seen once under a 20 s bound).
            #expect(ContinuousClock.now - started < .seconds(60), "the call gives up at its deadline, not the broker's timeouts")
        }
    }

    @Test func aCallStillWaitingAtCloseIsAnsweredAndLaterCallsThrow() async throws {
        let (fd, port) = TestBroker.silentListener()
        defer { close(fd) }
        let publisher = try InputPublisher(brokers: "127.0.0.1:\(port)", topic: "events", properties: [], logger: logger)
        let waiting = Task { () -> Bool in
            do {
                try await publisher.publish([.init(key: nil, value: Array("never".utf8))], timeout: .seconds(100))
                return false
            } catch {
                return true
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        await publisher.close(flushingFor: 100)
        #expect(await waiting.value, "the waiting call fails: its event was never acknowledged")
        #expect(ContinuousClock.now - started < .seconds(60), "answered at the close, not at its own 100 s deadline")
        await #expect(throws: KafkaError.self) {
            try await publisher.publish([.init(key: nil, value: Array("late".utf8))])
        }
    }

    /// Each message value of the topic `events` with how many times it was read.
    static func consume(from bootstrap: String, expecting count: Int) throws -> [String: Int] {
        let consumer = try KafkaConsumer(bootstrapServers: bootstrap, group: "check", handler: KafkaTesting.Handler())
        defer { consumer.close() }
        try consumer.subscribe(["events"])
        var seen: [String: Int] = [:]
        let deadline = ContinuousClock.now + .seconds(60)
        while seen.values.reduce(0, +) < count, ContinuousClock.now < deadline {
            if case .message(let m) = consumer.poll(timeoutMilliseconds: 100) {
                seen[String(decoding: m.value, as: UTF8.self), default: 0] += 1
            }
        }
        // A little longer: a message read twice would show now.
        let settle = ContinuousClock.now + .milliseconds(500)
        while ContinuousClock.now < settle {
            if case .message(let m) = consumer.poll(timeoutMilliseconds: 50) {
                seen[String(decoding: m.value, as: UTF8.self), default: 0] += 1
            }
        }
        return seen
    }
}
