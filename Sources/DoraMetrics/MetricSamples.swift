/// The raw figures of one service (or a pool of services) for one period: counts and the
/// durations (in microseconds) that statistics are computed over.
///
/// Invariant: merging pools values (totals and teams are not averages of services).
public struct MetricSamples: Sendable, Equatable {
    public var deployments = 0
    public var failedDeployments = 0
    public var leadTimes: [Int64] = []
    public var failedChanges = 0
    public var rework = 0
    public var recovery: [Int64] = []
    public var recoveryOpen = 0
    public var modeRollback = 0
    public var modeRollForward = 0
    public var modeOther = 0
    public var detect: [Int64] = []
    public var decide: [Int64] = []
    public var act: [Int64] = []
    public var verify: [Int64] = []
    public var timeToRestore: [Int64] = []
    public var timeToRestoreOpen = 0
    public var rollbacksStarted = 0
    public var rollbacksCompleted = 0
    public var rollbacksFailed = 0
    public var rollbacksAuto = 0
    public var rollbacksManual = 0
    public var rollbackDurations: [Int64] = []
    /// Negative durations excluded (only lead times can be negative).
    public var anomalies = 0

    public init() {}

    /// Pools `other` into these samples.
    public mutating func merge(_ other: MetricSamples) {
        deployments += other.deployments
        failedDeployments += other.failedDeployments
        leadTimes += other.leadTimes
        failedChanges += other.failedChanges
        rework += other.rework
        recovery += other.recovery
        recoveryOpen += other.recoveryOpen
        modeRollback += other.modeRollback
        modeRollForward += other.modeRollForward
        modeOther += other.modeOther
        detect += other.detect
        decide += other.decide
        act += other.act
        verify += other.verify
        timeToRestore += other.timeToRestore
        timeToRestoreOpen += other.timeToRestoreOpen
        rollbacksStarted += other.rollbacksStarted
        rollbacksCompleted += other.rollbacksCompleted
        rollbacksFailed += other.rollbacksFailed
        rollbacksAuto += other.rollbacksAuto
        rollbacksManual += other.rollbacksManual
        rollbackDurations += other.rollbackDurations
        anomalies += other.anomalies
    }
}
