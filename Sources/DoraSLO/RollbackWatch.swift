import DoraMetrics

/// The `RollbackFailed` and `RollbackStuck` alerts of one rollback-time SLO over one selected
/// service (docs/slo.md, "Failed and stuck rollbacks"): one alert per rollback and kind, which
/// fires once and resolves once.
///
/// - `RollbackStuck` fires at started + objective when the rollback has neither completed nor
///   failed by then, and resolves when it completes or fails.
/// - `RollbackFailed` fires at the rollback's first failure and resolves when the failure is
///   cleared (`RollbackOutcome.failureCleared`).
///
/// Feed it the service's outcomes as they change; it emits each transition once, at its own
/// instant. A stuck alert's firing is due on the clock, when its instant is before the end (a
/// backtest's, or the live clock); the other transitions are event times, due like sample
/// times, as soon as their events are known (and before a backtest's `--to`). The transitions
/// are a function of the outcomes and those bounds, so the backtest and a live run fed in time
/// order emit the same ones. A late event that takes back a stuck alert already sent
/// (a completion arriving after the alert, dated before the objective passed) resolves it at
/// once, dated no earlier than its firing.
struct RollbackWatch: Sendable {
    let slo: SLODefinition
    let service: String
    /// The outcomes of the last update that may still make a transition; the others (every
    /// alert of theirs resolved, or none to raise) are let go after each advance, since the
    /// next update replaces the outcomes anyway: a service's whole rollback history otherwise
    /// sat here between its rounds.
    private var outcomes: [RollbackOutcome] = []
    /// Per rollback that raised an alert, its alerts' states: when each fired; resolved ones
    /// are done for good. Keyed by rollback, not by alert: a round looks each of a touched
    /// service's rollbacks up once.
    private var states: [String: AlertStates] = [:]
    /// The earliest instant at which the clock makes a transition due; nil when none is pending.
    private(set) var nextInstant: Int64?
    /// Whether the next update lets go of the alerts of rollbacks it is no longer given.
    private var forgetsUnknown = false

    private struct AlertKey: Hashable, Sendable {
        var kind: SLOAlert.Kind
        var rollbackID: String
    }

    private enum State: Sendable, Equatable {
        case firing(since: Int64)
        /// Resolved, or fired before the backtest's `--from` (not shown, so never resolved).
        case done
    }

    /// The states of one rollback's two alerts; nil: not raised.
    private struct AlertStates: Sendable, Equatable {
        var stuck: State?
        var failed: State?

        subscript(kind: SLOAlert.Kind) -> State? {
            get { kind == .rollbackStuck ? stuck : failed }
            set { if kind == .rollbackStuck { stuck = newValue } else { failed = newValue } }
        }

        var count: Int { (stuck == nil ? 0 : 1) + (failed == nil ? 0 : 1) }
    }

    /// One alert's transition instants as the outcomes now say; `resolvesAt` without
    /// `firesAt` takes back a firing already sent.
    private struct Plan {
        var key: AlertKey
        var firesAt: Int64?
        /// Whether the firing is due on the clock (a stuck alert) rather than at an event.
        var firesOnClock = false
        var resolvesAt: Int64?
        var value: Int64?
        var resolvedValue: Int64?
    }

    init(slo: SLODefinition, service: String) {
        precondition(slo.metric == .rollbackTime)
        self.slo = slo
        self.service = service
    }

    /// Takes the service's outcomes as now known and emits what is due.
    /// - Parameters:
    ///   - isComplete: whether `outcomes` holds every rollback of the service; otherwise only
    ///     those that may have changed since the last update (a live round's), and the others
    ///     are as they were: those that may still make a transition are kept from before.
    ///     An update that is not complete never forgets rollbacks (`forgetUnknownRollbacks`).
    ///   - from: transitions before it are not shown, and the alerts they concern stay ok.
    ///   - to: event times at or after it are not known yet (a backtest's `--to`).
    ///   - end: clock-driven instants at or after it are not due yet.
    mutating func update(_ outcomes: [RollbackOutcome], isComplete: Bool = true, from: Int64, to: Int64, end: Int64) -> [SLOAlert] {
        guard isComplete else {
            let changed = Set(outcomes.map(\.rollbackID))
            self.outcomes = self.outcomes.filter { !changed.contains($0.rollbackID) } + outcomes
            return advance(from: from, to: to, end: end)
        }
        self.outcomes = outcomes
        if forgetsUnknown {
            let known = Set(outcomes.map(\.rollbackID))
            var kept: [String: AlertStates] = [:]
            for (rollbackID, var alerts) in states {
                if !known.contains(rollbackID) {
                    // Its resolved alerts go; a firing alert is never dropped unsaid.
                    if alerts.stuck == .done { alerts.stuck = nil }
                    if alerts.failed == .done { alerts.failed = nil }
                    if alerts.count == 0 { continue }
                }
                kept[rollbackID] = alerts
            }
            states = kept
            forgetsUnknown = false
        }
        return advance(from: from, to: to, end: end)
    }

