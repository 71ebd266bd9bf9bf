import ArgumentParser
import DoraEventLog

/// `doralog verify`: check every block and invariant of a log.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every block's checksum and the log's invariants.",
        discussion: """
            Reads the whole log: checksums, records against their raw bytes, time ranges, \
            segment indexes, and that no id is stored twice. Prints each problem with its \
            segment and byte offset. Exits 1 if anything is wrong.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Event log directory.", valueName: "dir"))
    var log: String

    func run() throws {
        let progress = ProgressLine()
        let report: LogVerifier.Report
        do {
            report = try LogVerifier.verify(directory: log) { done, total in
                progress.update("verify: \(done >> 20) of \(total >> 20) MiB")
            }
        } catch {
            progress.finish()
            throw CLIError.failure(error.description)
        }
        progress.finish()
        for problem in report.problems { print("damaged: \(problem)") }
        let summary = "\(report.segments) segments, \(report.blocks) blocks, \(report.events) events"
        if report.isClean {
            print(report.events == 0 ? "ok: the log is empty (\(summary))" : "ok: \(summary)")
        } else {
            throw CLIError.failure("\(report.problems.count) problems in \(summary)")
        }
    }
}
