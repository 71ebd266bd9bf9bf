import DoraEventLog
import DoraEvents
import DoraMetrics
import DoraReports

/// `report --explain METRIC`: the samples behind one number (docs/reports.md, "Why is this the
/// number?").
extension ReportCommand {
    /// The explanation of `explain` over `report`'s period, printed as text or JSON.
    func explainNumber(_ path: String, report: Report, engine: MetricsEngine, teamOf: ((String, String?) -> String?)?) throws -> String {
        guard let metric = ExplainedMetric(path) else {
            throw CLIError.usage(
                "--explain: '\(path)' names no number of the report that can be explained; give one like "
                    + ExplainedMetric.examples.joined(separator: ", "))
        }
        let scope: ExplainScope
        switch (service, team) {
        case (let s?, nil): scope = .service(s)
        case (nil, let t?): scope = .team(t)
        case (nil, nil): scope = .totals
        default: throw CLIError.usage("--explain takes --service or --team, not both")
        }
        if case .service(let s) = scope, !report.services.contains(where: { $0.service == s }) {
            throw CLIError.usage("--service \(s): the report lists no such service in \(report.environment) for this period")
        }
        if case .team(let t) = scope, !report.teams.contains(where: { $0.team == t }) {
            throw CLIError.usage("--team \(t): the report has no such team (it has: \(report.teams.map(\.team).joined(separator: ", ")))")
        }
        var explanation = engine.explain(metric, period: report.period, scope: scope, teamOf: teamOf)
        if metric.family == .leadTime { try nameCommits(in: &explanation) }
        return format == .json ? ExplanationRenderer.json(explanation) : ExplanationRenderer.text(explanation)
    }

    /// Replaces the commits' fingerprints with their shas, read from the deploys in the log.
    private func nameCommits(in explanation: inout Explanation) throws {
        let deploys = Set((explanation.items + explanation.excluded).compactMap { $0.ids.first { $0.kind == "deploy" }?.id })
        var shas: [String] = []
        for directory in log {
            do {
                try LogReader(directory: directory).forEachEvent { event in
                    guard deploys.contains(event.id), case .deploy(let d) = event.details else { return }
                    shas += d.commits.map(\.sha)
                }
            } catch {
                throw CLIError.failure(error.description)
            }
        }
        explanation.nameCommits(shas)
    }
}
