import DoraEvents

/// Everything one service (in the report's environment) contributes to the metrics, kept
/// compact until the report is computed.
struct ServiceState: Sendable {
    let name: String
    var deploys = ChunkedArray<DeployRecord>()
    var failedDeployTimes = ChunkedArray<Int64>()
    /// Commits of the successful deploys, contiguous per deploy in `deploys` order (deploy i
    /// owns `commits[deploys[i-1].commitEnd ..< deploys[i].commitEnd]`); the first entry per
    /// sha within one deploy only.
    var commits = ChunkedArray<CommitRecord>()
    var alerts = IDTable<AlertState>()
    /// The real rollbacks: a rollback with any event marked as a drill is never here.
    var rollbacks: [String: RollbackState] = [:]
    /// The drills (`"exercise": "drill"`), each with all its events, marked or not: only
    /// rollback readiness reads them, never the metrics of this state.
    var drills: [String: RollbackState] = [:]
    /// The time of its earliest event of known type (drills included): when it was first seen.
    var earliestEvent: Int64 = .max
    /// Times of this service's alert and rollback events (with the deploys: "listed in the
    /// period").
    var eventTimes = ChunkedArray<Int64>()
    /// States of this service built from other events on other threads, not yet merged in
    /// (`MetricsEngine.merge`). Merged only when the service is analysed (`consolidated`), one
    /// service at a time: merging all at once would hold every array twice.
    var parts: [ServiceState] = []
    /// The lead-time samples kept as deploys arrive, for the live run (`MetricsEngine.trackLeadTimes`);
    /// nil otherwise. Invariant: non-nil only while `parts` is empty.
    var leadTimes: LeadTimeIndex?
    /// The links and episodes kept as events arrive, for the live run
    /// (`MetricsEngine.trackEpisodes`); nil otherwise. Invariant: non-nil only while `parts`
    /// is empty.
    var episodes: EpisodeIndex?
    /// Completions of the rollbacks and drills a retention forgot (`forgetting(before:)`):
    /// rollback readiness counts every success.
    var forgottenSuccesses = 0
    /// The commits of the deploys a retention forgot, with the time of the latest of those
    /// deploys: a later deploy of one does not ship it first (docs/metrics.md), so it gives no
    /// lead time. A commit is remembered while that latest deploy is within the retention's
    /// `commitsSince`: the latest, not the earliest, so that a restart, which reads the log
    /// only from `commitsSince` on, remembers exactly the same commits. Empty unless a
    /// retention forgot something.
    var shippedBefore = SortedFingerprintTable<Int64>()

    init(name: String) {
        self.name = name
    }

    struct DeployRecord: Sendable {
        var id: String
        var time: Int64
        /// Only compared with the service's other versions (linking by `from_version`), so kept
        /// as a short fingerprint (with the 16-byte one, a record took 48 bytes instead of 40).
        var version: ShortFingerprint
        /// End of this deploy's commits in `commits`.
        var commitEnd: Int32
        var unplanned: Bool
    }

    /// One commit of a deploy: its sha's fingerprint and its commit time.
    struct CommitRecord: Sendable {
        var sha: ShortFingerprint
        var time: Int64
    }

    /// An alert episode: the earliest firing event and every resolution time seen.
    /// (Fields ordered so the flag packs after the list: a million of these live in a replay.)
    struct AlertState: Sendable {
        var firingTime: Int64 = 0
        /// The latest firing event's time: later than the resolution when the id recurs.
        var latestFiringTime: Int64 = .min
        var firingID: String? = nil
        var deployID: String? = nil
        var resolvedTimes = TimeList()
        /// Whether the earliest firing's severity is an incident severity.
        var isIncident = false
    }

    /// Times, the first held inline: almost every alert resolves once and almost every
    /// rollback completes once, so this allocates nothing in the common case.
    struct TimeList: Sendable {
        private var first: Int64 = 0
        private var more: [Int64]? = nil
        private var count: Int32 = 0

        mutating func append(_ t: Int64) {
            if count == 0 { first = t } else { more = (more ?? []) + [t] }
            count += 1
        }

        /// The smallest time >= `bound`, if any.
        func earliest(atOrAfter bound: Int64) -> Int64? {
            var best: Int64? = count > 0 && first >= bound ? first : nil
            for t in more ?? [] where t >= bound && (best == nil || t < best!) { best = t }
            return best
        }

        var earliest: Int64? { earliest(atOrAfter: .min) }

