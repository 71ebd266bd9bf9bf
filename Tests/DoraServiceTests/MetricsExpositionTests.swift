@testable import DoraService
import DoraEventLog
import DoraEvents
import DoraMetrics
import DoraSLO
import DoraTestSupport
import Testing

@Suite struct MetricsExpositionTests {
    /// The worked example (checkout, team payments, one 150 s rollback, a 660 s recovery) and a
    /// deploy of a service that names no team.
    static func state() async -> LiveState {
        let state = LiveState(
            configuration: MetricsConfiguration(), slos: [], assignments: ServiceAssignments([.init(pattern: "check*", tier: "tier-1")]))
        let events = (EventJSON.specExample + [EventJSON.deploy("d-9", at: "2026-07-01T12:00:00Z", service: "search")])
            .map { try! EventDecoder.decode($0) }
        _ = await state.add(events, summary: AppendSummary(read: 6, stored: 6))
        return state
    }

    @Test func durationsAreHistogramsPerServiceWithTeamAndTierLabels() async {
        let exposition = MetricsExposition(assignments: ServiceAssignments([.init(pattern: "check*", tier: "tier-1")]))
        let text = await exposition.render(await Self.state())
        let labels = #"service="checkout",team="payments",tier="tier-1""#
        #expect(text.contains("# TYPE doralog_rollback_duration_seconds histogram\n"))
        #expect(text.contains("doralog_rollback_duration_seconds_bucket{\(labels),le=\"120\"} 0\n"))
        #expect(text.contains("doralog_rollback_duration_seconds_bucket{\(labels),le=\"300\"} 1\n"))
        #expect(text.contains("doralog_rollback_duration_seconds_bucket{\(labels),le=\"+Inf\"} 1\n"))
        #expect(text.contains("doralog_rollback_duration_seconds_sum{\(labels)} 150\n"))
        #expect(text.contains("doralog_rollback_duration_seconds_count{\(labels)} 1\n"))
        #expect(text.contains("doralog_recovery_duration_seconds_bucket{\(labels),le=\"600\"} 0\n"))
        #expect(text.contains("doralog_recovery_duration_seconds_bucket{\(labels),le=\"1800\"} 1\n"))
        #expect(text.contains("doralog_rollback_duration_percentile_seconds{\(labels),percentile=\"95\"} 150\n"))
        #expect(text.contains("doralog_team_recovery_duration_percentile_seconds{team=\"payments\",percentile=\"50\"} 660\n"))
        #expect(text.contains("doralog_tier_deployments{tier=\"tier-1\"} 1\n"))
        // A service that names no team is labelled as the reports call it.
        #expect(text.contains("doralog_deployments{service=\"search\",team=\"unassigned\",tier=\"\"} 1\n"))
        #expect(text.contains("doralog_team_deployments{team=\"unassigned\"} 1\n"))
        #expect(text.contains("doralog_events_total{outcome=\"stored\"} 6\n"))
        #expect(!text.contains("quantile"))
        // No percentile series for a service without rollbacks (rather than NaN).
        #expect(!text.contains("doralog_rollback_duration_percentile_seconds{service=\"search\""))
        #expect(!text.contains("NaN"))
    }

    @Test func everyFamilyHasHelpAndTypeAndCountersEndInTotal() async {
        let exposition = MetricsExposition()
        exposition.setLag([TopicPartition(topic: "events", partition: 0): 3])
        let text = await exposition.render(await Self.state())
        var helped = Set<String>()
        var typed: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if line.hasPrefix("# HELP ") { helped.insert(String(parts[2])) }
            if line.hasPrefix("# TYPE ") { typed[String(parts[2])] = String(parts[3]) }
        }
        #expect(typed.count > 15 && Set(typed.keys) == helped)
        for (name, type) in typed {
            #expect((type == "counter") == name.hasSuffix("_total"), "\(name) is a \(type)")
        }
        #expect(typed["doralog_consumer_lag_messages"] == "gauge")
    }

    @Test func theTextWriterEscapesLabelsAndWritesWholeNumbersPlainly() {
        var out = PrometheusText()
        out.family("x_seconds", .gauge, help: "a \\ b\nc")
        out.sample("x_seconds", [("service", "a\"b\\c\nd")], 1.5)
        out.sample("x_seconds", [], 300)
        out.sample("x_seconds", [], .nan)
        #expect(out.text == "# HELP x_seconds a \\\\ b\\nc\n# TYPE x_seconds gauge\nx_seconds{service=\"a\\\"b\\\\c\\nd\"} 1.5\nx_seconds 300\nx_seconds NaN\n")
    }

    @Test func thePipelineFilesTeamNamesTheServiceOnMetricsAndInTheLiveReport() async {
        let assignments = ServiceAssignments([.init(pattern: "check*", tier: "tier-1", team: "checkout-crew")])
        let state = LiveState(configuration: MetricsConfiguration(), slos: [], assignments: assignments)
        _ = await state.add(EventJSON.specExample.map { try! EventDecoder.decode($0) }, summary: AppendSummary(read: 5, stored: 5))
        let text = await MetricsExposition(assignments: assignments).render(state)
        #expect(text.contains("doralog_deployments{service=\"checkout\",team=\"checkout-crew\",tier=\"tier-1\"} 1\n"))
        #expect(!text.contains("team=\"payments\""), "the events' team gives way to the pipeline file's")
        let report = await state.report()
        #expect(report?.services.map(\.team) == ["checkout-crew"] && report?.teams.map(\.team) == ["checkout-crew"])
        let route = await state.routing(of: "checkout")
        #expect(route.team == "checkout-crew" && route.tier == "tier-1")
    }
}
