import DoraKafka
import Testing

@Suite struct KafkaErrorTests {
    @Test(arguments: [
        ("127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT)", "connection refused"),
        ("h.invalid:9092/bootstrap: Failed to resolve 'h.invalid:9092': Name or service not known (after 1ms in state CONNECT)",
         "failed to resolve 'h.invalid:9092': Name or service not known"),
        ("metadata: Local: Broker transport failure", "metadata: Local: Broker transport failure"),
    ])
    func theCauseIsLibrdkafkasReasonWithoutTheBrokerAndState(message: String, cause: String) {
        #expect(KafkaError(code: -195, message: message).cause == cause)
    }
}
