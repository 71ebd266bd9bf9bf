public import DoraMetrics
import DoraEvents

/// Renders a report as the JSON of docs/report.md (`doralog.report/v1`).
///
/// Deterministic byte for byte: keys in the contract's order, integers plain, other numbers
/// in Swift's shortest round-trip form, two-space indentation, a newline at the end.
public enum JSONReportRenderer {
    public static func render(_ report: Report) -> String {
        value(report).serialized() + "\n"
    }

    /// The report as an ordered JSON value (the CSV and HTML renderers can reuse it).
    static func value(_ report: Report) -> JSONOut {
        var members: [(String, JSONOut)] = [
            ("schema", .string(Report.schema)),
            ("period", period(report.period)),
            ("environment", .string(report.environment)),
            ("events", .object([
                ("stored", .int(report.events.stored)),
                ("duplicates", .int(report.events.duplicates)),
                ("rejected", .int(report.events.rejected)),
                ("ignored", .int(report.events.ignored)),
                ("anomalies", .int(report.events.anomalies)),
                ("conflicting_duplicates", .int(report.events.conflictingDuplicates)),
            ])),
            ("totals", .object(metrics(report.totals))),
            ("services", .array(report.services.map { s in
                .object([("service", .string(s.service)), ("team", .string(s.team))] + metrics(s.metrics))
            })),
            ("teams", teams(report.teams)),
        ]
        // Additive to v1: present only when asked for, so v1 readers see what they knew.
        if let series = report.series {
            members.append(("series", .object([
                ("interval", .string(series.interval.rawValue)),
                ("buckets", .array(series.buckets.map { b in
                    .object([("period", period(b.period)), ("totals", .object(metrics(b.totals))), ("teams", teams(b.teams))])
                })),
            ])))
        }
        if let c = report.comparison {
            members.append(("comparison", .object([
                ("period", period(c.period)),
                ("no_data", .bool(!c.hasData)),
                ("level", .number(c.level)),
                ("totals", .object(metrics(c.totals))),
                ("teams", teams(c.teams)),
                ("changes", .array(c.changes.map { change in
                    .object([
                        ("scope", scope(change.scope)),
                        ("metric", .string(change.metric)),
                        ("from", .number(change.from)),
                        ("to", .number(change.to)),
                        ("delta", .number(change.delta)),
                        ("p_value", .number(change.pValue)),
                        ("significant", .bool(change.significant)),
                    ])
                })),
            ])))
        }
        if let r = report.readiness { members.append(("readiness", readiness(r))) }
        return .object(members)
    }

    /// The `readiness` block: its summary, then one object per service, then the two lists.
    static func readiness(_ r: Readiness) -> JSONOut {
        .object(readinessSummary(r) + [
            ("services", .array(r.services.map { .object([("service", .string($0.service))] + readiness(of: $0, asOf: r.asOf)) })),
            ("never_exercised", .array(r.neverExercised.map { .string($0) })),
            ("stale", .array(r.stale.map { .string($0) })),
        ])
    }

    static func readinessSummary(_ r: Readiness) -> [(String, JSONOut)] {
        [
            ("objective_seconds", .number(Double(r.objective) / 1_000_000)),
            ("as_of", .string(r.asOf.rfc3339)),
            ("drills", .object([
                ("count", .int(r.drills.count)),
                ("completed", .int(r.drills.completed)),
                ("failed", .int(r.drills.failed)),
                ("in_progress", .int(r.drills.inProgress)),
                ("success_rate", .number(r.drills.successRate)),
                ("duration", .object(stat(r.drills.duration))),
            ])),
        ]
    }

    /// One service's readiness, without its name.
    static func readiness(of s: Readiness.Service, asOf: Timestamp) -> [(String, JSONOut)] {
        func time(_ t: Int64?) -> JSONOut { .string(t.map { Timestamp(microseconds: $0).rfc3339 }) }
        func days(since t: Int64?) -> JSONOut { .number(t.map { Readiness.days(asOf.microseconds - $0) }) }
        let last: JSONOut = s.lastExercise.map { e in
            .object([
                ("rollback_id", .string(e.rollbackID)),
                ("environment", .string(e.environment)),
                ("drill", .bool(e.isDrill)),
                ("trigger", .string(e.trigger == .auto ? "auto" : "manual")),
                ("outcome", .string(e.outcome.rawValue)),
                ("started", time(e.started)),
                ("at", time(e.at)),
                ("duration", .number(e.duration.map { Double($0) / 1_000_000 })),
                ("days_since", days(since: e.at)),
            ])
        } ?? .string(nil)
        return [
            ("last_exercise", last),
            ("last_success", time(s.lastSuccess)),
            ("days_since_success", days(since: s.lastSuccess)),
            ("stale", .bool(s.isStale)),
        ]
    }

    static func period(_ p: Period) -> JSONOut {
        .object([("from", .string(p.from.rfc3339)), ("to", .string(p.to.rfc3339)), ("days", .number(p.days))])
    }

    static func teams(_ teams: [TeamReport]) -> JSONOut {
        .array(teams.map { t in .object([("team", .string(t.team)), ("services", .int(t.services))] + metrics(t.metrics)) })
    }

