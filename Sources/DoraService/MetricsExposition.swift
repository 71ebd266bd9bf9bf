public import DoraEventLog
import DoraMetrics
public import DoraSLO
public import Prometheus
import Synchronization

/// The Prometheus view of `doralog run` (docs/run.md lists every family): the pipeline's own
/// instruments, recorded as things happen, and a snapshot of the live report and SLO states,
/// computed at each scrape.
///
/// Invariants: one instance per run; every family has HELP and TYPE lines, counters end in
/// `_total`, durations are in seconds with the unit in the name, and no series uses the
/// `quantile` label (exact percentiles carry `percentile`; durations are histograms, so PromQL
/// can sum them over services, teams and tiers).
public final class MetricsExposition: Sendable {
    /// The recorded instruments (`PrometheusText` says why the snapshot is written apart).
    public let registry = PrometheusCollectorRegistry()
    /// Per-batch fsync-inclusive append latency, observed by the ingest loop.
    public let appendSeconds: DurationHistogram
    /// Per aggregator round: adding the appends taken at once and evaluating the SLOs.
    public let roundSeconds: DurationHistogram
    /// Alerts waiting in slow sinks.
    public let alertQueueDepth: Gauge
    public let alertsDropped: Counter
    /// Whether the consumer reaches a Kafka broker (set by the ingest thread): `/readyz` and
    /// `doralog_source_connected`.
    public let sourceConnected = Atomic<Bool>(false)
    /// The pipeline's service tiers, for the `tier` label.
    private let assignments: ServiceAssignments

    /// Upper bounds of the rollback and recovery histograms: 10 s to 7 days.
    static let bucketSeconds: [Double] = [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800]

