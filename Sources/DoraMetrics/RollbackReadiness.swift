public import DoraEvents

/// Rollbacks of one service, real or drill, by environment: what rollback readiness is made of
/// (docs/drills.md). Real and drill rollbacks alike say whether the service's rollback path
/// worked the last time it was exercised. The engine keeps one of these per service for the
/// environments other than its own (`MetricsEngine.exercises`); its own environment's
/// rollbacks and drills are `ServiceState`'s, shared (not copied) when asked for
/// (`MetricsEngine.exercises(of:)`).
///
/// Invariant: a rollback is keyed by (environment, `rollback_id`), as episodes are; its events
/// pair as the rollback-time metric pairs them (`ServiceState.RollbackState`); it is a drill
/// when any of its events is marked as one, and then it is in `drills` only. The state depends
/// only on the set of events.
struct ServiceExercises: Sendable {
    /// One environment's rollbacks, by rollback id, as `ServiceState` keeps them.
    struct Environment: Sendable {
        var real: [String: ServiceState.RollbackState] = [:]
        var drills: [String: ServiceState.RollbackState] = [:]
    }

    var environments: [String: Environment] = [:]
    /// Completions of the rollbacks a retention forgot (`forgetting(before:)`).
    var forgottenSuccesses = 0

    init() {}

    /// One environment's real rollbacks and drills.
    init(environment: String, real: [String: ServiceState.RollbackState], drills: [String: ServiceState.RollbackState]) {
        environments[environment] = Environment(real: real, drills: drills)
    }

    /// Every rollback of a service, real or drill, in every environment: those of its state in
    /// the report's `environment` (shared, not copied), and those `elsewhere`.
    init(of state: ServiceState?, in environment: String, elsewhere: ServiceExercises?) {
        if let state {
            let (real, drills) = state.rollbacksAndDrills()
            self.init(environment: environment, real: real, drills: drills)
            forgottenSuccesses = state.forgottenSuccesses
        } else {
            self.init()
        }
        if let elsewhere { merge(elsewhere) }
    }

    mutating func add(
        environment: String, rollbackID: String, status: Event.Rollback.Status, isDrill: Bool, at t: Int64, id: String,
        trigger: Event.Rollback.Trigger
    ) {
        var e = environments.removeValue(forKey: environment) ?? Environment()
        // The versions and deploy do not matter to readiness.
        if isDrill || e.drills[rollbackID] != nil {
            if let earlier = e.real.removeValue(forKey: rollbackID) { e.drills[rollbackID, default: ServiceState.RollbackState()].merge(earlier) }
            e.drills[rollbackID, default: ServiceState.RollbackState()].record(status, at: t, id: { id }) { (nil, nil, trigger) }
        } else {
            e.real[rollbackID, default: ServiceState.RollbackState()].record(status, at: t, id: { id }) { (nil, nil, trigger) }
        }
        environments[environment] = e
    }

    /// Adds the events of `other` (the same service, disjoint events).
    mutating func merge(_ other: ServiceExercises) {
        forgottenSuccesses += other.forgottenSuccesses
        for (name, o) in other.environments {
            var e = environments.removeValue(forKey: name) ?? Environment()
            for (id, r) in o.real { e.real[id, default: ServiceState.RollbackState()].merge(r) }
            for (id, r) in o.drills { e.drills[id, default: ServiceState.RollbackState()].merge(r) }
            // A rollback that either side knows as a drill is one.
            for id in Array(e.drills.keys) {
                if let r = e.real.removeValue(forKey: id) { e.drills[id, default: ServiceState.RollbackState()].merge(r) }
            }
            environments[name] = e
        }
    }

    /// Calls `body` with every rollback: its environment, id, state and whether it is a drill.
    private func forEach(_ body: (String, String, ServiceState.RollbackState, Bool) -> Void) {
        for (name, e) in environments {
            for (id, r) in e.real { body(name, id, r, false) }
            for (id, r) in e.drills { body(name, id, r, true) }
        }
    }

    /// Each rollback as it stood just before `bound`, from its events dated before it; the
    /// rollbacks with no such event are left out.
    func exercises(before bound: Int64) -> [Exercise] {
        var out: [Exercise] = []
        forEach { environment, id, r, isDrill in
            if let e = Self.exercise(environment, id, r, isDrill: isDrill, before: bound) { out.append(e) }
        }
        return out
    }

    /// The drills that started in `period` (or, with no start, whose earliest event is in it),
    /// judged on all their events, as the rollback-time metric judges the period's rollbacks.
    func drills(in period: Period) -> [Exercise] {
        environments.flatMap { name, e in
            e.drills.compactMap { id, r in
                period.contains(r.periodTime) ? Self.exercise(name, id, r, isDrill: true, before: .max) : nil
            }
        }
    }

