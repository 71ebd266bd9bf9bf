/// A statistic over durations: count, nearest-rank p50 and p95, and mean, in seconds.
///
/// Invariant: p50, p95 and mean are nil exactly when count is 0.
public struct Stat: Sendable, Equatable {
    public var count: Int
    public var p50: Double?
    public var p95: Double?
    public var mean: Double?

    /// Computes the statistic over durations in microseconds (docs/metrics.md §3).
    public init(_ microseconds: [Int64]) {
        self = DurationSamples(microseconds).stat
    }

    init(count: Int, p50: Double?, p95: Double?, mean: Double?) {
        self.count = count
        self.p50 = p50
        self.p95 = p95
        self.mean = mean
    }

    /// The 1-based nearest rank ceil(p/100 * n), p in tenths of a percent, in integers.
    public static func rank(percentTenths: Int, of n: Int) -> Int {
        precondition(n > 0 && percentTenths > 0 && percentTenths <= 1000, "nearest rank of \(n) values at \(percentTenths)")
        return max((percentTenths * n + 999) / 1000, 1)
    }

    /// The nearest-rank percentile of sorted values.
    public static func nearestRank(_ sorted: [Int64], percentTenths: Int) -> Int64 {
        sorted[rank(percentTenths: percentTenths, of: sorted.count) - 1]
    }
}

/// A DORA performance band (docs/metrics.md, "DORA bands").
public enum Band: String, Sendable, Equatable, CaseIterable {
    case elite, high, medium, low
}

/// The figures of one service, team or the totals for a period (docs/report.md, METRICS).
public struct Metrics: Sendable, Equatable {
    public struct Deployments: Sendable, Equatable {
        public var count: Int
        public var failed: Int
        public var perDay: Double
        public var perWeek: Double
        /// A service's: the band of its `perDay`. A group's (a team, the totals): the band of
        /// its median service's `perDay`; nil for a group without services.
        public var band: Band?
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

    /// The band of `deployments` over a period of `periodMicros`: per_day >= 1 exactly when
    /// deployments * day >= period, and so on, in integers.
    static func frequencyBand(deployments: Int, periodMicros: Int64) -> Band {
        let count = Int64(deployments)
        return count * day >= periodMicros ? .elite
            : count * 7 * day >= periodMicros ? .high
            : count * 30 * day >= periodMicros ? .medium : .low
    }

    /// Computes the figures and bands of `samples` over `period`.
    /// - Parameter serviceDeployments: for a group (a team, the totals), the deployment count
    ///   of each of its listed services: its frequency band is that of the median service
    ///   (nearest-rank p50, v1.1), while `perDay` stays the pooled figure. nil for one service.
    public init(_ s: MetricSamples, period: Period, serviceDeployments: [Int]? = nil) {
        let periodMicros = period.microseconds
        let frequencyBand: Band?
        if let counts = serviceDeployments {
            let sorted = counts.sorted()
            frequencyBand = sorted.isEmpty
                ? nil : Self.frequencyBand(deployments: sorted[Stat.rank(percentTenths: 500, of: sorted.count) - 1], periodMicros: periodMicros)
        } else {
            frequencyBand = Self.frequencyBand(deployments: s.deployments, periodMicros: periodMicros)
        }
        deployments = Deployments(
            count: s.deployments, failed: s.failedDeployments, perDay: Double(s.deployments) / period.days,
            perWeek: Double(s.deployments) / (period.days / 7), band: frequencyBand)

        let (leadStat, leadP50) = s.leadTimes.statAndMedian
        leadTime = LeadTime(
            stat: leadStat,
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

        let (recoveryStat, recoveryP50) = s.recovery.statAndMedian
        recovery = Recovery(
            stat: recoveryStat, open: s.recoveryOpen,
            band: recoveryP50.map { $0 < Self.hour ? .elite : $0 < Self.day ? .high : $0 < 7 * Self.day ? .medium : .low },
            modes: (s.modeRollback, s.modeRollForward, s.modeOther),
            detect: s.detect.stat, decide: s.decide.stat, act: s.act.stat, verify: s.verify.stat)

        timeToRestore = TimeToRestore(stat: s.timeToRestore.stat, open: s.timeToRestoreOpen)
        rollbacks = Rollbacks(
            started: s.rollbacksStarted, completed: s.rollbacksCompleted, failed: s.rollbacksFailed, auto: s.rollbacksAuto,
            manual: s.rollbacksManual, duration: s.rollbackDurations.stat)
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
    /// Of the duplicates, those whose content differed from the stored copy (whole log, as
    /// counted when they arrived; the stored copy is the one kept).
    public var conflictingDuplicates = 0
}

/// One service's block of a report.
public struct ServiceReport: Sendable, Equatable {
    public var service: String
    /// The team of the service's latest event naming one; nil when none does.
    public var team: String?
    public var metrics: Metrics
    /// Rollback and recovery times counted into buckets, when the report was asked for them
    /// (`/metrics`' histograms); not part of the JSON contract.
    public var rollbackBuckets: BucketCounts?
    public var recoveryBuckets: BucketCounts?

    public init(service: String, team: String?, metrics: Metrics) {
        self.service = service
        self.team = team
        self.metrics = metrics
    }
}

/// One team's block of a report: its listed services, pooled.
public struct TeamReport: Sendable, Equatable {
    public var team: String
    public var services: Int
    public var metrics: Metrics
}

/// A computed report (docs/report.md): what every renderer prints.
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
    /// Services pooled by a caller-given grouping (the live view's tiers), sorted by name; not
    /// part of the JSON contract, so the renderers leave it out. Empty unless asked for.
    public var groups: [TeamReport] = []
    /// Events dated more than a day after the moment of the report, which the default period
    /// left out (they count in every metric of a period that holds them). Not in the JSON: the
    /// command line warns of them.
    public var futureEvents = 0
    /// Alert ids of the period that fire again after they resolved (an Alertmanager
    /// fingerprint recurring): each still counts as one episode. A data-quality warning of the
    /// Markdown report and the command line, not in the JSON.
    public var recurringAlerts = 0
    /// The period's rollbacks completed only before they started and alerts resolved only
    /// before they fired, by service and id. A data-quality warning of the Markdown report and
    /// the command line, not in the JSON (the definitions count them as open).
    public var clockSkew: [ClockSkew] = []
    /// The pooled samples behind `totals` and `teams`, when the report was asked to keep them
    /// (`MetricsEngine.reports(keepingSamples:)`): what a test of change between two periods
    /// needs. Not part of any output.
    public var samples: ReportSamples?
    /// The report's figures per week or month of its period, when asked for (`--series`).
    public var series: ReportSeries?
    /// The report's period against another, when asked for (`--compare`).
    public var comparison: PeriodComparison?
    /// The closed recovery episodes of the period with the longest recovery times, longest
    /// first, when asked for (the HTML page lists 20).
    public var longestRecoveries: [EpisodeDetail]?
    /// Rollback readiness as of the period's end (`MetricsEngine.readiness`), when computed:
    /// `report` always computes it.
    public var readiness: Readiness?
}

/// The samples a report's totals and teams were computed from (each sealed: sorted runs).
public struct ReportSamples: Sendable, Equatable {
    public var totals: MetricSamples
    /// By team name, as in `Report.teams` (services without a team under "unassigned").
    public var teams: [String: MetricSamples]

    public init(totals: MetricSamples, teams: [String: MetricSamples]) {
        self.totals = totals
        self.teams = teams
    }
}
