import ArgumentParser
import DoraPipelineFile
import DoraMetrics
import DoraReports
import DoraService
import Logging

/// `doralog run`: the long-running service a pipeline file describes (docs/run.md).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline: Kafka -> event log -> live metrics -> SLO alerts, with an HTTP endpoint.",
        discussion: """
            Reads --pipeline (YAML, pipelines/README.md). On start it replays the log into its \
            live state, then consumes the source's topics as a consumer-group member. SLO \
            transitions go to the configured sinks (JSON lines on stdout by default). SIGTERM or \
            SIGINT: finish the batch, make it durable, commit, deliver queued alerts, exit 0. \
            With --until-end it stops once the topics are consumed and prints the report.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Pipeline file (YAML).", valueName: "file"))
    var pipeline: String

    @Option(help: ArgumentHelp("Event log directory, instead of the pipeline's `log.directory`.", valueName: "dir"))
    var log: String?

    @Flag(help: "Stop once every assigned partition is at its end, then print the report.")
    var untilEnd = false

    @Option(help: ArgumentHelp("With --until-end: the report's format, markdown or json.", valueName: "format"))
    var reportFormat: ReportCommand.ReportFormat = .markdown

    func run() async throws {
        var definition: PipelineDefinition
        do {
            definition = try PipelineFile.load(pipeline)
        } catch {
            throw CLIError.usage(error.description)
        }
        if let log { definition.log.directory = log }
        var logger = Logger(label: "doralog.run")
        logger.logLevel = .notice
        var runner = PipelineRunner(definition: definition, logger: logger)
        runner.untilEnd = untilEnd
        let report: DoraMetrics.Report?
        do {
            report = try await runner.run()
        } catch {
            throw CLIError.failure("\(error)")
        }
        guard untilEnd else { return }
        guard let report else { throw CLIError.failure("the log holds no events: nothing to report") }
        let text = reportFormat == .json ? JSONReportRenderer.render(report) : MarkdownReportRenderer.render(report)
        FileDescriptorStream.standardOutput.write(text)
    }
}
