public import DoraEvents

/// Accumulates stored events, then computes every metric of docs/metrics.md for a period.
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
    /// The same slots by the fingerprint of the name: the replay path looks a record's service
    /// up by its bytes, making no string (a hit is checked against `names`, so a fingerprint
    /// collision falls back to `serviceIndex` and never mixes two services).
    private var slotByFingerprint = PositionMap(capacity: 64)
    /// Per service slot, the latest (time, id) event naming a non-empty team (any environment).
    private(set) var teams: [TeamClaim?] = []
    /// Per service slot, its index in `services` once it has an event of the environment.
    private var stateIndex: [Int] = []
    /// Per service slot, its name (its key in `serviceIndex`).
    private var names: [String] = []
    /// The slots named by an event added since `takeTouchedServices`, each once, and per slot
    /// whether it is among them.
    private var touched: [Int] = []
    private var isTouched: [Bool] = []
    /// The services of the report's environment.
    private(set) var services: [ServiceState] = []
    /// Per service with a rollback in an environment other than the configured one (real or
    /// drill): rollback readiness's state there. The configured environment's are in `services`.
    private(set) var exercises: [String: ServiceExercises] = [:]
    /// Earliest and latest stored event time (every type and environment).
    public private(set) var earliest: Timestamp?
    public private(set) var latest: Timestamp?
    /// Events dated after this are in the future of the report (a producer's clock fault, a
    /// typo such as 2099): they stay in every metric, but the default period leaves them out.
    /// Only ever raised (`raiseFutureCutoff`). Default: none is.
    public private(set) var futureCutoff: Int64 = .max
    /// The latest event time at or before `futureCutoff`: where the default period ends.
    public private(set) var latestPresent: Timestamp?
    /// The times of the events after `futureCutoff`.
    private var futureTimes: [Int64] = []
    /// Stored events of a type this version does not know (all environments).
    public private(set) var ignored = 0
    /// The environments of the events of known type that are not the configured one (to say
    /// which environments a log has when the configured one has no event).
    public private(set) var otherEnvironments = Set<String>()
    /// Whether an event of known type and of the configured environment was added. Set where a
    /// service's state is made (`stateIndex`), not per event (a store per event slowed the
    /// replay's hot path by several percent), or per event by an engine that keeps no services.
    public private(set) var hasEventsOfEnvironment = false
    /// Whether the engine keeps each service's state (events, episodes, rollbacks). An engine
    /// that does not keeps only what spans services: the times, teams, counts and
    /// environments (`makeEmpty(keepingServices: false)`). A partitioned replay counts every
    /// event into one, and folds the services' states partition by partition into engines
    /// that keep them.
    public let keepsServices: Bool
    public private(set) var added = 0
    /// What happened entirely before it was forgotten (`forget(before:)`); `.min`: nothing was.
    public private(set) var forgottenBefore: Int64 = .min
    /// The commits of forgotten deploys dated at or after it are remembered (`forget`).
    private var commitsRememberedSince: Int64 = .max
    /// Whether each service keeps its lead-time samples as deploys arrive (`trackLeadTimes`).
    public private(set) var tracksLeadTimes = false
    /// Whether each service keeps its links and episodes as events arrive (`trackEpisodes`).
    public private(set) var tracksEpisodes = false
    /// The metrics whose samples those keep (`trackEpisodes`).
    private var episodeMetrics: Set<DurationMetric> = []

    /// - Parameter futureCutoff: events after it leave the default period (the moment of the
    ///   report plus a day); nil: none does.
    public init(configuration: MetricsConfiguration = MetricsConfiguration(), futureCutoff: Timestamp? = nil) {
        self.init(configuration: configuration, futureCutoff: futureCutoff, keepingServices: true)
    }

    private init(configuration: MetricsConfiguration, futureCutoff: Timestamp?, keepingServices: Bool) {
        self.configuration = configuration
        self.futureCutoff = futureCutoff?.microseconds ?? .max
        keepsServices = keepingServices
    }

    /// An engine with the same configuration and cutoff and no event: a part of a parallel
    /// fold. It keeps the services' states as this one does, or as `keepingServices` says.
    public func makeEmpty(keepingServices: Bool? = nil) -> MetricsEngine {
        MetricsEngine(
            configuration: configuration, futureCutoff: futureCutoff == .max ? nil : Timestamp(microseconds: futureCutoff),
            keepingServices: keepingServices ?? keepsServices)
    }

    /// Events dated after `futureCutoff`, left out of the default period.
    public var futureEvents: Int { futureTimes.count }

    /// Moves the cutoff later (a live engine's "now" moves on): events at or before it join
    /// the default period.
    public mutating func raiseFutureCutoff(to cutoff: Timestamp) {
        guard cutoff.microseconds > futureCutoff else { return }
        futureCutoff = cutoff.microseconds
        var kept: [Int64] = []
        for t in futureTimes {
            if t > futureCutoff { kept.append(t) } else { notePresent(t) }
        }
        futureTimes = kept
    }

    private mutating func notePresent(_ t: Int64) {
        if latestPresent == nil || t > latestPresent!.microseconds { latestPresent = Timestamp(microseconds: t) }
    }

    /// Adds one stored event.
    /// - Complexity: O(1) amortized.
    public mutating func add(_ event: Event) {
        let slot = noteEvent(at: event.time.microseconds, service: event.service)
        if let team = event.team, !team.isEmpty { offerTeam(team, at: event.time.microseconds, id: event.id, slot: slot) }
        if event.isUnknownType {
            ignored += 1
            return
        }
        // Compared as bytes, as `add(_: EventRecord)` does (String's == would also equate other
        // Unicode normalizations of the same text).
        guard event.environment.utf8.elementsEqual(configuration.environment.utf8) else {
            otherEnvironments.insert(event.environment)
            if keepsServices, case .rollback(let r) = event.details {
                exercises[event.service, default: ServiceExercises()].add(
                    environment: event.environment, rollbackID: r.rollbackID, status: r.status, isDrill: r.isDrill,
                    at: event.time.microseconds, id: event.id, trigger: r.trigger)
            }
            return
        }
        guard keepsServices else {
            hasEventsOfEnvironment = true
            return
        }
        services[stateIndex(slot, service: event.service)].add(event, incidentSeverities: configuration.incidentSeverities)
    }

    /// `add` for a record read in place (replay): the same result, with a string made only for
    /// the fields the engine keeps.
    public mutating func add(_ record: EventRecord) {
        let slot = noteEvent(at: record.time, service: record.service)
        if let team = record.team, !team.isEmpty {
            // The same team as the current claim (the usual case) is not made into a string again.
            let current = teams[slot]?.team
            let same = current.map { EventRecord.equal(team, $0) } ?? false
            offerTeam(same ? current! : EventRecord.string(team), at: record.time, id: EventRecord.string(record.id), slot: slot)
        }
        if record.isUnknownType {
            ignored += 1
            return
        }
        guard record.isEnvironment(configuration.environment) else {
            // The set is tiny; comparing bytes first makes no string per event on the replay path.
            if !otherEnvironments.contains(where: { record.isEnvironment($0) }) {
                otherEnvironments.insert(record.environment.map(EventRecord.string) ?? Event.defaultEnvironment)
            }
            if keepsServices, case .rollback(let r) = record.details {
                let string = EventRecord.string
                exercises[names[slot], default: ServiceExercises()].add(
                    environment: record.environment.map(string) ?? Event.defaultEnvironment, rollbackID: string(r.rollbackID),
                    status: r.status, isDrill: r.isDrill, at: record.time, id: string(record.id), trigger: r.trigger)
            }
            return
        }
        guard keepsServices else {
            hasEventsOfEnvironment = true
            return
        }
        services[stateIndex(slot, service: names[slot])].add(record, incidentSeverities: configuration.incidentSeverities)
    }

    /// `noteEvent` for a service named by a record's bytes.
    private mutating func noteEvent(at t: Int64, service bytes: EventRecord.Bytes) -> Int {
        if let slot = slotByFingerprint[IDFingerprint(bytes: bytes)], EventRecord.equal(bytes, names[slot]) {
            return noteEvent(at: t, slot: slot)
        }
        return noteEvent(at: t, service: EventRecord.string(bytes))
    }

    /// Counts an event and returns its service's slot (made on first sight).
    private mutating func noteEvent(at t: Int64, service: String) -> Int {
        noteEvent(at: t, slot: slot(of: service))
    }

    private mutating func noteEvent(at t: Int64, slot: Int) -> Int {
        added += 1
        if earliest == nil || t < earliest!.microseconds { earliest = Timestamp(microseconds: t) }
        if latest == nil || t > latest!.microseconds { latest = Timestamp(microseconds: t) }
        if t > futureCutoff { futureTimes.append(t) } else { notePresent(t) }
        if !isTouched[slot] {
            isTouched[slot] = true
            touched.append(slot)
        }
        return slot
    }

    /// The services named by the events added since the last call (any environment, any type:
    /// an event of another environment can still change a service's team). The live run
    /// re-evaluates only these.
    public mutating func takeTouchedServices() -> Set<String> {
        var out = Set<String>()
        for slot in touched { out.insert(names[slot]) }
        for slot in touched { isTouched[slot] = false }
        touched.removeAll(keepingCapacity: true)
        return out
    }

    /// The slot of `service`, made on first sight.
    private mutating func slot(of service: String) -> Int {
        if let s = serviceIndex[service] { return s }
        serviceIndex[service] = teams.count
        let fingerprint = IDFingerprint(id: service)
        if slotByFingerprint[fingerprint] == nil { slotByFingerprint.updateValue(teams.count, forKey: fingerprint) }
        teams.append(nil)
        stateIndex.append(-1)
        names.append(service)
        isTouched.append(false)
        return teams.count - 1
    }

    /// Keeps the team of the latest (time, id) event naming one; `team` and `id` are read only
    /// when this event may be the latest.
    private mutating func offerTeam(_ team: @autoclosure () -> String, at t: Int64, id: @autoclosure () -> String, slot: Int) {
        if let current = teams[slot], t < current.time || (t == current.time && !precedes(current.time, current.id, t, id())) {
            return  // The current claim is later: keep it.
        }
        teams[slot] = TeamClaim(time: t, id: id(), team: team())
    }

    /// The index in `services` of the service in `slot`, made on its first event of the environment.
    private mutating func stateIndex(_ slot: Int, service: String) -> Int {
        if stateIndex[slot] < 0 {
            hasEventsOfEnvironment = true
            stateIndex[slot] = services.count
            var state = ServiceState(name: service)
            if tracksLeadTimes { state.trackLeadTimes() }
            services.append(state)
        }
        return stateIndex[slot]
    }

    /// Adds every event `other` holds, as if each had been added here: the result is the
    /// engine of the union of both sets of events (which must not share an id). Lets a replay
    /// fold disjoint parts of a log on several threads and combine them. A service both hold
    /// keeps `other`'s state as a part, merged when the service is analysed.
    /// - Complexity: O(services of `other`).
    public mutating func merge(_ other: consuming MetricsEngine) {
        precondition(other.configuration == configuration, "merging engines of different configurations")
        precondition(other.futureCutoff == futureCutoff, "merging engines of different future cutoffs")
        precondition(other.keepsServices == keepsServices, "merging an engine that keeps services with one that does not")
        added += other.added
        hasEventsOfEnvironment = hasEventsOfEnvironment || other.hasEventsOfEnvironment
        futureTimes += other.futureTimes
        if let l = other.latestPresent { notePresent(l.microseconds) }
        ignored += other.ignored
        otherEnvironments.formUnion(other.otherEnvironments)
        if let e = other.earliest, earliest.map({ e < $0 }) ?? true { earliest = e }
        if let l = other.latest, latest.map({ l > $0 }) ?? true { latest = l }
        for (service, e) in other.exercises { exercises[service, default: ServiceExercises()].merge(e) }
        var others = other.services
        other.services = []
        for (name, otherSlot) in other.serviceIndex {
            let slot = slot(of: name)
            if let claim = other.teams[otherSlot] { offerTeam(claim.team, at: claim.time, id: claim.id, slot: slot) }
            let otherState = other.stateIndex[otherSlot]
            guard otherState >= 0 else { continue }
            let moved = others[otherState]
            others[otherState] = ServiceState(name: name)  // frees its storage as we go
            if stateIndex[slot] < 0 {
                stateIndex[slot] = services.count
                services.append(moved)
            } else {
                var part = moved
                let nested = part.parts
                part.parts = []
                part.leadTimes = nil
                part.episodes = nil
                services[stateIndex[slot]].parts += [part] + nested
                services[stateIndex[slot]].leadTimes = nil  // no longer its whole history
                services[stateIndex[slot]].episodes = nil
            }
        }
    }

    /// Rollback readiness of `services` as of `period`'s end, with the drills of `period`
    /// (docs/drills.md).
    /// - Parameter objective: microseconds; a last success at least this old is stale.
    public func readiness(period: Period, objective: Int64, services: [String]) -> Readiness {
        Readiness(period: period, objective: objective, parts: readinessParts(period: period, objective: objective, services: services))
    }

    /// `readiness`'s part for this engine's services: a partitioned replay gathers each
    /// partition's, each listing its own services of the report.
    public func readinessParts(period: Period, objective: Int64, services: [String]) -> ReadinessParts {
        slice(self.services.indices, withOthers: true).readinessParts(period: period, objective: objective, services: services)
    }

    /// Every rollback of `service`, real or drill, in every environment.
    func exercises(of service: String) -> ServiceExercises {
        let state = serviceIndex[service].flatMap { stateIndex[$0] >= 0 ? services[stateIndex[$0]] : nil }
        return ServiceExercises(of: state, in: configuration.environment, elsewhere: exercises[service])
    }

    /// Per service of the environment (or only those of `only`), what the readiness SLO needs,
    /// from the events dated before `bound`, by service name; services first seen at or after
    /// the bound are left out.
    public func readinessTimelines(only: Set<String>? = nil, before bound: Int64 = .max) -> [ReadinessTimeline] {
        services.compactMap { state -> ReadinessTimeline? in
            guard only?.contains(state.name) ?? true else { return nil }
            let firstSeen = ([state] + state.parts).lazy.map(\.earliestEvent).min()!
            guard firstSeen < bound else { return nil }
            let exercises = exercises(of: state.name)
            return ReadinessTimeline(
                service: state.name, team: team(of: state.name), firstSeen: firstSeen, earlierSuccesses: exercises.forgottenSuccesses,
                cut: forgottenBefore, outcomes: exercises.outcomes(before: bound))
        }.sorted { $0.service.utf8.lexicographicallyPrecedes($1.service.utf8) }
    }

    /// The team of `service`: that of its latest event naming one (any environment), if any.
    public func team(of service: String) -> String? {
        serviceIndex[service].flatMap { teams[$0]?.team }
    }

    /// The teams services have by their events (each service's latest claim).
    public var eventTeams: Set<String> { Set(teams.compactMap { $0?.team }) }

    /// The per-service state (for tests of linking and episodes).
    var serviceStates: [ServiceState] { services.map { $0.consolidated() } }

    /// Merges the parts that `merge` left per service, one service at a time: for an engine
    /// that is analysed again and again (the live view), so each analysis need not merge them.
    /// - Parameter releaseMemory: called after every `releaseInterval` services merged. The
    ///   parts were built on the replay's threads, so their memory, freed as each service is
    ///   merged, is not reused for the merged states: without handing it back along the way, a
    ///   live run's start-up over 100M stored events rose from 0.83 to 1.17 GiB while merging
    ///   (bench/RESULTS.md, twenty-seventh session).
    public mutating func consolidate(releaseMemory: (() -> Void)? = nil) {
        var merged = 0
        for i in services.indices {
            if !services[i].parts.isEmpty {
                services[i] = services[i].consolidated()
                merged += 1
                if let releaseMemory, merged % Self.releaseInterval == 0 { releaseMemory() }
            }
            services[i].shippedBefore.pack()  // what a start-up remembered, deploy by deploy
        }
        if tracksLeadTimes { trackLeadTimes() }
        if tracksEpisodes { trackEpisodes(keeping: episodeMetrics) }
    }

    /// How many services `consolidate` merges, or `forget` replaces, between two calls of
    /// their `releaseMemory`.
    static let releaseInterval = 128

    /// Forgets what happened entirely before `cutoff` (a live run's retention, docs/run.md):
    /// each service keeps what `ServiceState.forgetting(before:)` says, and the default period
    /// starts no earlier than the cutoff. Reports and SLO samples at or after the cutoff stay
    /// those of the whole history as long as no episode, alert id, rollback id or commit spans
    /// the cutoff by more than the retention's slack.
    /// - Complexity: O(n) in the state held; the live run calls it once per retention step.
    /// - Parameters:
    ///   - commitsSince: how far back the commits of forgotten deploys are remembered (a later
    ///     deploy of one of them does not ship it first); default: as far as the cutoff (none
    ///     is).
    ///   - releaseMemory: called after every `releaseInterval` services. Each service's state
    ///     is replaced by a smaller copy, and the freed states leave holes that the copies do
    ///     not always fill (at a live run's start-up the step rose about 165 MB without it,
    ///     55 MB with it; bench/RESULTS.md, twenty-sixth session): the live run gives the
    ///     free pages back to the kernel there.
    ///   - threads: the threads the services are forgotten on, `releaseInterval` at a time. At
    ///     the 100M stream's density a step took 0.45 s on two threads and 0.78 s on one
    ///     (its links are built again too), for about the same CPU; on a smaller state two
    ///     threads took more CPU than one (bench/RESULTS.md, thirty-fourth session).
    public mutating func forget(
        before cutoff: Timestamp, commitsSince: Timestamp? = nil, releaseMemory: (() -> Void)? = nil, threads: ParallelMap.Threads = .everyCore
    ) {
        consolidate()
        let c = cutoff.microseconds
        let since = commitsSince?.microseconds ?? c
        var start = 0
        while start < services.count {
            let end = min(start + Self.releaseInterval, services.count)
            let forgotten = ParallelMap.map(Array(services[start..<end]), on: threads) { $0.forgetting(before: c, commitsSince: since) }
            services.replaceSubrange(start..<end, with: forgotten)
            if let releaseMemory, end - start == Self.releaseInterval { releaseMemory() }
            start = end
        }
        commitsRememberedSince = since
        for (name, e) in exercises { exercises[name] = e.forgetting(before: c) }
        if let earliest, earliest < cutoff { self.earliest = cutoff }
        forgottenBefore = max(forgottenBefore, c)
    }

    /// An event dated before what was forgotten (`forgottenBefore`) that arrives after it was
    /// (from a partition lagging behind the others): it is not added, as if it had been
    /// forgotten with the events of its time. Of a successful deploy, the commits are
    /// remembered as those of the forgotten deploys are, so that shipping one again gives no
    /// lead time whatever the order in which the deploys arrived.
    public mutating func addForgotten(_ event: Event) {
        guard case .deploy(let d) = event.details, d.status == .succeeded,
            event.environment.utf8.elementsEqual(configuration.environment.utf8)
        else { return }
        rememberShipped(service: event.service, at: event.time.microseconds, commits: d.commits.map { ShortFingerprint(id: $0.sha) })
    }

    /// Makes `addForgotten` remember the commits of deploys dated at or after `since`, before
    /// anything was forgotten: a live run restarted with a retention reads the blocks before
    /// the retention's start only for them, as the run before the restart remembered them.
    public mutating func rememberCommits(since: Timestamp) {
        commitsRememberedSince = min(commitsRememberedSince, since.microseconds)
    }

    /// `addForgotten` for a record read in place.
    public mutating func addForgotten(_ record: EventRecord) {
        guard case .deploy(let d) = record.details, d.status == .succeeded, record.isEnvironment(configuration.environment) else { return }
        var commits: [ShortFingerprint] = []
        d.forEachCommit { sha, _ in commits.append(ShortFingerprint(IDFingerprint(bytes: sha))) }
        rememberShipped(service: EventRecord.string(record.service), at: record.time, commits: commits)
    }

    private mutating func rememberShipped(service: String, at t: Int64, commits: [ShortFingerprint]) {
        guard t >= commitsRememberedSince, !commits.isEmpty else { return }
        let slot = slot(of: service)
        let index = stateIndex(slot, service: service)
        // A deploy already added may have been taken for the first to ship one of them. With
        // the lead-time index kept, only a sha it holds changes the samples: a backfill of old
        // deploys mostly names shas that no retained deploy ships, and rebuilding every index
        // it touches churned the heap (bench/RESULTS.md, twenty-first session).
        var changes = false
        for sha in commits where services[index].shippedBefore.raiseValue(to: t, forKey: sha) {
            changes = changes || (services[index].leadTimes?.shipsFirst(sha, in: services[index].commits) ?? true)
        }
        guard changes else { return }
        services[index].rebuildLeadTimes()
        if !isTouched[slot] {
            isTouched[slot] = true
            touched.append(slot)
        }
    }

    /// How many items (deploys, commits, alert episodes, rollbacks, event times, lead-time
    /// samples) the services hold: what a retention keeps bounded.
    public var retainedItems: Int {
        services.reduce(0) { $0 + $1.retainedItems + $1.parts.reduce(0) { $0 + $1.retainedItems } }
            + exercises.values.reduce(0) { $0 + $1.retainedItems }
    }

    /// Makes every service keep its lead-time samples as deploys arrive, instead of deriving
    /// them from its whole history each time they are asked for (the live run asks every
    /// round). Costs memory per commit sha, so `report` does not do it. Services merged from
    /// another engine stop keeping them until `consolidate`.
    public mutating func trackLeadTimes() {
        tracksLeadTimes = true
        for i in services.indices where services[i].parts.isEmpty { services[i].trackLeadTimes() }
    }

    /// With the lead times kept (`trackLeadTimes`): per service of `only` (nil: every one)
    /// whose lead-time samples changed since they were last taken, how; they count as taken
    /// from now on. An SLO evaluation that reads lead times round after round takes what
    /// changed here instead of comparing with a copy of its own.
    public mutating func takeLeadTimeChanges(only: Set<String>?) -> [String: SampleChange] {
        var out: [String: SampleChange] = [:]
        for i in services.indices where services[i].leadTimes != nil && (only?.contains(services[i].name) ?? true) {
            if let change = services[i].leadTimes!.takeChange() { out[services[i].name] = change }
        }
        return out
    }

    /// With the lead times kept: `service`'s lead-time samples as they were when last taken
    /// (`takeLeadTimeChanges`); nil if it has none kept. Derived from the index each time (in
    /// O(d log d + c) for the service's d deploys and c commits): for a window rebuilt.
    public func leadTimesAsTaken(of service: String) -> [TimedSample]? {
        guard let slot = serviceIndex[service], stateIndex[slot] >= 0 else { return nil }
        let state = services[stateIndex[slot]]
        return state.leadTimes?.samplesAsTaken(in: state)
    }

    /// At least as many as `leadTimesAsTaken(of:)` gives, without deriving them (in O(1)): what
    /// a pooled window reserves, so that it is not left with the spare room of doubling.
    public func leadTimesAsTakenBound(of service: String) -> Int {
        guard let slot = serviceIndex[service], stateIndex[slot] >= 0 else { return 0 }
        return services[stateIndex[slot]].leadTimes?.samplesAsTakenBound ?? 0
    }

    /// Makes every service keep its links and recovery episodes as events arrive
    /// (`EpisodeIndex`), instead of linking its whole history each time the samples of
    /// `EpisodeIndex.metrics` or its rollbacks' outcomes are asked for (the live run asks
    /// every round). Costs memory per deploy and per linked item, so `report` does not do it.
    /// A service added later gets its index when its changes are first taken
    /// (`takeSampleChanges`); services merged from another engine stop keeping them until
    /// `consolidate`.
    /// - Parameter metrics: the metrics whose samples (and their changes) are kept, of
    ///   `rollback_time`, `time_to_restore`, `recovery_time` and its phases: those some SLO
    ///   reads (the links serve the rollback alerts whatever they are).
    public mutating func trackEpisodes(keeping metrics: Set<DurationMetric> = Set(DurationMetric.allCases)) {
        tracksEpisodes = true
        episodeMetrics = metrics.intersection(EpisodeIndex.metrics)
        let window = configuration.attributionWindowMicroseconds
        for i in services.indices where services[i].parts.isEmpty { services[i].trackEpisodes(window: window, keeping: episodeMetrics) }
    }

    /// The metrics whose samples the services keep as events arrive (`trackLeadTimes`,
    /// `trackEpisodes`): an SLO evaluation takes their changes (`takeSampleChanges`) instead
    /// of deriving and comparing them.
    public var keptMetrics: Set<DurationMetric> {
        var kept: Set<DurationMetric> = tracksLeadTimes ? [.leadTime] : []
        kept.formUnion(episodeMetrics)
        return kept
    }

    /// Per metric of `keptMetrics` and service of `only` (nil: every one) whose samples of it
    /// changed since they were last taken, how; they count as taken from now on. The touched
    /// services' episode indexes are brought up to date first, so their rollbacks' outcomes can
    /// be read from them too, and which of those changed since the last take
    /// (`changedRollbackOutcomes`).
    public mutating func takeSampleChanges(
        only: Set<String>?, threads: ParallelMap.Threads = .everyCore
    ) -> [DurationMetric: [String: SampleChange]] {
        var out: [DurationMetric: [String: SampleChange]] = [:]
        if tracksLeadTimes {
            let changes = takeLeadTimeChanges(only: only)
            if !changes.isEmpty { out[.leadTime] = changes }
        }
        guard tracksEpisodes else { return out }
        // The services' indexes are updated on the threads, each moved out of its state
        // meanwhile (the states are only read, and no second reference to an index is left to
        // copy it on write). A service new since `trackEpisodes` gets its index at its first
        // round: building it as its events arrive would hold each of them as pending until
        // then (a whole replay's, at start-up).
        let (window, metrics) = (configuration.attributionWindowMicroseconds, episodeMetrics)
        let chosen = services.indices.filter { services[$0].parts.isEmpty && (only?.contains(services[$0].name) ?? true) }
        let work = chosen.map { i in (index: services[i].episodes.take(), state: services[i]) }
        let updated = ParallelMap.map(consuming: work, on: threads) { item in
            guard var index = item.index else { return EpisodeIndex(of: item.state, window: window, keeping: metrics) }
            index.update(in: item.state)
            return index
        }
        for (i, var index) in zip(chosen, updated) {
            index.takeChangedOutcomes()
            for metric in metrics {
                if let change = index.takeChange(metric) { out[metric, default: [:]][services[i].name] = change }
            }
            services[i].episodes = index
        }
        return out
    }

    /// `service`'s samples of `metric` (one of `keptMetrics`) as they were when last taken
    /// (`takeSampleChanges`); nil if it keeps none. Derived each time: for a window rebuilt.
    public func samplesAsTaken(_ metric: DurationMetric, of service: String) -> [TimedSample]? {
        if metric == .leadTime { return leadTimesAsTaken(of: service) }
        guard let slot = serviceIndex[service], stateIndex[slot] >= 0 else { return nil }
        let state = services[stateIndex[slot]]
        guard var index = state.episodes else { return nil }
        // A service with events not yet taken (not one of a round's, which are taken first)
        // answers from an updated copy: its changes stay to be taken.
        index.update(in: state)
        return index.samplesAsTaken(metric, in: state)
    }

    /// At least as many as `samplesAsTaken(_:of:)` gives, in O(1): what a pooled window
    /// reserves.
    public func samplesAsTakenBound(_ metric: DurationMetric, of service: String) -> Int {
        if metric == .leadTime { return leadTimesAsTakenBound(of: service) }
        guard let slot = serviceIndex[service], stateIndex[slot] >= 0 else { return 0 }
        let state = services[stateIndex[slot]]
        return state.episodes?.samplesAsTakenBound(metric, in: state) ?? 0
    }

    /// The default period: the days from the earliest to the latest stored event that is not
    /// after `futureCutoff`; nil when no such event was added.
    public var defaultPeriod: Period? {
        guard let earliest, let latestPresent else { return nil }
        return Period.covering(earliest: earliest, latest: latestPresent)
    }

    /// Computes the report for `period`.
    /// - Parameters:
    ///   - log: the log's own counts (stored, duplicates, rejected) for `events`.
    ///   - ignored: stored events of unknown type in the whole log, when known from the log
    ///     (a partial read adds only some events); nil counts the events added.
    ///   - groupOf: pools listed services into `Report.groups` by the name it gives (nil: in none).
    ///   - bucketBounds: when given (microseconds, ascending), each listed service also gets its
    ///     rollback and recovery times counted into these buckets.
    ///   - teamOf: a service's team given its name and the team its events name (a pipeline
    ///     file's `services[].team` rules, which win over the events); nil: the events' team.
    public func report(
        period: Period, log: (stored: Int, duplicates: Int, rejected: Int), ignored: Int? = nil,
        groupOf: (@Sendable (String) -> String?)? = nil, bucketBounds: [Int64]? = nil,
        teamOf: (@Sendable (_ service: String, _ fromEvents: String?) -> String?)? = nil
    ) -> Report {
        reports(
            periods: [period], log: log, ignored: ignored, groupOf: groupOf, bucketBounds: bucketBounds, teamOf: teamOf)[0]
    }

    /// The reports of several periods (a report's own, its series' buckets, a comparison
    /// period), each exactly what `report(period:)` gives for it, from one analysis of each
    /// service. The parameters are `report(period:)`'s, and:
    /// - Parameters:
    ///   - keepingSamples: keep the pooled samples behind each report's totals and teams in
    ///     `Report.samples` (for tests of change between periods).
    ///   - longestRecoveries: list that many closed recovery episodes of the first period, the
    ///     longest first, in its `Report.longestRecoveries` (0: none).
    ///   - listingServices: how many of the first periods list their services; the others
    ///     leave `services` empty (a series' buckets and a comparison period need only their
    ///     totals and teams, and a thousand services' figures per bucket cost time).
    /// - Complexity: one analysis per service, then a pass over its items per period.
    public func reports(
        periods: [Period], log: (stored: Int, duplicates: Int, rejected: Int), ignored: Int? = nil,
        groupOf: (@Sendable (String) -> String?)? = nil, bucketBounds: [Int64]? = nil,
        teamOf: (@Sendable (_ service: String, _ fromEvents: String?) -> String?)? = nil, keepingSamples: Bool = false,
        longestRecoveries: Int = 0, listingServices: Int = .max
    ) -> [Report] {
        let analyses = analyse(
            periods: periods, bucketBounds: bucketBounds, teamOf: teamOf, longestRecoveries: longestRecoveries,
            listingServices: listingServices)
        return reports(
            from: analyses, log: log, ignored: ignored, groupOf: groupOf, keepingSamples: keepingSamples,
            longestRecoveries: longestRecoveries)
    }

    /// How many services of the report's environment the engine keeps: the indices `slice`
    /// takes. A service keeps its index: new ones are added at the end, none is removed.
    public var serviceCount: Int { services.count }

    /// The services at `range` of those of the report's environment, as values
    /// (`ServiceSlice`). `withOthers` adds the rollbacks of the services that have some only in
    /// other environments, which readiness lists too: exactly one slice of a report takes them.
    public func slice(_ range: Range<Int>, withOthers: Bool) -> ServiceSlice {
        let states = Array(services[range])
        let teams = states.map { self.teams[serviceIndex[$0.name]!]?.team }
        var elsewhere: [String: ServiceExercises]
        if range == services.indices && withOthers {
            elsewhere = exercises
        } else {
            elsewhere = [:]
            for state in states { elsewhere[state.name] = exercises[state.name] }
            if withOthers {
                for (name, e) in exercises where serviceIndex[name].map({ stateIndex[$0] < 0 }) ?? true { elsewhere[name] = e }
            }
        }
        return ServiceSlice(configuration: configuration, states: states, teams: teams, elsewhere: elsewhere)
    }

    /// The first half of `reports(periods:...)`: each service's part of the reports of
    /// `periods`, from one analysis of each. A partitioned replay analyses one partition's
    /// engine at a time, gathers the parts (`ServiceAnalyses.append`), and assembles them with
    /// `reports(from:...)`. The parameters are `reports(periods:...)`'s.
    public func analyse(
        periods: [Period], bucketBounds: [Int64]? = nil,
        teamOf: (@Sendable (_ service: String, _ fromEvents: String?) -> String?)? = nil, longestRecoveries: Int = 0,
        listingServices: Int = .max
    ) -> ServiceAnalyses {
        slice(services.indices, withOthers: false).analyse(
            periods: periods, bucketBounds: bucketBounds, teamOf: teamOf, longestRecoveries: longestRecoveries,
            listingServices: listingServices)
    }

    /// The second half of `reports(periods:...)`: the report of each of `analyses`' periods,
    /// from the parts of every service (of this engine or of others with the same events'
    /// times and counts: a partitioned replay's engine that keeps no service). The parameters are
    /// `reports(periods:...)`'s.
    public func reports(
        from analyses: ServiceAnalyses, log: (stored: Int, duplicates: Int, rejected: Int), ignored: Int? = nil,
        groupOf: (@Sendable (String) -> String?)? = nil, keepingSamples: Bool = false, longestRecoveries: Int = 0
    ) -> [Report] {
        let periods = analyses.periods
        // The periods are independent too: their pooling and statistics run on both cores.
        var reports = ParallelMap.map(Array(periods.indices)) { p in
            assemble(
                period: periods[p], perService: analyses.services, index: p, log: log, ignored: ignored, groupOf: groupOf,
                keepingSamples: keepingSamples)
        }
        if longestRecoveries > 0, !reports.isEmpty {
            var all = analyses.services.flatMap(\.longest)
            all.sort {
                $0.recovery != $1.recovery
                    ? $0.recovery > $1.recovery
                    : precedes($0.deployTime.microseconds, $0.deployID, $1.deployTime.microseconds, $1.deployID)
            }
            reports[0].longestRecoveries = Array(all.prefix(longestRecoveries))
        }
        return reports
    }

    /// A service's team in a report: the one `teamOf` gives (a pipeline file's rules) for it
    /// and its events' team, else its events' team (the latest event naming one).
    func team(of service: String, teamOf: ((_ service: String, _ fromEvents: String?) -> String?)?) -> String? {
        Self.team(of: service, fromEvents: teams[serviceIndex[service]!]?.team, teamOf: teamOf)
    }

    /// `team(of:teamOf:)` given the team of the service's events.
    static func team(of service: String, fromEvents: String?, teamOf: ((_ service: String, _ fromEvents: String?) -> String?)?) -> String? {
        teamOf.map { $0(service, fromEvents) } ?? fromEvents
    }

    /// The report of period `index` from each service's part (in `services` order).
    private func assemble(
        period: Period, perService: [ServiceAnalyses.Service], index p: Int, log: (stored: Int, duplicates: Int, rejected: Int),
        ignored: Int?, groupOf: (@Sendable (String) -> String?)?, keepingSamples: Bool
    ) -> Report {
        var listed: [ServiceReport] = []
        var totals = MetricSamples()
        var listedDeployments: [Int] = []
        var byTeam: [String: Pool] = [:]
        var byGroup: [String: Pool] = [:]
        for part in perService {
            let samples = part.samples[p]
            totals.merge(samples)
            guard part.inPeriod[p] else { continue }
            listedDeployments.append(samples.deployments)
            if p < part.listed.count, let service = part.listed[p] { listed.append(service) }
            byTeam[part.team ?? Report.unassignedTeam, default: Pool()].add(samples)
            if let group = groupOf?(part.name) { byGroup[group, default: Pool()].add(samples) }
        }
        listed.sort { $0.service.utf8.lexicographicallyPrecedes($1.service.utf8) }
        let byName = { (a: String, b: String) in a.utf8.lexicographicallyPrecedes(b.utf8) }
        let teamNames = byTeam.keys.sorted(by: byName)
        let groupNames = byGroup.keys.sorted(by: byName)
        // The totals, then each team, then each group: their statistics (selections over every
        // pooled sample) computed on both cores, the totals being about as large as all teams.
        let pools = [Pool(samples: totals, deployments: listedDeployments)] + teamNames.map { byTeam[$0]! } + groupNames.map { byGroup[$0]! }
        let metrics = ParallelMap.map(pools) { Metrics($0.samples, period: period, serviceDeployments: $0.deployments) }
        func pooled(_ names: [String], from offset: Int) -> [TeamReport] {
            names.indices.map { i in
                TeamReport(team: names[i], services: pools[offset + i].deployments.count, metrics: metrics[offset + i])
            }
        }
        var report = Report(
            period: period, environment: configuration.environment,
            events: EventCounts(
                stored: log.stored, duplicates: log.duplicates, rejected: log.rejected, ignored: ignored ?? self.ignored,
                anomalies: totals.anomalies),
            totals: metrics[0],
            services: listed,
            teams: pooled(teamNames, from: 1),
            groups: pooled(groupNames, from: 1 + teamNames.count))
        report.recurringAlerts = totals.recurringAlerts
        report.clockSkew = totals.clockSkew.sorted {
            $0.service != $1.service ? $0.service.utf8.lexicographicallyPrecedes($1.service.utf8) : $0.id.utf8.lexicographicallyPrecedes($1.id.utf8)
        }
        if keepingSamples {
            report.samples = ReportSamples(totals: totals, teams: byTeam.mapValues(\.samples))
        }
        return report
    }
}

