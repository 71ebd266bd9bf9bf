public import DoraMetrics
import DoraEvents

/// Renders a report as tidy CSV (RFC 4180): one value per row, with the period, scope and
/// metric it belongs to, so a spreadsheet or a data frame can pivot it as it likes
/// (docs/reports.md, "CSV").
///
/// Columns: `period_from,period_to,scope_kind,scope,metric,statistic,value`. The metrics and
/// statistics are the JSON report's, flattened from the same value (`metric` is a top-level
/// key such as `recovery`; `statistic` the path below it, such as `p95` or `phases.act.p50`),
/// so the two formats cannot drift apart. A null is an empty value.
public enum CSVReportRenderer {
    public static let header = ["period_from", "period_to", "scope_kind", "scope", "metric", "statistic", "value"]

    public static func render(_ report: Report) -> String {
        var rows: [[String]] = [header]
        let main = report.period
        rows += metricRows(main, "total", "", JSONReportRenderer.metrics(report.totals))
        for (key, value) in eventCounts(report) {
            rows.append(row(main, "total", "", "events", key, value))
        }
        for team in report.teams { rows += metricRows(main, "team", team.team, JSONReportRenderer.metrics(team.metrics)) }
        for service in report.services {
            rows += metricRows(main, "service", service.service, JSONReportRenderer.metrics(service.metrics))
        }
        for bucket in report.series?.buckets ?? [] {
            rows += metricRows(bucket.period, "total", "", JSONReportRenderer.metrics(bucket.totals))
            for team in bucket.teams {
                rows += metricRows(bucket.period, "team", team.team, JSONReportRenderer.metrics(team.metrics))
            }
        }
        if let c = report.comparison {
            rows += metricRows(c.period, "total", "", JSONReportRenderer.metrics(c.totals))
            for team in c.teams { rows += metricRows(c.period, "team", team.team, JSONReportRenderer.metrics(team.metrics)) }
            for change in c.changes {
                let (kind, scope): (String, String)
                switch change.scope {
                case .totals: (kind, scope) = ("total", "")
                case .team(let name): (kind, scope) = ("team", name)
                }
                // "recovery.p95" is metric "recovery", statistic "p95", as in the other rows.
                let dot = change.metric.firstIndex(of: ".")!
                let metric = String(change.metric[..<dot])
                let statistic = String(change.metric[change.metric.index(after: dot)...])
                rows.append(row(main, kind, scope, metric, statistic + ".delta", number(change.delta)))
                rows.append(row(main, kind, scope, metric, statistic + ".p_value", number(change.pValue)))
                rows.append(row(main, kind, scope, metric, statistic + ".significant", change.significant ? "true" : "false"))
            }
        }
        if let r = report.readiness {
            let counts: [(String, JSONOut)] = [("never_exercised", .int(r.neverExercised.count)), ("stale", .int(r.stale.count))]
            rows += metricRows(main, "total", "", [("readiness", .object(JSONReportRenderer.readinessSummary(r) + counts))])
            for s in r.services {
                rows += metricRows(main, "service", s.service, [("readiness", .object(JSONReportRenderer.readiness(of: s, asOf: r.asOf)))])
            }
        }
        return rows.map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }

    private static func eventCounts(_ report: Report) -> [(String, String)] {
        let e = report.events
        return [
            ("stored", String(e.stored)), ("duplicates", String(e.duplicates)), ("rejected", String(e.rejected)),
            ("ignored", String(e.ignored)), ("anomalies", String(e.anomalies)),
            ("conflicting_duplicates", String(e.conflictingDuplicates)),
        ]
    }

    private static func row(_ period: Period, _ kind: String, _ scope: String, _ metric: String, _ statistic: String, _ value: String) -> [String] {
        [period.from.rfc3339, period.to.rfc3339, kind, scope, metric, statistic, value]
    }

    /// One row per leaf of the JSON metrics, in the JSON's order.
    private static func metricRows(_ period: Period, _ kind: String, _ scope: String, _ metrics: [(String, JSONOut)]) -> [[String]] {
        var rows: [[String]] = []
        func walk(_ metric: String, _ path: String, _ value: JSONOut) {
            switch value {
            case .object(let members):
                for (key, inner) in members { walk(metric, path.isEmpty ? key : path + "." + key, inner) }
            case .array: break  // METRICS and a service's readiness hold no arrays
            case .string(let s): rows.append(row(period, kind, scope, metric, path, s ?? ""))
            case .int(let i): rows.append(row(period, kind, scope, metric, path, String(i)))
            case .number(let d): rows.append(row(period, kind, scope, metric, path, number(d)))
            case .bool(let b): rows.append(row(period, kind, scope, metric, path, b ? "true" : "false"))
            }
        }
        for (metric, value) in metrics { walk(metric, "", value) }
        return rows
    }

    private static func number(_ d: Double?) -> String {
        d.map(JSONText.number) ?? ""
    }

    /// RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled.
    static func field(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D })
        else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
