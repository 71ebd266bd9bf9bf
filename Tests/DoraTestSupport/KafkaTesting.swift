import DoraKafka

/// Helpers for tests that consume with the Kafka wrapper directly.
public enum KafkaTesting {
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
