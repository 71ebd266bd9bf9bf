import DoraStatistics

/// A report's period against another one (the comparison period): the other period's figures,
/// computed by the same code as a report of that period, and, per scope and metric, the change
/// and whether an exact test calls it real (docs/reports.md, "Period comparison").
///
/// Invariant: a change is `significant` only when its `pValue` is below `level`; a change
/// without a p-value (a side without data) is never significant; with no event in the
/// comparison period (`hasData` false) there are no changes at all, rather than deltas
/// against a period the log does not cover.
public struct PeriodComparison: Sendable, Equatable {
    /// The comparison period (the "from" side of every change).
    public var period: Period
    public var totals: Metrics
    public var teams: [TeamReport]
    /// Whether the comparison period has any event of a known type in the environment.
    public var hasData: Bool
    public var changes: [Change]
    /// The significance level the changes were tested at.
    public var level: Double

    /// Which pool a change is about.
    public enum Scope: Sendable, Hashable {
        case totals
        case team(String)
    }

    /// One metric of one scope in both periods.
    public struct Change: Sendable, Equatable {
        public var scope: Scope
        /// The metric's path in the JSON report, such as `recovery.p95` (`ComparedMetric`).
        public var metric: String
        /// The comparison period's value, and the report period's (nil: no value there).
        public var from: Double?
        public var to: Double?
        /// to - from; nil unless both exist.
        public var delta: Double? { from.flatMap { f in to.map { $0 - f } } }
        /// The exact test's two-sided p-value; nil when a side has no data to test.
        public var pValue: Double?
        public var significant: Bool
    }

    /// Compares `current` with `baseline`, the comparison period's report. Both must have
    /// been computed keeping their samples (`MetricsEngine.reports(keepingSamples:)`).
    /// - Parameter level: the significance level (default 0.05).
    public static func compare(_ current: Report, with baseline: Report, level: Double = 0.05) -> PeriodComparison {
        guard let now = current.samples, let before = baseline.samples else {
            preconditionFailure("PeriodComparison.compare needs reports computed with keepingSamples: true")
        }
        var comparison = PeriodComparison(
            // Every listed service is in a team ("unassigned" at least): no team, no service.
            period: baseline.period, totals: baseline.totals, teams: baseline.teams, hasData: !baseline.teams.isEmpty,
            changes: [], level: level)
        guard comparison.hasData else { return comparison }
        let teamNames = Set(current.teams.map(\.team)).union(baseline.teams.map(\.team))
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var scopes: [(Scope, Metrics?, MetricSamples?, Metrics?, MetricSamples?)] = [
            (.totals, baseline.totals, before.totals, current.totals, now.totals)
        ]
        for name in teamNames {
            scopes.append((
                .team(name), baseline.teams.first { $0.team == name }?.metrics, before.teams[name],
                current.teams.first { $0.team == name }?.metrics, now.teams[name]))
        }
        for (scope, fromMetrics, fromSamples, toMetrics, toSamples) in scopes {
            let sides = fromSamples.flatMap { f in
                toSamples.map { ComparedMetric.Sides(from: f, days: baseline.period.days, to: $0, days: current.period.days) }
            }
            for metric in ComparedMetric.all {
                let from = fromMetrics.flatMap(metric.value)
                let to = toMetrics.flatMap(metric.value)
                // A side without a value has nothing to test (and is not sorted for it).
                let p = from == nil || to == nil ? nil : sides.flatMap(metric.pValue)
                comparison.changes.append(
                    Change(scope: scope, metric: metric.name, from: from, to: to, pValue: p, significant: p.map { $0 < level } ?? false))
            }
        }
        return comparison
    }
}

/// Which period a report is compared with.
public enum ComparisonPeriod: Sendable, Equatable {
    /// The period of equal length that ends where the report's begins.
    case previous
    /// A period given outright, [from, to).
    case range(Period)

    /// The comparison period of a report of `period`.
    public func resolved(for period: Period) -> Period {
        switch self {
        case .previous: return Period(from: period.from.advanced(byMicroseconds: -period.microseconds), to: period.from)
        case .range(let other): return other
        }
    }
}

