public import DoraMetrics
public import DoraEvents
import DoraCharts
import Foundation
import Mustache

/// Renders a report as one self-contained HTML page for people (docs/reports.md, "The HTML
/// page"): headline tiles, weekly trends, recovery phase by phase, rollbacks, distributions,
/// teams and services, in light or dark, on screen or on paper.
///
/// The page makes no request of any kind (inline CSS and SVG, a content security policy that
/// allows nothing else) and reads fully without JavaScript; a small script only sorts tables.
/// The layout is the template `Templates/report.mustache`, a resource of this module; this
/// type computes what goes into it. Every name from the events is escaped (the template
/// escapes text, the charts escape theirs).
public enum HTMLReportRenderer {
    /// How many of the longest recoveries the page lists (`Report.longestRecoveries`).
    public static let longestRecoveries = 20

    /// One SLO over one scope at the end of the period, as the SLO backtest's evaluator has it
    /// (the command computes it; this module knows no SLO).
    public struct SLOStatus: Sendable {
        public var slo: String
        public var scope: String
        /// The metric and percentile, such as "rollback_time p95".
        public var measure: String
        /// Seconds; nil with no sample in the window.
        public var value: Double?
        public var objective: Double
        public var samples: Int
        /// "breach firing", "regression firing", "ok", or "no verdict (fewer than N samples)".
        public var state: String
        public var isFiring: Bool

        public init(slo: String, scope: String, measure: String, value: Double?, objective: Double, samples: Int, state: String, isFiring: Bool) {
            self.slo = slo
            self.scope = scope
            self.measure = measure
            self.value = value
            self.objective = objective
            self.samples = samples
            self.state = state
            self.isFiring = isFiring
        }
    }

    /// What the page says about itself and its context, beside the report.
    public struct Page: Sendable {
        public var generatedAt: Timestamp
        /// The command line that made the page, shown in the footer.
        public var command: String
        public var version: String
        /// A rollback-time SLO's objective (seconds) and name, drawn on the rollback charts.
        public var rollbackObjective: (name: String, seconds: Double)?
        /// The SLOs at the period's end, when a pipeline file was given (nil: none given).
        public var sloStatus: [SLOStatus]?
        /// Rollback alerts firing at the period's end ("slo kind scope rollback=id").
        public var firingRollbackAlerts: [String] = []

        public init(generatedAt: Timestamp, command: String, version: String, rollbackObjective: (name: String, seconds: Double)? = nil) {
            self.generatedAt = generatedAt
            self.command = command
            self.version = version
            self.rollbackObjective = rollbackObjective
        }
    }

    /// The page for `report`. For every section, the report needs its weekly `series`; for
    /// the distributions and the auto/manual rollbacks, its `samples`; for the tiles' changes,
    /// its `comparison` (each is optional: the page says what it lacks).
    /// - Throws: `ReportRenderingError` when the template cannot be found or read.
    public static func render(_ report: Report, page: Page) throws(ReportRenderingError) -> String {
        try ReportTemplate.html().render(context(report, page: page))
    }

    // MARK: - The template's values

