public import DoraMetrics
import DoraEvents

/// Renders an `Explanation` for a person (text) or a script (JSON).
public enum ExplanationRenderer {
    public static func text(_ e: Explanation) -> String {
        let isDuration = [.leadTime, .recovery, .timeToRestore, .rollbacks].contains(e.metric.family)
        func shown(_ v: Double?) -> String {
            guard let v else { return "-" }
            if isDuration { return Formatting.duration(v) + " (\(JSONText.number(v)) s)" }
            return e.metric.statistic == .rate ? Formatting.percent(v) : Formatting.number(v)
        }
        var out = "\(e.metric) of \(scopeText(e.scope)), \(e.period.from.rfc3339) to \(e.period.to.rfc3339): \(shown(e.value))\n"
        switch e.metric.statistic {
        case .percentile:
            out += "the nearest rank \(e.rank.map(String.init) ?? "-") of \(e.items.count) values sorted ascending (marked *)\n"
        case .rate: out += "\(e.items.filter { $0.value == 1 }.count) of \(e.items.count) deploys\n"
        case .mean: out += "the mean of \(e.items.count) values\n"
        case .perDay: out += "\(e.items.count) deploys / \(Formatting.number(e.period.days)) days\n"
        case .perWeek: out += "\(e.items.count) deploys / (\(Formatting.number(e.period.days)) days / 7)\n"
        case .count: break
        }
        if !e.otherEnvironments.isEmpty {
            out += "events of other environments are not counted: \(e.otherEnvironments.joined(separator: ", "))\n"
        }
        out += "\n"
        for item in e.items { out += line(item, shown) }
        if !e.excluded.isEmpty {
            out += "\nleft out:\n"
            for item in e.excluded { out += line(item, shown) }
        }
        return out
    }

    private static func line(_ item: Explanation.Item, _ shown: (Double?) -> String) -> String {
        (item.isRank ? "* " : "  ") + item.time.rfc3339 + "  " + item.service + "  "
            + (item.value.map { _ in shown(item.value) } ?? "") + (item.value == nil ? "" : "  ")
            + item.ids.map { "\($0.kind)=\($0.id)" }.joined(separator: " ") + (item.note.map { "  (\($0))" } ?? "") + "\n"
    }

    public static func json(_ e: Explanation) -> String {
        func item(_ i: Explanation.Item) -> JSONOut {
            var members: [(String, JSONOut)] = [
                ("service", .string(i.service)), ("time", .string(i.time.rfc3339)), ("value", .number(i.value)),
                ("ids", .array(i.ids.map { .object([("kind", .string($0.kind)), ("id", .string($0.id))]) })),
            ]
            if let note = i.note { members.append(("note", .string(note))) }
            if i.isRank { members.append(("rank", .bool(true))) }
            return .object(members)
        }
        let scope: JSONOut
        switch e.scope {
        case .totals: scope = .object([])
        case .team(let t): scope = .object([("team", .string(t))])
        case .service(let s): scope = .object([("service", .string(s))])
        }
        return JSONOut.object([
            ("metric", .string(e.metric.description)), ("scope", scope), ("period", JSONReportRenderer.period(e.period)),
            ("value", .number(e.value)), ("rank", e.rank.map { .int($0) } ?? .number(nil)), ("count", .int(e.items.count)),
            ("items", .array(e.items.map(item))), ("excluded", .array(e.excluded.map(item))),
            ("other_environments", .array(e.otherEnvironments.map { .string($0) })),
        ]).serialized() + "\n"
    }

    private static func scopeText(_ scope: ExplainScope) -> String {
        switch scope {
        case .totals: return "all services"
        case .team(let t): return "team \(t)"
        case .service(let s): return "service \(s)"
        }
    }
}
