import DoraMetrics
import DoraTestSupport
import Testing

/// One focused test per linking and episode rule of docs/metrics.md.
@Suite struct LinkingTests {
    func at(_ clock: String, day: Int = 1) -> String { MetricsTesting.at(clock, day: day) }

    func deploy(_ id: String, _ clock: String, version: String = "v1", service: String = "checkout", day: Int = 1, status: String? = nil, unplanned: Bool? = nil, commits: [(String, String)] = []) -> String {
        EventJSON.deploy(id, at: at(clock, day: day), service: service, version: version, status: status, commits: commits, unplanned: unplanned)
    }

    func rollback(_ id: String, _ clock: String, status: String, rb: String = "r", from: String? = nil, deployID: String? = nil, service: String = "checkout", day: Int = 1, trigger: String? = nil) -> String {
        EventJSON.rollback(id, at: at(clock, day: day), rollbackID: rb, status: status, service: service, from: from, trigger: trigger, deployID: deployID)
    }

    func alert(_ id: String, _ clock: String, status: String, alertID: String = "a", severity: String? = nil, deployID: String? = nil, service: String = "checkout", day: Int = 1) -> String {
        EventJSON.alert(id, at: at(clock, day: day), alertID: alertID, status: status, service: service, severity: severity, deployID: deployID)
    }

    @Test func anExplicitDeployIDWinsOverTheVersionRule() {
        let lines = [
            deploy("d1", "10:00:00", version: "v1"), deploy("d2", "11:00:00", version: "v2"),
            rollback("s", "11:10:00", status: "started", from: "v2", deployID: "d1"),
            rollback("c", "11:20:00", status: "completed"),
        ]
        let r = MetricsTesting.report(lines)
        // Linked to d1 (10:00): detect = 70 min.
        #expect(r.totals.recovery.detect.p50 == 4200)
    }

    @Test(arguments: [
        ("names a deploy of another service", "other-1"),
        ("names a later deploy", "d3"),
        ("names no deploy at all", "nope"),
        ("names a deploy that failed to go live", "dfail"),
    ])
    func aDeployIDThatCannotBeFollowedIsIgnored(_ why: String, deployID: String) {
        let lines = [
            deploy("other-1", "09:00:00", version: "v2", service: "search"),
            deploy("dfail", "09:30:00", version: "v9", status: "failed"),
            deploy("d2", "10:00:00", version: "v2"),
            rollback("s", "10:30:00", status: "started", from: "v2", deployID: deployID),
            rollback("c", "10:40:00", status: "completed"),
            deploy("d3", "12:00:00", version: "v3"),
        ]
        let r = MetricsTesting.report(lines)
        // The version rule applies: linked to d2 at 10:00.
        #expect(r.totals.recovery.detect.p50 == 1800, "\(why)")
        #expect(r.totals.changeFailure.failedChanges == 1)
    }

    @Test func aRollbackLinksToTheLatestDeployOfItsVersionNotAfterItsStart() {
        let lines = [
            deploy("d1", "08:00:00", version: "v2"), deploy("d2", "09:00:00", version: "v2"), deploy("d3", "09:30:00", version: "v3"),
            rollback("s", "10:00:00", status: "started", from: "v2"), rollback("c", "10:05:00", status: "completed"),
            deploy("d4", "11:00:00", version: "v2"),
        ]
        let r = MetricsTesting.report(lines)
        #expect(r.totals.recovery.detect.p50 == 3600)  // from d2 at 09:00
    }

    @Test(arguments: [("inside", "2026-07-01T20:00:00Z", true), ("at the edge", "2026-07-02T10:00:00Z", true), ("just outside", "2026-07-02T10:00:00.000001Z", false)])
    func anIncidentLinksToTheLatestDeployWithinTheAttributionWindow(_ where_: String, firing: String, links: Bool) {
        let lines = [
            deploy("d1", "10:00:00"),
            EventJSON.alert("f", at: firing, alertID: "a", status: "firing"),
            EventJSON.alert("r", at: "2026-07-02T12:00:00Z", alertID: "a", status: "resolved"),
        ]
        let r = MetricsTesting.report(lines)
        #expect((r.totals.changeFailure.failedChanges == 1) == links, "\(where_)")
        #expect(r.totals.timeToRestore.stat.count == 1, "time to restore counts linked or not")
    }

