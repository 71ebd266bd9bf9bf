public import DoraMetrics
import DoraEvents

/// One transition of an (SLO, scope, kind) state machine, or of one rollback's alert (then
/// `rollbackID` is set): the alert object of docs/slo.md, emitted alike by the live run and
/// the backtest.
///
/// Durations are microseconds here and seconds in the JSON. `baseline` and `pValue` are set
/// for regression alerts whose windows both held `min_samples`; nil otherwise.
public struct SLOAlert: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case breach = "SLOBreach"
        case regression = "SLORegression"
        /// A rollback of a selected service failed (docs/slo.md, "Failed and stuck rollbacks").
        case rollbackFailed = "RollbackFailed"
        /// A rollback of a selected service is still in flight past the SLO's objective.
        case rollbackStuck = "RollbackStuck"
        /// A selected service's last successful rollback, real or drill, is older than a
        /// readiness objective (docs/drills.md).
        case rollbackUnexercised = "RollbackUnexercised"
    }

    /// What an alert measures: a percentile of a duration metric, or (readiness) the age of a
    /// service's last successful rollback.
    public enum Metric: Sendable, Equatable {
        case duration(DurationMetric)
        case rollbackExercised

        /// The name slo.md and pipeline files use.
        public var rawValue: String {
            switch self {
            case .duration(let m): return m.rawValue
            case .rollbackExercised: return ReadinessObjective.metricName
            }
        }
    }

    public enum State: String, Sendable {
        case firing, resolved
    }

    public var kind: Kind
    public var state: State
    public var slo: String
    public var scope: SLOScope
    public var metric: Metric
    /// The percentile in tenths; 0 for a readiness alert, which has none (`null` in the JSON).
    public var percentileTenths: Int
    /// The current window's percentile; nil at an expiry that left the window empty.
    public var value: Int64?
    public var objective: Int64
    public var baseline: Int64?
    public var pValue: Double?
    /// Samples in the current window.
    public var samples: Int
    public var window: Int64
    /// The evaluation's time (a sample time, or an instant a sample left a window).
    public var at: Int64
    /// Up to three ids of the current window's largest samples, largest first; for a rollback
    /// alert, its rollback.
    public var exemplars: [String]
    /// The rollback a `RollbackFailed` or `RollbackStuck` alert is about; nil for the others.
    public var rollbackID: String?

    public init(
        kind: Kind, state: State, slo: String, scope: SLOScope, metric: DurationMetric, percentileTenths: Int, value: Int64?,
        objective: Int64, baseline: Int64?, pValue: Double?, samples: Int, window: Int64, at: Int64, exemplars: [String]
    ) {
        self.kind = kind
        self.state = state
        self.slo = slo
        self.scope = scope
        self.metric = .duration(metric)
        self.percentileTenths = percentileTenths
        self.value = value
        self.objective = objective
        self.baseline = baseline
        self.pValue = pValue
        self.samples = samples
        self.window = window
        self.at = at
        self.exemplars = exemplars
    }

    /// The scope as slo.md prints it: `{"service": NAME}` for one service, else the selection.
    public var scopeJSON: String {
        switch scope {
        case .service(let name): return "{\"service\": \(JSONText.quoted(name))}"
        case .selection(.all): return "{}"
        case .selection(.services(let names)): return "{\"service\": [\(names.map(JSONText.quoted).joined(separator: ", "))]}"
        case .selection(.team(let team)): return "{\"team\": \(JSONText.quoted(team))}"
        case .selection(.tier(let tier)): return "{\"tier\": \(JSONText.quoted(tier))}"
        }
    }

    /// A short label for a scope (`service=checkout`, `tier=tier-1`, `all`): Prometheus labels
    /// and log lines.
    public static func scopeLabel(_ scope: SLOScope) -> String {
        switch scope {
        case .service(let name): return "service=\(name)"
        case .selection(.all): return "all"
        case .selection(.services(let names)): return "service=" + names.joined(separator: ",")
        case .selection(.team(let team)): return "team=\(team)"
        case .selection(.tier(let tier)): return "tier=\(tier)"
        }
    }

    /// The percentile as slo.md prints it: `95`, `99.9`.
    public var percentileText: String {
        percentileTenths % 10 == 0 ? String(percentileTenths / 10) : "\(percentileTenths / 10).\(percentileTenths % 10)"
    }

    /// One line of JSON (`doralog.alert/v1`), keys in slo.md's order.
    public var json: String {
        func seconds(_ us: Int64) -> String { JSONText.number(Double(us) / 1_000_000) }
        let fields: [(String, String)] = [
            ("schema", JSONText.quoted("doralog.alert/v1")),
            ("alert", JSONText.quoted(kind.rawValue)),
            ("state", JSONText.quoted(state.rawValue)),
            ("slo", JSONText.quoted(slo)),
            ("scope", scopeJSON),
            ("metric", JSONText.quoted(metric.rawValue)),
            ("percentile", metric == .rollbackExercised ? "null" : percentileText),
            ("value", value.map(seconds) ?? "null"),
            ("objective", seconds(objective)),
            ("baseline", baseline.map(seconds) ?? "null"),
            ("p_value", pValue.map(JSONText.number) ?? "null"),
            ("samples", String(samples)),
            ("window_seconds", String(window / 1_000_000)),
            ("at", JSONText.quoted(Timestamp(microseconds: at).rfc3339)),
            ("exemplars", "[" + exemplars.map(JSONText.quoted).joined(separator: ", ") + "]"),
        ] + (rollbackID.map { [("rollback_id", JSONText.quoted($0))] } ?? [])
        return "{" + fields.map { "\(JSONText.quoted($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// The backtest's order: (at, slo, scope, alert), then rollback id. The scopes' JSON is
    /// made only for alerts of one SLO at one time, which few comparisons are.
    public static func precedes(_ a: SLOAlert, _ b: SLOAlert) -> Bool {
        if a.at != b.at { return a.at < b.at }
        if a.slo != b.slo { return a.slo.utf8.lexicographicallyPrecedes(b.slo.utf8) }
        let (scopeA, scopeB) = (a.scopeJSON, b.scopeJSON)
        if scopeA != scopeB { return scopeA.utf8.lexicographicallyPrecedes(scopeB.utf8) }
        if a.kind != b.kind { return a.kind.rawValue.utf8.lexicographicallyPrecedes(b.kind.rawValue.utf8) }
        return (a.rollbackID ?? "").utf8.lexicographicallyPrecedes((b.rollbackID ?? "").utf8)
    }

    /// Puts `alerts` in `precedes` order, in place (stable). A live run's first evaluation
    /// returns every transition of its retention at once: sorting pairs of an alert and its
    /// scope's JSON into a new array held three copies of them at its peak (about 50 MB at the
    /// 100M stream's density; bench/RESULTS.md, twenty-seventh session).
    public static func sort(_ alerts: inout [SLOAlert]) {
        alerts.sort(by: precedes)
    }

    /// What identifies the alert across its transitions: SLO, scope, kind, and rollback.
    public var identity: String {
        [slo, Self.scopeLabel(scope), kind.rawValue, rollbackID ?? ""].joined(separator: "\u{0}")
    }

    /// Of a sequence of transitions in order, the latest of each (SLO, scope, kind) that left
    /// it firing: what fires at the end, in the order the alerts first appear. Positions are
    /// kept rather than the alerts: a live run's first evaluation gives every transition of
    /// its retention, and a copy of the latest of each, with a list of them all, added about
    /// 40 MB to its peak at the 100M stream's density (bench/RESULTS.md, twenty-eighth session).
    public static func stillFiring(_ transitions: [SLOAlert]) -> [SLOAlert] {
        // Per identity, in the order they first appear, the position of its latest transition.
        var latest: [Int] = []
        do {
            var slot: [String: Int] = [:]
            for (i, t) in transitions.enumerated() {
                let key = t.identity
                if let s = slot[key] { latest[s] = i } else { slot[key] = latest.count; latest.append(i) }
            }
        }
        return latest.lazy.map { transitions[$0] }.filter { $0.state == .firing }
    }
}

