public import DoraMetrics

/// A set of SLOs over the services of one environment: which scopes each SLO has, which
/// samples feed each scope, the evaluators, and the rollback-time SLOs' watches of each
/// rollback (`RollbackWatch`). The backtest and the live run share it.
///
/// Invariant: a scope's samples are those of its services in (time, id) order; a service
/// belongs to an SLO's selection by name, by its tier (from the assignments) or by its team
/// (the assignments' or else its events').
public struct SLOEvaluation: Sendable {
    public let slos: [SLODefinition]
    /// The readiness objectives (`metric: rollback_exercised`), with their watches per service.
    public let readiness: [ReadinessObjective]
    private var readinessWatches: [ReadinessKey: ReadinessWatch] = [:]
    public let assignments: ServiceAssignments
    private(set) var evaluators: [Key: ScopeEvaluator] = [:]
    /// Per metric, each service's samples as last computed (the live run recomputes only the
    /// services a batch touched). The metrics whose engine says what changed (`evaluate`'s
    /// `engineChanges`) are kept without their samples: the engine has them.
    private var cache: [DurationMetric: [String: ServiceTimedSamples]] = [:]
    /// Per group scope, the services it pooled at its last update (a change means a rebuild).
    private var members: [Key: [String]] = [:]
    /// Per scope left out of a round in which samples that may be its own changed (its service
    /// was touched but not selected, or none of its pool was touched): the earliest such change,
    /// which its next update must redo from.
    private var pendingChange: [Key: Int64] = [:]
    /// Samples dated before it are left out: a live run's retention forgot the events they
    /// derive from (`forget(before:)`). No window at or after the retention's cutoff reaches it.
    public private(set) var horizon: Int64 = .min

    /// The SLOs that share windows, as indices into `slos` in definition order: those on one
    /// metric, window, aggregation and selection see exactly the same samples.
    private let windowGroups: [[Int]]
    /// The rollback-time SLOs, as indices into `slos`: they also watch each selected service's
    /// rollbacks for failures and for rollbacks in flight past the objective.
    private let rollbackSLOs: [Int]
    /// Per rollback-time SLO and selected service, its rollback alerts.
    private var rollbackWatches: [WatchKey: RollbackWatch] = [:]

    struct ReadinessKey: Hashable, Sendable {
        /// The index of the objective in `readiness`.
        var objective: Int
        var service: String
    }

    struct WatchKey: Hashable, Sendable {
        /// The index of the SLO in `slos`.
        var slo: Int
        var service: String
    }

    struct Key: Hashable, Sendable {
        /// The index of a window group.
        var group: Int
        var scope: SLOScope
    }

    /// The pooled samples of one selection for one metric (group SLOs sharing it share merges).
    private struct PoolKey: Hashable {
        var metric: DurationMetric
        var selection: SLODefinition.Selection
    }

    /// One scope's update in a round: its evaluator (owned while it runs), its services'
    /// samples, and how far they are unchanged; or, when the evaluator was fed every sample
    /// of the scope as of the last round, exactly what changed since (pooled over its services).
    private struct Update: Sendable {
        var key: Key
        /// nil once taken (`takeEvaluator`).
        var evaluator: ScopeEvaluator?
        var pooled: [ServiceTimedSamples]
        /// The metric, when the members' samples are ones the engine keeps: then `pooled`
        /// holds none, and a rebuild asks the engine for them.
        var fromEngine: DurationMetric?
        var unchangedThrough: Int64
        var change: (removed: [TimedSample], added: [TimedSample])?

        /// The evaluator, moved out (no copy of it is left here).
        mutating func takeEvaluator() -> ScopeEvaluator { evaluator.take()! }

        /// Roughly how much work it is: the samples it moves through the windows.
        var weight: Int {
            if let change { return change.removed.count + change.added.count }
            return pooled.reduce(0) { $0 + $1.samples.count }
        }
    }

