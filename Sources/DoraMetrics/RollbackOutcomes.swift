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

/// What a live round hands one service's rollback alerts: the outcomes of the rollbacks that
/// may have changed since the last round, or every rollback's (`isComplete`).
public struct RollbackOutcomeUpdate: Sendable, Equatable {
    public var outcomes: [RollbackOutcome]
    public var isComplete: Bool

    public init(outcomes: [RollbackOutcome], isComplete: Bool) {
        self.outcomes = outcomes
        self.isComplete = isComplete
    }
}

extension MetricsEngine {
    /// Per service of `only` (nil: every one): with its links kept (`trackEpisodes`, the
    /// service's changes taken by `takeSampleChanges` this round), the outcomes its last
    /// update may have changed; otherwise every outcome, from an analysis.
    public func changedRollbackOutcomes(only: Set<String>?) -> [String: RollbackOutcomeUpdate] {
        var out: [String: RollbackOutcomeUpdate] = [:]
        for i in services.indices where only?.contains(services[i].name) ?? true {
            let name = services[i].name
            if services[i].episodes?.isUpdated == true {
                let (outcomes, isComplete) = services[i].changedRollbackOutcomes()
                out[name] = RollbackOutcomeUpdate(outcomes: outcomes, isComplete: isComplete)
            } else {
                out[name] = RollbackOutcomeUpdate(outcomes: allRollbackOutcomes(of: name), isComplete: true)
            }
        }
        return out
    }

    /// Every outcome of `service`'s rollbacks (none for a service without events).
    public func allRollbackOutcomes(of service: String) -> [RollbackOutcome] {
        guard let state = services.first(where: { $0.name == service }) else { return [] }
        return state.consolidated().timedSamples([], withRollbackOutcomes: true, configuration: configuration).rollbackOutcomes ?? []
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
    ///   when `rollbacksNeedLinks`, unless the service keeps its links (`episodes`, updated).
    func rollbackOutcomes(analysis: Analysis?) -> [RollbackOutcome] {
        // Per rollback, in the same order: when its failure was cleared.
        var cleared: [Int64?] = []
        if rollbacksNeedLinks { cleared = analysis.map(failuresCleared(analysis:)) ?? failuresClearedFromKeptLinks() }
        var out: [RollbackOutcome] = []
        out.reserveCapacity(rollbacks.count)
        for (k, (rollbackID, r)) in rollbacks.enumerated() {
            out.append(Self.outcome(rollbackID, r, failureCleared: cleared.isEmpty ? nil : cleared[k]))
        }
        return out
    }

    /// Per rollback (in the iteration order of `rollbacks`), when its failure was cleared, from
    /// the analysis' links.
    private func failuresCleared(analysis: Analysis) -> [Int64?] {
        let links = analysis.rollbackDeploys
        var cleared = [Int64?](repeating: nil, count: rollbacks.count)
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
            if links[k] >= 0 {
                var candidates = completions[links[k]] ?? []
                if let h = healthy[links[k]] { candidates.append(h) }
                cleared[k] = Self.firstClearing(of: r.failedTime, among: candidates)
            } else {
                cleared[k] = Self.firstCompletion(atOrAfter: r.failedTime, in: anyCompletion)
            }
        }
        return cleared
    }

    /// `failuresCleared(analysis:)` from the links a live run keeps (`episodes`, updated): only
    /// the failed rollbacks' deploys are looked at, so a round does not link the whole history.
    private func failuresClearedFromKeptLinks() -> [Int64?] {
        var anyCompletion: [Int64]?
        return rollbacks.map { id, r in r.failed ? keptFailureCleared(id, r, anyCompletion: &anyCompletion) : nil }
    }

    /// When the failure of the rollback `id` (`r`, failed) was cleared, from the links kept.
    /// - Parameter anyCompletion: every completion of the service, sorted; made on first need
    ///   (a failed rollback linked to no deploy) and kept for the next call.
    private func keptFailureCleared(_ id: String, _ r: RollbackState, anyCompletion: inout [Int64]?) -> Int64? {
        let index = episodes!
        precondition(index.isUpdated, "update the episode index before reading its links")
        if let p = index.deploy(ofRollback: id, r) {
            var (candidates, healthy) = index.rollbackCompletions(ofDeploy: p, in: self)
            if let healthy { candidates.append(healthy) }
            return Self.firstClearing(of: r.failedTime, among: candidates)
        }
        if anyCompletion == nil { anyCompletion = rollbacks.values.compactMap(\.completedTime).sorted() }
        return Self.firstCompletion(atOrAfter: r.failedTime, in: anyCompletion!)
    }

    /// With the links kept (`episodes`, updated): the outcomes of the rollbacks its last
    /// update may have changed (in no particular order), and whether they are every rollback's
    /// (after the index was built, or a retention step rebuilt it). A live round hands the
    /// rollback alerts these instead of every rollback's (`RollbackWatch.update`).
    func changedRollbackOutcomes() -> (outcomes: [RollbackOutcome], isComplete: Bool) {
        guard let changed = episodes?.changedOutcomes else { return (rollbackOutcomes(analysis: nil), true) }
        var anyCompletion: [Int64]?
        var out: [RollbackOutcome] = []
        for id in changed {
            guard let r = rollbacks[id] else { continue }  // now a drill: no outcome
            let cleared = r.failed ? keptFailureCleared(id, r, anyCompletion: &anyCompletion) : nil
            out.append(Self.outcome(id, r, failureCleared: cleared))
        }
        return (out, false)
    }

    /// The outcome of the rollback `id` (`r`).
    static func outcome(_ id: String, _ r: RollbackState, failureCleared: Int64?) -> RollbackOutcome {
        RollbackOutcome(
            rollbackID: id, started: r.hasStarted ? r.startedTime : nil, completed: r.completedTime, failed: r.failed ? r.failedTime : nil,
            failureCleared: failureCleared)
    }

    /// A linked failure is cleared by the first of its deploy's rollback completions and
    /// episode end at or after it (a deploy has few: they are scanned).
    private static func firstClearing(of failed: Int64, among candidates: [Int64]) -> Int64? {
        candidates.filter { $0 >= failed }.min()
    }

    /// An unlinked failure is cleared by the service's first completion at or after it.
    private static func firstCompletion(atOrAfter failed: Int64, in sorted: [Int64]) -> Int64? {
        let first = sorted.partitionPoint { $0 >= failed }
        return first < sorted.count ? sorted[first] : nil
    }
}