    static func context(_ report: Report, page: Page) -> [String: Any] {
        let weeks = report.series?.buckets ?? []
        let weekNames = weeks.map { weekName($0.period.from) }
        var context: [String: Any] = [
            "environment": report.environment,
            "periodText": Formatting.day(report.period.from) + " to " + Formatting.day(report.period.to),
            "periodDays": Formatting.number(report.period.days),
            "generatedAt": page.generatedAt.rfc3339,
            "version": page.version,
            "command": page.command,
            "openEpisodes": String(report.totals.recovery.open),
            "events": [
                "stored": String(report.events.stored), "duplicates": String(report.events.duplicates),
                "conflicting": String(report.events.conflictingDuplicates), "rejected": String(report.events.rejected),
                "ignored": String(report.events.ignored), "anomalies": String(report.events.anomalies),
            ],
        ]
        let notes = qualityNotes(report)
        context["qualityNotes"] = notes
        context["qualityClass"] = notes.isEmpty ? "ok" : "warn"
        context["qualityText"] = notes.isEmpty ? "data quality: no warnings" : "data quality: \(notes.count) warning(s)"
        context["qualityDetail"] = notes.joined(separator: " ")
        context["comparisonNote"] = comparisonNote(report.comparison)
        context["tiles"] = tiles(report, weeks: weeks)
        context["sections"] = [
            trends(report, weeks: weeks, names: weekNames, page: page),
            phases(report),
            rollbacks(report, weeks: weeks, names: weekNames),
            distributions(report, page: page),
        ]
        if let r = report.readiness { context["readiness"] = readiness(r) }
        let recoveryP95ByTeam = Dictionary(uniqueKeysWithValues: report.teams.map { team in
            (team.team, weeks.map { bucket in bucket.teams.first { $0.team == team.team }?.metrics.recovery.stat.p95 })
        })
        context["teams"] = report.teams.sorted { worseRecoveryP95($0.metrics, $0.team, $1.metrics, $1.team) }.map { team -> [String: Any] in
            [
                "name": team.team, "services": String(team.services), "m": row(team.metrics),
                "sparkline": SVGChart.sparkline(
                    recoveryP95ByTeam[team.team] ?? [], label: "\(team.team): recovery p95 per week", format: Formatting.duration),
            ]
        }
        context["longest"] = (report.longestRecoveries ?? []).map { e -> [String: Any] in
            func d(_ v: Int64?) -> String { Formatting.duration(v.map { Double($0) / 1_000_000 }) }
            return [
                "deploy": e.deployID, "time": e.deployTime.rfc3339, "service": e.service, "team": e.team ?? "(none)",
                "recovery": d(e.recovery), "detect": d(e.detect), "decide": d(e.decide), "act": d(e.act), "verify": d(e.verify),
                "rollbacks": e.rollbackIDs.isEmpty ? "-" : e.rollbackIDs.joined(separator: ", "),
                "alerts": e.alertIDs.isEmpty ? "-" : e.alertIDs.joined(separator: ", "),
            ]
        }
        context["hasLongest"] = report.longestRecoveries != nil
        if let status = page.sloStatus {
            context["slo"] = [
                "rows": status.map { s -> [String: Any] in
                    [
                        "slo": s.slo, "scope": s.scope, "measure": s.measure, "value": Formatting.duration(s.value),
                        "objective": Formatting.duration(s.objective), "samples": String(s.samples), "state": s.state,
                        "class": s.isFiring ? "worse" : "same",
                    ]
                },
                "firing": status.filter(\.isFiring).count, "rollbackAlerts": page.firingRollbackAlerts,
                "none": status.isEmpty ? "No SLO has a sample in this log." : "",
            ] as [String: Any]
        }
        context["services"] = report.services.sorted { worseRecoveryP95($0.metrics, $0.service, $1.metrics, $1.service) }.map {
            ["name": $0.service, "team": $0.team ?? "(none)", "m": row($0.metrics)] as [String: Any]
        }
        return context
    }

    /// The data-quality lines: what the numbers leave out or could not use.
    static func qualityNotes(_ report: Report) -> [String] {
        var notes: [String] = []
        let e = report.events
        if e.rejected > 0 { notes.append("\(e.rejected) message(s) were rejected as invalid (in the log's dead letters).") }
        if e.conflictingDuplicates > 0 {
            notes.append("\(e.conflictingDuplicates) duplicate(s) differed from the stored event (kept: the first stored).")
        }
        if e.anomalies > 0 { notes.append("\(e.anomalies) negative duration(s) left out of this period (a clock fault).") }
        if let recurring = DataQuality.recurringAlerts(report) { notes.append(recurring + ".") }
        if let skew = DataQuality.clockSkew(report) { notes.append(skew + ".") }
        if report.futureEvents > 0 { notes.append("\(report.futureEvents) event(s) dated more than a day ahead are left out.") }
        return notes
    }

    static func comparisonNote(_ c: PeriodComparison?) -> String {
        guard let c else { return "No comparison period: give --compare to see each change." }
        guard c.hasData else { return "No data for the comparison period \(Formatting.day(c.period.from)) to \(Formatting.day(c.period.to)): nothing is compared." }
        return "Changes are against \(Formatting.day(c.period.from)) to \(Formatting.day(c.period.to)), and called a change only when an exact test "
            + "finds it significant at \(Formatting.number(c.level * 100)) %. Sparklines: the last 13 weeks."
    }

