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
            librdkafka's mock cluster: consumer groups and offset commits work; each partition \\
            keeps only a bounded tail (a few MB), so consume while producing or use enough \\
            partitions. Prints the bootstrap address on the first line of standard output.
            """
    )

    @Option(help: ArgumentHelp("Topic to create (repeatable).", valueName: "topic")) var topic: [String] = ["events"]
    @Option(help: "Partitions per topic.") var partitions: Int32 = 6
    @Option(help: "Number of brokers.") var brokers: Int32 = 1

    func validate() throws {
        guard partitions >= 1, brokers >= 1 else { throw ValidationError("--partitions and --brokers must be at least 1") }
    }

    func run() throws {
        let cluster: MockCluster
        do {
            cluster = try MockCluster(brokers: brokers)
            for t in topic { try cluster.createTopic(t, partitions: partitions) }
        } catch {
            throw CLIError.failure(error.description)
        }
        FileDescriptorStream.standardOutput.write(cluster.bootstrapServers + "\n")
        let stopped = DispatchSemaphore(value: 0)
        let signals = SignalHandlers { stopped.signal() }
        stopped.wait()
        withExtendedLifetime((cluster, signals)) {}
    }
}
