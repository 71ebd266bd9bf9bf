import DoraEvents
import DoraMetrics

/// Runs the metric engine over JSON lines, for tests.
public enum MetricsTesting {
    public static func engine(_ lines: [String], configuration: MetricsConfiguration = MetricsConfiguration()) -> MetricsEngine {
        var engine = MetricsEngine(configuration: configuration)
        for line in lines { engine.add(event(line)) }
        return engine
    }

    /// The report over `lines`, for the given period (default: the default period).
    public static func report(
        _ lines: [String], from: String? = nil, to: String? = nil, configuration: MetricsConfiguration = MetricsConfiguration()
    ) -> Report {
        let engine = engine(lines, configuration: configuration)
        let period =
            from.map { Period(from: Timestamp.parse(rfc3339: $0)!, to: Timestamp.parse(rfc3339: to!)!) } ?? engine.defaultPeriod!
        return engine.report(period: period, log: (lines.count, 0, 0))
    }

    /// `2026-07-01T` + the given time of day + `Z`.
    public static func at(_ clock: String, day: Int = 1) -> String {
        "2026-07-" + (day < 10 ? "0\(day)" : "\(day)") + "T" + clock + "Z"
    }
}
