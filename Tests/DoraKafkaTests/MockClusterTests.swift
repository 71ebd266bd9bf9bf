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

    @Test func aBadPropertyIsAClearError() {
        #expect(throws: KafkaError.self) { _ = try KafkaProducer(bootstrapServers: "127.0.0.1:1", properties: [("no.such.property", "1")]) }
    }
}