    /// The five headline tiles.
    static func tiles(_ report: Report, weeks: [ReportSeries.Bucket]) -> [[String: Any]] {
        let t = report.totals
        let last = Array(weeks.suffix(13))
        func tile(
            _ name: String, _ value: String, _ band: Band?, _ metric: String, lowerIsBetter: Bool, detail: String,
            _ weekly: (Metrics) -> Double?, _ format: @escaping (Double) -> String
        ) -> [String: Any] {
            let change = report.comparison?.changes.first { $0.scope == .totals && $0.metric == metric }
            var changeClass = "same"
            if let change, change.significant, let delta = change.delta, delta != 0 {
                changeClass = (delta < 0) == lowerIsBetter ? "better" : "worse"
            }
            return [
                "name": name, "value": value, "band": band?.rawValue ?? "none", "bandText": band.map { "band: \($0.rawValue)" } ?? "no band",
                "changeClass": changeClass,
                "changeText": change.map { "vs comparison: " + ComparisonText.verdict($0) }
                    ?? (report.comparison.map { $0.hasData ? "" : "no data to compare" } ?? ""),
                "sparkline": SVGChart.sparkline(last.map { weekly($0.totals) }, label: "\(name) per week", format: format),
                "detail": detail,
            ]
        }
        return [
            tile("Deployment frequency", Formatting.number(t.deployments.perDay) + " per day", t.deployments.band, "deployments.per_day",
                 lowerIsBetter: false, detail: "\(t.deployments.count) deploys", { $0.deployments.perDay }, { Formatting.number($0) + "/day" }),
            tile("Lead time for changes (p50)", Formatting.duration(t.leadTime.stat.p50), t.leadTime.band, "lead_time.p50",
                 lowerIsBetter: true, detail: "p95 \(Formatting.duration(t.leadTime.stat.p95)), \(t.leadTime.stat.count) commits",
                 { $0.leadTime.stat.p50 }, Formatting.duration),
            tile("Change failure rate", Formatting.percent(t.changeFailure.rate), t.changeFailure.band, "change_failure.rate",
                 lowerIsBetter: true, detail: "\(t.changeFailure.failedChanges) of \(t.changeFailure.deployments) deploys",
                 { $0.changeFailure.rate }, Formatting.percent),
            tile("Failed deployment recovery time (p50)", Formatting.duration(t.recovery.stat.p50), t.recovery.band, "recovery.p50",
                 lowerIsBetter: true, detail: "p95 \(Formatting.duration(t.recovery.stat.p95)), \(t.recovery.stat.count) recovered, \(t.recovery.open) open",
                 { $0.recovery.stat.p50 }, Formatting.duration),
            tile("Deployment rework rate", Formatting.percent(t.rework.rate), nil, "rework.rate",
                 lowerIsBetter: true, detail: "\(t.rework.deployments) of \(t.deployments.count) deploys", { $0.rework.rate }, Formatting.percent),
        ]
    }

    // MARK: - Sections of charts

    /// A chart and the numbers behind it.
    static func chart(_ svg: String, title: String, header: [String], rows: [[String]]) -> [String: Any] {
        ["svg": svg, "title": title, "header": header, "rows": rows]
    }

    /// A chart over the weeks, its table one row per week.
    static func weekly(
        _ frame: ChartFrame, names: [String], series: [ChartSeries], reference: ChartReference? = nil, bars: Bool = false,
        format: @escaping (Double) -> String
    ) -> [String: Any] {
        let svg = bars
            ? SVGChart.bars(frame, categories: names, series: series, format: format)
            : SVGChart.lines(frame, categories: names, series: series, reference: reference, format: format)
        let rows = names.indices.map { i in [names[i]] + series.map { $0.values[i].map(format) ?? "-" } }
        return chart(svg, title: frame.title, header: ["week"] + series.map(\.name), rows: rows)
    }

    static func trends(_ report: Report, weeks: [ReportSeries.Bucket], names: [String], page: Page) -> [String: Any] {
        let objective = page.rollbackObjective.map { ChartReference(label: "objective \($0.name)", value: $0.seconds) }
        let m = weeks.map(\.totals)
        let charts = weeks.isEmpty ? [] : [
            weekly(ChartFrame(title: "Deploys per week", xLabel: "ISO week (UTC)", yLabel: "deploys"), names: names,
                   series: [ChartSeries(name: "deploys", values: m.map { Double($0.deployments.count) })], bars: true,
                   format: { Formatting.number($0) }),
            weekly(ChartFrame(title: "Change failure rate per week", xLabel: "ISO week (UTC)", yLabel: "failed changes (%)"), names: names,
                   series: [ChartSeries(name: "change failure rate", values: m.map(\.changeFailure.rate))], format: Formatting.percent),
            weekly(ChartFrame(title: "Failed deployment recovery time per week", xLabel: "ISO week (UTC)", yLabel: "recovery time", values: .seconds),
                   names: names, series: [
                       ChartSeries(name: "p50", values: m.map(\.recovery.stat.p50)), ChartSeries(name: "p95", values: m.map(\.recovery.stat.p95)),
                   ], format: Formatting.duration),
            weekly(ChartFrame(title: "Rollback time per week", xLabel: "ISO week (UTC)", yLabel: "rollback duration", values: .seconds), names: names,
                   series: [
                       ChartSeries(name: "p50", values: m.map(\.rollbacks.duration.p50)),
                       ChartSeries(name: "p95", values: m.map(\.rollbacks.duration.p95)),
                   ], reference: objective, format: Formatting.duration),
        ]
        return [
            "id": "trends", "title": "Weekly trends", "charts": charts,
            "intro": "Per ISO week (Monday to Monday, UTC), cut at the period's bounds; a week without a value leaves a gap.",
            "empty": weeks.isEmpty ? "No weekly series in this report." : "",
        ]
    }

