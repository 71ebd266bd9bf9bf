import DoraMetrics
import DoraReports
import DoraTestSupport
import Foundation
import Testing

@Suite struct WorkedExampleTests {
    @Test func theWorkedExampleOfTheSpecGivesExactlyItsNumbers() throws {
        let r = MetricsTesting.report(EventJSON.specExample)
        let t = r.totals
        #expect(r.period.from.rfc3339 == "2026-07-01T00:00:00Z" && r.period.to.rfc3339 == "2026-07-02T00:00:00Z")
        #expect(t.deployments.count == 1 && t.deployments.perDay == 1 && t.deployments.perWeek == 7)
        #expect(t.recovery.detect.p50 == 240 && t.recovery.decide.p50 == 120 && t.recovery.act.p50 == 150 && t.recovery.verify.p50 == 150)
        #expect(t.recovery.stat.p50 == 660 && t.recovery.stat.count == 1 && t.recovery.open == 0)
        #expect(t.timeToRestore.stat.p50 == 420)
        #expect(t.rollbacks.duration.p50 == 150 && t.rollbacks.started == 1 && t.rollbacks.completed == 1 && t.rollbacks.auto == 1)
        #expect(t.leadTime.stat.p50 == 68_400)
        #expect(t.changeFailure.rate == 1.0 && t.changeFailure.failedChanges == 1)
        #expect(t.rework.rate == 0.0)
        #expect(t.deployments.band == .elite && t.leadTime.band == .elite && t.changeFailure.band == .low && t.recovery.band == .elite)
        #expect(t.recovery.modes == (1, 0, 0))
        #expect(r.services.map(\.service) == ["checkout"] && r.services[0].team == "payments")
        #expect(r.teams.map(\.team) == ["payments"] && r.teams[0].services == 1)
    }

    @Test func theJSONReportFollowsTheContractsShape() throws {
        let json = JSONReportRenderer.render(MetricsTesting.report(EventJSON.specExample))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "doralog.report/v1")
        #expect(Set(object.keys) == ["schema", "period", "environment", "events", "totals", "services", "teams"])
        let totals = try #require(object["totals"] as? [String: Any])
        #expect(Set(totals.keys) == ["deployments", "lead_time", "change_failure", "rework", "recovery", "time_to_restore", "rollbacks"])
        let recovery = try #require(totals["recovery"] as? [String: Any])
        let phases = try #require(recovery["phases"] as? [String: Any])
        #expect(Set(phases.keys) == ["detect", "decide", "act", "verify"])
        #expect((phases["act"] as? [String: Any])?["p95"] as? Double == 150)
        let period = try #require(object["period"] as? [String: Any])
        #expect(period["days"] as? Double == 1)
        let service = try #require((object["services"] as? [[String: Any]])?.first)
        #expect(service["service"] as? String == "checkout" && service["team"] as? String == "payments")
        #expect(json.hasSuffix("}\n"))
    }

    @Test func statisticsOverNoValuesAreNull() throws {
        let only = [EventJSON.alert("w", at: "2026-07-01T00:00:00Z", alertID: "x", status: "firing", severity: "warning")]
        let json = JSONReportRenderer.render(MetricsTesting.report(only))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let totals = try #require(object["totals"] as? [String: Any])
        let lead = try #require(totals["lead_time"] as? [String: Any])
        #expect(lead["p50"] is NSNull && lead["band"] is NSNull && lead["count"] as? Int == 0)
        let cfr = try #require(totals["change_failure"] as? [String: Any])
        #expect(cfr["rate"] is NSNull && cfr["band"] is NSNull)
        #expect((totals["deployments"] as? [String: Any])?["band"] as? String == "low")
    }
}
