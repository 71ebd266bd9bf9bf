import ArgumentParser
import DoraEvents
import DoraKafka
import DoraPipeline
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `doralog produce`: publish JSONL events to a topic, keyed by service.
struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Publish JSONL events to a Kafka topic, keyed by service, with delivery checked.",
        discussion: """
            Each non-blank line becomes one message, sent as is (malformed lines too, without a \
            key: the consumer's dead-letter store is where they belong). Exits 1 if any message \
            was not delivered.
            """
    )

    @Option(help: ArgumentHelp("Kafka bootstrap servers.", valueName: "brokers")) var brokers: String
    @Option(help: ArgumentHelp("Topic to publish to.", valueName: "topic")) var topic: String
    @Option(help: ArgumentHelp("JSONL file; `-` reads standard input.", valueName: "path")) var file: String
    @Option(name: .customShort("X"), help: ArgumentHelp("A librdkafka property, key=value (repeatable).", valueName: "key=value"))
    var properties: [String] = []

    @Option(help: ArgumentHelp("Send at most this many messages per second (default: as fast as possible).", valueName: "n"))
    var rate: Int?

    func validate() throws {
        if let rate, rate < 1 { throw ValidationError("--rate must be at least 1") }
    }

    func run() throws {
        let producer: KafkaProducer
        do {
            var logger = Logger(label: "doralog.kafka")
            logger.logLevel = .notice
            producer = try KafkaProducer(bootstrapServers: brokers, properties: KafkaProperties.parse(properties), logger: logger)
        } catch {
            throw CLIError.failure(error.description)
        }
        var sent = 0
        let started = monotonicMilliseconds()
        do {
            try LineReader.forEachLine(path: file) { line in
                let key = (try? EventDecoder.decode(line)).map { Array($0.service.utf8) }
                if let rate {
                    // Paced: message n leaves no earlier than n / rate seconds after the start.
                    let due = started + Int64(sent) * 1000 / Int64(rate)
                    while monotonicMilliseconds() < due {
                        producer.poll()
                        usleep(200)
                    }
                }
                try producer.send(topic: topic, key: key, value: line)
                sent += 1
                if sent % 1000 == 0 || rate != nil { producer.poll() }
            }
            try producer.flush()
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.failure("\(error)")
        }
        print("sent \(sent), delivered \(producer.delivered), failed \(producer.failed)")
        if producer.failed > 0 {
            throw CLIError.failure("\(producer.failed) messages not delivered: \(producer.firstFailure.map { "\($0)" } ?? "")")
        }
    }
}
