import ArgumentParser
import DoraEvents
import DoraMetrics
import DoraPipeline
import DoraPipelineFile
import DoraSLO

/// `doralog slo`: backtests a pipeline file's SLOs over a log's whole history (docs/slo.md).
struct SLOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slo",
        abstract: "Backtest SLOs over the event log: every alert transition, as a JSON array.",
        discussion: """
            Evaluates the SLOs of --pipeline at every sample time of the log's history and at every \
            instant a sample leaves a window (so a breach resolves once its slow samples age out), \
            with the same evaluator as `doralog run`, and prints every transition (firing, resolved) \
            ordered by (at, slo, scope, alert). --from/--to limit the evaluations (earlier samples \
            still fill the windows); the end is --to, default now: give --to for a result that does \
            not change with the day it is run. Exits 0; with --fail-on-firing, exits 3 when an alert \
            is still firing at the end (a gate for release pipelines).
            """
    )

    @Option(name: .long, help: ArgumentHelp("Event log directory (repeat to merge several).", valueName: "dir"))
    var log: [String]

    @Option(name: .long, help: ArgumentHelp(
        "Pipeline file with the SLOs, environment and service tiers (its source and log sections are not needed).", valueName: "file"))
    var pipeline: String

    @Option(help: ArgumentHelp("First evaluation time (inclusive): YYYY-MM-DD or RFC 3339.", valueName: "date"))
    var from: String?

    @Option(help: ArgumentHelp("Evaluate up to this time (exclusive; default: now): YYYY-MM-DD or RFC 3339.", valueName: "date"))
    var to: String?

    @Option(help: ArgumentHelp("Output format: json (the only one).", valueName: "format"))
    var format: String = "json"

    @Flag(help: "Exit 3 when any alert is still firing at the end.")
    var failOnFiring = false

    func validate() throws {
        guard format == "json" else { throw ValidationError("--format: only json is supported") }
        guard !log.isEmpty else { throw ValidationError("give at least one --log directory") }
    }

    func run() throws {
        let definition: PipelineDefinition.Evaluation
        do {
            definition = try PipelineFile.loadEvaluation(pipeline)
        } catch {
            throw CLIError.usage(error.description)
        }
        let fromTime = try from.map { try ReportCommand.parseDate($0, option: "--from") }
        let toTime = try to.map { try ReportCommand.parseDate($0, option: "--to") } ?? Timestamp.now()
        if let fromTime, fromTime >= toTime {
            throw CLIError.usage(to == nil ? "--from is not before now, the default --to" : "--from must be before --to")
        }
        let engine: MetricsEngine
        do {
            engine = try Replay(configuration: definition.metrics).engine(directories: log)
        } catch {
            throw CLIError.failure(error.description)
        }
        guard engine.added > 0 else {
            throw CLIError.failure("the log \(log.joined(separator: ", ")) is empty (no events stored yet): there is nothing to backtest")
        }
        for warning in definition.selectionWarnings(eventTeams: engine.eventTeams) {
            FileDescriptorStream.standardError.write("doralog: warning: \(warning)\n")
        }
        var evaluation = SLOEvaluation(slos: definition.slos, readiness: definition.readiness, assignments: definition.assignments)
        let alerts = evaluation.evaluate(
            engine, from: fromTime?.microseconds ?? .min, to: toTime.microseconds)
        let body = alerts.map { "  " + $0.json }.joined(separator: ",\n")
        FileDescriptorStream.standardOutput.write(alerts.isEmpty ? "[]\n" : "[\n" + body + "\n]\n")
        let firing = evaluation.firing
        if failOnFiring && !firing.isEmpty {
            let names = firing.prefix(5).map(\.description).joined(separator: "; ") + (firing.count > 5 ? "; ..." : "")
            throw CLIError(message: "\(firing.count) alert(s) still firing at the end: \(names)", exitCode: 3)
        }
    }
}
