import DoraKafka
import DoraTestSupport
import Testing

/// The wrapper against librdkafka's mock cluster: real Kafka protocol over TCP on loopback.
@Suite(.timeLimit(.minutes(2)))
struct MockClusterTests {
    @Test func producedMessagesAreConsumedOnceEachWithTheirKeysAndOffsets() async throws {
        try await onOwnThread {
            let cluster = try MockCluster()
            try cluster.createTopic("t", partitions: 3)
            let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
            for i in 0..<1000 {
                try producer.send(topic: "t", key: Array("k\(i % 7)".utf8), value: Array("m\(i)".utf8))
            }
            try producer.flush()
            #expect(producer.delivered == 1000 && producer.failed == 0)

            let handler = KafkaTesting.Handler()
            let consumer = try KafkaConsumer(bootstrapServers: cluster.bootstrapServers, group: "g", handler: handler)
            try consumer.subscribe(["t"])
            var seen: [String: Int] = [:]
            var ends = Set<Int32>()
            var keysByPartition: [String: Set<Int32>] = [:]
            let deadline = ContinuousClock.now + .seconds(60)
            while ends.count < 3 || seen.count < 1000, ContinuousClock.now < deadline {
                switch consumer.poll(timeoutMilliseconds: 100) {
                case .message(let m):
                    seen[String(decoding: m.value, as: UTF8.self), default: 0] += 1
                    keysByPartition[String(decoding: m.key ?? [], as: UTF8.self), default: []].insert(m.partition)
                    ends.remove(m.partition)
                case .partitionEnd(_, let partition, _):
                    ends.insert(partition)
                case .error(let e):
                    Issue.record("consumer error: \(e)")
                case .nothing:
                    break
                }
            }
            #expect(seen.count == 1000 && seen.values.allSatisfy { $0 == 1 })
            #expect(keysByPartition.values.allSatisfy { $0.count == 1 }, "one key, one partition")
            #expect(handler.assigned.count == 3)
            consumer.close()
            #expect(handler.revoked == 3)
        }
    }

    @Test func closingWithEveryBrokerGoneGivesUpAtItsBoundInsteadOfTheSessionTimeout() async throws {
        try await onOwnThread {
            // A broker in a child process, so that it can be killed outright.
            let (broker, brokers) = try TestBroker.start(partitions: 2)
            defer { if broker.isRunning { broker.terminate() } }
            let handler = KafkaTesting.Handler()
            let consumer = try KafkaConsumer(bootstrapServers: brokers, group: "g", handler: handler)
            try consumer.subscribe(["events"])
            let joined = ContinuousClock.now + .seconds(60)
            while handler.assigned.count < 2, ContinuousClock.now < joined { _ = consumer.poll(timeoutMilliseconds: 100) }
            #expect(handler.assigned.count == 2)
            broker.terminate()
            broker.waitUntilExit()
            // Until the consumer has seen every broker go.
            var down = false
            let noticed = ContinuousClock.now + .seconds(30)
            while !down, ContinuousClock.now < noticed {
                _ = consumer.poll(timeoutMilliseconds: 100)
                if consumer.takeConnectionTrouble()?.allBrokersDown == true { down = true }
            }
            #expect(down)
            // An offset commit that no broker will answer (as an owner makes on a revoke).
            try consumer.commit([KafkaPosition(topic: "events", partition: 0, offset: 1)])
            // librdkafka's own close would wait for the group for session.timeout.ms (45 s).
            let started = ContinuousClock.now
            let closed = consumer.close(timeoutMilliseconds: 2_000)
            let took = ContinuousClock.now - started
            #expect(!closed, "no broker can have taken the leave")
            #expect(took < .seconds(20), "close returned after \(took)")
            // Destroying the consumer (at the end of this scope) does not close it again.
        }
    }

    @Test func aBoundedCommitIsAnsweredAndTheNextMemberResumesAtIt() async throws {
        try await onOwnThread {
            let cluster = try MockCluster()
            try cluster.createTopic("t", partitions: 1)
            let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
            for i in 0..<10 { try producer.send(topic: "t", key: nil, value: Array("m\(i)".utf8)) }
            try producer.flush()
            /// The offset of the first message a new member of group `g` reads. The member closes
            /// with messages still fetched and unread.
            func firstOffsetRead(committing offset: Int64? = nil) throws -> Int64? {
                // The mock cluster lets the next member in only once the last one's session has
                // timed out: a short session keeps the wait short.
                let consumer = try KafkaConsumer(
                    bootstrapServers: cluster.bootstrapServers, group: "g",
                    properties: [("session.timeout.ms", "6000"), ("heartbeat.interval.ms", "500")], handler: KafkaTesting.Handler())
                try consumer.subscribe(["t"])
                var first: Int64?
                let deadline = ContinuousClock.now + .seconds(60)
                while first == nil, ContinuousClock.now < deadline {
                    if case .message(let m) = consumer.poll(timeoutMilliseconds: 100) { first = m.offset }
                }
                if let offset {
                    let answered = try consumer.commit([KafkaPosition(topic: "t", partition: 0, offset: offset)], waitingAtMost: 10_000)
                    #expect(answered)
                }
                consumer.close()
                return first
            }
            #expect(try firstOffsetRead(committing: 7) == 0)
            #expect(try firstOffsetRead() == 7)
        }
    }

    @Test func aBoundedCommitThatTheBrokerDoesNotAnswerReturnsUnanswered() async throws {
        try await onOwnThread {
            let cluster = try MockCluster()
            try cluster.createTopic("t", partitions: 1)
            let handler = KafkaTesting.Handler()
            let consumer = try KafkaConsumer(bootstrapServers: cluster.bootstrapServers, group: "g", handler: handler)
            try consumer.subscribe(["t"])
            let joined = ContinuousClock.now + .seconds(60)
            while handler.assigned.isEmpty, ContinuousClock.now < joined { _ = consumer.poll(timeoutMilliseconds: 100) }
            let answeredBefore = try consumer.commit([KafkaPosition(topic: "t", partition: 0, offset: 0)], waitingAtMost: 10_000)
            #expect(answeredBefore)
            try cluster.delayAnswers(ofBroker: -1, milliseconds: 60_000)
            let answered = try consumer.commit([KafkaPosition(topic: "t", partition: 0, offset: 1)], waitingAtMost: 1_000)
            #expect(!answered)
            try cluster.delayAnswers(ofBroker: -1, milliseconds: 0)
            consumer.close(timeoutMilliseconds: 1_000)
        }
    }

    @Test func aClosedProducerHasDeliveredWhatItHeldRefusesToSendAndClosesOnlyOnce() async throws {
        try await onOwnThread {
            let cluster = try MockCluster()
            try cluster.createTopic("t", partitions: 1)
            let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
            for i in 0..<100 { try producer.send(topic: "t", key: nil, value: Array("m\(i)".utf8)) }
            producer.close(flushingFor: 30_000)
            #expect(producer.delivered == 100, "the close waited for the queued messages")
            #expect(throws: KafkaError.self) { try producer.send(topic: "t", key: nil, value: [1]) }
            producer.poll()
            try producer.flush()
            producer.close(flushingFor: 30_000)  // and its deinit: neither touches the gone handle
            withExtendedLifetime(cluster) {}
        }
    }

    @Test func aBadPropertyIsAClearError() {
        #expect(throws: KafkaError.self) { _ = try KafkaProducer(bootstrapServers: "127.0.0.1:1", properties: [("no.such.property", "1")]) }
    }
}
