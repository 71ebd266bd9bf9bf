public import DoraMetrics

/// A set of SLOs over the services of one environment: which scopes each SLO has, which
/// samples feed each scope, and the evaluators. The backtest and the live run share it.
///
/// Invariant: a scope's samples are those of its services in (time, id) order; a service
/// belongs to an SLO's selection by name, by its tier (from the assignments) or by its team
/// (the assignments' or else its events').
public struct SLOEvaluation: Sendable {
    public let slos: [SLODefinition]
    public let assignments: ServiceAssignments
    private(set) var evaluators: [Key: ScopeEvaluator] = [:]
    /// Per metric, each service's samples as last computed (the live run recomputes only the
    /// services a batch touched).
    private var cache: [DurationMetric: [String: ServiceTimedSamples]] = [:]
    /// Per group scope, the services it pooled at its last update (a change means a rebuild).
    private var members: [Key: [String]] = [:]
    /// Per scope left out of a round in which samples that may be its own changed (its service
    /// was touched but not selected, or none of its pool was touched): the earliest such change,
    /// which its next update must redo from.
    private var pendingChange: [Key: Int64] = [:]

    struct Key: Hashable, Sendable {
        var slo: Int
        var scope: SLOScope
    }

    /// The pooled samples of one selection for one metric after a time, within a round.
    private struct PoolKey: Hashable {
        var metric: DurationMetric
        var selection: SLODefinition.Selection
        var after: Int64
    }

    public init(slos: [SLODefinition], assignments: ServiceAssignments = ServiceAssignments()) {
        self.slos = slos
        self.assignments = assignments
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
    /// the backtest's order. With `services`, only scopes containing one of them are looked at
    /// (the live run passes the services its last batch touched).
    /// - Parameters:
    ///   - from: evaluations before it emit nothing (they still fill the windows).
    ///   - to: samples at or after it are left out.
    public mutating func evaluate(
        _ engine: MetricsEngine, services touched: Set<String>? = nil, from: Int64 = .min, to: Int64 = .max
    ) -> [SLOAlert] {
        var out: [SLOAlert] = []
        var byMetric: [DurationMetric: [ServiceTimedSamples]] = [:]
        // Per metric and service: the earliest sample time at which its samples differ from
        // the last round's (absent: unchanged).
        var changedFrom: [DurationMetric: [String: Int64]] = [:]
        let metrics = Set(slos.map(\.metric))
        let fresh = engine.timedSamples(of: metrics, only: touched)
        for metric in metrics {
            var known = touched == nil ? [:] : cache[metric] ?? [:]
            for s in fresh[metric] ?? [] {
                changedFrom[metric, default: [:]][s.service] = Self.divergence(known[s.service]?.samples ?? [], s.samples)
                known[s.service] = s
            }
            cache[metric] = known
            byMetric[metric] = known.values.sorted { $0.service.utf8.lexicographicallyPrecedes($1.service.utf8) }
        }
        // Pooled samples by what defines them: group SLOs on one metric and selection share them.
        var pools: [PoolKey: [TimedSample]] = [:]
        for (index, slo) in slos.enumerated() {
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
            let changes = changedFrom[slo.metric] ?? [:]
            switch slo.per {
            case .service:
                let refreshed = Set(scopes.map { SLOAlert.scopeLabel($0.0) })
                for (service, time) in changes where !refreshed.contains(SLOAlert.scopeLabel(.service(service))) {
                    let key = Key(slo: index, scope: .service(service))
                    if evaluators[key] != nil { pendingChange[key] = min(pendingChange[key] ?? .max, time) }
                }
            case .group:
                let key = Key(slo: index, scope: .selection(slo.selection))
                if scopes.isEmpty, evaluators[key] != nil, let earliest = changes.values.min() {
                    pendingChange[key] = min(pendingChange[key] ?? .max, earliest)
                }
            }
            for (scope, pooled) in scopes {
                let key = Key(slo: index, scope: scope)
                let names = pooled.map(\.service)
                let changed = min(
                    pooled.lazy.compactMap { changes[$0.service] }.min() ?? .max, pendingChange.removeValue(forKey: key) ?? .max)
                let sameMembers = members[key].map { $0 == names } ?? true
                members[key] = slo.per == .group ? names : nil
                func samples(after: Int64) -> [TimedSample] {
                    guard case .selection(let selection) = scope else { return Self.samples(of: pooled, after: after, before: to) }
                    let pool = PoolKey(metric: slo.metric, selection: selection, after: after)
                    if let known = pools[pool] { return known }
                    let merged = Self.samples(of: pooled, after: after, before: to)
                    pools[pool] = merged
                    return merged
                }
                // Mutated in place: a copy would make every window's storage copy on write.
                out += evaluators[key, default: ScopeEvaluator(slo: slo, scope: scope)].refresh(
                    samples: samples(after:),
                    unchangedThrough: sameMembers ? changed - 1 : .min, evaluateFrom: from)
            }
        }
        return out.sorted(by: SLOAlert.precedes)
    }

    /// The samples of `members` with time in (after, before), in (time, id) order: only those
    /// an evaluator can still use, so a round costs the windows, not the whole history.
    static func samples(of members: [ServiceTimedSamples], after: Int64, before: Int64) -> [TimedSample] {
        func slice(_ samples: [TimedSample]) -> ArraySlice<TimedSample> {
            samples[firstIndex(in: samples) { $0 > after }..<firstIndex(in: samples) { $0 >= before }]
        }
        if members.count == 1 { return Array(slice(members[0].samples)) }
        return members.flatMap { slice($0.samples) }.sorted(by: TimedSample.precedes)
    }

    /// The earliest time at which `new` differs from `old` (both in (time, id) order): the time
    /// of the first differing sample, or of the first one only one of them has; nil if equal.
    static func divergence(_ old: [TimedSample], _ new: [TimedSample]) -> Int64? {
        let common = min(old.count, new.count)
        var i = 0
        while i < common && old[i] == new[i] { i += 1 }
        if i < common { return min(old[i].time, new[i].time) }
        if old.count == new.count { return nil }
        return old.count > new.count ? old[i].time : new[i].time
    }

    /// The first index of sorted `samples` whose time satisfies `accept` (monotone in time).
    private static func firstIndex(in samples: [TimedSample], where accept: (Int64) -> Bool) -> Int {
        var (lo, hi) = (0, samples.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if accept(samples[mid].time) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// Every alert still firing, by SLO (in definition order), then scope label.
    public var firing: [(slo: String, scope: SLOScope, kind: SLOAlert.Kind)] {
        evaluators.sorted {
            ($0.key.slo, SLOAlert.scopeLabel($0.key.scope)) < ($1.key.slo, SLOAlert.scopeLabel($1.key.scope))
        }.flatMap { key, e in
            (e.isBreachFiring ? [(slos[key.slo].name, key.scope, SLOAlert.Kind.breach)] : [])
                + (e.isRegressionFiring ? [(slos[key.slo].name, key.scope, SLOAlert.Kind.regression)] : [])
        }
    }
}
