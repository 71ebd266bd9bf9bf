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
    private var evaluators: [Key: ScopeEvaluator] = [:]
    /// Per metric, each service's samples as last computed (the live run recomputes only the
    /// services a batch touched).
    private var cache: [DurationMetric: [String: ServiceTimedSamples]] = [:]

    struct Key: Hashable, Sendable {
        var slo: Int
        var scope: SLOScope
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
        let metrics = Set(slos.map(\.metric))
        let fresh = engine.timedSamples(of: metrics, only: touched)
        for metric in metrics {
            var known = touched == nil ? [:] : cache[metric] ?? [:]
            for s in fresh[metric] ?? [] { known[s.service] = s }
            cache[metric] = known
            byMetric[metric] = known.values.sorted { $0.service.utf8.lexicographicallyPrecedes($1.service.utf8) }
        }
        for (index, slo) in slos.enumerated() {
            let perService = byMetric[slo.metric]!
            let selected = perService.filter { selects(slo.selection, service: $0.service, team: $0.team) }
            var scopes: [(SLOScope, [TimedSample])] = []
            switch slo.per {
            case .service:
                for s in selected where touched?.contains(s.service) ?? true { scopes.append((.service(s.service), s.samples)) }
            case .group:
                if touched == nil || selected.contains(where: { touched!.contains($0.service) }) {
                    let pooled = selected.flatMap(\.samples).sorted(by: TimedSample.precedes)
                    scopes.append((.selection(slo.selection), pooled))
                }
            }
            for (scope, samples) in scopes {
                let key = Key(slo: index, scope: scope)
                var evaluator = evaluators[key] ?? ScopeEvaluator(slo: slo, scope: scope)
                let inPeriod = samples.prefix { $0.time < to }
                out += evaluator.update(to: Array(inPeriod), evaluateFrom: from)
                evaluators[key] = evaluator
            }
        }
        return out.sorted(by: SLOAlert.precedes)
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
