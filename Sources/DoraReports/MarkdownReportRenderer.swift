public import DoraMetrics
import DoraEvents

/// Renders a report as Markdown for a person: the four keys with their bands, the MTTR phase
/// breakdown, rollbacks, then teams and services with the worst recovery times first.
public enum MarkdownReportRenderer {
    public static func render(_ report: Report) -> String {
        let t = report.totals
        var md = "# DORA report: \(report.environment)\n\n"
        md += "Period \(Formatting.day(report.period.from)) to \(Formatting.day(report.period.to)) (exclusive), \(Formatting.number(report.period.days)) days. "
        md += "Events: \(report.events.stored) stored, \(report.events.duplicates) duplicates dropped"
        if report.events.conflictingDuplicates > 0 {
            md += " (\(report.events.conflictingDuplicates) with content other than the stored copy: see the dead letters)"
        }
        md += ", \(report.events.rejected) rejected, "
        md += "\(report.events.ignored) of unknown type, \(report.events.anomalies) anomalies excluded.\n\n"
        if let recurring = DataQuality.recurringAlerts(report) { md += "Data quality: \(recurring).\n\n" }
        if let skew = DataQuality.clockSkew(report) { md += "Data quality: \(skew).\n\n" }

        // With a comparison, each key gets its change against the comparison period.
        let c = report.comparison
        func against(_ metric: String) -> String {
            guard let c else { return "" }
            guard c.hasData else { return " no data |" }
            return " " + (c.changes.first { $0.scope == .totals && $0.metric == metric }.map(ComparisonText.verdict) ?? "-") + " |"
        }
        md += "## The four keys\n\n| key | figure | band |" + (c.map { " vs \(Formatting.day($0.period.from)) to \(Formatting.day($0.period.to)) |" } ?? "")
            + "\n|---|---|---|" + (c == nil ? "" : "---|") + "\n"
        md += "| Deployment frequency | \(Formatting.number(t.deployments.perDay)) per day (\(t.deployments.count) deploys, \(t.deployments.failed) failed to go live) | \(t.deployments.band?.rawValue ?? "n/a") |" + against("deployments.per_day") + "\n"
        md += "| Lead time for changes | p50 \(Formatting.duration(t.leadTime.stat.p50)), p95 \(Formatting.duration(t.leadTime.stat.p95)) over \(t.leadTime.stat.count) commits | \(t.leadTime.band?.rawValue ?? "n/a") |" + against("lead_time.p50") + "\n"
        md += "| Change failure rate | \(Formatting.percent(t.changeFailure.rate)) (\(t.changeFailure.failedChanges) of \(t.changeFailure.deployments) deploys) | \(t.changeFailure.band?.rawValue ?? "n/a") |" + against("change_failure.rate") + "\n"
        md += "| Failed deployment recovery time | p50 \(Formatting.duration(t.recovery.stat.p50)), p95 \(Formatting.duration(t.recovery.stat.p95)) (\(t.recovery.stat.count) recovered, \(t.recovery.open) open) | \(t.recovery.band?.rawValue ?? "n/a") |" + against("recovery.p50") + "\n"
        md += "\nDeployment rework rate: \(Formatting.percent(t.rework.rate)) (\(t.rework.deployments) of \(t.deployments.count) deploys).\n\n"

        md += "## Recovery, phase by phase\n\nOver recovered failed changes; decide, act and verify exist only where a rollback was linked.\n\n"
        md += "| phase | n | p50 | p95 | mean |\n|---|---|---|---|---|\n"
        for (name, s) in [("detect", t.recovery.detect), ("decide", t.recovery.decide), ("act", t.recovery.act), ("verify", t.recovery.verify), ("**recovery**", t.recovery.stat)] {
            md += "| \(name) | \(s.count) | \(Formatting.duration(s.p50)) | \(Formatting.duration(s.p95)) | \(Formatting.duration(s.mean)) |\n"
        }
        md += "\nModes: \(t.recovery.modes.rollback) by rollback, \(t.recovery.modes.rollForward) by roll-forward, \(t.recovery.modes.other) other.\n\n"
        md += "Time to restore service (every incident): p50 \(Formatting.duration(t.timeToRestore.stat.p50)), p95 \(Formatting.duration(t.timeToRestore.stat.p95)) over \(t.timeToRestore.stat.count) incidents, \(t.timeToRestore.open) still open.\n\n"

        md += "## Rollbacks\n\n| started | completed | failed | auto | manual | duration p50 | duration p95 |\n|---|---|---|---|---|---|---|\n"
        let r = t.rollbacks
        md += "| \(r.started) | \(r.completed) | \(r.failed) | \(r.auto) | \(r.manual) | \(Formatting.duration(r.duration.p50)) | \(Formatting.duration(r.duration.p95)) |\n\n"

        if let readiness = report.readiness { md += readinessSection(readiness) }
        if let c { md += comparisonSection(c) }

        md += "## Teams, worst recovery first\n\n| team | services | deploys/day | lead time p50 | change failure | recovery p50 | recovery p95 | open | rollback p95 |\n|---|---|---|---|---|---|---|---|---|\n"
        for team in report.teams.sorted(by: { worseRecovery($0.metrics, $0.team, $1.metrics, $1.team) }) {
            md += "| \(Formatting.cell(team.team)) | \(team.services) | " + row(team.metrics) + "\n"
        }
        md += "\n## Services, worst recovery first\n\n| service | team | deploys/day | lead time p50 | change failure | recovery p50 | recovery p95 | open | rollback p95 |\n|---|---|---|---|---|---|---|---|---|\n"
        for s in report.services.sorted(by: { worseRecovery($0.metrics, $0.service, $1.metrics, $1.service) }) {
            md += "| \(Formatting.cell(s.service)) | \(Formatting.cell(s.team ?? "(none)")) | " + row(s.metrics) + "\n"
        }
        return md
    }