    static func phases(_ report: Report) -> [String: Any] {
        let teams = report.teams.filter { $0.metrics.recovery.stat.count > 0 }
        let names = teams.map(\.team)
        var charts: [[String: Any]] = []
        for (label, pick) in [("p50", { (s: Stat) in s.p50 }), ("p95", { (s: Stat) in s.p95 })] {
            let stacks = [
                ChartSeries(name: "detect", values: teams.map { pick($0.metrics.recovery.detect) }),
                ChartSeries(name: "decide", values: teams.map { pick($0.metrics.recovery.decide) }),
                ChartSeries(name: "act", values: teams.map { pick($0.metrics.recovery.act) }),
                ChartSeries(name: "verify", values: teams.map { pick($0.metrics.recovery.verify) }),
            ]
            let frame = ChartFrame(title: "Recovery phases per team (\(label) of each phase)", xLabel: "team", yLabel: "duration", values: .seconds)
            let rows = teams.indices.map { i in [names[i]] + stacks.map { $0.values[i].map(Formatting.duration) ?? "-" } }
            charts.append(chart(
                SVGChart.stackedBars(frame, categories: names, stacks: stacks, format: Formatting.duration), title: frame.title,
                header: ["team", "detect", "decide", "act", "verify"], rows: rows))
        }
        return [
            "id": "phases", "title": "Recovery, phase by phase",
            "intro": "Where the recovery clock goes: detect (deploy to first alarm), decide (to the rollback's start), act (the rollback), "
                + "verify (to healthy). Each segment is that phase's own percentile, so a bar is not the recovery time's percentile.",
            "charts": teams.isEmpty ? [] : charts,
            "empty": teams.isEmpty ? "No recovered failed change in the period." : "",
        ]
    }

    /// The readiness section: the period's drills, the services never exercised or stale, and
    /// each exercised service's last rollback, stale ones first.
    static func readiness(_ r: Readiness) -> [String: Any] {
        let rows = ReadinessText.rows(r)
        return [
            "intro": "As of \(Formatting.day(r.asOf)). A rollback path that is never exercised cannot be trusted. \(ReadinessText.staleRule(r))",
            "drills": ReadinessText.drills(r),
            "never": ReadinessText.list("Never exercised", r.neverExercised),
            "neverClass": r.neverExercised.isEmpty ? "change same" : "change worse",
            "stale": ReadinessText.list("Stale", r.stale),
            "staleClass": r.stale.isEmpty ? "change same" : "change worse",
            "hasRows": !rows.isEmpty,
            "rows": rows.map { row -> [String: Any] in
                [
                    "service": row.service, "rollback": row.rollback, "kind": row.kind, "environment": row.environment,
                    "outcome": row.outcome, "duration": row.duration, "days": row.daysSince, "lastSuccess": row.lastSuccess,
                    "stale": row.isStale ? "stale" : "no", "staleClass": row.isStale ? "worse" : "same",
                ]
            },
        ]
    }

    static func rollbacks(_ report: Report, weeks: [ReportSeries.Bucket], names: [String]) -> [String: Any] {
        var charts: [[String: Any]] = []
        if let samples = report.samples {
            let auto = samples.totals.autoRollbackDurations.sorted.map { Double($0) / 1_000_000 }
            let manual = samples.totals.manualRollbackDurations.sorted.map { Double($0) / 1_000_000 }
            let stats = [auto, manual].map { v in (p50: nearestRank(v, 50), p95: nearestRank(v, 95), n: v.count) }
            let frame = ChartFrame(title: "Rollback time, auto against manual", xLabel: "percentile", yLabel: "rollback duration", values: .seconds)
            let series = [
                ChartSeries(name: "auto (\(stats[0].n))", values: [stats[0].p50, stats[0].p95]),
                ChartSeries(name: "manual (\(stats[1].n))", values: [stats[1].p50, stats[1].p95]),
            ]
            charts.append(chart(
                SVGChart.bars(frame, categories: ["p50", "p95"], series: series, format: Formatting.duration), title: frame.title,
                header: ["trigger", "rollbacks", "p50", "p95"],
                rows: [
                    ["auto", String(stats[0].n), Formatting.duration(stats[0].p50), Formatting.duration(stats[0].p95)],
                    ["manual", String(stats[1].n), Formatting.duration(stats[1].p50), Formatting.duration(stats[1].p95)],
                ]))
        }
        if !weeks.isEmpty {
            let share = weeks.map { b -> Double? in
                let r = b.totals.rollbacks
                return r.auto + r.manual > 0 ? Double(r.auto) / Double(r.auto + r.manual) : nil
            }
            charts.append(weekly(
                ChartFrame(title: "Share of rollbacks started automatically", xLabel: "ISO week (UTC)", yLabel: "auto (%)"), names: names,
                series: [ChartSeries(name: "auto share", values: share)], format: Formatting.percent))
        }
        return [
            "id": "rollbacks", "title": "Rollbacks: automation",
            "intro": "Rollbacks fired by analysis (auto) against those started by a person (manual), over completed rollbacks.",
            "charts": charts, "empty": charts.isEmpty ? "No rollback data in this report." : "",
        ]
    }