    /// At the next update, lets go of the alerts of the rollbacks a retention forgot (they are
    /// not in the outcomes any more, and no event can bring them back into the live state).
    mutating func forgetUnknownRollbacks() { forgetsUnknown = true }

    var retainedItems: Int { outcomes.count + states.values.reduce(0) { $0 + $1.count } }

    /// Emits what is due with the outcomes unchanged (the clock moving on).
    mutating func advance(from: Int64, to: Int64, end: Int64) -> [SLOAlert] {
        var out: [SLOAlert] = []
        var next: Int64?
        var kept: [RollbackOutcome] = []
        let objective = slo.objective
        for r in outcomes {
            // Most rollbacks never raise an alert: with none raised, no lookup.
            let before = states.isEmpty ? nil : states[r.rollbackID]
            var alerts = before ?? AlertStates()
            var mayChange = false
            Self.forEachPlan(of: r, objective: objective) { plan in
                advance(plan, state: &alerts[plan.key.kind], from: from, to: to, end: end, into: &out, next: &next)
                // Whether it may still fire or resolve with the outcomes as they are: not fired
                // but with an instant to fire at, or firing.
                switch alerts[plan.key.kind] {
                case nil: mayChange = mayChange || plan.firesAt != nil
                case .firing: mayChange = true
                case .done: break
                }
            }
            if alerts != (before ?? AlertStates()) { states[r.rollbackID] = alerts }
            if mayChange { kept.append(r) }
        }
        nextInstant = next
        outcomes = kept
        return out
    }

    /// `advance` for one alert's plan and its `state`: appends its due transitions to `out`,
    /// and lowers `next` to its firing instant when that is due on the clock later.
    private func advance(
        _ plan: Plan, state: inout State?, from: Int64, to: Int64, end: Int64, into out: inout [SLOAlert], next: inout Int64?
    ) {
        switch state {
        case nil:
            guard let fires = plan.firesAt else { return }
            guard fires < (plan.firesOnClock ? end : to) else {
                if plan.firesOnClock { next = min(next ?? .max, fires) }
                return
            }
            if fires < from {
                state = .done
                return
            }
            out.append(alert(plan.key, .firing, at: fires, value: plan.value))
            state = .firing(since: fires)
            if let resolves = plan.resolvesAt, resolves < to {
                out.append(alert(plan.key, .resolved, at: max(resolves, fires), value: plan.resolvedValue))
                state = .done
            }
        case .firing(let since):
            guard let resolves = plan.resolvesAt, resolves < to else { return }
            out.append(alert(plan.key, .resolved, at: max(resolves, since), value: plan.resolvedValue))
            state = .done
        case .done:
            return
        }
    }

    /// The alerts firing now: kind and rollback.
    var firing: [(kind: SLOAlert.Kind, rollbackID: String)] {
        states.flatMap { rollbackID, alerts in
            [SLOAlert.Kind.rollbackStuck, .rollbackFailed].compactMap { kind in
                if case .firing = alerts[kind] { return (kind, rollbackID) } else { return nil }
            }
        }
    }

    /// Calls `body` with the plans of one rollback: stuck (when it started), then failed (when
    /// it failed). A callback rather than an array: every round goes through every rollback of
    /// each touched service, and an array for each showed in a round's profile (bench/RESULTS.md,
    /// thirty-first session).
    private static func forEachPlan(of r: RollbackOutcome, objective: Int64, _ body: (Plan) -> Void) {
        if let started = r.started {
            let ended = min(r.completed ?? .max, r.failed ?? .max)
            let passes = started + objective
            let key = AlertKey(kind: .rollbackStuck, rollbackID: r.rollbackID)
            let endedAt = ended == .max ? nil : ended
            if ended > passes {
                body(
                    Plan(
                        key: key, firesAt: passes, firesOnClock: true, resolvesAt: endedAt, value: objective,
                        resolvedValue: endedAt.map { $0 - started }))
            } else {
                body(Plan(key: key, firesAt: nil, resolvesAt: endedAt, value: nil, resolvedValue: endedAt.map { $0 - started }))
            }
        }
        if let failed = r.failed {
            let toFailure = r.started.flatMap { failed >= $0 ? failed - $0 : nil }
            // Cleared at its own instant: no alert (but one already sent is taken back).
            let raised = r.failureCleared.map { $0 > failed } ?? true
            body(
                Plan(
                    key: AlertKey(kind: .rollbackFailed, rollbackID: r.rollbackID), firesAt: raised ? failed : nil,
                    resolvesAt: r.failureCleared, value: toFailure, resolvedValue: toFailure))
        }
    }

    private func alert(_ key: AlertKey, _ state: SLOAlert.State, at: Int64, value: Int64?) -> SLOAlert {
        var a = SLOAlert(
            kind: key.kind, state: state, slo: slo.name, scope: .service(service), metric: slo.metric,
            percentileTenths: slo.percentileTenths, value: value, objective: slo.objective, baseline: nil, pValue: nil, samples: 1,
            window: slo.window, at: at, exemplars: [key.rollbackID])
        a.rollbackID = key.rollbackID
        return a
    }
}