    @Test func anAlertWithOnlyAResolvedEventIsIgnored() {
        let r = MetricsTesting.report([deploy("d1", "10:00:00"), alert("r", "10:10:00", status: "resolved")])
        #expect(r.totals.changeFailure.failedChanges == 0 && r.totals.timeToRestore.stat.count == 0 && r.totals.timeToRestore.open == 0)
    }

    @Test func onlyIncidentSeveritiesCount() {
        let lines = [deploy("d1", "10:00:00"), alert("f", "10:10:00", status: "firing", severity: "warning"), alert("r", "10:20:00", status: "resolved")]
        #expect(MetricsTesting.report(lines).totals.changeFailure.failedChanges == 0)
        let both = MetricsConfiguration(incidentSeverities: ["critical", "warning"])
        #expect(MetricsTesting.report(lines, configuration: both).totals.changeFailure.failedChanges == 1)
        // Severities compare case-sensitively.
        let upper = [deploy("d1", "10:00:00"), alert("f", "10:10:00", status: "firing", severity: "Critical"), alert("r", "10:20:00", status: "resolved")]
        #expect(MetricsTesting.report(upper).totals.changeFailure.failedChanges == 0)
    }

    @Test func aReNotifiedFiringKeepsTheEarliestFiringTime() {
        let lines = [
            deploy("d1", "10:00:00"), alert("f2", "10:30:00", status: "firing", severity: "warning"), alert("f1", "10:10:00", status: "firing"),
            alert("r", "11:00:00", status: "resolved"),
        ]
        let r = MetricsTesting.report(lines)
        #expect(r.totals.timeToRestore.stat.p50 == 3000, "from 10:10")
        #expect(r.totals.recovery.detect.p50 == 600)
        #expect(r.totals.changeFailure.failedChanges == 1, "severity comes from the earliest firing (critical)")
    }

    @Test func aResolvedEventBeforeTheFiringDoesNotResolveIt() {
        let lines = [deploy("d1", "10:00:00"), alert("r", "10:05:00", status: "resolved"), alert("f", "10:10:00", status: "firing")]
        let r = MetricsTesting.report(lines)
        #expect(r.totals.timeToRestore.open == 1 && r.totals.recovery.open == 1 && r.totals.recovery.stat.count == 0)
    }

    @Test func aFailedRollbackThenACompletedOneMakesActSpanBoth() {
        let lines = [
            deploy("d1", "10:00:00", version: "v2"),
            rollback("s1", "10:10:00", status: "started", rb: "r1", from: "v2"), rollback("x1", "10:12:00", status: "failed", rb: "r1"),
            rollback("s2", "10:15:00", status: "started", rb: "r2", from: "v2"), rollback("c2", "10:20:00", status: "completed", rb: "r2"),
        ]
        let t = MetricsTesting.report(lines).totals
        #expect(t.recovery.act.p50 == 600 && t.recovery.decide.p50 == 0 && t.recovery.verify.p50 == 0)
        #expect(t.recovery.stat.p50 == 1200)
        #expect(t.rollbacks.started == 2 && t.rollbacks.completed == 1 && t.rollbacks.failed == 1 && t.rollbacks.manual == 2)
        #expect(t.rollbacks.duration.count == 1 && t.rollbacks.duration.p50 == 300)
    }

    @Test func healthyIsTheLaterOfTheFirstRollbackCompletionAndTheLastIncidentResolution() {
        // Two rollbacks complete at 10:20 and 10:40, the incident resolves at 10:30: healthy at
        // 10:30 (rollback_done is the earliest completion; a later one does not delay it).
        let lines = [
            deploy("d1", "10:00:00", version: "v2"), alert("f", "10:05:00", status: "firing"),
            rollback("s1", "10:10:00", status: "started", rb: "r1", from: "v2"), rollback("c1", "10:20:00", status: "completed", rb: "r1"),
            rollback("s2", "10:15:00", status: "started", rb: "r2", from: "v2"), rollback("c2", "10:40:00", status: "completed", rb: "r2"),
            alert("r", "10:30:00", status: "resolved"),
        ]
        let t = MetricsTesting.report(lines).totals
        #expect(t.recovery.open == 0 && t.recovery.stat.count == 1)
        #expect(t.recovery.stat.p50 == 1800)
        #expect(t.recovery.detect.p50 == 300 && t.recovery.decide.p50 == 300 && t.recovery.act.p50 == 600 && t.recovery.verify.p50 == 600)
    }

