import DoraKafka
import DoraTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Brokers of the mock cluster taken down and brought back. Run in a test process of their
/// own (see `KafkaTesting.mayTakeBrokersDown`).
@Suite(.timeLimit(.minutes(2)), .enabled(if: KafkaTesting.mayTakeBrokersDown, "run alone by scripts/test.sh"))
struct MockClusterBrokerFaultTests {
    @Test func aDownedBrokerRefusesConnectionsButKeepsItsPortAndComesBackOnIt() async throws {
        try await onOwnThread {
            let cluster = try MockCluster(brokers: 2)
            let ports = cluster.bootstrapServers.split(separator: ",").compactMap { $0.split(separator: ":").last.flatMap { UInt16($0) } }
            try #require(ports.count == 2)
            #expect(Self.connects(ports[0]) && Self.connects(ports[1]))
            try cluster.setBroker(1, up: false)
            #expect(!Self.connects(ports[0]) && Self.connects(ports[1]), "broker 1 is the first address, and only it is down")
            #expect(!Self.binds(ports[0]), "librdkafka keeps the port bound meanwhile")
            try cluster.setBroker(1, up: false)  // down already: nothing changes
            try cluster.setBroker(1, up: true)
            #expect(Self.connects(ports[0]))
            try cluster.createTopic("t", partitions: 2)
            let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
            for i in 0..<100 { try producer.send(topic: "t", key: nil, value: Array("m\(i)".utf8)) }
            try producer.flush()
            #expect(producer.delivered == 100 && producer.failed == 0)
            #expect(throws: KafkaError.self) { try cluster.setBroker(3, up: false) }
        }
    }
}

extension MockClusterBrokerFaultTests {
    /// Whether a TCP connection to `127.0.0.1:port` is accepted.
    static func connects(_ port: UInt16) -> Bool {
        withSocket(port) { fd, address in connect(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }

    /// Whether `127.0.0.1:port` can be bound by a socket without `SO_REUSEADDR`.
    static func binds(_ port: UInt16) -> Bool {
        withSocket(port) { fd, address in bind(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }

    private static func withSocket(_ port: UInt16, _ body: (Int32, UnsafePointer<sockaddr>) -> Bool) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(fd, $0) } }
    }
}
