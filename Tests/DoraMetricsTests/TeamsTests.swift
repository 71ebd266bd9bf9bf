import DoraMetrics
import DoraTestSupport
import Testing

@Suite struct TeamsTests {
    func at(_ clock: String, day: Int = 1) -> String { MetricsTesting.at(clock, day: day) }

    @Test func servicesWithoutTeamAreNullAndPooledAsUnassigned() {
        let lines = [
            EventJSON.deploy("d1", at: at("10:00:00"), service: "checkout", team: "payments"),
            EventJSON.deploy("d2", at: at("11:00:00"), service: "search"),
            EventJSON.deploy("d3", at: at("12:00:00"), service: "ads", team: ""),
            EventJSON.deploy("d4", at: at("13:00:00"), service: "ledger", team: "payments"),
        ]
        let r = MetricsTesting.report(lines)
        #expect(r.services.map(\.service) == ["ads", "checkout", "ledger", "search"])
        #expect(r.services.map(\.team) == [nil, "payments", "payments", nil])
        #expect(r.teams.map(\.team) == ["payments", "unassigned"])
        #expect(r.teams.map(\.services) == [2, 2])
        #expect(r.teams.map(\.metrics.deployments.count) == [2, 2])
    }

    @Test func aServicesTeamIsThatOfItsLatestEventNamingOneByTimeThenID() {
        let lines = [
            EventJSON.deploy("b", at: at("10:00:00"), service: "checkout", team: "second"),
            EventJSON.deploy("a", at: at("10:00:00"), service: "checkout", team: "first"),
            EventJSON.alert("z", at: at("09:00:00"), alertID: "q", status: "firing", service: "checkout", team: "earlier"),
            EventJSON.alert("y", at: at("11:00:00"), alertID: "q", status: "resolved", service: "checkout", team: ""),
        ]
        #expect(MetricsTesting.report(lines).services.first?.team == "second")
    }

    @Test func totalsPoolValuesRatherThanAveragingServices() {
        let lines = [
            EventJSON.deploy("d1", at: at("10:00:00"), service: "a", commits: [("c1", at("09:00:00"))]),
            EventJSON.deploy("d2", at: at("10:00:00"), service: "b", commits: [("c2", at("07:00:00")), ("c3", at("06:00:00")), ("c4", at("05:00:00"))]),
        ]
        let t = MetricsTesting.report(lines).totals
        #expect(t.leadTime.stat.count == 4 && t.leadTime.stat.p50 == 3 * 3600)
        let expectedMean: Double = 13.0 / 4 * 3600
        #expect(t.leadTime.stat.mean == expectedMean)
    }

    @Test func aServiceIsListedOnlyWithAKnownTypeEventInThePeriod() {
        let lines = [
            EventJSON.deploy("d1", at: at("10:00:00", day: 1), service: "early"),
            EventJSON.deploy("d2", at: at("10:00:00", day: 5), service: "late"),
            #"{"id":"n","type":"note","time":"2026-07-05T10:00:00Z","service":"noted"}"#,
        ]
        let r = MetricsTesting.report(lines, from: "2026-07-05T00:00:00Z", to: "2026-07-06T00:00:00Z")
        #expect(r.services.map(\.service) == ["late"])
        #expect(r.events.ignored == 1)
    }
}
