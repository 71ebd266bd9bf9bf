import DoraMetrics

/// How the people-facing renderers word a period comparison: values in their metric's unit,
/// and a verdict that calls a change a change only when its test says so.
enum ComparisonText {
    /// A compared metric's value in its unit: deploys per day, a percentage, or a duration.
    static func value(_ metric: String, _ v: Double?) -> String {
        if metric == "deployments.per_day" { return v.map { Formatting.number($0) + "/day" } ?? "-" }
        if metric.hasSuffix(".rate") { return Formatting.percent(v) }
        return Formatting.duration(v)
    }

    /// "+25 % (p = 0.004)" for a significant change (rates in percentage points), "no
    /// significant change (p = 0.41)" otherwise, or why it was not tested.
    static func verdict(_ change: PeriodComparison.Change) -> String {
        guard let p = change.pValue, let from = change.from, let to = change.to else {
            return "not tested (no data in one period)"
        }
        guard change.significant else { return "no significant change (p = \(pValue(p)))" }
        let size: String
        if change.metric.hasSuffix(".rate") {
            size = signed((to - from) * 100) + " points"
        } else if from != 0 {
            size = signed((to - from) / from * 100) + " %"
        } else {
            size = "from 0 to " + value(change.metric, to)
        }
        return size + " (p = \(pValue(p)))"
    }

    /// A p-value with two significant digits (0.41, 0.052, 0.0013), or "< 0.0001".
    static func pValue(_ p: Double) -> String {
        if p < 0.0001 { return "< 0.0001" }
        var decimals = 2
        var bound = 0.1
        while p < bound && decimals < 4 {
            decimals += 1
            bound /= 10
        }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        var digits = String(Int64((p * scale).rounded()))
        while digits.count <= decimals { digits = "0" + digits }
        digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
        while digits.hasSuffix("0") { digits.removeLast() }
        if digits.hasSuffix(".") { digits.removeLast() }
        return digits
    }

    private static func signed(_ v: Double) -> String {
        (v > 0 ? "+" : v < 0 ? "-" : "") + Formatting.number(abs(v))
    }
}
