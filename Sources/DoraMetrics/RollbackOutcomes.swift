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

    /// The outcome of each rollback, in the iteration order of `rollbacks` (the rollback alerts
    /// sort what they emit, so nothing depends on it; sorting the ids, and looking each one up
    /// in tables by id, took about a sixth of a live round's CPU: bench/RESULTS.md, thirty-first
    /// session).
    /// - Parameter analysis: this service's analysis, with rollback links recorded; needed
    ///   when `rollbacksNeedLinks`.
    func rollbackOutcomes(analysis: Analysis?) -> [RollbackOutcome] {
        // Per rollback, in the same order: when its failure was cleared.
        var cleared: [Int64?] = []
        if rollbacksNeedLinks {
            let analysis = analysis!
            let links = analysis.rollbackDeploys
            cleared = [Int64?](repeating: nil, count: rollbacks.count)
            // Per deploy: its rollbacks' completions, and its episode's healthy time.
            var completions: [Int: [Int64]] = [:]
            var anyCompletion: [Int64] = []
            for (k, r) in rollbacks.values.enumerated() {
                guard let done = r.completedTime else { continue }
                anyCompletion.append(done)
                if links[k] >= 0 { completions[links[k], default: []].append(done) }
            }
            var healthy: [Int: Int64] = [:]
            for e in analysis.episodes { if let h = e.healthyAt { healthy[e.deploy] = h } }
            anyCompletion.sort()
            for (k, r) in rollbacks.values.enumerated() where r.failed {
                let f = r.failedTime
                if links[k] >= 0 {
                    // A deploy has few rollbacks: its completions are scanned.
                    let p = links[k]
                    var candidates = completions[p] ?? []
                    if let h = healthy[p] { candidates.append(h) }
                    cleared[k] = candidates.filter({ $0 >= f }).min()
                } else {
                    // Unlinked: the service's first completion at or after the failure.
                    let first = anyCompletion.partitionPoint { $0 >= f }
                    if first < anyCompletion.count { cleared[k] = anyCompletion[first] }
                }
            }
        }
        var out: [RollbackOutcome] = []
        out.reserveCapacity(rollbacks.count)
        for (k, (rollbackID, r)) in rollbacks.enumerated() {
            out.append(
                RollbackOutcome(
                    rollbackID: rollbackID, started: r.hasStarted ? r.startedTime : nil, completed: r.completedTime,
                    failed: r.failed ? r.failedTime : nil, failureCleared: cleared.isEmpty ? nil : cleared[k]))
        }
        return out
    }
}
