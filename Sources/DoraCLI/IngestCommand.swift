import ArgumentParser
import DoraEventLog
import DoraPipeline
import Logging

/// `doralog ingest`: append JSONL events to an event log.
struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Append events to the event log.",
        discussion: """
            Reads JSONL (one event per line) from --file, or `-` for standard input. Every line \
            ends as exactly one of stored, duplicate (its id is already stored) or rejected (kept \
            with its reason in DIR/dead-letters.jsonl). Prints one summary line. Exits 0 even \
            when lines were rejected.
            """
    )

    @Option(name: .long, help: ArgumentHelp("JSONL file to read; `-` reads standard input.", valueName: "path"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("Event log directory (created if missing).", valueName: "dir"))
    var log: String

    @OptionGroup var logOptions: LogOptions

    func run() throws {
        let eventLog = try logOptions.open(log)
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
        print("read \(summary.read), stored \(summary.stored), duplicates \(summary.duplicates), rejected \(summary.rejected)")
    }
}

/// Options that shape how a log is written.
struct LogOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Start a new segment after this many MiB.", valueName: "MiB"))
    var segmentSize: Int = LogConfiguration().segmentBytes >> 20

    @Option(name: .long, help: ArgumentHelp("zstd level of new blocks (1-19).", valueName: "level"))
    var zstdLevel: Int = LogConfiguration().zstdLevel

    func open(_ directory: String) throws -> EventLog {
        var logger = Logger(label: "doralog.log")
        logger.logLevel = .notice
        do {
            let configuration = LogConfiguration(segmentBytes: segmentSize << 20, zstdLevel: zstdLevel)
            return try EventLog(directory: directory, configuration: configuration, logger: logger)
        } catch let error where error.code == .configuration {
            throw CLIError.usage(error.description)
        } catch {
            throw CLIError.failure(error.description)
        }
    }
}
