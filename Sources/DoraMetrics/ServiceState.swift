import DoraEvents

/// Everything one service (in the report's environment) contributes to the metrics, kept
/// compact until the report is computed.
struct ServiceState: Sendable {
    let name: String
    var deploys: [DeployRecord] = []
    var failedDeployTimes: [Int64] = []
    /// Commits of the successful deploys, contiguous per deploy in `deploys` order (deploy i
    /// owns `commits[deploys[i-1].commitEnd ..< deploys[i].commitEnd]`); the first entry per
    /// sha within one deploy only.
    var commits: [CommitRecord] = []
    var alerts: [String: AlertState] = [:]
    var rollbacks: [String: RollbackState] = [:]
    /// Times of this service's alert and rollback events (with the deploys: "listed in the
    /// period").
    var eventTimes: [Int64] = []

    init(name: String) {
        self.name = name
    }

    struct DeployRecord: Sendable {
        var id: String
        var time: Int64
        var version: String
        /// End of this deploy's commits in `commits`.
        var commitEnd: Int32
        var unplanned: Bool
    }

    /// One commit of a deploy: its sha's fingerprint and its commit time.
    struct CommitRecord: Sendable {
        var sha: IDFingerprint
        var time: Int64
    }

    /// An alert episode: the earliest firing event and every resolution time seen.
    struct AlertState: Sendable {
        var firingTime: Int64 = 0
        var firingID: String? = nil
        /// Whether the earliest firing's severity is an incident severity.
        var isIncident = false
        var deployID: String? = nil
        var resolvedTimes = TimeList()
    }

    /// Times, the first held inline: almost every alert resolves once and almost every
    /// rollback completes once, so this allocates nothing in the common case.
    struct TimeList: Sendable {
        private var first: Int64 = 0
        private var count = 0
        private var more: [Int64]? = nil

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
    }

    /// A rollback: the earliest started event, completions, failure, and its earliest event.
    struct RollbackState: Sendable {
        var startedTime: Int64 = 0
        var startedID: String? = nil
        var fromVersion: String? = nil
        var deployID: String? = nil
        var trigger: Event.Rollback.Trigger = .manual
        var completedTimes = TimeList()
        var failed = false
        /// The time of its earliest event (assigns an incomplete rollback to a period).
        var earliestTime: Int64 = .max
    }

    mutating func add(_ event: Event, incidentSeverities: Set<String>) {
        let t = event.time.microseconds
        switch event.details {
        case .deploy(let d):
            guard d.status == .succeeded else {
                failedDeployTimes.appendCompactly(t)
                return
            }
            let start = commits.count
            for c in d.commits {
                let sha = IDFingerprint(id: c.sha)
                if commits[start...].contains(where: { $0.sha == sha }) { continue }
                commits.appendCompactly(CommitRecord(sha: sha, time: c.time.microseconds))
            }
            deploys.appendCompactly(
                DeployRecord(id: event.id, time: t, version: d.version, commitEnd: Int32(commits.count), unplanned: d.unplanned))
        case .alert(let a):
            eventTimes.appendCompactly(t)
            Self.record(a, id: event.id, at: t, incidentSeverities: incidentSeverities, into: &alerts[a.alertID, default: AlertState()])
        case .rollback(let r):
            eventTimes.appendCompactly(t)
            Self.record(r, id: event.id, at: t, into: &rollbacks[r.rollbackID, default: RollbackState()])
        case .unknown:
            break
        }
    }

    private static func record(
        _ a: Event.Alert, id: String, at t: Int64, incidentSeverities: Set<String>, into state: inout AlertState
    ) {
        switch a.status {
        case .firing:
            if state.firingID == nil || precedes(t, id, state.firingTime, state.firingID!) {
                state.firingTime = t
                state.firingID = id
                state.isIncident = incidentSeverities.contains(a.severity)
                state.deployID = a.deployID
            }
        case .resolved:
            state.resolvedTimes.append(t)
        }
    }

    private static func record(_ r: Event.Rollback, id: String, at t: Int64, into state: inout RollbackState) {
        state.earliestTime = min(state.earliestTime, t)
        switch r.status {
        case .started:
            if state.startedID == nil || precedes(t, id, state.startedTime, state.startedID!) {
                state.startedTime = t
                state.startedID = id
                state.fromVersion = r.fromVersion
                state.deployID = r.deployID
                state.trigger = r.trigger
            }
        case .completed:
            state.completedTimes.append(t)
        case .failed:
            state.failed = true
        }
    }

    func hasKnownEvent(in period: Period) -> Bool {
        deploys.contains { period.contains($0.time) } || failedDeployTimes.contains(where: period.contains)
            || eventTimes.contains(where: period.contains)
    }
}

extension ServiceState.AlertState {
    /// The earliest resolution at or after the firing time (a resolution before it does not
    /// resolve it).
    var resolvedTime: Int64? {
        resolvedTimes.earliest(atOrAfter: firingTime)
    }
}

extension ServiceState.RollbackState {
    var hasStarted: Bool { startedID != nil }

    /// The earliest completion at or after the start; with no start, the earliest completion.
    var completedTime: Int64? {
        hasStarted ? completedTimes.earliest(atOrAfter: startedTime) : completedTimes.earliest
    }

    /// The time that assigns it to a period: its start, or for an incomplete rollback its
    /// earliest event.
    var periodTime: Int64 { hasStarted ? startedTime : earliestTime }
}

extension Array {
    /// Appends, growing capacity by a quarter instead of doubling: the metric state of a
    /// large log is a few big arrays, and doubling would leave up to half of each unused.
    @inline(__always) mutating func appendCompactly(_ element: Element) {
        if count == capacity { reserveCapacity(count + count / 4 + 16) }
        append(element)
    }
}