        var latest: Int64? {
            guard count > 0 else { return nil }
            return max(first, more?.max() ?? .min)
        }

        mutating func append(contentsOf other: TimeList) {
            if other.count > 0 { append(other.first) }
            for t in other.more ?? [] { append(t) }
        }
    }

    /// A rollback: the earliest started event, completions, failure, and its earliest event.
    /// (Fields ordered so the flags pack after the list.)
    struct RollbackState: Sendable {
        var startedTime: Int64 = 0
        /// The time of its earliest event (assigns an incomplete rollback to a period).
        var earliestTime: Int64 = .max
        var startedID: String? = nil
        var fromVersion: String? = nil
        var deployID: String? = nil
        var completedTimes = TimeList()
        /// The time of its earliest `failed` event; `.max`: none.
        var failedTime: Int64 = .max
        var trigger: Event.Rollback.Trigger = .manual

        var failed: Bool { failedTime != .max }
    }

    mutating func add(_ event: Event, incidentSeverities: Set<String>) {
        let t = event.time.microseconds
        earliestEvent = min(earliestEvent, t)
        switch event.details {
        case .deploy(let d):
            addDeploy(at: t, succeeded: d.status == .succeeded) { offer in
                for c in d.commits { offer(ShortFingerprint(id: c.sha), c.time.microseconds) }
                return (event.id, ShortFingerprint(id: d.version), d.unplanned)
            }
        case .alert(let a):
            addAlert(at: alerts.position(of: a.alertID, initial: AlertState()), firing: a.status == .firing, at: t, id: event.id) {
                (incidentSeverities.contains { $0.utf8.elementsEqual(a.severity.utf8) }, a.deployID)
            }
        case .rollback(let r):
            addRollback(r.rollbackID, status: r.status, isDrill: r.isDrill, at: t, id: event.id) { (r.fromVersion, r.deployID, r.trigger) }
        case .unknown:
            break
        }
    }

    /// `add` for a record read in place: a string is made only for a field that is kept.
    mutating func add(_ record: EventRecord, incidentSeverities: Set<String>) {
        let t = record.time
        earliestEvent = min(earliestEvent, t)
        let string = EventRecord.string
        switch record.details {
        case .deploy(let d):
            addDeploy(at: t, succeeded: d.status == .succeeded) { offer in
                d.forEachCommit { sha, time in offer(ShortFingerprint(IDFingerprint(bytes: sha)), time) }
                return (string(record.id), ShortFingerprint(IDFingerprint(bytes: d.version)), d.unplanned)
            }
        case .alert(let a):
            addAlert(at: alerts.position(of: a.alertID, initial: AlertState()), firing: a.status == .firing, at: t, id: string(record.id)) {
                (incidentSeverities.contains { EventRecord.equal(a.severity, $0) }, a.deployID.map(string))
            }
        case .rollback(let r):
            addRollback(string(r.rollbackID), status: r.status, isDrill: r.isDrill, at: t, id: string(record.id)) {
                (r.fromVersion.map(string), r.deployID.map(string), r.trigger)
            }
        case .unknown:
            break
        }
    }

    /// Adds a deploy: a failed one only counts; a successful one keeps its commits (the first
    /// of each sha, offered by `fields`) and the id, version and unplanned flag it returns.
    private mutating func addDeploy(
        at t: Int64, succeeded: Bool,
        _ fields: (_ offer: (ShortFingerprint, Int64) -> Void) -> (id: String, version: ShortFingerprint, unplanned: Bool)
    ) {
        guard succeeded else {
            failedDeployTimes.append(t)
            return
        }
        let start = commits.count
        let (id, version, unplanned) = fields { sha, time in
            if commits[start...].contains(where: { $0.sha == sha }) { return }
            commits.append(CommitRecord(sha: sha, time: time))
        }
        deploys.append(DeployRecord(id: id, time: t, version: version, commitEnd: Int32(commits.count), unplanned: unplanned))
        episodes?.didAddDeploy(at: deploys.count - 1)
        if leadTimes != nil {
            leadTimes!.add(deploy: deploys.count - 1, commitsFrom: start, deploys: deploys, commits: commits, shippedBefore: shippedBefore)
        }
    }

    /// Starts keeping the lead-time samples as deploys arrive, from the history so far.
    mutating func trackLeadTimes() {
        precondition(parts.isEmpty, "consolidate before tracking lead times")
        if leadTimes == nil { leadTimes = LeadTimeIndex(of: self) }
    }

