import DoraKafka
import Foundation

/// Helpers for tests that consume with the Kafka wrapper directly.
public enum KafkaTesting {
    /// Whether this test process may take mock brokers down: set `DORALOG_TEST_BROKER_FAULTS=1`.
    ///
    /// librdkafka 2.0.2 closes a downed broker's listener and binds its port again at once,
    /// aborting the whole process if that bind fails. It fails when another test is spawning a
    /// child process at that instant: until it execs, the child holds a copy of every
    /// descriptor, the old listener included, so the port is still listened on. Tests that
    /// take brokers down live in suites named `...BrokerFaultTests`, skipped unless this is set;
    /// `scripts/test.sh` runs them in a second `swift test` process, which spawns nothing.
    public static let mayTakeBrokersDown = ProcessInfo.processInfo.environment["DORALOG_TEST_BROKER_FAULTS"] == "1"

    /// A rebalance handler that accepts the group's offsets and records what it was given.
    public final class Handler: KafkaRebalanceHandler {
        public private(set) var assigned: [KafkaPosition] = []
        public private(set) var revoked = 0
        public init() {}
        public func partitionsAssigned(_ partitions: [KafkaPosition]) -> [Int64?] {
            assigned += partitions
            return partitions.map { _ in nil }
        }
        public func partitionsRevoked(_ partitions: [KafkaPosition], lost: Bool) { revoked += partitions.count }
    }
}
