public import DoraEvents

/// Why a number of the report is what it is (`report --explain`): the samples, deploys,
/// incidents or rollbacks it was computed over, each with its value and the ids of the events
/// it came from, which one is the percentile, and what was left out and why.
///
/// Invariant: the items are exactly what the report's computation counted, reported by that
/// computation itself as it counted them (`ServiceState.samples(of:origin:)`), so `value`
/// recomputed from `items` alone is the report's number.
public struct Explanation: Sendable {
    public var metric: ExplainedMetric
    public var scope: ExplainScope
    public var period: Period
    /// The number, recomputed from `items`: seconds for durations, a share for rates.
    public var value: Double?
    /// What the number is computed over, in (time, service, ids) order.
    public var items: [Item]
    /// For a percentile: the 1-based nearest rank of the value among the items sorted by value.
    public var rank: Int?
    /// Items of the scope and period that the number leaves out, each with its reason.
    public var excluded: [Item]
    /// Environments whose events are never counted in this report (it is about one).
    public var otherEnvironments: [String]

    /// One deploy, commit, episode, incident or rollback.
    public struct Item: Sendable, Equatable {
        public var service: String
        public var time: Timestamp
        /// Seconds for a duration; 1 or 0 for a deploy of a rate (counts as yes or not);
        /// nil where there is none (an excluded item).
        public var value: Double?
        /// The ids to open it, by kind: deploy, commit (sha), rollback, alert.
        public var ids: [(kind: String, id: String)]
        /// Why it is left out, or what it is (a failed change, rework).
        public var note: String?
        /// Whether it is the percentile's own item (the one at `rank`).
        public var isRank = false

        public static func == (a: Item, b: Item) -> Bool {
            a.service == b.service && a.time == b.time && a.value == b.value && a.note == b.note && a.isRank == b.isRank
                && a.ids.map(\.kind) == b.ids.map(\.kind) && a.ids.map(\.id) == b.ids.map(\.id)
        }
    }
}

/// Which pool of services a number is about.
public enum ExplainScope: Sendable, Equatable {
    case totals
    case team(String)
    case service(String)
}

/// A number of the JSON report that can be explained: its family and statistic, named as its
/// path in the JSON (`recovery.p95`, `change_failure.rate`, `recovery.phases.act.p50`).
public struct ExplainedMetric: Sendable, Equatable, CustomStringConvertible {
    public enum Family: String, Sendable, CaseIterable {
        case deployments, leadTime = "lead_time", changeFailure = "change_failure", rework, recovery
        case timeToRestore = "time_to_restore", rollbacks
    }

    public enum Statistic: Sendable, Equatable {
        case count, perDay, perWeek, rate, mean
        /// A nearest-rank percentile, in tenths (950: p95).
        case percentile(Int)
    }

    public var family: Family
    /// For recovery: one phase (detect, decide, act, verify) instead of the recovery time.
    public var phase: String?
    public var statistic: Statistic
    public let description: String

    /// Parses a metric path; nil for one that names no explainable number.
    public init?(_ path: String) {
        let parts = path.split(separator: ".").map(String.init)
        guard let first = parts.first, let family = Family(rawValue: first) else { return nil }
        var rest = Array(parts.dropFirst())
        if family == .recovery, rest.count == 3, rest[0] == "phases", ["detect", "decide", "act", "verify"].contains(rest[1]) {
            phase = rest[1]
            rest = [rest[2]]
        } else if family == .rollbacks, rest.first == "duration" {
            rest.removeFirst()
        } else if family == .rollbacks {
            return nil
        }
        guard rest.count == 1 else { return nil }
        let durations: Set<Family> = [.leadTime, .recovery, .timeToRestore, .rollbacks]
        switch (rest[0], family) {
        case ("p50", let f) where durations.contains(f): statistic = .percentile(500)
        case ("p95", let f) where durations.contains(f): statistic = .percentile(950)
        case ("mean", let f) where durations.contains(f): statistic = .mean
        case ("count", let f) where f != .changeFailure: statistic = .count
        case ("failed_changes", .changeFailure), ("deployments", .rework): statistic = .count
        case ("per_day", .deployments): statistic = .perDay
        case ("per_week", .deployments): statistic = .perWeek
        case ("rate", .changeFailure), ("rate", .rework): statistic = .rate
        default: return nil
        }
        self.family = family
        description = path
    }