    @Test func anUnresolvedIncidentLeavesItsEpisodeOpen() {
        let lines = [deploy("d1", "10:00:00", version: "v2"), alert("f", "10:05:00", status: "firing"),
                     rollback("s", "10:10:00", status: "started", from: "v2"), rollback("c", "10:15:00", status: "completed")]
        let t = MetricsTesting.report(lines).totals
        #expect(t.recovery.open == 1 && t.recovery.stat.count == 0 && t.recovery.detect.count == 0)
        #expect(t.recovery.modes == (0, 0, 0), "modes count closed episodes only")
        #expect(t.changeFailure.failedChanges == 1)
    }

    @Test func aRollbackNeverCompletedLeavesItsEpisodeOpen() {
        let lines = [deploy("d1", "10:00:00", version: "v2"), rollback("s", "10:10:00", status: "started", from: "v2", trigger: "auto")]
        let t = MetricsTesting.report(lines).totals
        #expect(t.recovery.open == 1 && t.rollbacks.started == 1 && t.rollbacks.completed == 0 && t.rollbacks.auto == 1)
    }

    @Test func aRollbackWithoutAStartIsIncompleteAndLinksNowhere() {
        let lines = [deploy("d1", "10:00:00", version: "v2"), rollback("c", "10:10:00", status: "completed")]
        let t = MetricsTesting.report(lines).totals
        #expect(t.rollbacks.completed == 1 && t.rollbacks.started == 0 && t.rollbacks.duration.count == 0)
        #expect(t.changeFailure.failedChanges == 0)
    }

    @Test func anotherDeployDuringTheIncidentIsARollForwardAndRework() {
        let lines = [
            deploy("d1", "10:00:00", version: "v2"), alert("f", "10:10:00", status: "firing"),
            deploy("fix", "10:30:00", version: "v3"), alert("r", "10:40:00", status: "resolved"),
        ]
        let t = MetricsTesting.report(lines).totals
        #expect(t.recovery.modes == (0, 1, 0))
        #expect(t.rework.deployments == 1 && t.rework.rate == 0.5)
        #expect(t.recovery.decide.count == 0, "decide, act, verify exist only with a rollback")
        #expect(t.recovery.stat.p50 == 2400)
        // The fix at 10:30 is later than the firing, so the incident stays linked to d1.
        #expect(t.changeFailure.failedChanges == 1)
    }

    @Test func anEpisodeWithNeitherRollbackNorOtherDeployIsOther() {
        let lines = [deploy("d1", "10:00:00"), alert("f", "10:10:00", status: "firing"), alert("r", "10:40:00", status: "resolved")]
        #expect(MetricsTesting.report(lines).totals.recovery.modes == (0, 0, 1))
    }

    @Test func unplannedDeploysAreRework() {
        let lines = [deploy("d1", "10:00:00"), deploy("d2", "12:00:00", unplanned: true), deploy("d3", "13:00:00", unplanned: false)]
        let t = MetricsTesting.report(lines).totals
        #expect(t.rework.deployments == 1 && t.deployments.count == 3)
    }

    @Test func aCommitShippedTwiceCountsFromItsFirstDeploy() {
        let lines = [
            deploy("d2", "12:00:00", commits: [("c1", at("06:00:00"))]),
            deploy("d1", "10:00:00", commits: [("c1", at("08:00:00")), ("c1", at("01:00:00"))]),
        ]
        let t = MetricsTesting.report(lines).totals
        #expect(t.leadTime.stat.count == 1 && t.leadTime.stat.p50 == 7200)
    }

    @Test func aCommitNewerThanItsDeployIsAnAnomaly() {
        let lines = [deploy("d1", "10:00:00", commits: [("c1", at("11:00:00")), ("c2", at("09:00:00"))])]
        let r = MetricsTesting.report(lines)
        #expect(r.totals.leadTime.stat.count == 1 && r.totals.anomalies == 1 && r.events.anomalies == 1)
    }

