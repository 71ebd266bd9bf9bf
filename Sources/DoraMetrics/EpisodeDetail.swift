public import DoraEvents

/// One closed recovery episode with the ids a reader opens to see it: a row of the report's
/// longest recoveries (durations in microseconds, as docs/metrics.md §2.4 defines them).
public struct EpisodeDetail: Sendable, Equatable {
    public var service: String
    /// The service's team as the report names it (set when the report is assembled).
    public var team: String?
    /// The failed change: the deploy whose bad version went live.
    public var deployID: String
    public var deployTime: Timestamp
    public var recovery: Int64
    public var detect: Int64
    /// Only for an episode with a linked rollback.
    public var decide: Int64?
    public var act: Int64?
    public var verify: Int64?
    /// The linked rollbacks, by start, and incidents, by firing.
    public var rollbackIDs: [String]
    public var alertIDs: [String]

    public init(
        service: String, team: String? = nil, deployID: String, deployTime: Timestamp, recovery: Int64, detect: Int64,
        decide: Int64? = nil, act: Int64? = nil, verify: Int64? = nil, rollbackIDs: [String], alertIDs: [String]
    ) {
        self.service = service
        self.team = team
        self.deployID = deployID
        self.deployTime = deployTime
        self.recovery = recovery
        self.detect = detect
        self.decide = decide
        self.act = act
        self.verify = verify
        self.rollbackIDs = rollbackIDs
        self.alertIDs = alertIDs
    }
}
