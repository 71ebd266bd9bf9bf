public import DoraMetrics

/// The data-quality sentences that the Markdown report and the HTML page print and the
/// command line warns with, written once so that they say the same.
public enum DataQuality {
    /// How many of each are listed before "and N more".
    static let listed = 10

    /// The period's alert ids that fire again after they resolved; nil when there is none.
    public static func recurringAlerts(_ report: Report) -> String? {
        guard report.recurringAlerts > 0 else { return nil }
        return "\(report.recurringAlerts) alert id(s) fire again after they resolved; each counts as one episode, from its "
            + "first firing to its first resolution"
    }

    /// The period's clock skew (rollbacks completed only before they started, alerts resolved
    /// only before they fired), naming the first few; nil when there is none.
    public static func clockSkew(_ report: Report) -> String? {
        let skew = report.clockSkew
        guard !skew.isEmpty else { return nil }
        let rollbacks = skew.filter { $0.kind == .rollbackCompletedBeforeStart }.count
        let alerts = skew.count - rollbacks
        var parts: [String] = []
        if rollbacks > 0 { parts.append("\(rollbacks) rollback(s) completed only before they started") }
        if alerts > 0 { parts.append("\(alerts) alert(s) resolved only before they fired") }
        let names = skew.prefix(listed).map { s in
            let what = s.kind == .rollbackCompletedBeforeStart ? "rollback" : "alert"
            return "\(s.service) \(what) \(s.id) (\(Formatting.duration(Double(s.earlierBy) / 1_000_000)) early)"
        }
        let more = skew.count > listed ? ", and \(skew.count - listed) more" : ""
        return parts.joined(separator: " and ") + " (a producer's clock is off); they stay open, as the definitions say: "
            + names.joined(separator: ", ") + more
    }
}