    @Test func failedStatusDeploysAreCountedApartAndNeverFailedChanges() {
        let lines = [
            deploy("d1", "10:00:00", version: "v1"), deploy("d2", "11:00:00", version: "v2", status: "failed"),
            rollback("s", "11:10:00", status: "started", from: "v2"), alert("f", "11:20:00", status: "firing"),
        ]
        let t = MetricsTesting.report(lines).totals
        #expect(t.deployments.count == 1 && t.deployments.failed == 1)
        // The rollback from v2 links nowhere; the alert links to d1 (the latest successful deploy).
        #expect(t.changeFailure.failedChanges == 1 && t.recovery.detect.count == 0 && t.recovery.open == 1)
    }

    @Test func thePeriodIncludesFromAndExcludesTo() {
        let lines = [deploy("d0", "23:59:59.999999", day: 1), deploy("d1", "00:00:00", day: 2), deploy("d2", "00:00:00", day: 3)]
        let r = MetricsTesting.report(lines, from: "2026-07-02T00:00:00Z", to: "2026-07-03T00:00:00Z")
        #expect(r.totals.deployments.count == 1)
        #expect(r.period.days == 1)
    }

    @Test func anEpisodeBelongsToThePeriodOfItsDeployEvenWhenItClosesLater() {
        let lines = [deploy("d1", "23:00:00", version: "v2", day: 1), rollback("s", "01:00:00", status: "started", from: "v2", day: 2),
                     rollback("c", "02:00:00", status: "completed", day: 2)]
        let day1 = MetricsTesting.report(lines, from: "2026-07-01T00:00:00Z", to: "2026-07-02T00:00:00Z").totals
        let day2 = MetricsTesting.report(lines, from: "2026-07-02T00:00:00Z", to: "2026-07-03T00:00:00Z").totals
        #expect(day1.recovery.stat.count == 1 && day1.rollbacks.started == 0)
        #expect(day2.recovery.stat.count == 0 && day2.rollbacks.started == 1)
    }

    @Test func otherEnvironmentsAreLeftOutButTheirTeamsCount() {
        let lines = [
            EventJSON.deploy("p", at: at("10:00:00"), service: "checkout", team: "old"),
            EventJSON.deploy("s", at: at("11:00:00"), service: "checkout", environment: "staging", team: "payments"),
        ]
        let r = MetricsTesting.report(lines)
        #expect(r.totals.deployments.count == 1)
        #expect(r.services.first?.team == "payments", "the latest event naming a team, of any environment")
        let staging = MetricsTesting.report(lines, configuration: MetricsConfiguration(environment: "staging"))
        #expect(staging.totals.deployments.count == 1 && staging.environment == "staging")
    }

    /// v1.1: a deploy rolled back at 12:25 is no longer running; an incident the next morning
    /// is not its doing. By hand: d2 (12:00) has only its rollback: detect 20 min, decide 0,
    /// act 5 min, verify 0, recovery 25 min. The 08:00 incident falls to d1, the latest deploy
    /// still live, 23 h earlier (within 24 h): detect 23 h, resolved at 08:30, recovery 23.5 h.
    @Test func aRolledBackDeployTakesNoLaterIncidentWhichFallsToTheLatestDeployStillLive() {
        let lines = [
            deploy("d1", "09:00:00", version: "v1"),
            deploy("d2", "12:00:00", version: "v2"),
            rollback("s", "12:20:00", status: "started", from: "v2"),
            rollback("c", "12:25:00", status: "completed"),
            alert("f", "08:00:00", status: "firing", day: 2),
            alert("r", "08:30:00", status: "resolved", day: 2),
        ]
        let r = MetricsTesting.report(lines)
        #expect(r.totals.changeFailure.failedChanges == 2)
        #expect(r.totals.recovery.stat.count == 2)
        #expect(r.totals.recovery.stat.p50 == 1_500)
        #expect(r.totals.recovery.stat.p95 == 84_600)
        #expect(r.totals.recovery.detect.p95 == 82_800)
        #expect(r.totals.recovery.modes == (rollback: 1, rollForward: 0, other: 1))
    }