/// Each service's part of the reports of several periods (`MetricsEngine.analyse`), gathered
/// from one engine or, in a partitioned replay, from one engine per partition of services.
/// Invariant: every part is of the same `periods`, and no service has two parts.
public struct ServiceAnalyses: Sendable {
    public let periods: [Period]
    private(set) var services: [Service]

    /// What one service contributes to the reports of several periods: per period, its
    /// samples, whether it has an event there, and its own figures where the period lists it.
    struct Service: Sendable {
        var name: String
        var team: String?
        var samples: [MetricSamples]
        var inPeriod: [Bool]
        /// For the periods that list services (the first ones), its figures; nil where it has no
        /// event.
        var listed: [ServiceReport?]
        /// Its longest recoveries of the first period, with its team.
        var longest: [EpisodeDetail]
    }

    init(periods: [Period], services: [Service]) {
        self.periods = periods
        self.services = services
    }

    /// No service's part, for `periods`: what the parts of each partition are appended to.
    public init(periods: [Period]) {
        self.init(periods: periods, services: [])
    }

    /// The services with a part.
    public var count: Int { services.count }

    /// The services listed in the first period (those with an event of known type there).
    public var listedInFirstPeriod: [String] {
        services.compactMap { $0.listed.first.flatMap { $0?.service } }
    }

    /// Sets every service's samples aside in `store` (`MetricSamples.store(in:)`): what a
    /// partitioned replay does with each partition's, so that memory holds no partition's
    /// samples but the one being analysed. The reports read them back from there.
    /// They are stored by period, then list, then service: the runs that one pool reads (a
    /// period's list, of every service of a team) lie together, and are read back together.
    public mutating func storeSamples(in store: any SampleStore) {
        for p in periods.indices {
            for k in 0..<MetricSamples.durationLists {
                for i in services.indices { services[i].samples[p].withDuration(k) { $0.store(in: store) } }
            }
        }
    }

    /// Adds the parts of other services (another partition's).
    public mutating func append(contentsOf other: ServiceAnalyses) {
        precondition(other.periods == periods, "appending the analyses of other periods")
        services += other.services
    }
}

/// Listed services pooled into a team or group: their samples, and each one's deployment
/// count (for the group's frequency band).
private struct Pool: Sendable {
    var samples = MetricSamples()
    var deployments: [Int] = []

    mutating func add(_ service: MetricSamples) {
        samples.merge(service)
        deployments.append(service.deployments)
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