    /// Starts keeping the links and episodes as events arrive, from the history so far.
    mutating func trackEpisodes(window: Int64, keeping metrics: Set<DurationMetric>) {
        precondition(parts.isEmpty, "consolidate before tracking episodes")
        if episodes == nil { episodes = EpisodeIndex(of: self, window: window, keeping: metrics) }
    }

    /// Hands the kept episode index what is about to change, with this state as it is (the
    /// index is moved out meanwhile, so that the state can be read whole).
    private mutating func tellEpisodes(_ body: (inout EpisodeIndex, ServiceState) -> Void) {
        guard var index = episodes.take() else { return }
        body(&index, self)
        episodes = index
    }

    /// Builds the kept lead-time samples again from the history (when a change to it is not
    /// one deploy more), keeping track of what changed since they were last taken.
    mutating func rebuildLeadTimes() {
        guard let previous = leadTimes else { return }
        // The previous index still derives the samples as last taken: its first deploys do not
        // depend on `shippedBefore`, and the deploys and commits are as they were.
        let taken = previous.samplesAsTaken(in: self)
        leadTimes = nil
        leadTimes = LeadTimeIndex(of: self, taken: taken)
    }

    /// Adds an event of the alert at `position` in `alerts`; `fields` (is it an incident, its
    /// deploy) is read only for a firing that is the alert's earliest so far.
    private mutating func addAlert(
        at position: Int, firing: Bool, at t: Int64, id: @autoclosure () -> String,
        _ fields: () -> (isIncident: Bool, deployID: String?)
    ) {
        eventTimes.append(t)
        tellEpisodes { $0.willChangeAlert(at: position, in: $1) }
        alerts[position: position].record(firing: firing, at: t, id: id, fields)
    }

    /// Adds a rollback event; `fields` (from version, deploy, trigger) is read only for a
    /// start that is the rollback's earliest so far.
    private mutating func addRollback(
        _ rollbackID: String, status: Event.Rollback.Status, isDrill: Bool, at t: Int64, id: @autoclosure () -> String,
        _ fields: () -> (fromVersion: String?, deployID: String?, trigger: Event.Rollback.Trigger)
    ) {
        tellEpisodes { $0.willChangeRollback(rollbackID, in: $1) }
        if isDrill || !drills.isEmpty && drills[rollbackID] != nil {
            // The rollback is a drill from now on, with the events it had as a real one.
            if isDrill, let earlier = rollbacks.removeValue(forKey: rollbackID) { drills[rollbackID, default: RollbackState()].merge(earlier) }
            drills[rollbackID, default: RollbackState()].record(status, at: t, id: id, fields)
            return
        }
        eventTimes.append(t)
        rollbacks[rollbackID, default: RollbackState()].record(status, at: t, id: id, fields)
    }

    /// The rollbacks and drills of this state and its parts, merged (what readiness reads,
    /// without merging anything else).
    func rollbacksAndDrills() -> (real: [String: RollbackState], drills: [String: RollbackState]) {
        guard !parts.isEmpty else { return (rollbacks, drills) }
        var real = rollbacks
        var drills = self.drills
        for part in parts {
            for (id, r) in part.rollbacks { real[id, default: RollbackState()].merge(r) }
            for (id, r) in part.drills { drills[id, default: RollbackState()].merge(r) }
        }
        for id in drills.keys {
            if let r = real.removeValue(forKey: id) { drills[id, default: RollbackState()].merge(r) }
        }
        return (real, drills)
    }

    /// The whole state: this one with `parts` merged in, as if every event had been added to
    /// one state.
    func consolidated() -> ServiceState {
        guard !parts.isEmpty else { return self }
        // This state's own arrays are the start (shared, not copied); the parts' follow.
        var whole = self
        whole.parts = []
        // Sized once for all the parts (`roomToGrow`), rather than doubling as they come: a
        // live run's start-up consolidates every service it replayed (bench/RESULTS.md,
        // twenty-fourth session).
        func total<T>(_ array: (ServiceState) -> ChunkedArray<T>) -> Int { roomToGrow(parts.reduce(array(self).count) { $0 + array($1).count }) }
        whole.deploys.reserveCapacity(total(\.deploys))
        whole.commits.reserveCapacity(total(\.commits))
        whole.eventTimes.reserveCapacity(total(\.eventTimes))
        whole.failedDeployTimes.reserveCapacity(total(\.failedDeployTimes))
        // At most the parts' alerts, fewer where an alert's events fell in several parts.
        whole.alerts.reserveCapacity(roomToGrow(parts.reduce(alerts.count) { $0 + $1.alerts.count }))
        var remembered: [SortedFingerprintTable<Int64>.Entry] = []  // merged in one pass, below
        for part in parts {
            whole.failedDeployTimes += part.failedDeployTimes
            whole.eventTimes += part.eventTimes
            let base = Int32(whole.commits.count)
            whole.commits += part.commits
            for var d in part.deploys {
                d.commitEnd += base
                whole.deploys.append(d)
            }
            for (alertID, o) in part.alerts {
                let p = whole.alerts.position(of: alertID, initial: AlertState())
                whole.alerts[position: p].merge(o)
            }
            whole.earliestEvent = min(whole.earliestEvent, part.earliestEvent)
            whole.forgottenSuccesses += part.forgottenSuccesses
            part.shippedBefore.forEach { sha, t in remembered.append(.init(key: sha, value: t)) }
        }
        whole.shippedBefore.raiseValues(remembered)
        (whole.rollbacks, whole.drills) = rollbacksAndDrills()
        return whole
    }