    static func distributions(_ report: Report, page: Page) -> [String: Any] {
        var charts: [[String: Any]] = []
        if let samples = report.samples {
            let objective = page.rollbackObjective.map { ChartReference(label: "objective \($0.name)", value: $0.seconds) }
            // One chart's values in memory at a time: the totals of a large log are millions.
            for (title, pool, reference) in [
                ("Recovery time, cumulative", samples.totals.recovery, nil as ChartReference?),
                ("Rollback time, cumulative", samples.totals.rollbackDurations, objective),
            ] where !pool.isEmpty {
                let seconds = pool.sorted.map { Double($0) / 1_000_000 }
                let p50 = nearestRank(seconds, 50)!
                let p95 = nearestRank(seconds, 95)!
                let frame = ChartFrame(title: title, xLabel: "duration", yLabel: "share at or below", values: .seconds)
                let svg = SVGChart.ecdf(
                    frame, values: seconds, markers: [ChartReference(label: "p50", value: p50), ChartReference(label: "p95", value: p95)],
                    reference: reference, format: Formatting.duration)
                let rows = [10, 25, 50, 75, 90, 95, 99].map { ["p\($0)", Formatting.duration(nearestRank(seconds, $0))] }
                charts.append(chart(svg, title: title, header: ["percentile", "duration"], rows: rows + [["n", String(seconds.count)]]))
            }
        }
        return [
            "id": "distributions", "title": "Distributions",
            "intro": "The share of episodes and rollbacks at or below each duration: the whole shape, not only p50 and p95.",
            "charts": charts, "empty": charts.isEmpty ? "No recovered episode or completed rollback in the period." : "",
        ]
    }

    // MARK: - Helpers

    /// A table row's values, shown and for sorting.
    static func row(_ m: Metrics) -> [String: Any] {
        [
            "perDay": Formatting.number(m.deployments.perDay), "perDayValue": String(m.deployments.perDay),
            "band": m.recovery.band?.rawValue ?? "-",
            "lead": Formatting.duration(m.leadTime.stat.p50), "leadValue": m.leadTime.stat.p50.map { String($0) } ?? "",
            "cfr": Formatting.percent(m.changeFailure.rate), "cfrValue": m.changeFailure.rate.map { String($0) } ?? "",
            "p50": Formatting.duration(m.recovery.stat.p50), "p50Value": m.recovery.stat.p50.map { String($0) } ?? "",
            "p95": Formatting.duration(m.recovery.stat.p95), "p95Value": m.recovery.stat.p95.map { String($0) } ?? "",
            "open": String(m.recovery.open),
            "rollback": Formatting.duration(m.rollbacks.duration.p95), "rollbackValue": m.rollbacks.duration.p95.map { String($0) } ?? "",
        ]
    }

    /// Worst recovery p95 first, no figure last, then by name.
    static func worseRecoveryP95(_ a: Metrics, _ an: String, _ b: Metrics, _ bn: String) -> Bool {
        MarkdownReportRenderer.worseFirst(a.recovery.stat.p95, an, b.recovery.stat.p95, bn)
    }

    /// The nearest-rank percentile of sorted values (docs/metrics.md §3); nil for none.
    static func nearestRank(_ sorted: [Double], _ p: Int) -> Double? {
        sorted.isEmpty ? nil : sorted[Stat.rank(percentTenths: p * 10, of: sorted.count) - 1]
    }

    /// "2026-07-06" for the week starting that day.
    static func weekName(_ start: Timestamp) -> String {
        String(start.rfc3339.prefix(10))
    }

}
