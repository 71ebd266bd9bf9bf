import ArgumentParser

/// `doralog report`: replay the log and print the report (spec: cli-and-report.md).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Replay the log and print the DORA report.")
    @Option(help: "Event log directory.") var log: String
    func run() throws { throw CLIError.failure("report is not built yet") }
}
