public import DoraEventLog
import DoraMetrics
import DoraSLO
public import Prometheus

/// The Prometheus view of the live state: per-service DORA figures, SLO states and the
/// pipeline's own health, refreshed from `LiveState` at each scrape.
///
/// Invariant: one registry per run; gauges are created on first sight of a label set and
/// set at every refresh (a service that disappears from the report keeps its last value).
public final class MetricsExposition: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Per-batch fsync-inclusive append latency, observed by the ingest loop.
    public let appendSeconds: DurationHistogram
    /// Per aggregator round: adding the appends taken at once and evaluating the SLOs.
    public let roundSeconds: DurationHistogram
    /// Alerts waiting in slow sinks.
    public let alertQueueDepth: Gauge
    public let alertsDropped: Counter

    public init() {
        appendSeconds = registry.makeDurationHistogram(
            name: "doralog_append_duration_seconds",
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1)],
            help: "Time to make one batch durable in the log (encode, write, fsync).")
        roundSeconds = registry.makeDurationHistogram(
            name: "doralog_aggregator_round_duration_seconds",
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250),
                      .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5)],
            help: "Time the aggregator took to add the appends it took at once and evaluate the SLOs on them.")
        alertQueueDepth = registry.makeGauge(name: "doralog_alert_queue_depth", help: "Alerts waiting to be delivered.")
        alertsDropped = registry.makeCounter(name: "doralog_alerts_dropped_total", help: "Alerts dropped because a sink's queue was full.")
    }

    /// Records the consumer's lag per partition (messages not yet durable in the log).
    public func setLag(_ lags: [TopicPartition: Int64]) {
        for (tp, lag) in lags {
            registry.makeGauge(
                name: "doralog_consumer_lag", labels: [("topic", tp.topic), ("partition", String(tp.partition))],
                help: "Messages of the partition not yet durable in the log (end offset minus durable offset)."
            ).set(to: Double(lag))
        }
    }

    /// Sets every gauge from `state` and returns the text exposition format.
    public func render(_ state: LiveState) async -> String {
        let totals = await state.logTotals
        for (name, value) in [("stored", totals.stored), ("duplicates", totals.duplicates), ("rejected", totals.rejected), ("ignored", totals.ignored)] {
            registry.makeGauge(name: "doralog_events", labels: [("outcome", name)], help: "Events in the log by outcome.").set(to: Double(value))
        }
        registry.makeGauge(name: "doralog_ready", help: "1 once the log has been replayed.").set(to: await state.isReady ? 1 : 0)
        if let report = await state.report() {
            let rows = report.services.map { ("doralog", [("service", $0.service), ("team", $0.team ?? "")], $0.metrics) }
                + report.teams.map { ("doralog_team", [("team", $0.team)], $0.metrics) }
                + report.groups.map { ("doralog_tier", [("tier", $0.team)], $0.metrics) }
            for (prefix, labels, m) in rows {
                set(prefix + "_deployments", labels, Double(m.deployments.count), "Successful deployments in the report's period.")
                set(prefix + "_change_failure_ratio", labels, m.changeFailure.rate, "Failed changes over deployments.")
                set(prefix + "_rollback_seconds", labels + [("quantile", "0.5")], m.rollbacks.duration.p50, "Rollback time.")
                set(prefix + "_rollback_seconds", labels + [("quantile", "0.95")], m.rollbacks.duration.p95, "Rollback time.")
                set(prefix + "_recovery_seconds", labels + [("quantile", "0.5")], m.recovery.stat.p50, "Failed deployment recovery time.")
                set(prefix + "_recovery_seconds", labels + [("quantile", "0.95")], m.recovery.stat.p95, "Failed deployment recovery time.")
            }
        }
        // Every (SLO, scope, alert) ever seen firing keeps a gauge: 1 while it fires, then 0.
        let firing = Set(await state.firing.map { FiringKey(slo: $0.slo, scope: SLOAlert.scopeLabel($0.scope), alert: $0.kind.rawValue) })
        let known = knownFiring.withLock { known in
            known.formUnion(firing)
            return known
        }
        for key in known {
            registry.makeGauge(
                name: "doralog_slo_firing", labels: [("slo", key.slo), ("scope", key.scope), ("alert", key.alert)],
                help: "1 while the SLO alert fires."
            ).set(to: firing.contains(key) ? 1 : 0)
        }
        for (transition, count) in await state.alertsEmitted {
            registry.makeGauge(
                name: "doralog_alerts_emitted", labels: [("alert", transition.kind.rawValue), ("state", transition.state.rawValue)],
                help: "SLO transitions since start."
            ).set(to: Double(count))
        }
        return registry.emitToString()
    }

    private struct FiringKey: Hashable, Sendable {
        var slo: String
        var scope: String
        var alert: String
    }

    private let knownFiring = Mutex(Set<FiringKey>())

    private func set(_ name: String, _ labels: [(String, String)], _ value: Double?, _ help: String) {
        registry.makeGauge(name: name, labels: labels, help: help).set(to: value ?? .nan)
    }
}

import Synchronization