    public init(slos: [SLODefinition], readiness: [ReadinessObjective] = [], assignments: ServiceAssignments = ServiceAssignments()) {
        self.slos = slos
        self.readiness = readiness
        self.assignments = assignments
        var groups: [[Int]] = []
        for (index, slo) in slos.enumerated() {
            let shared = groups.firstIndex { group in
                let first = slos[group[0]]
                return first.metric == slo.metric && first.window == slo.window && first.per == slo.per
                    && first.selection == slo.selection
            }
            if let shared { groups[shared].append(index) } else { groups.append([index]) }
        }
        windowGroups = groups
        rollbackSLOs = slos.indices.filter { slos[$0].metric == .rollbackTime }
    }

    /// Whether `service` (whose events name `team`) is in `selection`.
    public func selects(_ selection: SLODefinition.Selection, service: String, team: String?) -> Bool {
        switch selection {
        case .all: return true
        case .services(let names): return names.contains(service)
        case .team(let name): return assignments.team(of: service, fromEvents: team) == name
        case .tier(let name): return assignments.tier(of: service) == name
        }
    }

    /// Brings every scope up to date with the engine's samples and returns the transitions, in
    /// the backtest's order. With `services`, only scopes containing one of them are given
    /// their new samples (the live run passes the services its last batch touched); every
    /// scope evaluates its window expiries before `end`.
    /// - Parameters:
    ///   - from: evaluations before it emit nothing (they still fill the windows).
    ///   - to: samples at or after it are left out.
    ///   - end: window expiries at or after it are not evaluated yet: a backtest's end, or a
    ///     live run's clock. Default: `to`.
    ///   - threads: the threads the services and scopes are evaluated on.
    ///   - engineChanges: with an engine that keeps samples as events arrive (its
    ///     `keptMetrics`), what `MetricsEngine.takeSampleChanges(only: services)` returned just
    ///     before: then the samples of those metrics are not derived nor kept here
    ///     (differential tests hold the two ways equal). Every call on this evaluation must
    ///     then pass it.
    public mutating func evaluate(
        _ engine: MetricsEngine, services touched: Set<String>? = nil, from: Int64 = .min, to: Int64 = .max, end: Int64? = nil,
        threads: ParallelMap.Threads = .everyCore, engineChanges: [DurationMetric: [String: SampleChange]]? = nil
    ) -> [SLOAlert] {
        let end = end ?? to
        var out: [SLOAlert] = []
        var byMetric: [DurationMetric: [ServiceTimedSamples]] = [:]
        // Per metric and service: how its samples differ from the last round's (absent:
        // unchanged).
        var changed: [DurationMetric: [String: SampleChange]] = [:]
        let metrics = Set(slos.map(\.metric))
        // The samples the engine keeps are not derived here: the round's changes are what the
        // windows take, and a window rebuilt asks the engine for them (`samplesAsTaken`).
        let fromEngineMetrics: Set<DurationMetric> = engineChanges != nil ? metrics.intersection(engine.keptMetrics) : []
        // With the links kept, the rollback alerts take the outcomes that changed (or every one,
        // after a rebuild) rather than every rollback's of each touched service.
        let outcomesFromEngine = engineChanges != nil && engine.tracksEpisodes
        let derived = engine.timedSamples(
            of: metrics.subtracting(fromEngineMetrics), withRollbackOutcomes: !rollbackSLOs.isEmpty && !outcomesFromEngine, only: touched,
            threads: threads)
        var fresh = derived.samples
        let outcomeUpdates =
            outcomesFromEngine && !rollbackSLOs.isEmpty
            ? engine.changedRollbackOutcomes(only: touched)
            : derived.rollbackOutcomes.mapValues { RollbackOutcomeUpdate(outcomes: $0, isComplete: true) }
        if !fromEngineMetrics.isEmpty {
            let listed = engine.listedServices(only: touched)  // sorted once for all of them
            for metric in fromEngineMetrics { fresh[metric] = listed }
        }
        for metric in metrics {
            // Taken out of the cache, so that each service's old samples are freed as soon as
            // they are replaced (no second copy of the whole cache during the round).
            var known = cache.removeValue(forKey: metric) ?? [:]
            if touched == nil { known = [:] }
            let fromEngine = fromEngineMetrics.contains(metric) ? engineChanges?[metric] ?? [:] : nil
            for var s in fresh[metric] ?? [] {
                if horizon > .min { s.dropSamples(before: horizon) }
                if let fromEngine, touched != nil {
                    changed[metric, default: [:]][s.service] = fromEngine[s.service]?.leavingOut(before: horizon)
                } else {
                    changed[metric, default: [:]][s.service] = SampleChange(from: known[s.service]?.samples ?? [], to: s.samples)
                }
                known[s.service] = s
            }
            byMetric[metric] = known.values.sorted { $0.service.utf8.lexicographicallyPrecedes($1.service.utf8) }
            cache[metric] = known
        }
        // What to update: every scope on its own, so that the two windows of one pooled metric
        // run in parallel (those scopes are most of a round's work). Group scopes of one metric
        // and selection have the same members, so their pooled change is made once.
        var updates: [Update] = []
        var pooledChanges: [PoolKey: (removed: [TimedSample], added: [TimedSample])] = [:]
        for (index, group) in windowGroups.enumerated() {
            let slo = slos[group[0]]  // metric, window, aggregation and selection of the whole group
            let perService = byMetric[slo.metric]!
            let selected = perService.filter { selects(slo.selection, service: $0.service, team: $0.team) }
            var scopes: [(SLOScope, [ServiceTimedSamples])] = []
            switch slo.per {
            case .service:
                for s in selected where touched?.contains(s.service) ?? true { scopes.append((.service(s.service), [s])) }
            case .group:
                if touched == nil || selected.contains(where: { touched!.contains($0.service) }) {
                    scopes.append((.selection(slo.selection), selected))
                }
            }
            // Scopes left out of this round remember changes that may concern them later.
            let changes = changed[slo.metric] ?? [:]
            switch slo.per {
            case .service:
                let refreshed = Set(scopes.flatMap { $0.1.map(\.service) })  // one service per scope
                for (service, change) in changes where !refreshed.contains(service) {
                    let key = Key(group: index, scope: .service(service))
                    if evaluators[key] != nil { pendingChange[key] = min(pendingChange[key] ?? .max, change.time) }
                }
            case .group:
                let key = Key(group: index, scope: .selection(slo.selection))
                if scopes.isEmpty, evaluators[key] != nil, let earliest = changes.values.lazy.map(\.time).min() {
                    pendingChange[key] = min(pendingChange[key] ?? .max, earliest)
                }
            }
            for (scope, pooled) in scopes {
                let key = Key(group: index, scope: scope)
                let memberChanges = pooled.compactMap { changes[$0.service] }
                let pending = pendingChange.removeValue(forKey: key)
                var sameMembers = true  // a per-service scope's member never changes
                if slo.per == .group {
                    let names = pooled.map(\.service)
                    sameMembers = members[key].map { $0 == names } ?? true
                    members[key] = names
                }
                // Taken out of the dictionary, so the update owns it (no copy on write).
                let evaluator = evaluators.removeValue(forKey: key)
                // The evaluator saw every sample of the scope as of the last round when it
                // exists, its members are the same and it missed no change: the round's changes
                // are then all it needs (a live round; a backtest cuts samples at `to`).
                let exact = touched != nil && to == .max && evaluator != nil && sameMembers && pending == nil
                let earliest = min(memberChanges.lazy.map(\.time).min() ?? .max, pending ?? .max)
                var change: (removed: [TimedSample], added: [TimedSample])?
                if exact {
                    if case .selection(let selection) = scope {
                        let pool = PoolKey(metric: slo.metric, selection: selection)
                        change = pooledChanges[pool] ?? Self.pool(memberChanges)
                        pooledChanges[pool] = change
                    } else {
                        change = Self.pool(memberChanges)
                    }
                }
                updates.append(
                    Update(
                        key: key, evaluator: evaluator ?? ScopeEvaluator(slos: group.map { slos[$0] }, scope: scope),
                        pooled: pooled, fromEngine: fromEngineMetrics.contains(slo.metric) ? slo.metric : nil,
                        unchangedThrough: sameMembers ? earliest - 1 : .min, change: change))
            }
        }
        // The rollback alerts of the touched services, before any clock-driven advance (which
        // must not run on outcomes this round has changed).
        for index in rollbackSLOs {
            let slo = slos[index]
            for s in byMetric[.rollbackTime] ?? [] where selects(slo.selection, service: s.service, team: s.team) {
                guard var update = outcomeUpdates[s.service] else { continue }  // not touched
                let key = WatchKey(slo: index, service: s.service)
                let existing = rollbackWatches.removeValue(forKey: key)
                // A new watch (the service newly selected) needs every outcome.
                if existing == nil && !update.isComplete {
                    update = RollbackOutcomeUpdate(outcomes: engine.allRollbackOutcomes(of: s.service), isComplete: true)
                }
                var watch = existing ?? RollbackWatch(slo: slo, service: s.service)
                out += watch.update(update.outcomes, isComplete: update.isComplete, from: from, to: to, end: end)
                rollbackWatches[key] = watch
            }
        }
        // The readiness alerts of the touched services (their timelines are short).
        if !readiness.isEmpty {
            for timeline in engine.readinessTimelines(only: touched, before: to) {
                for (index, objective) in readiness.enumerated()
                where selects(objective.selection, service: timeline.service, team: timeline.team) {
                    let key = ReadinessKey(objective: index, service: timeline.service)
                    var watch = readinessWatches.removeValue(forKey: key) ?? ReadinessWatch(objective: objective, timeline: timeline)
                    out += watch.update(timeline, from: from, to: to, end: end)
                    readinessWatches[key] = watch
                }
            }
        }
        // The heaviest first, so that no thread is left with a large one at the end.
        updates.sort { $0.weight > $1.weight }
        let horizon = horizon
        // Each update handed over, and its evaluator taken out of it: the evaluator's windows
        // then have no other owner, and change in place rather than being copied whole.
        let updated = ParallelMap.map(consuming: consume updates, on: threads) { (update: consuming Update) -> (Key, ScopeEvaluator, [SLOAlert]) in
            var evaluator = update.takeEvaluator()
            let alerts: [SLOAlert]
            if let change = update.change {
                alerts = evaluator.apply(removing: change.removed, adding: change.added, evaluateFrom: from, end: end)
            } else {
                let fromEngine = update.fromEngine
                alerts = evaluator.refresh(
                    samples: { after in
                        Self.samples(
                            of: update.pooled, after: after, before: to,
                            samplesOf: { member in
                                guard let fromEngine else { return member.samples }
                                var taken = member
                                taken.samples = engine.samplesAsTaken(fromEngine, of: member.service) ?? []
                                if horizon > .min { taken.dropSamples(before: horizon) }
                                return taken.samples
                            },
                            bound: { member in fromEngine.map { engine.samplesAsTakenBound($0, of: member.service) } ?? member.samples.count })
                    },
                    unchangedThrough: update.unchangedThrough, evaluateFrom: from, end: end)
            }
            return (update.key, evaluator, alerts)
        }
        // The scopes this round left alone still see their samples age out.
        let expired = expire(before: end, evaluateFrom: from, to: to)
        // Sized once, and each scope's alerts let go of as they are moved: a live run's first
        // evaluation gives every transition of its retention, and growing the list by doubling
        // while every scope's list was still held added about 35 MB to its start-up peak at the
        // 100M stream's density (bench/RESULTS.md, twenty-eighth session).
        out.reserveCapacity(out.count + expired.count + updated.reduce(0) { $0 + $1.2.count })
        out += expired
        var pending = consume updated
        pending.reverse()
        while let (key, evaluator, alerts) = pending.popLast() {
            evaluators[key] = evaluator
            out += alerts
        }
        SLOAlert.sort(&out)
        return out
    }