    /// One rollback as of `bound`: completed if it completed before it, else failed if it
    /// failed before it, else in progress if it started before it; nil otherwise.
    private static func exercise(
        _ environment: String, _ id: String, _ r: ServiceState.RollbackState, isDrill: Bool, before bound: Int64
    ) -> Exercise? {
        let started: Int64? = r.hasStarted && r.startedTime < bound ? r.startedTime : nil
        let outcome: Exercise.Outcome
        let at: Int64
        if let done = r.completedTime, done < bound {
            (outcome, at) = (.completed, done)
        } else if r.failed, r.failedTime < bound {
            (outcome, at) = (.failed, r.failedTime)
        } else if let started {
            (outcome, at) = (.inProgress, started)
        } else {
            return nil
        }
        let duration = outcome != .inProgress ? started.map { at - $0 }.flatMap { $0 >= 0 ? $0 : nil } : nil
        return Exercise(
            rollbackID: id, environment: environment, isDrill: isDrill, trigger: r.trigger, outcome: outcome, started: started, at: at,
            duration: duration)
    }

    /// The successes (completions) and failures of the service's rollbacks dated before
    /// `bound`, in (time, rollback id) order: what the readiness SLO's alerts follow.
    func outcomes(before bound: Int64) -> [ExerciseOutcome] {
        var out: [ExerciseOutcome] = []
        forEach { _, id, r, _ in
            if let done = r.completedTime, done < bound { out.append(ExerciseOutcome(time: done, succeeded: true, rollbackID: id)) }
            if r.failed, r.failedTime < bound { out.append(ExerciseOutcome(time: r.failedTime, succeeded: false, rollbackID: id)) }
        }
        return out.sorted(by: ExerciseOutcome.precedes)
    }
}

/// One rollback of a service (real or drill, any environment) as readiness sees it.
public struct Exercise: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case completed, failed
        case inProgress = "in_progress"
    }

    public var rollbackID: String
    public var environment: String
    public var isDrill: Bool
    public var trigger: Event.Rollback.Trigger
    public var outcome: Outcome
    /// Its earliest `started` event's time; nil without one.
    public var started: Int64?
    /// When it got its outcome: its completion, its failure, or for one in progress its start.
    public var at: Int64
    /// Completion (or failure) minus start, microseconds; nil in progress, without a start, or
    /// when the outcome is dated before the start.
    public var duration: Int64?

    /// The later of two exercises: by `at`, then rollback id, then environment (UTF-8 bytes).
    static func isLater(_ a: Exercise, than b: Exercise) -> Bool {
        if a.at != b.at { return a.at > b.at }
        if a.rollbackID != b.rollbackID { return b.rollbackID.utf8.lexicographicallyPrecedes(a.rollbackID.utf8) }
        return b.environment.utf8.lexicographicallyPrecedes(a.environment.utf8)
    }
}

/// A rollback's success (its completion) or failure, at its event's time.
public struct ExerciseOutcome: Sendable, Equatable {
    public var time: Int64
    public var succeeded: Bool
    public var rollbackID: String

    public init(time: Int64, succeeded: Bool, rollbackID: String) {
        self.time = time
        self.succeeded = succeeded
        self.rollbackID = rollbackID
    }

    /// By time, then failure before success, then rollback id.
    static func precedes(_ a: Self, _ b: Self) -> Bool {
        if a.time != b.time { return a.time < b.time }
        if a.succeeded != b.succeeded { return !a.succeeded }
        return a.rollbackID.utf8.lexicographicallyPrecedes(b.rollbackID.utf8)
    }
}

/// What the readiness SLO needs of one service of the environment: when it was first seen and
/// every outcome of its rollbacks (any environment), in order.
public struct ReadinessTimeline: Sendable, Equatable {
    public var service: String
    /// The team its events name (the SLO's assignments may override it).
    public var team: String?
    /// Its earliest event of known type in the environment.
    public var firstSeen: Int64
    /// Dated before `outcomes`: successes a retention forgot, kept only as a count.
    public var earlierSuccesses = 0
    /// Where a retention cut the history (`.min`: nowhere). Before it, `outcomes` keep only
    /// what decides the state at the cut (the last success and the failures after it), so the
    /// steps they imply before it are not the history's and must not be sent.
    public var cut: Int64 = .min
    public var outcomes: [ExerciseOutcome]
}

/// The "Rollback readiness" section of a report (docs/drills.md): per service, its last
/// exercised rollback as of the period's end; the period's drills; the services never
/// exercised and those whose last success is at least the objective old.
///
/// Invariant: `services` is sorted by name (UTF-8 bytes); `neverExercised` and `stale` are
/// subsets of its names, in the same order.
public struct Readiness: Sendable, Equatable {
    /// The readiness objective (microseconds): a successful exercise at least this old is stale.
    public var objective: Int64
    /// The instant ages are measured at: the period's end.
    public var asOf: Timestamp
    public var drills: Drills
    public var services: [Service]
    public var neverExercised: [String]
    public var stale: [String]