/// A metric a comparison tests, with the exact test that fits its kind: percentiles by the
/// exceedance test (the one SLO regressions use), rates by Fisher's exact test, deploys per
/// day by the exact Poisson rate test.
public struct ComparedMetric: Sendable {
    /// The metric's path in the JSON report.
    public var name: String
    /// Its value in a report's metrics (seconds for durations).
    public var value: @Sendable (Metrics) -> Double?
    /// The two-sided p-value of its change from one period's samples to another's; nil when
    /// a side has nothing to test.
    var pValue: @Sendable (Sides) -> Double?

    /// Every compared metric, in the order reports list them.
    public static let all: [ComparedMetric] = [
        ComparedMetric(name: "deployments.per_day", value: { $0.deployments.perDay }) { s in
            PoissonRateTest.twoSidedPValue(count1: s.from.deployments, exposure1: s.fromDays, count2: s.to.deployments, exposure2: s.toDays)
        },
        percentile("lead_time", 50, { $0.leadTime.stat.p50 }, \.leadTimes),
        percentile("lead_time", 95, { $0.leadTime.stat.p95 }, \.leadTimes),
        rate("change_failure.rate", { $0.changeFailure.rate }, \.failedChanges),
        rate("rework.rate", { $0.rework.rate }, \.rework),
        percentile("recovery", 50, { $0.recovery.stat.p50 }, \.recovery),
        percentile("recovery", 95, { $0.recovery.stat.p95 }, \.recovery),
        percentile("time_to_restore", 50, { $0.timeToRestore.stat.p50 }, \.timeToRestore),
        percentile("time_to_restore", 95, { $0.timeToRestore.stat.p95 }, \.timeToRestore),
        percentile("rollbacks.duration", 50, { $0.rollbacks.duration.p50 }, \.rollbackDurations),
        percentile("rollbacks.duration", 95, { $0.rollbacks.duration.p95 }, \.rollbackDurations),
    ]

    private static func percentile(
        _ path: String, _ p: Int, _ value: @escaping @Sendable (Metrics) -> Double?,
        _ samples: KeyPath<MetricSamples, DurationSamples> & Sendable
    ) -> ComparedMetric {
        ComparedMetric(name: "\(path).p\(p)", value: value) { s in
            percentileChange(p, from: s.from[keyPath: samples], to: s.to[keyPath: samples])
        }
    }

    private static func rate(
        _ name: String, _ value: @escaping @Sendable (Metrics) -> Double?, _ yes: KeyPath<MetricSamples, Int> & Sendable
    ) -> ComparedMetric {
        ComparedMetric(name: name, value: value) { s in
            let (a, b) = (s.from, s.to)
            guard a.deployments > 0, b.deployments > 0 else { return nil }
            return FisherExactTest.twoSidedPValue(yes1: a[keyPath: yes], n1: a.deployments, yes2: b[keyPath: yes], n2: b.deployments)
        }
    }

    /// One scope's samples in the two periods, with the periods' lengths in days.
    struct Sides {
        let from: MetricSamples
        let fromDays: Double
        let to: MetricSamples
        let toDays: Double

        init(from: MetricSamples, days fromDays: Double, to: MetricSamples, days toDays: Double) {
            self.from = from
            self.fromDays = fromDays
            self.to = to
            self.toDays = toDays
        }
    }

    /// The exceedance test of the p-th percentile of `from` against `to`: b is `from`'s
    /// nearest-rank percentile, and the test counts the `to` values above it (no sorting: a
    /// rank and two counts across the sorted runs).
    static func percentileChange(_ p: Int, from: DurationSamples, to: DurationSamples) -> Double? {
        let (m, n) = (from.count, to.count)
        guard m > 0, n > 0 else { return nil }
        let r = Stat.rank(percentTenths: p * 10, of: m)
        let b = from.value(atRank: r)
        return ExceedanceTest.twoSidedPValue(
            m: m, n: n, r: r, above: to.count(above: b, inclusive: false), atOrAbove: to.count(above: b, inclusive: true))
    }
}