    /// The drills of the period, the services never exercised or stale, and each exercised
    /// service's last rollback, stale ones first.
    private static func readinessSection(_ r: Readiness) -> String {
        var md = "## Rollback readiness\n\n"
        md += "As of \(Formatting.day(r.asOf)). \(ReadinessText.staleRule(r))\n\n"
        md += ReadinessText.drills(r) + "\n\n"
        md += ReadinessText.list("Never exercised", r.neverExercised) + "\n\n"
        md += ReadinessText.list("Stale", r.stale) + "\n\n"
        let rows = ReadinessText.rows(r)
        guard !rows.isEmpty else { return md }
        md += "| service | last rollback | kind | environment | outcome | duration | days since | last success | stale |\n"
            + "|---|---|---|---|---|---|---|---|---|\n"
        for row in rows {
            md += "| \(Formatting.cell(row.service)) | \(Formatting.cell(row.rollback)) | \(row.kind) | \(Formatting.cell(row.environment)) | "
                + "\(row.outcome) | \(row.duration) | \(row.daysSince) | \(row.lastSuccess) | \(row.isStale ? "**stale**" : "no") |\n"
        }
        return md + "\n"
    }

    /// Every compared metric of the totals, then the teams' significant changes.
    private static func comparisonSection(_ c: PeriodComparison) -> String {
        var md = "## Against \(Formatting.day(c.period.from)) to \(Formatting.day(c.period.to))\n\n"
        guard c.hasData else {
            return md + "No data for the comparison period: the log has no event of this environment in it, so nothing is compared.\n\n"
        }
        md += "A change is called a change only when an exact test finds it significant at \(Formatting.number(c.level * 100)) % "
            + "(percentiles: exceedance test; rates: Fisher's exact test; deploys per day: Poisson rate test).\n\n"
        md += "| metric | then | now | change |\n|---|---|---|---|\n"
        for change in c.changes where change.scope == .totals {
            md += "| \(change.metric) | \(ComparisonText.value(change.metric, change.from)) | \(ComparisonText.value(change.metric, change.to)) | \(ComparisonText.verdict(change)) |\n"
        }
        let teams = c.changes.filter { $0.significant && $0.scope != .totals }
        md += "\nSignificant changes of teams: " + (teams.isEmpty ? "none.\n\n" : "\n\n")
        for change in teams {
            guard case .team(let name) = change.scope else { continue }
            md += "- \(Formatting.cell(name)): \(change.metric) \(ComparisonText.value(change.metric, change.from)) -> "
                + "\(ComparisonText.value(change.metric, change.to)), \(ComparisonText.verdict(change))\n"
        }
        return teams.isEmpty ? md : md + "\n"
    }

    private static func row(_ m: Metrics) -> String {
        "\(Formatting.number(m.deployments.perDay)) | \(Formatting.duration(m.leadTime.stat.p50)) | "
            + "\(Formatting.percent(m.changeFailure.rate)) | \(Formatting.duration(m.recovery.stat.p50)) | "
            + "\(Formatting.duration(m.recovery.stat.p95)) | \(m.recovery.open) | \(Formatting.duration(m.rollbacks.duration.p95)) |"
    }

    /// Worst recovery first: larger p50 first, no figure last, then by name.
    static func worseRecovery(_ a: Metrics, _ an: String, _ b: Metrics, _ bn: String) -> Bool {
        worseFirst(a.recovery.stat.p50, an, b.recovery.stat.p50, bn)
    }

    /// Larger figure first, no figure last, then by name (byte order): how the reports for
    /// people rank teams and services.
    static func worseFirst(_ a: Double?, _ an: String, _ b: Double?, _ bn: String) -> Bool {
        switch (a, b) {
        case let (x?, y?) where x != y: return x > y
        case (.some, nil): return true
        case (nil, .some): return false
        default: return an.utf8.lexicographicallyPrecedes(bn.utf8)
        }
    }

}

/// Human formatting shared by the renderers for people.
enum Formatting {
    /// Seconds as a short human duration: `45 s`, `11.5 min`, `2.5 h`, `3.1 d`; `-` for none.
    static func duration(_ seconds: Double?) -> String {
        guard let s = seconds else { return "-" }
        if s < 90 { return number(s) + " s" }
        if s < 5400 { return number(s / 60) + " min" }
        if s < 172_800 { return number(s / 3600) + " h" }
        return number(s / 86_400) + " d"
    }

    /// A period bound: `2026-07-01` at midnight UTC, else the full RFC 3339 time.
    static func day(_ t: Timestamp) -> String {
        let s = t.rfc3339
        return s.hasSuffix("T00:00:00Z") ? String(s.prefix(10)) : s
    }

    static func percent(_ rate: Double?) -> String {
        guard let rate else { return "-" }
        return number(rate * 100) + " %"
    }

    /// At most one decimal, without a trailing `.0`.
    static func number(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        if tenths.truncatingRemainder(dividingBy: 10) == 0 { return String(Int64(tenths / 10)) }
        return String(Int64(tenths) / 10) + "." + String(abs(Int64(tenths)) % 10)
    }

    /// A table cell: pipes escaped.
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|")
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
