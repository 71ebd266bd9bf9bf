@testable import DoraService
import DoraSLO
import Testing

@Suite struct AlertSinkTests {
    static let alert = SLOAlert(
        kind: .regression, state: .firing, slo: "tier1", scope: .selection(.tier("tier-1")), metric: .rollbackTime,
        percentileTenths: 950, value: 412_000_000, objective: 300_000_000, baseline: 240_000_000, pValue: 0.0003, samples: 12,
        window: 86_400_000_000, at: 1_783_073_310_000_000, exemplars: ["r-9", "r-3"])

    @Test func alertmanagerPayloadsCarryTheScopeAsLabelsAndTheFiguresAsAnnotations() {
        let (key, payload) = AlertmanagerSink.payload(Self.alert, endsAfter: .seconds(300))
        let labels = payload["labels"] as? [String: String]
        #expect(labels == ["alertname": "SLORegression", "slo": "tier1", "metric": "rollback_time", "severity": "warning", "tier": "tier-1"])
        let annotations = payload["annotations"] as? [String: String]
        #expect(annotations?["value_seconds"] == "412.0" && annotations?["baseline_seconds"] == "240.0")
        #expect(annotations?["exemplars"] == "r-9,r-3" && annotations?["p_value"] == "0.0003")
        #expect(payload["startsAt"] as? String == "2026-07-03T10:08:30Z")
        #expect(key == "alertname=SLORegression,metric=rollback_time,severity=warning,slo=tier1,tier=tier-1")
    }

    @Test func theAlertProducerKeepsConnectionSettingsAndDropsConsumerOnlyOnes() {
        let kept = PipelineRunner.producerProperties([
            ("security.protocol", "SASL_SSL"), ("sasl.username", "u"), ("session.timeout.ms", "6000"),
            ("group.instance.id", "a"), ("fetch.wait.max.ms", "10"), ("client.id", "doralog"),
        ])
        #expect(kept.map(\.0) == ["security.protocol", "sasl.username", "client.id"])
    }

    @Test func whatStillFiresIsEachAlertsLatestTransitionWhenItLeftItFiring() {
        func t(_ slo: String, _ state: SLOAlert.State, at: Int64, kind: SLOAlert.Kind = .breach) -> SLOAlert {
            var a = Self.alert
            a.slo = slo
            a.state = state
            a.kind = kind
            a.at = at
            return a
        }
        let transitions = [
            t("a", .firing, at: 1), t("b", .firing, at: 2), t("a", .resolved, at: 3), t("b", .firing, at: 4, kind: .regression),
            t("c", .firing, at: 5), t("c", .resolved, at: 6), t("c", .firing, at: 7),
        ]
        let firing = SLOAlert.stillFiring(transitions)
        #expect(firing.map { "\($0.slo) \($0.kind.rawValue) \($0.at)" } == ["b SLOBreach 2", "b SLORegression 4", "c SLOBreach 7"])
    }

    @Test func aPerServiceAlertCarriesItsTeamAndTierToRouteByWithoutThemInItsKey() {
        var alert = Self.alert
        alert.scope = .service("checkout")
        let (plainKey, _) = AlertmanagerSink.payload(alert, endsAfter: .seconds(300))
        let (key, payload) = AlertmanagerSink.payload(alert, endsAfter: .seconds(300), team: "payments", tier: "tier-1")
        let labels = payload["labels"] as? [String: String]
        #expect(labels?["service"] == "checkout" && labels?["team"] == "payments" && labels?["tier"] == "tier-1")
        #expect(key == plainKey && key == "alertname=SLORegression,metric=rollback_time,service=checkout,severity=warning,slo=tier1")
    }
}
