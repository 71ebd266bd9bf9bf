import ArgumentParser
import DoraEvents
import DoraGenerator
#if canImport(Glibc)
import Glibc
#endif

/// `doralog generate`: write a deterministic, realistic event stream as JSONL.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a seeded, realistic JSONL event stream (for demos, tests, benchmarks).",
        discussion: """
            The same options always give the same bytes. The stream covers every episode shape of \
            the metric definitions, plus duplicates, malformed lines, unknown fields and types, \
            and shuffled arrival (rates set below).
            """
    )

    @Option(help: "Exact number of lines to write.") var events: Int = 10_000
    @Option(help: "Days the stream spans.") var days: Int = 90
    @Option(help: ArgumentHelp("First day, YYYY-MM-DD.", valueName: "date")) var start: String = "2026-07-01"
    @Option(help: "Number of services.") var services: Int = 24
    @Option(help: "Number of teams.") var teams: Int = 6
    @Option(help: "Seed of the pseudo-random sequence.") var seed: UInt64 = 42
    @Option(help: "Share of lines repeating an earlier id.") var duplicateRate: Double = 0.01
    @Option(help: "Share of malformed lines.") var malformedRate: Double = 0.005
    @Option(help: "Arrival shuffle window (1 = time order).") var shuffleWindow: Int = 32
    @Option(help: ArgumentHelp("Output file (default: standard output).", valueName: "path")) var output: String?

    func validate() throws {
        guard events >= 0 else { throw ValidationError("--events must be 0 or more") }
        guard days >= 1 else { throw ValidationError("--days must be at least 1") }
        guard services >= 1, teams >= 1 else { throw ValidationError("--services and --teams must be at least 1") }
        guard (0...1).contains(duplicateRate), (0...1).contains(malformedRate) else {
            throw ValidationError("rates must be between 0 and 1")
        }
        guard shuffleWindow >= 1 else { throw ValidationError("--shuffle-window must be at least 1") }
        guard Timestamp.parse(rfc3339: start + "T00:00:00Z") != nil else {
            throw ValidationError("--start must be a date like 2026-07-01")
        }
    }

    func run() throws {
        var configuration = GeneratorConfiguration()
        configuration.events = events
        configuration.days = days
        configuration.start = Timestamp.parse(rfc3339: start + "T00:00:00Z")!
        configuration.services = services
        configuration.teams = teams
        configuration.seed = seed
        configuration.duplicateRate = duplicateRate
        configuration.malformedRate = malformedRate
        configuration.shuffleWindow = shuffleWindow
        let fd: Int32
        if let output {
            fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw CLIError.failure("\(output): cannot create: \(String(cString: strerror(errno)))") }
        } else {
            fd = STDOUT_FILENO
        }
        defer { if fd != STDOUT_FILENO { close(fd) } }
        var failed = false
        EventGenerator(configuration: configuration).generate { chunk in
            guard !failed else { return }
            var done = 0
            while done < chunk.count {
                let n = write(fd, chunk.baseAddress! + done, chunk.count - done)
                if n < 0 { if errno == EINTR { continue }; failed = true; return }
                done += n
            }
        }
        if failed { throw CLIError.failure("write failed: \(String(cString: strerror(errno)))") }
    }
}