    @Test(arguments: [
        // Fired before the completion: still d2's. Detected 12:20 (the rollback's start),
        // healthy 12:40 (the resolution): one failed change, 40 min.
        ("12:24:59", 1, [2_400.0]),
        // Fired at the completion: d2 is no longer live ("completed at or before the firing"),
        // so d1 takes it: 09:00 to 12:40 is 3 h 40 min; d2's own episode stays 25 min.
        ("12:25:00", 2, [1_500.0, 13_200.0]),
    ])
    func anIncidentAtTheRollbacksCompletionIsTheEdge(firing: String, failedChanges: Int, recoveries: [Double]) {
        let lines = [
            deploy("d1", "09:00:00", version: "v1"),
            deploy("d2", "12:00:00", version: "v2"),
            rollback("s", "12:20:00", status: "started", from: "v2"),
            rollback("c", "12:25:00", status: "completed"),
            alert("f", firing, status: "firing"),
            alert("r", "12:40:00", status: "resolved"),
        ]
        let r = MetricsTesting.report(lines)
        #expect(r.totals.changeFailure.failedChanges == failedChanges)
        #expect(r.totals.recovery.stat.count == recoveries.count)
        #expect(r.totals.recovery.stat.p50 == recoveries.first && r.totals.recovery.stat.p95 == recoveries.last)
    }

    @Test(arguments: [
        // fires, resolves, fires again: a recurring id, still one episode (10:00 to 10:10).
        (["10:00:00 firing", "10:10:00 resolved", "11:00:00 firing"], 1, 600.0),
        // a re-notified firing before the resolution is not a recurrence.
        (["10:00:00 firing", "10:05:00 firing", "10:10:00 resolved"], 0, 600.0),
        // never resolved: nothing to recur after.
        (["10:00:00 firing", "11:00:00 firing"], 0, nil),
    ] as [([String], Int, Double?)])
    func anAlertIDThatFiresAgainAfterItResolvedIsAWarningNotASecondEpisode(events: [String], recurring: Int, restore: Double?) {
        let lines = events.enumerated().map { i, e in
            let parts = e.split(separator: " ")
            return alert("e\(i)", String(parts[0]), status: String(parts[1]))
        }
        let r = MetricsTesting.report(lines)
        #expect(r.recurringAlerts == recurring)
        #expect(r.totals.timeToRestore.stat.count == (restore == nil ? 0 : 1))
        #expect(r.totals.timeToRestore.stat.p50 == restore)
    }

    @Test(arguments: [
        // completed two minutes before it started: per the definitions, never completed.
        (["10:00:00 started", "09:58:00 completed"], [], [ClockSkew.Kind.rollbackCompletedBeforeStart], 120.0),
        // one completion before and one after the start: completed, no skew.
        (["10:00:00 started", "09:58:00 completed", "10:04:00 completed"], [], [], nil),
        // resolved a minute before it fired.
        ([], ["10:00:00 firing", "09:59:00 resolved"], [.alertResolvedBeforeFiring], 60.0),
        // a resolution before and one after the firing: resolved, no skew.
        ([], ["10:00:00 firing", "09:59:00 resolved", "10:30:00 resolved"], [], nil),
    ] as [([String], [String], [ClockSkew.Kind], Double?)])
    func aCompletionOrResolutionOnlyBeforeItsStartIsListedAsClockSkewAndTheEpisodeStaysOpen(
        rollbackEvents: [String], alertEvents: [String], skew: [ClockSkew.Kind], earlierBy: Double?
    ) {
        var lines = [deploy("d1", "09:00:00", version: "v2")]
        for (i, e) in rollbackEvents.enumerated() {
            let parts = e.split(separator: " ")
            lines.append(rollback("r\(i)", String(parts[0]), status: String(parts[1]), from: "v2"))
        }
        for (i, e) in alertEvents.enumerated() {
            let parts = e.split(separator: " ")
            lines.append(alert("a\(i)", String(parts[0]), status: String(parts[1]), severity: "critical"))
        }
        let r = MetricsTesting.report(lines)
        #expect(r.clockSkew.map(\.kind) == skew)
        #expect(r.clockSkew.first.map { Double($0.earlierBy) / 1e6 } == earlierBy)
        #expect(r.clockSkew.allSatisfy { $0.service == "checkout" && $0.id == ($0.kind == .alertResolvedBeforeFiring ? "a" : "r") })
        // The numbers follow the definitions: a skewed episode is open, not an anomaly.
        #expect(r.events.anomalies == 0)
        #expect(r.totals.recovery.open == (skew.isEmpty ? 0 : 1))
    }
}