    /// Every path `init` takes, for help and errors.
    public static let examples = [
        "deployments.count", "deployments.per_day", "lead_time.p50", "lead_time.p95", "change_failure.rate", "rework.rate",
        "recovery.p50", "recovery.p95", "recovery.phases.act.p95", "time_to_restore.p95", "rollbacks.duration.p95",
    ]
}

extension MetricsEngine {
    /// The explanation of one number of the report of `period`, for `scope`.
    /// - Parameter teamOf: the team rules the report used (nil: the events' teams).
    /// - Complexity: one analysis of each service in scope.
    public func explain(
        _ metric: ExplainedMetric, period: Period, scope: ExplainScope,
        teamOf: ((_ service: String, _ fromEvents: String?) -> String?)? = nil
    ) -> Explanation {
        var explanation = Explanation(
            metric: metric, scope: scope, period: period, value: nil, items: [], rank: nil, excluded: [],
            otherEnvironments: otherEnvironments.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        for state in services {
            // The report's pools: totals hold every service; a team only its listed services.
            switch scope {
            case .totals: break
            case .service(let name): guard state.name == name else { continue }
            case .team(let team):
                guard state.hasKnownEvent(in: period), (self.team(of: state.name, teamOf: teamOf) ?? Report.unassignedTeam) == team
                else { continue }
            }
            state.consolidated().explain(metric, in: period, configuration: configuration, into: &explanation)
        }
        explanation.sort()
        explanation.conclude()
        return explanation
    }
}

extension Explanation {
    /// Puts the items and the excluded ones in order: by time, then service, then their ids.
    mutating func sort() {
        items.sort(by: Self.order)
        excluded.sort(by: Self.order)
    }

    private static func order(_ a: Item, _ b: Item) -> Bool {
        if a.time != b.time { return a.time < b.time }
        if a.service != b.service { return a.service.utf8.lexicographicallyPrecedes(b.service.utf8) }
        // Then by every id in turn: the lead times of one deploy differ only in their commit,
        // and the order they are gathered in is not fixed from run to run.
        for (x, y) in zip(a.ids, b.ids) where x != y {
            return x.kind != y.kind ? x.kind.utf8.lexicographicallyPrecedes(y.kind.utf8) : x.id.utf8.lexicographicallyPrecedes(y.id.utf8)
        }
        return a.ids.count < b.ids.count
    }

