import ArgumentParser
import DoraEvents
import DoraKafka
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
            Each non-blank line becomes one message, sent as is (malformed lines too, without a \\
            key: the consumer's dead-letter store is where they belong). Exits 1 if any message \\
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

/// Reads a JSONL file (or stdin) line by line, skipping blank lines and a leading BOM.
enum LineReader {
    static func forEachLine(path: String, _ body: ([UInt8]) throws -> Void) throws {
        let fd = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError.failure("\(path): cannot open: \(String(cString: strerror(errno)))") }
        defer { if fd != STDIN_FILENO { close(fd) } }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var first = true
        func emit(_ line: ArraySlice<UInt8>) throws {
            var l = line
            if first {
                first = false
                if l.starts(with: [0xEF, 0xBB, 0xBF]) { l = l.dropFirst(3) }
            }
            if l.last == 0x0D { l = l.dropLast() }
            if l.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            try body(Array(l))
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            pending += buffer[0..<n]
            var start = pending.startIndex
            while let nl = pending[start...].firstIndex(of: 0x0A) {
                try emit(pending[start..<nl])
                start = nl + 1
            }
            pending.removeSubrange(..<start)
        }
        if !pending.isEmpty { try emit(pending[...]) }
    }
}