    static func scope(_ scope: PeriodComparison.Scope) -> JSONOut {
        switch scope {
        case .totals: return .object([])
        case .team(let name): return .object([("team", .string(name))])
        }
    }

    static func metrics(_ m: Metrics) -> [(String, JSONOut)] {
        [
            ("deployments", .object([
                ("count", .int(m.deployments.count)),
                ("failed", .int(m.deployments.failed)),
                ("per_day", .number(m.deployments.perDay)),
                ("per_week", .number(m.deployments.perWeek)),
                ("band", .string(m.deployments.band?.rawValue)),
            ])),
            ("lead_time", .object(stat(m.leadTime.stat) + [("band", .string(m.leadTime.band?.rawValue))])),
            ("change_failure", .object([
                ("failed_changes", .int(m.changeFailure.failedChanges)),
                ("deployments", .int(m.changeFailure.deployments)),
                ("rate", .number(m.changeFailure.rate)),
                ("band", .string(m.changeFailure.band?.rawValue)),
            ])),
            ("rework", .object([("deployments", .int(m.rework.deployments)), ("rate", .number(m.rework.rate))])),
            ("recovery", .object([
                ("count", .int(m.recovery.stat.count)),
                ("open", .int(m.recovery.open)),
                ("p50", .number(m.recovery.stat.p50)),
                ("p95", .number(m.recovery.stat.p95)),
                ("mean", .number(m.recovery.stat.mean)),
                ("band", .string(m.recovery.band?.rawValue)),
                ("modes", .object([
                    ("rollback", .int(m.recovery.modes.rollback)),
                    ("roll_forward", .int(m.recovery.modes.rollForward)),
                    ("other", .int(m.recovery.modes.other)),
                ])),
                ("phases", .object([
                    ("detect", .object(stat(m.recovery.detect))),
                    ("decide", .object(stat(m.recovery.decide))),
                    ("act", .object(stat(m.recovery.act))),
                    ("verify", .object(stat(m.recovery.verify))),
                ])),
            ])),
            ("time_to_restore", .object([
                ("count", .int(m.timeToRestore.stat.count)),
                ("open", .int(m.timeToRestore.open)),
                ("p50", .number(m.timeToRestore.stat.p50)),
                ("p95", .number(m.timeToRestore.stat.p95)),
                ("mean", .number(m.timeToRestore.stat.mean)),
            ])),
            ("rollbacks", .object([
                ("started", .int(m.rollbacks.started)),
                ("completed", .int(m.rollbacks.completed)),
                ("failed", .int(m.rollbacks.failed)),
                ("auto", .int(m.rollbacks.auto)),
                ("manual", .int(m.rollbacks.manual)),
                ("duration", .object(stat(m.rollbacks.duration))),
            ])),
        ]
    }

    static func stat(_ s: Stat) -> [(String, JSONOut)] {
        [("count", .int(s.count)), ("p50", .number(s.p50)), ("p95", .number(s.p95)), ("mean", .number(s.mean))]
    }
}

/// An ordered JSON value for output (object members keep their order).
indirect enum JSONOut: Sendable {
    case object([(String, JSONOut)])
    case array([JSONOut])
    /// nil prints as `null`.
    case string(String?)
    case int(Int)
    /// nil prints as `null`.
    case number(Double?)
    case bool(Bool)

    /// From this many items on, an array is written on every core.
    static let parallelItems = 256

    func serialized() -> String {
        var out = ""
        write(to: &out, depth: 0)
        return out
    }

    /// The text of the items in `slice` of an array at `depth`, each on its own line.
    private static func text(of items: [JSONOut], slice: Range<Int>, depth: Int) -> String {
        var out = ""
        let indent = String(repeating: "  ", count: depth + 1)
        for i in slice {
            out += indent
            items[i].write(to: &out, depth: depth + 1)
            out += i == items.count - 1 ? "\n" : ",\n"
        }
        return out
    }

    private func write(to out: inout String, depth: Int) {
        let indent = String(repeating: "  ", count: depth + 1)
        let closing = String(repeating: "  ", count: depth)
        switch self {
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{\n"
            for (i, (key, value)) in members.enumerated() {
                out += indent + JSONText.quoted(key) + ": "
                value.write(to: &out, depth: depth + 1)
                out += i == members.count - 1 ? "\n" : ",\n"
            }
            out += closing + "}"
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            // A long array (a report's services) is written in slices on every core, each
            // slice's text what one loop over it writes, then joined in order.
            let step = items.count >= Self.parallelItems ? Self.parallelItems / 2 : items.count
            let slices = stride(from: 0, to: items.count, by: step).map { $0..<min($0 + step, items.count) }
            for text in ParallelMap.map(slices, { Self.text(of: items, slice: $0, depth: depth) }) { out += text }
            out += closing + "]"
        case .string(let s):
            out += s.map(JSONText.quoted) ?? "null"
        case .int(let i):
            out += String(i)
        case .number(let d):
            out += d.map(JSONText.number) ?? "null"
        case .bool(let b):
            out += b ? "true" : "false"
        }
    }
}
