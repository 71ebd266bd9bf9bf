public import DoraEvents

/// Accumulates stored events, then computes every metric of spec/metrics.md for a period.
///
/// Pure (no I/O). Invariants: the result depends only on the set of events added, never on
/// their order (every choice between events is by (time, id), ids compared as UTF-8 bytes);
/// events must already be de-duplicated by id (the log guarantees it). Linking uses every
/// event added, whatever the period.
/// - Complexity: `add` is O(1) amortized; `report` is O(n log n) in the events added.
public struct MetricsEngine: Sendable {
    public let configuration: MetricsConfiguration
    /// Every service seen (any environment) -> its slot in `teams` and `stateIndex`.
    private(set) var serviceIndex: [String: Int] = [:]
    /// Per service slot, the latest (time, id) event naming a non-empty team (any environment).
    private(set) var teams: [TeamClaim?] = []
    /// Per service slot, its index in `services` once it has an event of the environment.
    private var stateIndex: [Int] = []
    /// The services of the report's environment.
    private(set) var services: [ServiceState] = []
    /// Earliest and latest stored event time (every type and environment): the default period.
    public private(set) var earliest: Timestamp?
    public private(set) var latest: Timestamp?
    /// Stored events of a type this version does not know (all environments).
    public private(set) var ignored = 0
    public private(set) var added = 0

    public init(configuration: MetricsConfiguration = MetricsConfiguration()) {
        self.configuration = configuration
    }

    /// Adds one stored event.
    /// - Complexity: O(1) amortized.
    public mutating func add(_ event: Event) {
        added += 1
        let t = event.time.microseconds
        if earliest == nil || t < earliest!.microseconds { earliest = event.time }
        if latest == nil || t > latest!.microseconds { latest = event.time }
        let slot: Int
        if let s = serviceIndex[event.service] {
            slot = s
        } else {
            slot = teams.count
            serviceIndex[event.service] = slot
            teams.append(nil)
            stateIndex.append(-1)
        }
        if let team = event.team, !team.isEmpty {
            if let current = teams[slot], !precedes(current.time, current.id, t, event.id) {
                // The current claim is later: keep it.
            } else {
                teams[slot] = TeamClaim(time: t, id: event.id, team: team)
            }
        }
        if case .unknown = event.details {
            ignored += 1
            return
        }
        guard event.environment == configuration.environment else { return }
        if stateIndex[slot] < 0 {
            stateIndex[slot] = services.count
            services.append(ServiceState(name: event.service))
        }
        services[stateIndex[slot]].add(event, incidentSeverities: configuration.incidentSeverities)
    }

    /// The team of `service`: that of its latest event naming one (any environment), if any.
    public func team(of service: String) -> String? {
        serviceIndex[service].flatMap { teams[$0]?.team }
    }

    /// The per-service state (for tests of linking and episodes).
    var serviceStates: [ServiceState] { services }

    /// The default period: the days from the earliest to the latest stored event; nil when
    /// nothing was added.
    public var defaultPeriod: Period? {
        guard let earliest, let latest else { return nil }
        return Period.covering(earliest: earliest, latest: latest)
    }

    /// Computes the report for `period`.
    /// - Parameters:
    ///   - log: the log's own counts (stored, duplicates, rejected) for `events`.
    ///   - ignored: stored events of unknown type in the whole log, when known from the log
    ///     (a partial read adds only some events); nil counts the events added.
    ///   - groupOf: pools listed services into `Report.groups` by the name it gives (nil: in none).
    public func report(
        period: Period, log: (stored: Int, duplicates: Int, rejected: Int), ignored: Int? = nil,
        groupOf: ((String) -> String?)? = nil
    ) -> Report {
        // Each service's samples, sorted, computed on two threads (services are independent).
        let perService = ParallelMap.map(services) { state -> MetricSamples in
            var samples = state.samples(in: period, configuration: configuration)
            samples.seal()
            return samples
        }
        var listed: [ServiceReport] = []
        var totals = MetricSamples()
        var byTeam: [String: (services: Int, samples: MetricSamples)] = [:]
        var byGroup: [String: (services: Int, samples: MetricSamples)] = [:]
        for (state, samples) in zip(services, perService) {
            totals.merge(samples)
            guard state.hasKnownEvent(in: period) else { continue }
            let team = teams[serviceIndex[state.name]!]?.team
            listed.append(ServiceReport(service: state.name, team: team, metrics: Metrics(samples, period: period)))
            byTeam[team ?? Report.unassignedTeam, default: (0, MetricSamples())].services += 1
            byTeam[team ?? Report.unassignedTeam, default: (0, MetricSamples())].samples.merge(samples)
            if let group = groupOf?(state.name) {
                byGroup[group, default: (0, MetricSamples())].services += 1
                byGroup[group, default: (0, MetricSamples())].samples.merge(samples)
            }
        }
        listed.sort { $0.service.utf8.lexicographicallyPrecedes($1.service.utf8) }
        func pooled(_ groups: [String: (services: Int, samples: MetricSamples)]) -> [TeamReport] {
            groups.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { name in
                TeamReport(team: name, services: groups[name]!.services, metrics: Metrics(groups[name]!.samples, period: period))
            }
        }
        return Report(
            period: period, environment: configuration.environment,
            events: EventCounts(
                stored: log.stored, duplicates: log.duplicates, rejected: log.rejected, ignored: ignored ?? self.ignored,
                anomalies: totals.anomalies),
            totals: Metrics(totals, period: period),
            services: listed,
            teams: pooled(byTeam),
            groups: pooled(byGroup))
    }
}

/// The team named by one event, and which event (for "latest by time, then id").
struct TeamClaim: Sendable {
    var time: Int64
    var id: String
    var team: String
}

/// (time, id) order, ids compared as UTF-8 bytes (the same order as code points).
@inline(__always) func precedes(_ t1: Int64, _ id1: String, _ t2: Int64, _ id2: String) -> Bool {
    t1 != t2 ? t1 < t2 : id1.utf8.lexicographicallyPrecedes(id2.utf8)
}
