/// Some of an engine's services, as values (`MetricsEngine.slice`), with what their part of a
/// report reads of the engine: their states, each one's team by its events, and their
/// rollbacks in other environments. Every report analyses its services through slices: a
/// replay takes all of them at once; the live view takes a few at a time, so that the rounds
/// going on meanwhile copy only the states of the slice in hand (`LiveState.report`).
///
/// Invariant: taking a slice copies no state (its values share their storage with the
/// engine's), and its parts are those `MetricsEngine.analyse` and `readinessParts` give for
/// the same services; parts of disjoint slices add up to the whole engine's.
public struct ServiceSlice: Sendable {
    let configuration: MetricsConfiguration
    /// The services' states, in the engine's order.
    let states: [ServiceState]
    /// Per state, the team of its latest event naming one.
    let teams: [String?]
    /// Rollbacks in other environments, by service: of the slice's services, and of the
    /// services with none in the report's environment when the slice was taken with them.
    let elsewhere: [String: ServiceExercises]

    /// The services of the report's environment in the slice.
    public var count: Int { states.count }

    /// Each service's part of the reports of `periods` (`MetricsEngine.analyse`, whose
    /// parameters these are).
    public func analyse(
        periods: [Period], bucketBounds: [Int64]? = nil,
        teamOf: (@Sendable (_ service: String, _ fromEvents: String?) -> String?)? = nil, longestRecoveries: Int = 0,
        listingServices: Int = .max
    ) -> ServiceAnalyses {
        // Each service's samples, sorted, and its own figures in each period that lists it,
        // computed on two threads (services are independent).
        let listing = min(listingServices, periods.count)
        let perService = ParallelMap.map(Array(states.indices)) { i -> ServiceAnalyses.Service in
            let whole = states[i].consolidated()
            let team = MetricsEngine.team(of: whole.name, fromEvents: teams[i], teamOf: teamOf)
            let (samples, longest) = whole.samples(in: periods, configuration: configuration, longestRecoveries: longestRecoveries)
            let sealed = samples.map { var s = $0; s.seal(); return s }
            let inPeriod = periods.map(whole.hasKnownEvent(in:))
            let listed = (0..<listing).map { p -> ServiceReport? in
                guard inPeriod[p] else { return nil }
                var service = ServiceReport(service: whole.name, team: team, metrics: Metrics(sealed[p], period: periods[p]))
                if let bucketBounds {
                    service.rollbackBuckets = sealed[p].rollbackDurations.buckets(bucketBounds)
                    service.recoveryBuckets = sealed[p].recovery.buckets(bucketBounds)
                }
                return service
            }
            return ServiceAnalyses.Service(
                name: whole.name, team: team, samples: sealed, inPeriod: inPeriod, listed: listed,
                longest: longest.map { var e = $0; e.team = team; return e })
        }
        return ServiceAnalyses(periods: periods, services: perService)
    }

    /// The slice's part of rollback readiness as of `period`'s end, listing `services` (those
    /// of the slice that the report lists) (`MetricsEngine.readinessParts`).
    public func readinessParts(period: Period, objective: Int64, services: [String]) -> ReadinessParts {
        let own = Dictionary(states.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let every = Set(own.keys).union(elsewhere.keys)
        let environment = configuration.environment
        let elsewhere = self.elsewhere
        return ReadinessParts(period: period, objective: objective, listed: services, everyService: every) { name in
            ServiceExercises(of: own[name], in: environment, elsewhere: elsewhere[name])
        }
    }
}
