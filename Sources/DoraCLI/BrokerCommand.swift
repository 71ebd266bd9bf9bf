import ArgumentParser
import Dispatch
import DoraKafka
#if canImport(Glibc)
import Glibc
#endif

/// `doralog broker`: an embedded Kafka-protocol broker on loopback (librdkafka's mock cluster).
struct BrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run an embedded Kafka-protocol broker on 127.0.0.1 until stopped.",
        discussion: """
            librdkafka's mock cluster: consumer groups and offset commits work; each partition \
            keeps only a bounded tail (a few MB), so consume while producing or use enough \
            partitions. Prints the bootstrap address on the first line of standard output.
            """
    )

    @Option(help: ArgumentHelp("Topic to create (repeatable).", valueName: "topic")) var topic: [String] = ["events"]
    @Option(help: "Partitions per topic.") var partitions: Int32 = 6
    @Option(help: "Number of brokers.") var brokers: Int32 = 1
    @Option(help: ArgumentHelp(
        "Also accept bootstrap connections on this port of 127.0.0.1 (printed first); the brokers keep their own ports.",
        valueName: "port"))
    var port: UInt16?

    func validate() throws {
        guard partitions >= 1, brokers >= 1 else { throw ValidationError("--partitions and --brokers must be at least 1") }
        if port == 0 { throw ValidationError("--port must be 1-65535 (leave it out for a free port)") }
    }

    func run() throws {
        let cluster: MockCluster
        do {
            cluster = try MockCluster(brokers: brokers)
            for t in topic { try cluster.createTopic(t, partitions: partitions) }
        } catch {
            throw CLIError.failure(error.description)
        }
        var bootstrap = cluster.bootstrapServers
        var forwarder: BootstrapForwarder?
        if let port {
            // The mock cluster picks its own ports: forward the fixed one to its first broker.
            let first = bootstrap.split(separator: ",")[0]
            guard let target = first.split(separator: ":").last.flatMap({ UInt16($0) }) else {
                throw CLIError.failure("cannot read the port of the mock broker at \(first)")
            }
            do {
                forwarder = try BootstrapForwarder(port: port, targetPort: target)
            } catch {
                throw CLIError.failure(error.description)
            }
            bootstrap = "127.0.0.1:\(port)," + bootstrap
        }
        FileDescriptorStream.standardOutput.write(bootstrap + "\n")
        let stopped = DispatchSemaphore(value: 0)
        let signals = SignalHandlers { stopped.signal() }
        stopped.wait()
        withExtendedLifetime((cluster, signals, forwarder)) {}
    }
}
