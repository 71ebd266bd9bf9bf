import DoraEvents

/// Everything one service (in the report's environment) contributes to the metrics, kept
/// compact until the report is computed.
struct ServiceState: Sendable {
    let name: String
    var deploys: [DeployRecord] = []
    var failedDeployTimes: [Int64] = []
    /// Commits of the successful deploys: (sha, index in `deploys`, commit time), the first
    /// entry per sha within one deploy only.
    var commits: [CommitRecord] = []
    var alerts: [String: AlertState] = [:]
    var rollbacks: [String: RollbackState] = [:]
    /// Times of this service's events of known types (for "listed in the period").
    var eventTimes: [Int64] = []

    init(name: String) {
        self.name = name
    }

    struct DeployRecord: Sendable {
        var id: String
        var time: Int64
        var version: String
        var unplanned: Bool
    }

    struct CommitRecord: Sendable {
        var sha: String
        var deploy: Int32
        var time: Int64
    }

    /// An alert episode: the earliest firing event and every resolution time seen.
    struct AlertState: Sendable {
        var firingTime: Int64 = 0
        var firingID: String? = nil
        var severity: String = ""
        var deployID: String? = nil
        var resolvedTimes: [Int64] = []
    }

    /// A rollback: the earliest started event, completions, failure, and its earliest event.
    struct RollbackState: Sendable {
        var startedTime: Int64 = 0
        var startedID: String? = nil
        var fromVersion: String? = nil
        var deployID: String? = nil
        var trigger: Event.Rollback.Trigger = .manual
        var completedTimes: [Int64] = []
        var failed = false
        var earliestTime: Int64 = .max
        var earliestID: String = ""
    }

    mutating func add(_ event: Event) {
        let t = event.time.microseconds
        eventTimes.append(t)
        switch event.details {
        case .deploy(let d):
            guard d.status == .succeeded else {
                failedDeployTimes.append(t)
                return
            }
            let index = Int32(deploys.count)
            deploys.append(DeployRecord(id: event.id, time: t, version: d.version, unplanned: d.unplanned))
            var seen: [String] = []
            for c in d.commits where !seen.contains(c.sha) {
                seen.append(c.sha)
                commits.append(CommitRecord(sha: c.sha, deploy: index, time: c.time.microseconds))
            }
        case .alert(let a):
            var state = alerts.removeValue(forKey: a.alertID) ?? AlertState()
            switch a.status {
            case .firing:
                if state.firingID == nil || precedes(t, event.id, state.firingTime, state.firingID!) {
                    state.firingTime = t
                    state.firingID = event.id
                    state.severity = a.severity
                    state.deployID = a.deployID
                }
            case .resolved:
                state.resolvedTimes.append(t)
            }
            alerts[a.alertID] = state
        case .rollback(let r):
            var state = rollbacks.removeValue(forKey: r.rollbackID) ?? RollbackState()
            if precedes(t, event.id, state.earliestTime, state.earliestID) || state.earliestTime == .max {
                state.earliestTime = t
                state.earliestID = event.id
            }
            switch r.status {
            case .started:
                if state.startedID == nil || precedes(t, event.id, state.startedTime, state.startedID!) {
                    state.startedTime = t
                    state.startedID = event.id
                    state.fromVersion = r.fromVersion
                    state.deployID = r.deployID
                    state.trigger = r.trigger
                }
            case .completed:
                state.completedTimes.append(t)
            case .failed:
                state.failed = true
            }
            rollbacks[r.rollbackID] = state
        case .unknown:
            break
        }
    }

    func hasKnownEvent(in period: Period) -> Bool {
        eventTimes.contains { period.contains($0) }
    }
}

extension ServiceState.AlertState {
    /// The earliest resolution at or after the firing time (a resolution before it does not
    /// resolve it).
    var resolvedTime: Int64? {
        resolvedTimes.filter { $0 >= firingTime }.min()
    }
}

extension ServiceState.RollbackState {
    var hasStarted: Bool { startedID != nil }

    /// The earliest completion at or after the start; with no start, the earliest completion.
    var completedTime: Int64? {
        hasStarted ? completedTimes.filter { $0 >= startedTime }.min() : completedTimes.min()
    }

    /// The time that assigns it to a period: its start, or for an incomplete rollback its
    /// earliest event.
    var periodTime: Int64 { hasStarted ? startedTime : earliestTime }
}