    /// Leaves out, from now on, the samples dated before `cutoff` (a live run's retention
    /// forgot their events), and lets go of what it kept for them: cached samples, and the
    /// rollback alerts of rollbacks no longer known (at each watch's next update). The caller
    /// keeps the cutoff at or before every window that is still evaluated, so no verdict moves.
    public mutating func forget(before cutoff: Int64) {
        guard cutoff > horizon else { return }
        horizon = cutoff
        for metric in Array(cache.keys) {
            // In place: mapping into a new dictionary would hold every sample twice.
            var samples = cache.removeValue(forKey: metric)!
            for service in Array(samples.keys) { samples[service]!.dropSamples(before: cutoff) }
            cache[metric] = samples
        }
        for key in rollbackWatches.keys { rollbackWatches[key]!.forgetUnknownRollbacks() }
    }

    /// How many samples and watched rollbacks it keeps (for tests that memory stays flat).
    public var retainedItems: Int {
        cache.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.samples.count } }
            + evaluators.values.reduce(0) { $0 + $1.retainedSamples } + rollbackWatches.values.reduce(0) { $0 + $1.retainedItems }
    }

    /// Evaluates every scope's window expiries before `end`, and the rollback alerts due
    /// before it (a live run's clock moving on while no event arrives), and returns the
    /// transitions, in the backtest's order.
    /// - Parameter to: event times at or after it are not known yet (a backtest's `--to`).
    public mutating func expire(before end: Int64, evaluateFrom from: Int64 = .min, to: Int64 = .max) -> [SLOAlert] {
        var out: [SLOAlert] = []
        // The keys first: mutating while iterating the dictionary would copy it.
        let due = evaluators.compactMap { key, evaluator in evaluator.nextExpiry.map { $0 < end } ?? false ? key : nil }
        for key in due { out += evaluators[key]!.expire(before: end, evaluateFrom: from) }
        let watches = rollbackWatches.compactMap { key, watch in watch.nextInstant.map { $0 < end } ?? false ? key : nil }
        for key in watches { out += rollbackWatches[key]!.advance(from: from, to: to, end: end) }
        let ready = readinessWatches.compactMap { key, watch in watch.nextInstant.map { $0 < end } ?? false ? key : nil }
        for key in ready { out += readinessWatches[key]!.advance(from: from, to: to, end: end) }
        SLOAlert.sort(&out)
        return out
    }

    /// The earliest instant at which some scope's window loses a sample or a rollback alert is
    /// due (a live run's next evaluation with no new event); nil when none will.
    public var nextExpiry: Int64? {
        let windows = evaluators.values.lazy.compactMap(\.nextExpiry).min()
        let rollbacks = rollbackWatches.values.lazy.compactMap(\.nextInstant).min()
        let ready = readinessWatches.values.lazy.compactMap(\.nextInstant).min()
        return [windows, rollbacks, ready].compactMap { $0 }.min()
    }

    /// The samples of `members` with time in (after, before), in (time, id) order: only those
    /// an evaluator can still use, so a round costs the windows, not the whole history.
    /// - Parameters:
    ///   - samplesOf: a member's samples (default: those it holds; the samples the engine
    ///     keeps are asked of it one member at a time, so only one member's whole list is held
    ///     at once).
    ///   - bound: at least the number of a member's samples: the pooled list is allocated once
    ///     at the sum. The windows keep the list, so growing it by doubling as the members came
    ///     left them with up to twice the room they use (75 MB of the heap at the first evaluation
    ///     of a run at the 100M stream's density; bench/RESULTS.md, twenty-eighth session).
    static func samples(
        of members: [ServiceTimedSamples], after: Int64, before: Int64,
        samplesOf: (ServiceTimedSamples) -> [TimedSample] = \.samples, bound: (ServiceTimedSamples) -> Int = \.samples.count
    ) -> [TimedSample] {
        func slice(_ samples: [TimedSample]) -> ArraySlice<TimedSample> {
            samples[samples.partitionPoint { $0.time > after }..<samples.partitionPoint { $0.time >= before }]
        }
        if members.count == 1 { return Array(slice(samplesOf(members[0]))) }
        var pooled: [TimedSample] = []
        pooled.reserveCapacity(members.reduce(0) { $0 + bound($1) })
        for member in members { pooled += slice(samplesOf(member)) }
        TimedSample.sort(&pooled)
        return pooled
    }

    /// The changes of a scope's services, pooled: what its samples lost and gained, each in
    /// evaluation order.
    static func pool(_ changes: [SampleChange]) -> (removed: [TimedSample], added: [TimedSample]) {
        if changes.count == 1 { return (changes[0].removed, changes[0].added) }
        return (TimedSample.sorted(changes.flatMap(\.removed)), TimedSample.sorted(changes.flatMap(\.added)))
    }

    /// Every alert still firing, by SLO (in definition order, the readiness objectives after
    /// the others), then scope label, then kind (breach, regression, failed and stuck
    /// rollbacks, unexercised; one entry per rollback).
    public var firing: [Firing] {
        var out: [(index: Int, label: String, alert: Firing)] = []
        for (key, e) in evaluators {
            let label = SLOAlert.scopeLabel(key.scope)
            for (i, index) in windowGroups[key.group].enumerated() {
                if e.isBreachFiring(i) { out.append((index, label, Firing(slo: slos[index].name, scope: key.scope, kind: .breach))) }
                if e.isRegressionFiring(i) { out.append((index, label, Firing(slo: slos[index].name, scope: key.scope, kind: .regression))) }
            }
        }
        for (key, watch) in rollbackWatches {
            let scope = SLOScope.service(key.service)
            for (kind, rollback) in watch.firing {
                out.append((key.slo, SLOAlert.scopeLabel(scope), Firing(slo: slos[key.slo].name, scope: scope, kind: kind, rollbackID: rollback)))
            }
        }
        for (key, watch) in readinessWatches {
            let scope = SLOScope.service(key.service)
            for (kind, rollback) in watch.firing {
                out.append((slos.count + key.objective, SLOAlert.scopeLabel(scope),
                            Firing(slo: readiness[key.objective].name, scope: scope, kind: kind, rollbackID: rollback)))
            }
        }
        let rank: [SLOAlert.Kind: Int] = [.breach: 0, .regression: 1, .rollbackFailed: 2, .rollbackStuck: 3, .rollbackUnexercised: 4]
        out.sort {
            ($0.index, $0.label, rank[$0.alert.kind]!, $0.alert.rollbackID ?? "") < ($1.index, $1.label, rank[$1.alert.kind]!, $1.alert.rollbackID ?? "")
        }
        return out.map(\.alert)
    }

    /// Every scope of every SLO as its evaluator stands after the last evaluation (after
    /// `evaluate(_:from:to:)`, its state at `to`): the value against the objective and which
    /// alerts fire. By SLO in definition order, then scope label. Rollback alerts are in
    /// `firing`.
    public var status: [Status] {
        var out: [(index: Int, label: String, status: Status)] = []
        for (key, e) in evaluators {
            let label = SLOAlert.scopeLabel(key.scope)
            for (i, index) in windowGroups[key.group].enumerated() {
                let (value, samples) = e.currentValue(i)
                out.append((index, label, Status(
                    slo: slos[index], scope: key.scope, value: value, samples: samples,
                    breachFiring: e.isBreachFiring(i), regressionFiring: e.isRegressionFiring(i))))
            }
        }
        out.sort { ($0.index, $0.label) < ($1.index, $1.label) }
        return out.map(\.status)
    }

    /// One SLO over one scope, at the last evaluation.
    public struct Status: Sendable {
        public var slo: SLODefinition
        public var scope: SLOScope
        /// The percentile of the current window (microseconds); nil with no sample in it.
        public var value: Int64?
        public var samples: Int
        public var breachFiring: Bool
        public var regressionFiring: Bool
        /// Enough samples for a verdict (`min_samples`).
        public var hasVerdict: Bool { samples >= slo.minSamples }
    }

    /// An alert that is firing: its SLO, scope and kind, and for a rollback alert its rollback.
    public struct Firing: Sendable, Equatable {
        public var slo: String
        public var scope: SLOScope
        public var kind: SLOAlert.Kind
        public var rollbackID: String? = nil

        /// `slo kind scope [rollback]`, for messages.
        public var description: String {
            "\(slo) \(kind.rawValue) \(SLOAlert.scopeLabel(scope))" + (rollbackID.map { " rollback=\($0)" } ?? "")
        }
    }
}