    /// The drills that started in the period, of every service and environment.
    public struct Drills: Sendable, Equatable {
        public var count: Int
        public var completed: Int
        public var failed: Int
        public var inProgress: Int
        /// completed / (completed + failed); nil when neither.
        public var successRate: Double?
        /// Over the completed drills with a start.
        public var duration: Stat
    }

    public struct Service: Sendable, Equatable {
        public var service: String
        /// Its latest rollback with an event before `asOf`, real or drill, any environment.
        public var lastExercise: Exercise?
        /// When its latest successful one completed.
        public var lastSuccess: Int64?
        /// No successful exercise, or the last one at least the objective before `asOf`.
        public var isStale: Bool
    }
}

extension Readiness {
    /// The readiness objective when none is given: 30 days.
    public static let defaultObjective: Int64 = 30 * Timestamp.microsecondsPerDay

    /// A duration in microseconds as days (fractional).
    public static func days(_ microseconds: Int64) -> Double {
        Double(microseconds) / Double(Timestamp.microsecondsPerDay)
    }

    /// Readiness as of `period`'s end from the parts of every service (`ReadinessParts`, of
    /// one engine or gathered from a partitioned replay's).
    public init(period: Period, objective: Int64, parts: ReadinessParts) {
        precondition(parts.period == period && parts.objective == objective, "readiness parts of another period or objective")
        self.objective = objective
        self.asOf = period.to
        let rows = parts.rows.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let entries = rows.compactMap(\.entry)
        let periodDrills = rows.flatMap(\.drills)
        self.services = entries
        neverExercised = entries.filter { $0.lastExercise == nil }.map(\.service)
        stale = entries.filter { $0.lastExercise != nil && $0.isStale }.map(\.service)
        let completed = periodDrills.filter { $0.outcome == .completed }
        let failed = periodDrills.count(where: { $0.outcome == .failed })
        drills = Drills(
            count: periodDrills.count, completed: completed.count, failed: failed,
            inProgress: periodDrills.count - completed.count - failed,
            successRate: completed.count + failed == 0 ? nil : Double(completed.count) / Double(completed.count + failed),
            duration: Stat(completed.compactMap(\.duration)))
    }
}

/// Each service's part of rollback readiness (its entry when it is listed, its drills of the
/// period), computed where the services' rollbacks are: from one engine, or partition by
/// partition in a partitioned replay, then assembled by `Readiness(period:objective:parts:)`.
/// Invariant: every row is of `period` and `objective`, and no service has two.
public struct ReadinessParts: Sendable {
    public let period: Period
    public let objective: Int64
    fileprivate var rows: [Row]

    fileprivate struct Row: Sendable {
        var name: String
        var entry: Readiness.Service?
        var drills: [Exercise]
    }

    /// No service's part: what the parts of each partition are appended to.
    public init(period: Period, objective: Int64) {
        self.period = period
        self.objective = objective
        rows = []
    }

    /// The parts of every service of `everyService` and `listed` (the report's services, which
    /// get an entry); `exercises` gives a service's rollbacks of every environment.
    init(period: Period, objective: Int64, listed: [String], everyService: Set<String>, exercises: @Sendable (String) -> ServiceExercises) {
        self.init(period: period, objective: objective)
        let asOf = period.to.microseconds
        // One service's rollbacks at a time on each core (merging a service's parts copies
        // them). The services are independent.
        let listedSet = Set(listed)
        rows = ParallelMap.map(Array(everyService.union(listed))) { name -> Row in
            let gathered = exercises(name)
            let drills = gathered.drills(in: period)
            guard listedSet.contains(name) else { return Row(name: name, entry: nil, drills: drills) }
            let all = gathered.exercises(before: asOf)
            let last = all.reduce(nil as Exercise?) { best, e in best.map { Exercise.isLater(e, than: $0) ? e : $0 } ?? e }
            let lastSuccess = all.lazy.filter { $0.outcome == .completed }.map(\.at).max()
            let isStale = lastSuccess.map { asOf - $0 >= objective } ?? true
            let entry = Readiness.Service(service: name, lastExercise: last, lastSuccess: lastSuccess, isStale: isStale)
            return Row(name: name, entry: entry, drills: drills)
        }
    }

    /// Adds the parts of other services (another partition's).
    public mutating func append(contentsOf other: ReadinessParts) {
        precondition(other.period == period && other.objective == objective, "appending readiness parts of another period or objective")
        rows += other.rows
    }
}
