public import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The root command: `doralog <subcommand>`.
public struct Doralog: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "doralog",
        abstract: "DORA metrics and MTTR from deploy, alert and rollback events.",
        discussion: """
            Events (docs/events.md) are appended to an append-only, zstd-compressed event log, \
            the source of truth; reports replay it.
            """,
        version: "0.1.0",
        subcommands: [
            IngestCommand.self, ReportCommand.self, VerifyCommand.self, BrokerCommand.self, ProduceCommand.self,
            GenerateCommand.self, SLOCommand.self, RunCommand.self, DrillCommand.self,
        ]
    )

    public init() {}

    /// Runs the command line and exits with the contract's codes: 0 success, 1 failure,
    /// 2 bad usage, 3 reserved for `slo --fail-on-firing`.
    public static func runAndExit() async -> Never {
        raiseOpenFileLimit()
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
            Glibc.exit(0)
        } catch let error as CLIError {
            FileDescriptorStream.standardError.write("doralog: error: \(error.message)\n")
            Glibc.exit(error.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                self.exit(withError: error)  // --help, --version
            }
            FileDescriptorStream.standardError.write(fullMessage(for: error) + "\n")
            // argument-parser says 64 for usage errors; the contract says 2.
            Glibc.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

extension Doralog {
    /// Raises the soft limit of open files to the hard one. An event log keeps one descriptor
    /// open per sealed segment (its id index, read a bucket at a time), so a log of more than
    /// about a thousand segments (some 60 GB) would pass the usual soft limit of 1,024. Where
    /// the limit cannot be raised, it stays as it was; opening a segment past it fails with
    /// a clear error.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

/// A command's failure as the user sees it: one line, and the exit code of the contract.
struct CLIError: Error {
    var message: String
    var exitCode: Int32

    static func usage(_ message: String) -> CLIError { CLIError(message: message, exitCode: 2) }
    static func failure(_ message: String) -> CLIError { CLIError(message: message, exitCode: 1) }
}

/// Unbuffered writes to a file descriptor (stderr for progress and errors).
struct FileDescriptorStream {
    let descriptor: Int32
    static let standardError = FileDescriptorStream(descriptor: STDERR_FILENO)
    static let standardOutput = FileDescriptorStream(descriptor: STDOUT_FILENO)

    func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
                if n <= 0 { if errno == EINTR { continue }; return }
                done += n
            }
        }
    }

    var isTerminal: Bool { isatty(descriptor) == 1 }
}

/// A progress line on stderr, redrawn at most every half second, only on a terminal.
final class ProgressLine {
    private let enabled = FileDescriptorStream.standardError.isTerminal
    private var last: Int64 = 0
    private var drawn = false

    func update(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        let now = monotonicMilliseconds()
        guard now - last >= 500 else { return }
        last = now
        drawn = true
        FileDescriptorStream.standardError.write("\r\u{1B}[K" + text())
    }

    func finish() {
        if drawn { FileDescriptorStream.standardError.write("\r\u{1B}[K") }
    }
}

func monotonicMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
