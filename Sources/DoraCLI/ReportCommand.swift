import ArgumentParser
import DoraEvents
import DoraMetrics
import DoraPipeline
import DoraPipelineFile
import DoraSLO
import DoraReports
#if canImport(Glibc)
import Glibc
#endif

/// `doralog report`: replay the log and print the report (docs/report.md).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Replay the event log and print the DORA and MTTR report.",
        discussion: """
            Every number follows the metric definitions (docs/metrics.md). The period is \
            [--from, --to) in UTC; by default, from the day of the earliest stored event to the \
            day after the latest, leaving out (with a warning) events dated more than a day \
            from now. Several --log directories (one per consumer-group member) are merged, \
            de-duplicated by event id.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Event log directory (repeat to merge several).", valueName: "dir"))
    var log: [String]

    @Option(help: ArgumentHelp(
        "json, markdown, csv or html (default: from the --output file's extension, .json, .md, .csv or .html; else markdown on a terminal, json otherwise).",
        valueName: "format"))
    var format: ReportFormat?

    @Option(help: ArgumentHelp("Start of the period (inclusive): YYYY-MM-DD or RFC 3339.", valueName: "date"))
    var from: String?

    @Option(help: ArgumentHelp("End of the period (exclusive): YYYY-MM-DD or RFC 3339.", valueName: "date"))
    var to: String?

    @Option(help: ArgumentHelp("The environment to report on (default: the pipeline file's, else production).", valueName: "env"))
    var environment: String?

    @Option(name: .customLong("incident-severity"), help: ArgumentHelp(
        "A severity that counts as an incident (repeatable; default: the pipeline file's, else critical).", valueName: "severity"))
    var incidentSeverities: [String] = []

    @Option(help: ArgumentHelp(
        "How long after a deploy an incident is attributed to it (e.g. 24h, 90m, 1d; default: the pipeline file's, else 24h).",
        valueName: "duration"))
    var attributionWindow: String?

    @Option(help: ArgumentHelp(
        "A pipeline file: its services' teams name the teams, and its environment, incident severities and attribution window are the defaults.",
        valueName: "file"))
    var pipeline: String?

    @Option(help: ArgumentHelp("Read only blocks within this distance of the period (faster, see docs/metrics.md); default: read everything, exact.", valueName: "duration"))
    var margin: String?

    @Option(help: ArgumentHelp(
        "Compare with another period: 'previous' (the period of equal length just before; the default for html) or FROM..TO (dates or RFC 3339 times).",
        valueName: "period"))
    var compare: String?

    @Option(help: ArgumentHelp(
        "Also give the figures per ISO week or calendar month of the period (UTC): week or month (csv: week unless given; html: always week).",
        valueName: "interval"))
    var series: SeriesInterval?

    @Option(help: ArgumentHelp(
        "Instead of the report, list what one of its numbers is computed over (e.g. recovery.p95, change_failure.rate, lead_time.p50), with the ids of its events, and what it leaves out.",
        valueName: "metric"))
    var explain: String?

    @Option(help: ArgumentHelp("With --explain: one service's number.", valueName: "service"))
    var service: String?

    @Option(help: ArgumentHelp("With --explain: one team's number.", valueName: "team"))
    var team: String?

    @Option(help: ArgumentHelp(
        "Rollback readiness: a service whose last successful rollback (real or drill) is at least this old at the period's end is stale (default: the pipeline file's rollback_exercised objective, else 30d).",
        valueName: "duration"))
    var readinessObjective: String?

    @Option(help: ArgumentHelp("Write the report to this file instead of standard output.", valueName: "path"))
    var output: String?

    @Option(help: ArgumentHelp(
        "Fold a log of more events than --partition-above in partitions of services of about this many events each, holding one partition's state at a time (less memory, the same report; 0: never; see docs/replay.md).",
        valueName: "n"))
    var partitionEvents = Replay.defaultEventsPerPartition

    @Option(help: ArgumentHelp(
        "Fold a log of at most this many events in one pass, all its state in memory (about 85 bytes per event).", valueName: "n"))
    var partitionAbove = Replay.defaultPartitionedAbove

    @Option(help: ArgumentHelp(
        "Where a partitioned report sets each partition's events aside while it runs (about 80 bytes per event read; default: $TMPDIR, else /tmp).",
        valueName: "dir"))
    var spillDir: String?

    enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
        case json, markdown, csv, html

        /// The format an output file's extension names (`.json`, `.md`, `.markdown`); nil
        /// for another extension.
        /// - Throws: `CLIError` for the extension of a format this version cannot write.
        static func inferred(fromPath path: String) throws -> ReportFormat? {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
            switch name[name.index(after: dot)...].lowercased() {
            case "json": return .json
            case "md", "markdown": return .markdown
            case "csv": return .csv
            case "html", "htm": return .html
            default: return nil
            }
        }
    }

    func run() throws {
        guard !log.isEmpty else { throw CLIError.usage("give at least one --log directory") }
        let chosen = try format ?? output.flatMap(ReportFormat.inferred(fromPath:)) ?? (output == nil && isatty(STDOUT_FILENO) == 1 ? .markdown : .json)
        let fromTime = try from.map { try Self.parseDate($0, option: "--from") }
        let toTime = try to.map { try Self.parseDate($0, option: "--to") }
        var configuration = MetricsConfiguration()
        var assignments: ServiceAssignments?
        var slos: [SLODefinition] = []
        var readinessObjectives: [ReadinessObjective] = []
        if let pipeline {
            do {
                let evaluation = try PipelineFile.loadEvaluation(pipeline)
                configuration = evaluation.metrics
                assignments = evaluation.assignments
                slos = evaluation.slos
                readinessObjectives = evaluation.readiness
            } catch {
                throw CLIError.usage(error.description)
            }
        }
        if let environment { configuration.environment = environment }
        if !incidentSeverities.isEmpty { configuration.incidentSeverities = Set(incidentSeverities) }
        if let attributionWindow {
            guard let window = DurationText.parse(attributionWindow) else {
                throw CLIError.usage("--attribution-window: '\(attributionWindow)' is not a duration like 24h, 90m, 1d or 3600s")
            }
            configuration.attributionWindow = window
        }
        var replay = Replay(configuration: configuration)
        replay.comparison = try compare.map(Self.parseComparison) ?? (chosen == .html ? .previous : nil)
        // The page's trends, tiles and team sparklines are weekly whatever --series says.
        replay.series = chosen == .html ? .week : series ?? (chosen == .csv ? .week : nil)
        replay.keepingSamples = chosen == .html
        replay.longestRecoveries = chosen == .html ? HTMLReportRenderer.longestRecoveries : 0
        if let assignments { replay.teamOf = { assignments.team(of: $0, fromEvents: $1) } }
        if let margin {
            guard let m = DurationText.parse(margin) else {
                throw CLIError.usage("--margin: '\(margin)' is not a duration like 7d")
            }
            replay.margin = m
        }
        var objective = readinessObjectives.first?.maxAge ?? Readiness.defaultObjective
        if let readinessObjective {
            guard let d = DurationText.parse(readinessObjective), d > .zero else {
                throw CLIError.usage("--readiness-objective: '\(readinessObjective)' is not a positive duration like 30d")
            }
            objective = d.wholeMicroseconds
        }
        guard partitionEvents >= 0 else { throw CLIError.usage("--partition-events: give a count of events, or 0 for never") }
        guard partitionAbove >= 0 else { throw CLIError.usage("--partition-above: give a count of events") }
        replay.readinessObjective = objective
        replay.eventsPerPartition = partitionEvents
        replay.partitionedAbove = partitionAbove
        if let spillDir {
            var st = stat()
            guard stat(spillDir, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                throw CLIError.usage("--spill-dir: '\(spillDir)' is not a directory")
            }
            replay.spillDirectory = spillDir
        }
        // --explain and the page's SLO status read every service's state after the report: then
        // the replay keeps it all, in one pass.
        let needsEngine = explain != nil || (chosen == .html && pipeline != nil)
        var report: Report
        var engine: MetricsEngine?
        do {
            if needsEngine {
                (report, engine) = try replay.reportAndEngine(directories: log, from: fromTime, to: toTime)
            } else {
                report = try replay.report(directories: log, from: fromTime, to: toTime)
            }
        } catch {
            if case .emptyPeriod = error { throw CLIError.usage(error.description) }
            throw CLIError.failure(error.description)
        }
        if let explain, let engine {
            let text = try explainNumber(explain, report: report, engine: engine, teamOf: replay.teamOf)
            if let output { try OutputFile.write(text, to: output) } else { FileDescriptorStream.standardOutput.write(text) }
            return
        }
        guard service == nil && team == nil else { throw CLIError.usage("--service and --team go with --explain") }
        let text: String
        switch chosen {
        case .json: text = JSONReportRenderer.render(report)
        case .markdown: text = MarkdownReportRenderer.render(report)
        case .csv: text = CSVReportRenderer.render(report)
        case .html:
            let objective = slos.first { $0.metric == .rollbackTime }.map { (name: $0.name, seconds: Double($0.objective) / 1_000_000) }
            var page = HTMLReportRenderer.Page(
                generatedAt: replay.now, command: Self.commandLine(), version: Doralog.configuration.version, rollbackObjective: objective)
            if let engine {
                (page.sloStatus, page.firingRollbackAlerts) = Self.sloStatus(slos, readinessObjectives, assignments, engine, at: report.period.to)
            }
            do {
                text = try HTMLReportRenderer.render(report, page: page)
            } catch {
                throw CLIError.failure(error.description)
            }
        }
        if let comparison = report.comparison, !comparison.hasData {
            FileDescriptorStream.standardError.write(
                "doralog: warning: no data for the comparison period \(comparison.period.from.rfc3339) to \(comparison.period.to.rfc3339) "
                    + "(no event of the environment there): the report shows no changes\n")
        }
        if report.recurringAlerts > 0 {
            FileDescriptorStream.standardError.write(
                "doralog: warning: \(report.recurringAlerts) alert id(s) of the period fire again after they resolved; each counts as "
                    + "one episode, from its first firing to its first resolution (give each episode an alert_id of its own)\n")
        }
        if let skew = DataQuality.clockSkew(report) { FileDescriptorStream.standardError.write("doralog: warning: \(skew)\n") }
        if report.futureEvents > 0 {
            let cutoff = replay.now.advanced(byMicroseconds: Timestamp.microsecondsPerDay)
            FileDescriptorStream.standardError.write(
                "doralog: warning: \(report.futureEvents) event(s) dated after \(cutoff.rfc3339) (a day from now) left out of the "
                    + "default period; give --to to include them\n")
        }
        if let output {
            try OutputFile.write(text, to: output)
        } else {
            FileDescriptorStream.standardOutput.write(text)
        }
    }

    /// The SLOs at `end`, from the backtest's evaluator run over the engine up to then (the
    /// same evaluation `doralog slo --to END` makes), and the rollback alerts firing then.
    static func sloStatus(
        _ slos: [SLODefinition], _ readiness: [ReadinessObjective], _ assignments: ServiceAssignments?, _ engine: MetricsEngine,
        at end: Timestamp
    ) -> ([HTMLReportRenderer.SLOStatus], [String]) {
        var evaluation = SLOEvaluation(slos: slos, readiness: readiness, assignments: assignments ?? ServiceAssignments())
        _ = evaluation.evaluate(engine, from: .min, to: end.microseconds)
        let rows = evaluation.status.map { s in
            let state: String
            if s.breachFiring && s.regressionFiring {
                state = "breach and regression firing"
            } else if s.breachFiring {
                state = "breach firing"
            } else if s.regressionFiring {
                state = "regression firing"
            } else {
                state = s.hasVerdict ? "ok" : "no verdict (fewer than \(s.slo.minSamples) samples)"
            }
            let tenths = s.slo.percentileTenths
            return HTMLReportRenderer.SLOStatus(
                slo: s.slo.name, scope: SLOAlert.scopeLabel(s.scope),
                measure: "\(s.slo.metric.rawValue) p\(tenths / 10)" + (tenths % 10 == 0 ? "" : ".\(tenths % 10)"),
                value: s.value.map { Double($0) / 1_000_000 }, objective: Double(s.slo.objective) / 1_000_000, samples: s.samples,
                state: state, isFiring: s.breachFiring || s.regressionFiring)
        }
        // Per-rollback alerts and readiness alerts: the status rows are the percentile SLOs'.
        let rollbackAlerts = evaluation.firing.filter { $0.rollbackID != nil || $0.kind == .rollbackUnexercised }.map(\.description)
        return (rows, rollbackAlerts)
    }

    /// The command line as typed, each argument quoted for a POSIX shell where it needs it.
    static func commandLine() -> String {
        CommandLine.arguments.enumerated().map { i, argument in
            let shown = i == 0 ? "doralog" : argument
            let plain = !shown.isEmpty && shown.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_./:=@,+%".unicodeScalars.contains($0)
            }
            return plain ? shown : "'" + shown.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
        }.joined(separator: " ")
    }

    /// `previous`, or `FROM..TO` with FROM before TO.
    static func parseComparison(_ text: String) throws -> ComparisonPeriod {
        if text == "previous" { return .previous }
        let parts = text.split(separator: "..", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else {
            throw CLIError.usage("--compare: '\(text)' is neither 'previous' nor FROM..TO (for example 2026-04-01..2026-07-01)")
        }
        let from = try parseDate(parts[0], option: "--compare (FROM)")
        let to = try parseDate(parts[1], option: "--compare (TO)")
        guard from < to else { throw CLIError.usage("--compare: the period \(text) is empty (FROM must be before TO)") }
        return .range(Period(from: from, to: to))
    }

    /// `YYYY-MM-DD` (00:00 UTC) or an RFC 3339 time.
    static func parseDate(_ text: String, option: String) throws -> Timestamp {
        if let t = Timestamp.parse(dateOrTime: text) { return t }
        throw CLIError.usage("\(option): '\(text)' is not a date (YYYY-MM-DD) or an RFC 3339 time")
    }
}

extension SeriesInterval: ExpressibleByArgument {}

/// Writes a command's output file.
enum OutputFile {
    static func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError.failure("\(path): cannot create: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let stream = FileDescriptorStream(descriptor: fd)
        stream.write(text)
    }
}
