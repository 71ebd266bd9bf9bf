/// What became of one rollback, as the rollback alerts need it (docs/slo.md, "Failed and
/// stuck rollbacks"): when it started, ended, failed, and when its failure stopped mattering.
///
/// Invariant: a pure function of the stored events of its service (in the environment), so
/// the backtest and the live run derive the same alerts from it.
public struct RollbackOutcome: Sendable, Equatable {
    public var rollbackID: String
    /// Its earliest `started` event's time; nil without one.
    public var started: Int64?
    /// Its completion (the earliest `completed` at or after the start; without a start, the
    /// earliest `completed`).
    public var completed: Int64?
    /// Its earliest `failed` event's time, if any.
    public var failed: Int64?
    /// For a failed rollback: the first instant at or after the failure at which its deploy
    /// was dealt with: a rollback linked to the same deploy completed (this one included, if
    /// retried), or that deploy's recovery episode became healthy. For a rollback linked to
    /// no deploy, the first completion of any rollback of the service at or after the
    /// failure. Nil while neither has happened.
    public var failureCleared: Int64?

    public init(rollbackID: String, started: Int64?, completed: Int64?, failed: Int64?, failureCleared: Int64?) {
        self.rollbackID = rollbackID
        self.started = started
        self.completed = completed
        self.failed = failed
        self.failureCleared = failureCleared
    }
}

extension ServiceState {
    /// Whether the outcomes need linking: only a failed rollback's clearing does.
    var rollbacksNeedLinks: Bool { rollbacks.values.contains(where: \.failed) }

    /// The outcome of each rollback, in rollback-id order.
    /// - Parameter analysis: this service's analysis, with rollback links recorded; needed
    ///   when `rollbacksNeedLinks`.
    func rollbackOutcomes(analysis: Analysis?) -> [RollbackOutcome] {
        var cleared: [String: Int64] = [:]
        if rollbacksNeedLinks {
            let analysis = analysis!
            // Per deploy: its rollbacks' completions, and its episode's healthy time.
            var completions: [Int: [Int64]] = [:]
            var anyCompletion: [Int64] = []
            for (rollbackID, r) in rollbacks {
                guard let done = r.completedTime else { continue }
                anyCompletion.append(done)
                if let p = analysis.rollbackDeploys[rollbackID] { completions[p, default: []].append(done) }
            }
            var healthy: [Int: Int64] = [:]
            for e in analysis.episodes { if let h = e.healthyAt { healthy[e.deploy] = h } }
            anyCompletion.sort()
            for (rollbackID, r) in rollbacks where r.failed {
                let f = r.failedTime
                if let p = analysis.rollbackDeploys[rollbackID] {
                    // A deploy has few rollbacks: its completions are scanned.
                    var candidates = completions[p] ?? []
                    if let h = healthy[p] { candidates.append(h) }
                    if let first = candidates.filter({ $0 >= f }).min() { cleared[rollbackID] = first }
                } else {
                    // Unlinked: the service's first completion at or after the failure.
                    let first = anyCompletion.partitionPoint { $0 >= f }
                    if first < anyCompletion.count { cleared[rollbackID] = anyCompletion[first] }
                }
            }
        }
        return rollbacks.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { rollbackID, r in
            RollbackOutcome(
                rollbackID: rollbackID, started: r.hasStarted ? r.startedTime : nil, completed: r.completedTime,
                failed: r.failed ? r.failedTime : nil, failureCleared: cleared[rollbackID])
        }
    }
}
