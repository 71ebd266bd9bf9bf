import DoraEvents
import DoraSLO
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging

/// Sends transitions to Alertmanager's v2 API (`POST /api/v2/alerts`) from a bounded queue,
/// retrying with backoff, so a slow or absent Alertmanager never blocks ingestion.
///
/// Invariants: the queue holds at most `queueLimit` alerts; beyond that a new alert is dropped,
/// logged and counted (`doralog_alerts_dropped_total`), never silently. Alerts still firing are
/// re-sent every `resendInterval` (default a minute) with `endsAt` five intervals ahead, as
/// Alertmanager expects of clients; a resolved one is sent with `endsAt` now. After a restart
/// the alerts firing as of the log are asserted again (`restore`), so a redeploy of doralog
/// never lets them expire.
actor AlertmanagerSink: AlertSink {
    private let endpoint: URL
    private let queueLimit: Int
    private let resendInterval: Duration
    /// A service's team and tier, for the labels Alertmanager routes by.
    private let routing: @Sendable (String) async -> (team: String?, tier: String?)
    private let exposition: MetricsExposition
    private let logger: Logger
    private var queue: [[String: Any]] = []
    /// Firing alerts by their label set's key, re-sent until resolved.
    private var active: [String: [String: Any]] = [:]
    private var worker: Task<Void, Never>?

    init(
        baseURL: String, queueLimit: Int, resendInterval: Duration = .seconds(60),
        routing: @escaping @Sendable (String) async -> (team: String?, tier: String?) = { _ in (nil, nil) },
        exposition: MetricsExposition, logger: Logger
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        endpoint = URL(string: base + "/api/v2/alerts")!
        self.queueLimit = queueLimit
        self.resendInterval = resendInterval
        self.routing = routing
        self.exposition = exposition
        self.logger = logger
    }

    func send(_ alerts: [SLOAlert]) async {
        for a in alerts {
            var route: (team: String?, tier: String?) = (nil, nil)
            if case .service(let service) = a.scope { route = await routing(service) }
            let (key, payload) = Self.payload(a, endsAfter: endsAfter, team: route.team, tier: route.tier)
            if a.state == .firing { active[key] = payload } else { active[key] = nil }
            enqueue(payload)
        }
        startWorker()
    }

    func restore(firing alerts: [SLOAlert]) async {
        if !alerts.isEmpty { logger.notice("re-asserting the alerts firing as of the log", metadata: ["alerts": "\(alerts.count)"]) }
        await send(alerts)
    }

    /// How far ahead a firing alert's `endsAt` lies: five re-sends, so that a few lost ones do
    /// not resolve it.
    private var endsAfter: Duration { resendInterval * 5 }

    /// Waits until the queue is empty or `timeout` passes (at shutdown).
    func drain(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while !queue.isEmpty && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(100)) }
        worker?.cancel()
    }

    private func enqueue(_ payload: [String: Any]) {
        guard queue.count < queueLimit else {
            exposition.alertsDropped.increment()
            logger.error("Alertmanager queue full; alert dropped", metadata: ["queue_limit": "\(queueLimit)"])
            return
        }
        queue.append(payload)
        exposition.alertQueueDepth.set(to: Double(queue.count))
    }

    private func startWorker() {
        guard worker == nil else { return }
        worker = Task { await self.deliverLoop() }
    }

    private func deliverLoop() async {
        var backoff: Duration = .milliseconds(200)
        var lastResend = ContinuousClock.now
        while !Task.isCancelled {
            if ContinuousClock.now - lastResend > resendInterval {
                lastResend = ContinuousClock.now
                for payload in active.values { enqueue(Self.refreshed(payload, endsAfter: endsAfter)) }
            }
            guard !queue.isEmpty else {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            let batch = Array(queue.prefix(100))
            if await post(batch) {
                queue.removeFirst(batch.count)
                exposition.alertQueueDepth.set(to: Double(queue.count))
                backoff = .milliseconds(200)
            } else {
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    private func post(_ batch: [[String: Any]]) async -> Bool {
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.timeoutInterval = 5
        guard let body = try? JSONSerialization.data(withJSONObject: batch) else { return true }
        request.httpBody = body
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if (200..<300).contains(status) { return true }
            logger.warning("Alertmanager refused alerts; retrying", metadata: ["status": "\(status)", "url": "\(endpoint)"])
            return status >= 400 && status < 500 && status != 429  // a client error will not get better
        } catch {
            logger.warning("Alertmanager unreachable; retrying", metadata: ["error": "\(error)", "url": "\(endpoint)"])
            return false
        }
    }

    /// Alertmanager's form of a transition, and the key of its label set (which leaves out
    /// `team` and `tier`: they route the alert, they do not make another one).
    /// - Parameters: team, tier: the service's, for a per-service scope (labels to route by).
    static func payload(_ a: SLOAlert, endsAfter: Duration, team: String? = nil, tier: String? = nil) -> (String, [String: Any]) {
        var labels: [String: String] = [
            "alertname": a.kind.rawValue, "slo": a.slo, "metric": a.metric.rawValue,
            "severity": a.kind == .regression ? "warning" : "critical",
        ]
        if let rollback = a.rollbackID { labels["rollback_id"] = rollback }  // one alert per rollback
        let key = Self.key(labels, a.scope)
        labels.merge(scopeLabels(a.scope)) { _, scope in scope }
        if let team { labels["team"] = team }
        if let tier { labels["tier"] = tier }
        let seconds = { (us: Int64) in String(Double(us) / 1_000_000) }
        let summary: String
        switch a.kind {
        case .breach, .regression:
            let value = a.value.map { seconds($0) + " s" } ?? "no sample in the window"
            summary = "\(a.slo): p\(a.percentileText) \(a.metric.rawValue) \(value) (objective \(seconds(a.objective)) s)"
        case .rollbackStuck:
            summary = "\(a.slo): rollback \(a.rollbackID ?? "") still in flight after \(seconds(a.objective)) s (the objective)"
        case .rollbackFailed where a.metric == .rollbackExercised:
            summary = "\(a.slo): the last rollback of \(SLOAlert.scopeLabel(a.scope)) failed (\(a.rollbackID ?? "")); no success since"
        case .rollbackFailed:
            summary = "\(a.slo): rollback \(a.rollbackID ?? "") failed" + (a.value.map { " after \(seconds($0)) s" } ?? "")
        case .rollbackUnexercised:
            summary = "\(a.slo): no successful rollback of \(SLOAlert.scopeLabel(a.scope)) within \(seconds(a.objective)) s"
                + (a.value.map { " (the last one is \(seconds($0)) s old)" } ?? " (none yet)")
        }
        var annotations: [String: String] = [
            "summary": summary,
            "objective_seconds": seconds(a.objective),
            "samples": String(a.samples), "exemplars": a.exemplars.joined(separator: ","), "alert_json": a.json,
        ]
        if let v = a.value { annotations["value_seconds"] = seconds(v) }
        if let b = a.baseline { annotations["baseline_seconds"] = seconds(b) }
        if let p = a.pValue { annotations["p_value"] = String(p) }
        let now = Date()
        var payload: [String: Any] = ["labels": labels, "annotations": annotations, "startsAt": Timestamp(microseconds: a.at).rfc3339]
        payload["endsAt"] = iso(a.state == .firing ? now.addingTimeInterval(timeInterval(endsAfter)) : now)
        return (key, payload)
    }

    /// The labels a scope gives: the service, or the selection.
    private static func scopeLabels(_ scope: SLOScope) -> [String: String] {
        switch scope {
        case .service(let name): return ["service": name]
        case .selection(.services(let names)): return ["service": names.joined(separator: ",")]
        case .selection(.team(let team)): return ["team": team]
        case .selection(.tier(let tier)): return ["tier": tier]
        case .selection(.all): return [:]
        }
    }

    /// What identifies an alert: its name, SLO, metric, severity and scope.
    private static func key(_ labels: [String: String], _ scope: SLOScope) -> String {
        let all = labels.merging(scopeLabels(scope)) { _, scope in scope }
        return all.keys.sorted().map { "\($0)=\(all[$0]!)" }.joined(separator: ",")
    }

    static func refreshed(_ payload: [String: Any], endsAfter: Duration) -> [String: Any] {
        var p = payload
        p["endsAt"] = iso(Date().addingTimeInterval(timeInterval(endsAfter)))
        return p
    }

    private static func timeInterval(_ d: Duration) -> TimeInterval {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func iso(_ date: Date) -> String {
        Timestamp(microseconds: Int64(date.timeIntervalSince1970 * 1_000_000)).rfc3339
    }
}