    func hasKnownEvent(in period: Period) -> Bool {
        parts.contains { $0.hasKnownEvent(in: period) } || deploys.contains { period.contains($0.time) } || failedDeployTimes.contains(where: period.contains)
            || eventTimes.contains(where: period.contains)
    }
}

extension ServiceState.AlertState {
    /// Records one event of this alert (see `ServiceState.addAlert`).
    mutating func record(
        firing: Bool, at t: Int64, id: () -> String, _ fields: () -> (isIncident: Bool, deployID: String?)
    ) {
        guard firing else {
            resolvedTimes.append(t)
            return
        }
        latestFiringTime = max(latestFiringTime, t)
        // The id is needed only to break a tie in time.
        guard firingID == nil || t < firingTime || (t == firingTime && precedes(t, id(), firingTime, firingID!)) else { return }
        firingTime = t
        firingID = id()
        (isIncident, deployID) = fields()
    }

    /// Adds the events of `other` (the same alert id, disjoint events).
    mutating func merge(_ other: Self) {
        if let otherID = other.firingID {
            record(firing: true, at: other.firingTime, id: { otherID }) { (other.isIncident, other.deployID) }
        }
        latestFiringTime = max(latestFiringTime, other.latestFiringTime)
        resolvedTimes.append(contentsOf: other.resolvedTimes)
    }

    /// The earliest resolution at or after the firing time (a resolution before it does not
    /// resolve it).
    var resolvedTime: Int64? {
        resolvedTimes.earliest(atOrAfter: firingTime)
    }

    /// It fired again after it resolved (an Alertmanager fingerprint recurring): the
    /// definitions still make one episode of it, from the first firing to the first resolution.
    var firesAgainAfterResolving: Bool {
        guard firingID != nil, let resolved = resolvedTime else { return false }
        return latestFiringTime > resolved
    }
}

extension ServiceState.RollbackState {
    /// Records one event of this rollback (see `ServiceState.addRollback`).
    mutating func record(
        _ status: Event.Rollback.Status, at t: Int64, id: () -> String,
        _ fields: () -> (fromVersion: String?, deployID: String?, trigger: Event.Rollback.Trigger)
    ) {
        earliestTime = min(earliestTime, t)
        switch status {
        case .started:
            guard startedID == nil || t < startedTime || (t == startedTime && precedes(t, id(), startedTime, startedID!)) else { return }
            startedTime = t
            startedID = id()
            (fromVersion, deployID, trigger) = fields()
        case .completed:
            completedTimes.append(t)
        case .failed:
            failedTime = min(failedTime, t)
        }
    }

    /// Adds the events of `other` (the same rollback id, disjoint events).
    mutating func merge(_ other: Self) {
        earliestTime = min(earliestTime, other.earliestTime)
        if let otherID = other.startedID {
            record(.started, at: other.startedTime, id: { otherID }) { (other.fromVersion, other.deployID, other.trigger) }
        }
        completedTimes.append(contentsOf: other.completedTimes)
        failedTime = min(failedTime, other.failedTime)
    }

    var hasStarted: Bool { startedID != nil }

    /// The earliest completion at or after the start; with no start, the earliest completion.
    var completedTime: Int64? {
        hasStarted ? completedTimes.earliest(atOrAfter: startedTime) : completedTimes.earliest
    }

    /// The time that assigns it to a period: its start, or for an incomplete rollback its
    /// earliest event.
    var periodTime: Int64 { hasStarted ? startedTime : earliestTime }
}