    /// Names each commit by its sha, one of `shas` (the shas of the explained deploys): an
    /// item names a commit by the hex of its short fingerprint (`ShortFingerprint.hex`, all
    /// the metrics keep of it), and a commit none of `shas` matches keeps that. The order then
    /// follows the shas, and so does the percentile's item among equal values.
    public mutating func nameCommits(_ shas: some Sequence<String>) {
        var byKey: [String: String] = [:]
        for sha in shas { byKey[ShortFingerprint(id: sha).hex] = sha }
        func named(_ item: Item) -> Item {
            var item = item
            item.ids = item.ids.map { $0.kind == "commit" ? (kind: "commit", id: byKey[$0.id] ?? $0.id) : $0 }
            item.isRank = false
            return item
        }
        items = items.map(named)
        excluded = excluded.map(named)
        sort()
        conclude()
    }
}

extension Explanation {
    /// The value from the items, and the percentile's rank (docs/metrics.md §3).
    mutating func conclude() {
        let values = items.compactMap(\.value)
        switch metric.statistic {
        case .count:
            value = Double(metric.family == .changeFailure || metric.family == .rework ? values.filter { $0 == 1 }.count : items.count)
        case .perDay: value = Double(items.count) / period.days
        case .perWeek: value = Double(items.count) / (period.days / 7)
        case .rate: value = values.isEmpty ? nil : Double(values.filter { $0 == 1 }.count) / Double(values.count)
        case .mean: value = values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        case .percentile(let tenths):
            guard !values.isEmpty else { return }
            let r = Stat.rank(percentTenths: tenths, of: values.count)
            // The rank's item: the r-th smallest value, ties broken by the items' order.
            let ordered = items.indices.filter { items[$0].value != nil }.sorted { (items[$0].value!, $0) < (items[$1].value!, $1) }
            items[ordered[r - 1]].isRank = true
            rank = r
            value = items[ordered[r - 1]].value
        }
    }
}

extension ServiceState {
    /// Adds this service's items of `metric` in `period` to `explanation`, as the report's
    /// own computation counts them.
    func explain(_ metric: ExplainedMetric, in period: Period, configuration: MetricsConfiguration, into explanation: inout Explanation) {
        let a = analyze(configuration: configuration, recordingRollbackLinks: true, recordingIncidentLinks: true)
        var rollbacksOf: [Int: [String]] = [:]
        for (id, p) in linkedRollbacks(of: a) { rollbacksOf[p, default: []].append(id) }
        var alertsOf: [Int: [String]] = [:]
        for (id, p) in a.incidentDeploys { alertsOf[p, default: []].append(id) }
        func linked(_ p: Int) -> [(kind: String, id: String)] {
            [("deploy", a.deploys[p].id)] + (rollbacksOf[p] ?? []).sorted().map { ("rollback", $0) }
                + (alertsOf[p] ?? []).sorted().map { ("alert", $0) }
        }
        func item(_ time: Int64, _ value: Int64?, _ ids: [(kind: String, id: String)], _ note: String? = nil) -> Explanation.Item {
            Explanation.Item(service: name, time: Timestamp(microseconds: time), value: value.map { Double($0) / 1_000_000 }, ids: ids, note: note)
        }
        let family = metric.family
        let firsts = firstDeploys { a.position[$0] < a.position[$1] }
        // Collected here (the observer is an escaping closure), then added to the explanation.
        var items: [Explanation.Item] = []
        var excluded: [Explanation.Item] = []
        _ = samples(of: a, firstDeploys: firsts, in: [period]) { origin in
            switch origin {
            case .deploy(let p, let failedChange, let rework) where [.deployments, .changeFailure, .rework].contains(family):
                let d = a.deploys[p]
                switch family {
                case .changeFailure:
                    items.append(Explanation.Item(
                        service: name, time: Timestamp(microseconds: d.time), value: failedChange ? 1 : 0, ids: linked(p),
                        note: failedChange ? "failed change" : nil))
                case .rework:
                    items.append(Explanation.Item(
                        service: name, time: Timestamp(microseconds: d.time), value: rework ? 1 : 0, ids: [("deploy", d.id)],
                        note: rework ? (d.unplanned ? "rework: unplanned" : "rework: inside another change's recovery") : nil))
                default:
                    items.append(item(d.time, nil, [("deploy", d.id)]))
                }
            case .leadTime(let p, let sha, let commitTime, let lead) where family == .leadTime:
                let ids: [(kind: String, id: String)] = [("deploy", a.deploys[p].id), ("commit", sha.hex)]
                if lead < 0 {
                    excluded.append(item(commitTime, nil, ids, "anomaly: the commit's time is after its first deploy"))
                } else {
                    items.append(item(a.deploys[p].time, lead, ids))
                }
            case .episode(let k, let recovery, let detect, let decide, let act, let verify) where family == .recovery:
                let p = a.episodes[k].deploy
                let time = a.deploys[p].time
                let value: Int64?
                switch metric.phase {
                case "detect": value = detect
                case "decide": value = decide
                case "act": value = act
                case "verify": value = verify
                default: value = recovery
                }
                if recovery == nil {
                    excluded.append(item(time, nil, linked(p), "open: not recovered yet (counted in recovery.open)"))
                } else if let value {
                    items.append(item(time, value, linked(p)))
                } else {
                    excluded.append(item(time, nil, linked(p), "no linked rollback: this phase does not exist"))
                }
            case .incident(let k, let restore) where family == .timeToRestore:
                let incident = a.incidents[k]
                let ids: [(kind: String, id: String)] = [("alert", incident.alertID ?? "?")]
                if let restore {
                    items.append(item(incident.firingTime, restore, ids))
                } else {
                    excluded.append(item(incident.firingTime, nil, ids, "unresolved (counted in time_to_restore.open)"))
                }
            case .rollback(let id, let duration) where family == .rollbacks:
                let r = rollbacks[id]!
                if let duration {
                    items.append(item(r.startedTime, duration, [("rollback", id)]))
                } else {
                    excluded.append(item(
                        r.periodTime, nil, [("rollback", id)],
                        r.hasStarted ? "no completion at or after its start" : "no started event: no duration"))
                }
            default:
                break
            }
        }
        explanation.items += items
        explanation.excluded += excluded
        // Incidents that caused no failed change: the rate's and the episodes' exclusions.
        if family == .changeFailure || family == .recovery {
            for incident in a.incidents where period.contains(incident.firingTime) {
                guard let id = incident.alertID, a.incidentDeploys[id] == nil else { continue }
                explanation.excluded.append(item(
                    incident.firingTime, nil, [("alert", id)],
                    "links to no deploy: none of this service still live within the attribution window before it fired, and no deploy_id naming one"))
            }
        }
    }
}