    public init(assignments: ServiceAssignments = ServiceAssignments()) {
        self.assignments = assignments
        appendSeconds = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "doralog", metricName: "append_duration", unitName: "seconds",
                helpText: "Time to make one batch durable in the log (encode, write, fsync)."),
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1)])
        roundSeconds = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "doralog", metricName: "aggregator_round_duration", unitName: "seconds",
                helpText: "Time the aggregator took to add the appends it took at once and evaluate the SLOs on them."),
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250),
                      .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5)])
        alertQueueDepth = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "doralog", metricName: "alert_queue", unitName: "depth", helpText: "Alerts waiting to be delivered."))
        alertsDropped = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "doralog", metricName: "alerts_dropped", unitName: "total",
                helpText: "Alerts dropped because a sink's queue was full."))
    }

    /// Records the consumer's lag per partition (messages not yet durable in the log).
    public func setLag(_ lags: [TopicPartition: Int64]) {
        for (tp, lag) in lags {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "doralog", metricName: "consumer_lag", unitName: "messages",
                    helpText: "Messages of the partition not yet durable in the log (end offset minus durable offset)."),
                labels: [("topic", tp.topic), ("partition", String(tp.partition))]
            ).set(to: Double(lag))
        }
    }

    /// The text exposition format: the recorded instruments, then the snapshot of `state`.
    public func render(_ state: LiveState) async -> String {
        var out = PrometheusText()
        let totals = await state.logTotals
        out.family("doralog_events_total", .counter, help: "Events in the log by outcome (the whole log).")
        for (outcome, value) in [("stored", totals.stored), ("duplicates", totals.duplicates), ("rejected", totals.rejected), ("ignored", totals.ignored)] {
            out.sample("doralog_events_total", [("outcome", outcome)], Double(value))
        }
        out.family(
            "doralog_conflicting_duplicates_total", .counter,
            help: "Duplicates whose content differed from the stored copy (also counted in outcome=duplicates; in the dead letters).")
        out.sample("doralog_conflicting_duplicates_total", [], Double(totals.conflictingDuplicates))
        out.family("doralog_ready", .gauge, help: "1 once the log has been replayed.")
        out.sample("doralog_ready", [], await state.isReady ? 1 : 0)
        out.family("doralog_source_connected", .gauge, help: "1 while the consumer reaches a Kafka broker.")
        out.sample("doralog_source_connected", [], sourceConnected.load(ordering: .relaxed) ? 1 : 0)
        if state.retention != nil {
            out.family("doralog_live_retention_start_seconds", .gauge, help: "Where the live state's retention starts (Unix time): events before it are forgotten.")
            if let start = await state.retainedFrom { out.sample("doralog_live_retention_start_seconds", [], Double(start.microseconds) / 1e6) }
            out.family("doralog_live_events_before_retention_total", .counter, help: "Stored events dated before the retention when they arrived, not added to the live state.")
            out.sample("doralog_live_events_before_retention_total", [], Double(await state.eventsBeforeRetention))
        }
        out.family("doralog_live_retained_items", .gauge, help: "Deploys, commits, alert episodes, rollbacks and samples the live state holds.")
        out.sample("doralog_live_retained_items", [], Double(await state.retainedItems))
        let bounds = Self.bucketSeconds.map { Int64($0) * 1_000_000 }
        if let report = await state.report(bucketBounds: bounds) { writeReport(report, into: &out) }
        await writeSLOs(state, into: &out)
        return registry.emitToString() + out.text
    }

    /// The live report's figures per service, team and tier.
    private func writeReport(_ report: Report, into out: inout PrometheusText) {
        let services = report.services.map { s in
            (labels: [("service", s.service), ("team", s.team ?? Report.unassignedTeam), ("tier", assignments.tier(of: s.service) ?? "")],
             metrics: s.metrics)
        }
        let scopes: [(prefix: String, per: String, rows: [(labels: [(String, String)], metrics: Metrics)])] = [
            ("doralog", "service", services),
            ("doralog_team", "team", report.teams.map { ([("team", $0.team)], $0.metrics) }),
            ("doralog_tier", "tier", report.groups.map { ([("tier", $0.team)], $0.metrics) }),
        ]
        for (prefix, per, rows) in scopes {
            out.family(prefix + "_deployments", .gauge, help: "Successful deployments in the live report's period, per \(per).")
            for row in rows { out.sample(prefix + "_deployments", row.labels, Double(row.metrics.deployments.count)) }
            out.family(prefix + "_change_failure_ratio", .gauge, help: "Failed changes over deployments in the live report's period, per \(per).")
            for row in rows {
                if let rate = row.metrics.changeFailure.rate { out.sample(prefix + "_change_failure_ratio", row.labels, rate) }
            }
            for (name, what, stat) in [("rollback", "Rollback time", \Metrics.rollbacks.duration), ("recovery", "Failed deployment recovery time", \Metrics.recovery.stat)] {
                let family = prefix + "_\(name)_duration_percentile_seconds"
                out.family(family, .gauge, help: "\(what): the exact nearest-rank percentile over the live report's period, per \(per).")
                for row in rows {
                    let s = row.metrics[keyPath: stat]
                    for (percentile, value) in [("50", s.p50), ("95", s.p95)] {
                        if let value { out.sample(family, row.labels + [("percentile", percentile)], value) }
                    }
                }
            }
        }
        for (name, what, buckets) in [
            ("rollback", "Rollback time", \ServiceReport.rollbackBuckets), ("recovery", "Failed deployment recovery time", \ServiceReport.recoveryBuckets),
        ] {
            let family = "doralog_\(name)_duration_seconds"
            out.family(family, .histogram, help: "\(what) over the live report's period, per service; sum by team or tier in PromQL.")
            for (service, row) in zip(report.services, services) {
                guard let b = service[keyPath: buckets] else { continue }
                out.histogram(family, row.labels, bounds: Self.bucketSeconds, cumulative: b.cumulative, count: b.count, sum: b.sumSeconds)
            }
        }
    }

    /// Notes the alerts that fired, so that each keeps its `doralog_slo_firing` series after it
    /// resolved, even when it fired and resolved between two scrapes (an expiry soon after).
    func noteFiring(_ alerts: [SLOAlert]) {
        let fired = alerts.filter { $0.state == .firing }
        guard !fired.isEmpty else { return }
        knownFiring.withLock { known in
            for a in fired { known.insert(FiringKey(slo: a.slo, scope: SLOAlert.scopeLabel(a.scope), alert: a.kind.rawValue)) }
        }
    }

    /// SLO states and the transitions emitted since start.
    private func writeSLOs(_ state: LiveState, into out: inout PrometheusText) async {
        // Every (SLO, scope, alert) seen firing keeps a series: 1 while it fires, then 0.
        let firing = Set(await state.firing.map { FiringKey(slo: $0.slo, scope: SLOAlert.scopeLabel($0.scope), alert: $0.kind.rawValue) })
        let known = knownFiring.withLock { known in
            known.formUnion(firing)
            return known
        }
        out.family("doralog_slo_firing", .gauge, help: "1 while the SLO alert fires, 0 after it resolved.")
        for key in known.sorted(by: { ($0.slo, $0.scope, $0.alert) < ($1.slo, $1.scope, $1.alert) }) {
            out.sample("doralog_slo_firing", [("slo", key.slo), ("scope", key.scope), ("alert", key.alert)], firing.contains(key) ? 1 : 0)
        }
        out.family("doralog_alerts_emitted_total", .counter, help: "SLO transitions emitted since start, by alert and state.")
        let emitted = await state.alertsEmitted
        for (transition, count) in emitted.sorted(by: { ($0.key.kind.rawValue, $0.key.state.rawValue) < ($1.key.kind.rawValue, $1.key.state.rawValue) }) {
            out.sample("doralog_alerts_emitted_total", [("alert", transition.kind.rawValue), ("state", transition.state.rawValue)], Double(count))
        }
    }

    private struct FiringKey: Hashable, Sendable {
        var slo: String
        var scope: String
        var alert: String
    }

    private let knownFiring = Mutex(Set<FiringKey>())
}
