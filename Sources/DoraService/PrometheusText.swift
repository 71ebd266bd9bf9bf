/// The Prometheus text exposition format (version 0.0.4), written family by family.
///
/// `/metrics` has two kinds of series. Instruments that record as things happen (append
/// latency, round durations, dropped alerts) live in swift-prometheus' registry. Figures that
/// are a snapshot of the live report (per-service histograms of rollback time, exact
/// percentiles, counts derived from the log) are recomputed at every scrape, and a registry
/// cannot express them: its histograms only accumulate observations, and its series never go
/// away. This writer serves the second kind.
///
/// Invariants: every family has one `# HELP` and one `# TYPE` line before its samples, and its
/// samples are contiguous; label values are escaped as the format requires.
struct PrometheusText {
    enum Kind: String {
        case counter, gauge, histogram
    }

    private(set) var text = ""

    /// Starts a family; its samples must follow before the next family starts.
    mutating func family(_ name: String, _ kind: Kind, help: String) {
        text += "# HELP \(name) \(Self.escapedHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample of the current family (`name` may carry a histogram's `_bucket`, `_sum` or
    /// `_count` suffix).
    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapedLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    /// A histogram's buckets (cumulative, then `+Inf`), sum and count, bounds in seconds.
    mutating func histogram(_ name: String, _ labels: [(String, String)], bounds: [Double], cumulative: [Int], count: Int, sum: Double) {
        for (bound, n) in zip(bounds, cumulative) {
            sample(name + "_bucket", labels + [("le", Self.format(bound))], Double(n))
        }
        sample(name + "_bucket", labels + [("le", "+Inf")], Double(count))
        sample(name + "_sum", labels, sum)
        sample(name + "_count", labels, Double(count))
    }

    /// Whole numbers without a fraction ("300"), others in Swift's shortest round-trip form.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// A label value with backslash, double quote and line feed escaped.
    static func escapedLabel(_ value: String) -> String { escaped(value, quote: true) }

    /// HELP text: the same without the double quote, which HELP lines leave as is.
    static func escapedHelp(_ value: String) -> String { escaped(value, quote: false) }

    private static func escaped(_ value: String, quote: Bool) -> String {
        var out = ""
        for c in value.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"" where quote: out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
