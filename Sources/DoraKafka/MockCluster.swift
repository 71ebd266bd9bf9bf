internal import CRdKafka

/// librdkafka's mock Kafka cluster: real TCP listeners on 127.0.0.1 speaking the Kafka
/// protocol (consumer groups, offset commits), for the main job, demos and tests.
///
/// Each partition keeps only a bounded tail (a few MB): consume while producing, or use
/// enough partitions. Not `Sendable`: one owner creates topics and injects faults.
public final class MockCluster {
    private let handle: OpaquePointer
    private let cluster: OpaquePointer

    /// Starts a cluster of `brokers` brokers.
    public init(brokers: Int32 = 1) throws(KafkaError) {
        let configuration = try KafkaConfiguration([("log_level", "3")])
        handle = try makeHandle(RD_KAFKA_PRODUCER, configuration)
        guard let cluster = rd_kafka_mock_cluster_new(handle, brokers) else {
            rd_kafka_destroy(handle)
            throw KafkaError(code: -1, message: "cannot start the mock Kafka cluster")
        }
        self.cluster = cluster
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(handle)
    }

    /// The bootstrap address (`127.0.0.1:PORT,...`) any Kafka client can use.
    public var bootstrapServers: String {
        String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    /// Creates a topic with `partitions` partitions.
    public func createTopic(_ name: String, partitions: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, 1)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("create topic \(name)", err, topic: name) }
    }

    /// Takes a broker down (connections closed, new ones refused) or brings it back up.
    ///
    /// librdkafka 2.0.2 keeps the port by binding it again as it takes the broker down, and
    /// aborts the process if that bind fails, as it does while a child being spawned by this
    /// process still holds the old listener. Take brokers down only where nothing is spawned.
    public func setBroker(_ id: Int32, up: Bool) throws(KafkaError) {
        let err = up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("set broker \(id) \(up ? "up" : "down")", err) }
    }

    /// Delays every answer of broker `id` (-1: of every broker) by `milliseconds`, on the
    /// connections it holds: a broker that is up but does not answer. 0 ends the delay for
    /// answers to later requests.
    public func delayAnswers(ofBroker id: Int32, milliseconds: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_rtt(cluster, id, Int32(milliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("delay the answers of broker \(id)", err) }
    }

    /// Makes the next `count` requests of the given Kafka API key fail with `errorCode`.
    public func failNextRequests(apiKey: Int16, count: Int, errorCode: Int32) {
        var errors = [rd_kafka_resp_err_t](repeating: rd_kafka_resp_err_t(rawValue: errorCode), count: count)
        rd_kafka_mock_push_request_errors_array(cluster, apiKey, count, &errors)
    }
}
