/// A statistic over durations: count, nearest-rank p50 and p95, and mean, in seconds.
///
/// Invariant: p50, p95 and mean are nil exactly when count is 0.
public struct Stat: Sendable, Equatable {
    public var count: Int
    public var p50: Double?
    public var p95: Double?
    public var mean: Double?

    /// Computes the statistic over durations in microseconds (spec/metrics.md §3).
    public init(_ microseconds: [Int64]) {
        let values = microseconds.sorted()
        count = values.count
        guard !values.isEmpty else { return }
        p50 = Double(Stat.nearestRank(values, percentTenths: 500)) / 1_000_000
        p95 = Double(Stat.nearestRank(values, percentTenths: 950)) / 1_000_000
        // Summed in sorted order (deterministic), in microseconds, then scaled.
        var sum = 0.0
        for v in values { sum += Double(v) }
        mean = sum / Double(values.count) / 1_000_000
    }

    /// The nearest-rank percentile of sorted values: the value at 1-based rank
    /// ceil(p/100 * n), with p in tenths of a percent (exact integer arithmetic).
    public static func nearestRank(_ sorted: [Int64], percentTenths: Int) -> Int64 {
        precondition(!sorted.isEmpty && percentTenths > 0 && percentTenths <= 1000, "nearest rank of \(sorted.count) values at \(percentTenths)")
        let rank = (percentTenths * sorted.count + 999) / 1000
        return sorted[max(rank, 1) - 1]
    }

    /// The exact p50 in microseconds (for bands), nil when empty.
    static func p50Microseconds(_ values: [Int64]) -> Int64? {
        values.isEmpty ? nil : nearestRank(values.sorted(), percentTenths: 500)
    }
}

/// A DORA performance band (spec/bands.md).
public enum Band: String, Sendable, Equatable, CaseIterable {
    case elite, high, medium, low
}

/// The figures of one service, team or the totals for a period (cli-and-report.md METRICS).
public struct Metrics: Sendable, Equatable {
    public struct Deployments: Sendable, Equatable {
        public var count: Int
        public var failed: Int
        public var perDay: Double
        public var perWeek: Double
        public var band: Band
    }

    public struct LeadTime: Sendable, Equatable {
        public var stat: Stat
        public var band: Band?
    }

    public struct ChangeFailure: Sendable, Equatable {
        public var failedChanges: Int
        public var deployments: Int
        public var rate: Double?
        public var band: Band?
    }

    public struct Rework: Sendable, Equatable {
        public var deployments: Int
        public var rate: Double?
    }

    public struct Recovery: Sendable, Equatable {
        public var stat: Stat
        public var open: Int
        public var band: Band?
        public var modes: (rollback: Int, rollForward: Int, other: Int)
        public var detect: Stat
        public var decide: Stat
        public var act: Stat
        public var verify: Stat

        public static func == (a: Recovery, b: Recovery) -> Bool {
            a.stat == b.stat && a.open == b.open && a.band == b.band && a.modes == b.modes && a.detect == b.detect
                && a.decide == b.decide && a.act == b.act && a.verify == b.verify
        }
    }

    public struct TimeToRestore: Sendable, Equatable {
        public var stat: Stat
        public var open: Int
    }

    public struct Rollbacks: Sendable, Equatable {
        public var started: Int
        public var completed: Int
        public var failed: Int
        public var auto: Int
        public var manual: Int
        public var duration: Stat
    }

    public var deployments: Deployments
    public var leadTime: LeadTime
    public var changeFailure: ChangeFailure
    public var rework: Rework
    public var recovery: Recovery
    public var timeToRestore: TimeToRestore
    public var rollbacks: Rollbacks
    public var anomalies: Int

    private static let day: Int64 = 86_400_000_000
    private static let hour: Int64 = 3_600_000_000

    /// Computes the figures and bands of `samples` over `period`.
    public init(_ s: MetricSamples, period: Period) {
        let periodMicros = period.microseconds
        let count = Int64(s.deployments)
        // per_day >= 1  <=>  count * day >= period; exact in integers.
        let frequencyBand: Band =
            count * Self.day >= periodMicros ? .elite
            : count * 7 * Self.day >= periodMicros ? .high
            : count * 30 * Self.day >= periodMicros ? .medium : .low
        deployments = Deployments(
            count: s.deployments, failed: s.failedDeployments, perDay: Double(s.deployments) / period.days,
            perWeek: Double(s.deployments) / (period.days / 7), band: frequencyBand)

        let leadP50 = Stat.p50Microseconds(s.leadTimes)
        leadTime = LeadTime(
            stat: Stat(s.leadTimes),
            band: leadP50.map { $0 < Self.day ? .elite : $0 < 7 * Self.day ? .high : $0 < 30 * Self.day ? .medium : .low })

        let failureBand: Band? =
            s.deployments == 0
            ? nil
            : s.failedChanges * 100 <= 5 * s.deployments ? .elite
            : s.failedChanges * 100 <= 10 * s.deployments ? .high
            : s.failedChanges * 100 <= 15 * s.deployments ? .medium : .low
        changeFailure = ChangeFailure(
            failedChanges: s.failedChanges, deployments: s.deployments,
            rate: s.deployments == 0 ? nil : Double(s.failedChanges) / Double(s.deployments), band: failureBand)

        rework = Rework(deployments: s.rework, rate: s.deployments == 0 ? nil : Double(s.rework) / Double(s.deployments))

        let recoveryP50 = Stat.p50Microseconds(s.recovery)
        recovery = Recovery(
            stat: Stat(s.recovery), open: s.recoveryOpen,
            band: recoveryP50.map { $0 < Self.hour ? .elite : $0 < Self.day ? .high : $0 < 7 * Self.day ? .medium : .low },
            modes: (s.modeRollback, s.modeRollForward, s.modeOther),
            detect: Stat(s.detect), decide: Stat(s.decide), act: Stat(s.act), verify: Stat(s.verify))

        timeToRestore = TimeToRestore(stat: Stat(s.timeToRestore), open: s.timeToRestoreOpen)
        rollbacks = Rollbacks(
            started: s.rollbacksStarted, completed: s.rollbacksCompleted, failed: s.rollbacksFailed, auto: s.rollbacksAuto,
            manual: s.rollbacksManual, duration: Stat(s.rollbackDurations))
        anomalies = s.anomalies
    }
}

/// The whole-log counts a report prints under `events`.
public struct EventCounts: Sendable, Equatable {
    public var stored: Int
    public var duplicates: Int
    public var rejected: Int
    /// Stored events of unknown type (whole log).
    public var ignored: Int
    /// Negative durations excluded from this report (its period and environment).
    public var anomalies: Int
}

/// One service's block of a report.
public struct ServiceReport: Sendable, Equatable {
    public var service: String
    /// The team of the service's latest event naming one; nil when none does.
    public var team: String?
    public var metrics: Metrics
}

/// One team's block of a report: its listed services, pooled.
public struct TeamReport: Sendable, Equatable {
    public var team: String
    public var services: Int
    public var metrics: Metrics
}

/// A computed report (cli-and-report.md): what every renderer prints.
///
/// Invariants: `services` sorted by name, `teams` by team name (UTF-8 byte order); totals
/// pool every service of the environment.
public struct Report: Sendable, Equatable {
    public static let schema = "doralog.report/v1"
    public static let unassignedTeam = "unassigned"

    public var period: Period
    public var environment: String
    public var events: EventCounts
    public var totals: Metrics
    public var services: [ServiceReport]
    public var teams: [TeamReport]
}
