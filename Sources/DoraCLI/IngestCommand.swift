import ArgumentParser
import Dispatch
import DoraEventLog
import DoraInputs
import DoraMetrics
import DoraPipeline
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `doralog ingest`: append JSONL events to an event log.
struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Append events to the event log, from a JSONL file or from Kafka.",
        discussion: """
            With --file, reads JSONL (one event per line; `-` is standard input). With --brokers, \
            consumes --topic as a member of consumer group --group until SIGINT/SIGTERM (finish \
            the batch, make it durable, commit, exit 0), or until the end of every assigned \
            partition with --until-end. Every message ends as exactly one of stored, duplicate \
            (its id is already stored) or rejected (kept with its reason and source in \
            DIR/dead-letters.jsonl). Prints one summary line. Exits 0 even when some were rejected.
            """
    )

    @Option(name: .long, help: ArgumentHelp("JSONL file to read; `-` reads standard input.", valueName: "path"))
    var file: String?

    @Option(name: .long, help: ArgumentHelp("Kafka bootstrap servers (HOST:PORT,...).", valueName: "brokers"))
    var brokers: String?

    @Option(name: .long, help: ArgumentHelp("Topic to consume (repeatable).", valueName: "topic"))
    var topic: [String] = []

    @Option(name: .long, help: ArgumentHelp("Consumer group id.", valueName: "group"))
    var group: String?

    @Flag(name: .long, help: "Stop once every assigned partition is at its end.")
    var untilEnd = false

    @Option(help: ArgumentHelp(
        "With --until-end, fail when no partition is assigned after this many seconds (without it, log a notice).",
        valueName: "seconds"))
    var assignmentTimeout: Int = 60

    @Option(help: ArgumentHelp(
        "With --until-end, fail when no Kafka broker can be reached for this long (e.g. 30s, 2m); without it, keep retrying.",
        valueName: "duration"))
    var connectTimeout: String = "30s"

    @Option(name: .customShort("X"), help: ArgumentHelp("A librdkafka property, key=value (repeatable; TLS, SASL...).", valueName: "key=value"))
    var properties: [String] = []

    @Option(help: ArgumentHelp("Kafka batches are appended after at most this many milliseconds.", valueName: "ms"))
    var maxDelay: Int = 100

    @Option(help: ArgumentHelp(
        "What the Kafka messages are: doralog (the event schema), cdevents (CDEvents as CloudEvents, mapped; docs/inputs.md) or auto (CDEvents when a message looks like one).",
        valueName: "format"))
    var format: KafkaMessageFormat = .doralog

    enum KafkaMessageFormat: String, ExpressibleByArgument, CaseIterable {
        case doralog, cdevents, auto
    }

    @Flag(help: "Benchmark aid: print p50/p99 of the delay from each message's Kafka timestamp to durable, on stderr.")
    var latencyStats = false

    func validate() throws {
        if (file == nil) == (brokers == nil) {
            throw ValidationError("give either --file or --brokers (with --topic and --group)")
        }
        if brokers != nil && (topic.isEmpty || group == nil) {
            throw ValidationError("--brokers needs at least one --topic and a --group")
        }
        guard assignmentTimeout >= 1 else { throw ValidationError("--assignment-timeout must be at least 1 second") }
        guard let timeout = DurationText.parse(connectTimeout), timeout >= .seconds(1) else {
            throw ValidationError("--connect-timeout: '\(connectTimeout)' is not a duration of at least 1s, like 30s or 2m")
        }
        for p in properties where !p.contains("=") {
            throw ValidationError("-X \(p): expected key=value")
        }
    }

    @Option(name: .long, help: ArgumentHelp("Event log directory (created if missing).", valueName: "dir"))
    var log: String

    @OptionGroup var logOptions: LogOptions

    func run() throws {
        let eventLog = try logOptions.open(log)
        guard let file else { return try runKafka(eventLog) }
        var ingestor = FileIngestor()
        let progress = ProgressLine()
        let started = monotonicMilliseconds()
        ingestor.progress = { s in
            let seconds = max(Double(monotonicMilliseconds() - started) / 1000, 0.001)
            progress.update("ingest: \(s.read) read, \(s.stored) stored, \(s.duplicates) duplicates, \(s.rejected) rejected (\(Int(Double(s.read) / seconds)) events/s)")
        }
        let summary: AppendSummary
        do {
            summary = try ingestor.ingest(path: file, into: eventLog)
        } catch {
            progress.finish()
            throw CLIError.failure(error.description)
        }
        progress.finish()
        print(summary.line)
    }
}

