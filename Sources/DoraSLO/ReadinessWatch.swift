import DoraMetrics

/// A rollback-readiness objective (`metric: rollback_exercised` in a pipeline file): every
/// selected service exercised its rollback, real or drill, in any environment, successfully
/// within `maxAge` (docs/drills.md).
///
/// Invariant: `maxAge` is positive (microseconds).
public struct ReadinessObjective: Sendable, Equatable {
    public var name: String
    public var selection: SLODefinition.Selection = .all
    public var maxAge: Int64
    /// Also alert `RollbackFailed` while a selected service's latest exercise failed (until
    /// its next success). Default on.
    public var alertsOnFailure = true

    public init(name: String, maxAge: Int64) {
        self.name = name
        self.maxAge = maxAge
    }

    public static let metricName = "rollback_exercised"
}

/// The readiness alerts of one objective over one service of the environment:
/// `RollbackUnexercised` and, when on, `RollbackFailed`.
///
/// - `RollbackUnexercised` fires at the instant the service's last successful exercise becomes
///   `maxAge` old (with none, `maxAge` after the service was first seen; never before it was
///   seen), and resolves at its next success. Its `value` is the last success's age at `at`.
/// - `RollbackFailed` fires at a failure that follows the last success (or none) and resolves
///   at the next success; one alert per service, naming the rollback that failed first.
///
/// Both are functions of the service's timeline and the bounds, so the backtest and a live
/// run fed in time order emit the same transitions; the firing of `RollbackUnexercised` is due
/// on the clock (`nextInstant`), so a quiet service still alerts. A late event that changes the
/// past is answered by one transition at once, dated at the last one sent.
struct ReadinessWatch: Sendable {
    let objective: ReadinessObjective
    let service: String
    private var timeline: ReadinessTimeline
    private var sent: [SLOAlert.Kind: Sent] = [:]
    /// The earliest instant at which the clock makes a transition due; nil when none is pending.
    private(set) var nextInstant: Int64?

    /// What was last sent for one kind.
    private struct Sent: Sendable {
        var firing = false
        var at: Int64 = .min
        var rollbackID: String?
    }

    /// One transition the timeline implies.
    private struct Step {
        var firing: Bool
        var at: Int64
        var onClock: Bool
        var rollbackID: String?
    }

    init(objective: ReadinessObjective, timeline: ReadinessTimeline) {
        self.objective = objective
        self.service = timeline.service
        self.timeline = timeline
    }

    /// Takes the service's timeline as now known and emits what is due.
    /// - Parameters:
    ///   - from: transitions before it are not shown, and the alerts they concern stay ok.
    ///   - to: event times at or after it are not known yet (a backtest's `--to`).
    ///   - end: clock-driven instants at or after it are not due yet.
    mutating func update(_ timeline: ReadinessTimeline, from: Int64, to: Int64, end: Int64) -> [SLOAlert] {
        self.timeline = timeline
        return advance(from: from, to: to, end: end)
    }

    /// Emits what is due with the timeline unchanged (the clock moving on).
    mutating func advance(from: Int64, to: Int64, end: Int64) -> [SLOAlert] {
        var out: [SLOAlert] = []
        var next: Int64?
        let kinds: [(SLOAlert.Kind, [Step])] =
            [(.rollbackUnexercised, unexercisedSteps())] + (objective.alertsOnFailure ? [(.rollbackFailed, failedSteps())] : [])
        for (kind, steps) in kinds {
            var s = sent[kind] ?? Sent()
            var implied = false  // the state the known steps imply
            var impliedID: String?
            for step in steps {
                guard step.at < (step.onClock ? end : to) else {
                    if step.onClock { next = min(next ?? .max, step.at) }
                    break
                }
                guard step.at >= from else { continue }  // not shown; the alert stays ok
                implied = step.firing
                impliedID = step.firing ? step.rollbackID : impliedID
                // Before a retention's cut the steps are those of a shortened history: only the
                // state they lead to is the history's, and it was sent when it happened.
                guard step.at >= timeline.cut else { continue }
                guard step.at >= s.at, step.firing != s.firing else { continue }
                out.append(alert(kind, firing: step.firing, at: step.at, rollbackID: step.firing ? step.rollbackID : s.rollbackID))
                s = Sent(firing: step.firing, at: step.at, rollbackID: step.firing ? step.rollbackID : s.rollbackID)
            }
            if implied != s.firing {
                // A late event changed the past: say so now, at the last instant sent.
                let id = implied ? impliedID : s.rollbackID
                out.append(alert(kind, firing: implied, at: s.at, rollbackID: id))
                s = Sent(firing: implied, at: s.at, rollbackID: id)
            }
            sent[kind] = s
        }
        nextInstant = next
        return out
    }

    /// The kinds firing now, with the rollback a `RollbackFailed` names.
    var firing: [(kind: SLOAlert.Kind, rollbackID: String?)] {
        sent.compactMap { kind, s in s.firing ? (kind, kind == .rollbackFailed ? s.rollbackID : nil) : nil }
    }

    /// Fires when the last success (or the first sighting) is `maxAge` old; resolves at the
    /// next success.
    private func unexercisedSteps() -> [Step] {
        let successes = timeline.outcomes.filter(\.succeeded)
        var steps: [Step] = []
        var reference = timeline.firstSeen
        var i = successes.partitionPoint { $0.time > timeline.firstSeen }
        if i > 0 { reference = successes[i - 1].time }
        var firing = false
        while true {
            let nextSuccess = i < successes.count ? successes[i].time : nil
            if !firing {
                let due = max(reference + objective.maxAge, timeline.firstSeen)
                if nextSuccess.map({ due < $0 }) ?? true {
                    steps.append(Step(firing: true, at: due, onClock: true))
                    firing = true
                }
            }
            guard let success = nextSuccess else { return steps }
            if firing { steps.append(Step(firing: false, at: success, onClock: false)) }
            firing = false
            reference = success
            i += 1
        }
    }

    /// Fires at a failure after the last success; resolves at the next success.
    private func failedSteps() -> [Step] {
        var steps: [Step] = []
        var firing = false
        for o in timeline.outcomes {
            if !o.succeeded && !firing {
                steps.append(Step(firing: true, at: o.time, onClock: false, rollbackID: o.rollbackID))
                firing = true
            } else if o.succeeded && firing {
                steps.append(Step(firing: false, at: o.time, onClock: false))
                firing = false
            }
        }
        return steps
    }

    /// The last success at or before `t`.
    private func lastSuccess(atOrBefore t: Int64) -> (time: Int64, rollbackID: String, count: Int)? {
        var last: (Int64, String, Int)?
        var count = timeline.earlierSuccesses
        for o in timeline.outcomes where o.succeeded && o.time <= t {
            count += 1
            last = (o.time, o.rollbackID, count)
        }
        return last
    }

    private func alert(_ kind: SLOAlert.Kind, firing: Bool, at: Int64, rollbackID: String?) -> SLOAlert {
        let last = lastSuccess(atOrBefore: at)
        var a = SLOAlert(
            kind: kind, state: firing ? .firing : .resolved, slo: objective.name, scope: .service(service), metric: .rollbackTime,
            percentileTenths: 0, value: last.map { at - $0.time }, objective: objective.maxAge, baseline: nil, pValue: nil,
            samples: last?.count ?? 0, window: objective.maxAge, at: at, exemplars: last.map { [$0.rollbackID] } ?? [])
        a.metric = .rollbackExercised
        if kind == .rollbackFailed { a.rollbackID = rollbackID }
        return a
    }
}
