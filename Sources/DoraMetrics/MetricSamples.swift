/// The raw figures of one service (or a pool of services) for one period: counts and the
/// durations (in microseconds) that statistics are computed over.
///
/// Invariant: merging pools values (totals and teams are not averages of services).
public struct MetricSamples: Sendable, Equatable {
    public var deployments = 0
    public var failedDeployments = 0
    public var leadTimes = DurationSamples()
    public var failedChanges = 0
    public var rework = 0
    public var recovery = DurationSamples()
    public var recoveryOpen = 0
    public var modeRollback = 0
    public var modeRollForward = 0
    public var modeOther = 0
    public var detect = DurationSamples()
    public var decide = DurationSamples()
    public var act = DurationSamples()
    public var verify = DurationSamples()
    public var timeToRestore = DurationSamples()
    public var timeToRestoreOpen = 0
    public var rollbacksStarted = 0
    public var rollbacksCompleted = 0
    public var rollbacksFailed = 0
    public var rollbacksAuto = 0
    public var rollbacksManual = 0
    public var rollbackDurations = DurationSamples()
    /// The rollback durations again, split by trigger (auto: fired by analysis): what the
    /// report for people compares. Not in the JSON report.
    public var autoRollbackDurations = DurationSamples()
    public var manualRollbackDurations = DurationSamples()
    /// Negative durations excluded (only lead times can be negative).
    public var anomalies = 0
    /// Alert ids (by their first firing) that fire again after they resolved: a data-quality
    /// warning, not a metric.
    public var recurringAlerts = 0
    /// Rollbacks and alerts whose clocks disagree (docs/metrics.md §0): a data-quality warning.
    /// The definitions keep them open, and so they are counted; this lists them.
    public var clockSkew: [ClockSkew] = []

    public init() {}

    /// Sorts every duration list into one run (done once per service; pools share runs).
    public mutating func seal() {
        forEachDuration { $0.seal() }
    }

    /// Sets every duration list aside in `store` (`DurationSamples.store(in:)`).
    public mutating func store(in store: any SampleStore) {
        forEachDuration { $0.store(in: store) }
    }

    /// Whether every duration list is set aside in a store.
    public var isStored: Bool {
        var all = true
        var samples = self
        samples.forEachDuration { all = all && $0.isStored }
        return all
    }

    /// How many duration lists there are (`withDuration`).
    static let durationLists = 10

    /// Calls `body` with duration list `k` (0 ..< `durationLists`): the one list of them, for
    /// what is done to all.
    mutating func withDuration(_ k: Int, _ body: (inout DurationSamples) -> Void) {
        switch k {
        case 0: body(&leadTimes)
        case 1: body(&recovery)
        case 2: body(&detect)
        case 3: body(&decide)
        case 4: body(&act)
        case 5: body(&verify)
        case 6: body(&timeToRestore)
        case 7: body(&rollbackDurations)
        case 8: body(&autoRollbackDurations)
        case 9: body(&manualRollbackDurations)
        default: preconditionFailure("no duration list \(k)")
        }
    }

    private mutating func forEachDuration(_ body: (inout DurationSamples) -> Void) {
        for k in 0..<Self.durationLists { withDuration(k, body) }
    }

    /// Pools `other` into these samples.
    public mutating func merge(_ other: MetricSamples) {
        deployments += other.deployments
        failedDeployments += other.failedDeployments
        leadTimes.merge(other.leadTimes)
        failedChanges += other.failedChanges
        rework += other.rework
        recovery.merge(other.recovery)
        recoveryOpen += other.recoveryOpen
        modeRollback += other.modeRollback
        modeRollForward += other.modeRollForward
        modeOther += other.modeOther
        detect.merge(other.detect)
        decide.merge(other.decide)
        act.merge(other.act)
        verify.merge(other.verify)
        timeToRestore.merge(other.timeToRestore)
        timeToRestoreOpen += other.timeToRestoreOpen
        rollbacksStarted += other.rollbacksStarted
        rollbacksCompleted += other.rollbacksCompleted
        rollbacksFailed += other.rollbacksFailed
        rollbacksAuto += other.rollbacksAuto
        rollbacksManual += other.rollbacksManual
        rollbackDurations.merge(other.rollbackDurations)
        autoRollbackDurations.merge(other.autoRollbackDurations)
        manualRollbackDurations.merge(other.manualRollbackDurations)
        anomalies += other.anomalies
        recurringAlerts += other.recurringAlerts
        clockSkew += other.clockSkew
    }
}

/// A rollback completed only before it started, or an alert resolved only before it fired:
/// a producer's clock is off. By the definitions the episode stays open (the completion or
/// resolution does not count), so it is listed to be fixed at its source.
public struct ClockSkew: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case rollbackCompletedBeforeStart = "rollback completed before it started"
        case alertResolvedBeforeFiring = "alert resolved before it fired"
    }

    public var kind: Kind
    public var service: String
    /// The `rollback_id` or `alert_id`.
    public var id: String
    /// How much earlier the completion (resolution) is than the start (firing), microseconds.
    public var earlierBy: Int64

    public init(kind: Kind, service: String, id: String, earlierBy: Int64) {
        self.kind = kind
        self.service = service
        self.id = id
        self.earlierBy = earlierBy
    }
}