extension IngestCommand {
    func runKafka(_ eventLog: EventLog) throws {
        var configuration = KafkaIngestor.Configuration(brokers: brokers!, topics: topic, group: group!)
        configuration.untilEnd = untilEnd
        configuration.maximumDelayMilliseconds = Int64(maxDelay)
        configuration.assignmentTimeoutMilliseconds = Int64(assignmentTimeout) * 1000
        configuration.recordsLatency = latencyStats
        if untilEnd { configuration.connectTimeoutMilliseconds = DurationText.parse(connectTimeout)!.wholeMicroseconds / 1000 }
        configuration.properties = KafkaProperties.parse(properties)
        switch format {
        case .doralog: configuration.format = .doralog
        case .cdevents: configuration.format = .cdevents(CDEventsMapping())
        case .auto: configuration.format = .auto(CDEventsMapping())
        }
        var logger = Logger(label: "doralog.kafka")
        logger.logLevel = .notice
        let ingestor = KafkaIngestor(configuration: configuration, log: eventLog, logger: logger)
        let stop = ingestor.stopRequest
        let signals = SignalHandlers { stop.request() }
        defer { withExtendedLifetime(signals) {} }
        do {
            try ingestor.run()
        } catch {
            throw CLIError.failure(error.description)
        }
        let s = ingestor.summary
        print(s.line)
        if latencyStats {
            let l = ingestor.latenciesMilliseconds.sorted()
            if l.isEmpty {
                FileDescriptorStream.standardError.write("latency: no messages\n")
            } else {
                func rank(_ p: Int) -> Int64 { l[max((p * l.count + 99) / 100, 1) - 1] }
                FileDescriptorStream.standardError.write(
                    "latency from Kafka timestamp to durable: n \(l.count), p50 \(rank(50)) ms, p99 \(rank(99)) ms, max \(l.last!) ms\n")
            }
        }
    }
}

/// `-X key=value` options as librdkafka properties.
enum KafkaProperties {
    static func parse(_ options: [String]) -> [(String, String)] {
        options.map { p in
            let parts = p.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }
}

/// SIGINT and SIGTERM run `action` (on a dispatch queue) instead of killing the process.
final class SignalHandlers {
    private let sources: [DispatchSourceSignal]

    init(_ action: @escaping @Sendable () -> Void) {
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
    }
}

/// Options that shape how a log is written.
struct LogOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Start a new segment after this many MiB.", valueName: "MiB"))
    var segmentSize: Int = LogConfiguration().segmentBytes >> 20

    @Option(name: .long, help: ArgumentHelp("zstd level of new blocks (1-19).", valueName: "level"))
    var zstdLevel: Int = LogConfiguration().zstdLevel

    @Flag(help: "Make a new log even in a directory that holds other files (refused without it).")
    var create = false

    func open(_ directory: String) throws -> EventLog {
        var logger = Logger(label: "doralog.log")
        logger.logLevel = .notice
        do {
            let configuration = LogConfiguration(segmentBytes: segmentSize << 20, zstdLevel: zstdLevel)
            return try EventLog(directory: directory, configuration: configuration, logger: logger, createAmongOtherFiles: create)
        } catch let error where error.code == .configuration {
            throw CLIError.usage(error.description)
        } catch {
            throw CLIError.failure(error.description)
        }
    }
}
