import DoraEvents
import DoraReports
import DoraTestSupport
import Testing

@testable import DoraMetrics

/// `MetricsEngine.forget(before:)`: what a live run's retention keeps and forgets.
@Suite struct RetentionTests {
    static func event(_ line: String) -> Event { try! EventDecoder.decode(line) }
    static let cutoff = Timestamp.parse(rfc3339: "2026-07-10T00:00:00Z")!

    /// One service's history on both sides of July 10th.
    static let history: [Event] = [
        EventJSON.deploy("d1", at: "2026-07-01T09:00:00Z", version: "v1", commits: [("a1", "2026-06-30T09:00:00Z")]),
        EventJSON.rollback("r1-s", at: "2026-07-01T10:00:00Z", rollbackID: "r1", status: "started", from: "v1"),
        EventJSON.rollback("r1-c", at: "2026-07-01T10:05:00Z", rollbackID: "r1", status: "completed"),
        EventJSON.rollback("r2-s", at: "2026-07-02T10:00:00Z", rollbackID: "r2", status: "started", from: "v1"),
        EventJSON.rollback("r2-c", at: "2026-07-02T10:05:00Z", rollbackID: "r2", status: "completed"),
        EventJSON.rollback("r3-s", at: "2026-07-03T10:00:00Z", rollbackID: "r3", status: "started", from: "v1"),
        EventJSON.rollback("r3-f", at: "2026-07-03T10:05:00Z", rollbackID: "r3", status: "failed"),
        EventJSON.rollback("r4-s", at: "2026-07-04T10:00:00Z", rollbackID: "r4", status: "started", from: "v1"),
        EventJSON.rollback("r4-f", at: "2026-07-04T10:05:00Z", rollbackID: "r4", status: "failed"),
        EventJSON.rollback("r5-s", at: "2026-07-01T12:00:00Z", rollbackID: "r5", status: "started", environment: "staging", from: "v0"),
        EventJSON.rollback("r5-c", at: "2026-07-01T12:05:00Z", rollbackID: "r5", status: "completed", environment: "staging"),
        EventJSON.rollback("r6-s", at: "2026-07-05T10:00:00Z", rollbackID: "r6", status: "started", from: "v1"),
        EventJSON.alert("a1-f", at: "2026-07-01T09:30:00Z", alertID: "a1", status: "firing", severity: "critical"),
        EventJSON.alert("a1-r", at: "2026-07-01T09:40:00Z", alertID: "a1", status: "resolved"),
        EventJSON.alert("a2-f", at: "2026-07-05T09:30:00Z", alertID: "a2", status: "firing", severity: "critical"),
        EventJSON.deploy("d2", at: "2026-07-20T09:00:00Z", version: "v2", commits: [("a2", "2026-07-19T09:00:00Z")]),
        EventJSON.alert("a3-f", at: "2026-07-21T09:30:00Z", alertID: "a3", status: "firing", severity: "critical"),
        EventJSON.alert("a3-r", at: "2026-07-21T09:50:00Z", alertID: "a3", status: "resolved"),
    ].map(event)

    @Test func forgettingKeepsWhatIsOpenAndWhatReadinessReadsAndCountsTheOtherSuccesses() throws {
        var whole = MetricsEngine()
        for e in Self.history { whole.add(e) }
        var kept = whole
        kept.forget(before: Self.cutoff)
        let state = try #require(kept.serviceStates.first)
        #expect(state.deploys.map(\.id) == ["d2"] && state.commits.count == 1 && state.commits[0].time == Timestamp.parse(rfc3339: "2026-07-19T09:00:00Z")!.microseconds, "d2 and its commit")
        // a1 resolved before the cutoff; a2 is still open, so it stays.
        #expect(Set(state.alerts.map(\.0)) == ["a2", "a3"])
        // r2 is the latest success, r3 and r4 failed after it (r4 is also the latest exercise),
        // r6 is still in progress; r1 is forgotten, and only its success is counted.
        #expect(Set(state.rollbacks.keys) == ["r2", "r3", "r4", "r6"])
        #expect(state.forgottenSuccesses == 1)
        #expect(kept.exercises(of: "checkout").forgottenSuccesses == 1)
        #expect(kept.retainedItems < whole.retainedItems)
        // Readiness after the cutoff is the whole history's, as is its timeline's final state.
        let august = Period(from: Timestamp.parse(rfc3339: "2026-07-11T00:00:00Z")!, to: Timestamp.parse(rfc3339: "2026-08-01T00:00:00Z")!)
        let objective: Int64 = 30 * 86_400_000_000
        #expect(kept.readiness(period: august, objective: objective, services: ["checkout"])
            == whole.readiness(period: august, objective: objective, services: ["checkout"]))
        let (cut, full) = (try #require(kept.readinessTimelines().first), try #require(whole.readinessTimelines().first))
        #expect(cut.cut == Self.cutoff.microseconds && full.cut == .min)
        #expect(cut.earlierSuccesses + cut.outcomes.filter(\.succeeded).count == full.outcomes.filter(\.succeeded).count)
        #expect(cut.outcomes.last == full.outcomes.last && cut.firstSeen == full.firstSeen)
        // The default period starts at the cutoff.
        #expect(kept.defaultPeriod?.from == Self.cutoff && whole.defaultPeriod?.from != Self.cutoff)
    }

    @Test func forgettingReleasesMemoryOncePerIntervalOfServicesAndKeepsWhatItWouldWithout() {
        var whole = MetricsEngine()
        for i in 0..<300 {
            for (id, day) in [("old", "05"), ("new", "20")] {
                whole.add(Self.event(EventJSON.deploy("\(id)-\(i)", at: "2026-07-\(day)T09:00:00Z", service: "svc-\(i)", commits: [("\(id)\(i)", "2026-07-\(day)T08:00:00Z")])))
            }
        }
        var (released, quiet) = (whole, whole)
        var calls = 0
        released.forget(before: Self.cutoff, releaseMemory: { calls += 1 })
        quiet.forget(before: Self.cutoff)
        #expect(calls == 300 / MetricsEngine.releaseInterval)
        let render = { (engine: MetricsEngine) in JSONReportRenderer.render(engine.report(period: engine.defaultPeriod!, log: (0, 0, 0))) }
        #expect(render(released) == render(quiet) && released.retainedItems == quiet.retainedItems)
        #expect(released.retainedItems < whole.retainedItems)
    }

    @Test func consolidatingReleasesMemoryOncePerIntervalOfMergedServicesAndMergesAsItWouldWithout() {
        // 300 services in two parts each, as the replay's two threads leave them, and 250 in one
        // (not merged: they do not count).
        var parts = [MetricsEngine(), MetricsEngine()]
        for i in 0..<550 {
            for (p, id, day) in [(0, "old", "05"), (1, "new", "20")] where i < 300 || p == 0 {
                parts[p].add(Self.event(EventJSON.deploy("\(id)-\(i)", at: "2026-07-\(day)T09:00:00Z", service: "svc-\(i)", commits: [("\(id)\(i)", "2026-07-\(day)T08:00:00Z")])))
            }
        }
        var merged = MetricsEngine()
        for part in parts { merged.merge(part) }
        var (released, quiet) = (merged, merged)
        var calls = 0
        released.consolidate(releaseMemory: { calls += 1 })
        quiet.consolidate()
        #expect(calls == 300 / MetricsEngine.releaseInterval)
        let render = { (engine: MetricsEngine) in JSONReportRenderer.render(engine.report(period: engine.defaultPeriod!, log: (0, 0, 0))) }
        #expect(render(released) == render(quiet) && released.retainedItems == quiet.retainedItems)
    }

    @Test(arguments: [5, 6] as [UInt64])
    func aReportADayAfterTheCutoffIsTheWholeHistorys(seed: UInt64) {
        let events = GeneratedPropertyTests.events(seed: seed)
        var whole = MetricsEngine()
        for e in events { whole.add(e) }
        let period = whole.defaultPeriod!
        let middle = Timestamp(microseconds: (period.from.microseconds + period.to.microseconds) / 2).startOfDay
        var kept = whole
        kept.forget(before: middle)
        let later = Period(from: middle.advanced(byMicroseconds: 86_400_000_000), to: period.to)
        let render = { (engine: MetricsEngine) in JSONReportRenderer.render(engine.report(period: later, log: (0, 0, 0))) }
        #expect(render(kept) == render(whole))
        #expect(kept.retainedItems * 3 < whole.retainedItems * 2, "about half of the history is forgotten")
    }

    /// How many lead times the report of July 11th to August 1st (after the cutoff) counts.
    static func leadTimesAfterTheCutoff(_ engine: MetricsEngine) -> Int {
        let after = Period(from: Timestamp.parse(rfc3339: "2026-07-11T00:00:00Z")!, to: Timestamp.parse(rfc3339: "2026-08-01T00:00:00Z")!)
        return engine.report(period: after, log: (0, 0, 0)).totals.leadTime.stat.count
    }

    @Test func aCommitShippedAgainAfterTheCutoffGivesNoLeadTimeWhileItsFirstDeployIsRemembered() {
        let whole = MetricsTesting.engine([
            EventJSON.deploy("d1", at: "2026-07-01T09:00:00Z", version: "v1", commits: [("a1", "2026-06-30T09:00:00Z")]),
            EventJSON.deploy("d3", at: "2026-07-15T09:00:00Z", version: "v1", commits: [("a1", "2026-06-30T09:00:00Z"), ("b1", "2026-07-14T09:00:00Z")]),
        ])
        let leadTimes = Self.leadTimesAfterTheCutoff
        var remembering = whole
        remembering.forget(before: Self.cutoff, commitsSince: Timestamp.parse(rfc3339: "2026-06-01T00:00:00Z")!)
        var forgetting = whole
        forgetting.forget(before: Self.cutoff)
        #expect(leadTimes(whole) == 1, "only b1 is shipped first in the period")
        #expect(leadTimes(remembering) == 1)
        #expect(leadTimes(forgetting) == 2, "with d1 forgotten for good, d3 seems to ship a1 first")
        // The live run's index says the same, before and after.
        remembering.trackLeadTimes()
        #expect(remembering.timedSamples(.leadTime).first?.samples.count == 1)
    }

    /// A sha shipped by two forgotten deploys is remembered with the later one's time: a
    /// retention step whose `commitsSince` lies between the two still remembers it, as a
    /// restart that reads the log from `commitsSince` on does; one after both forgets it.
    @Test func aCommitShippedByTwoForgottenDeploysIsRememberedFromTheLaterOne() {
        var engine = MetricsTesting.engine([
            EventJSON.deploy("d0", at: "2026-06-20T09:00:00Z", version: "v0", commits: [("a1", "2026-06-19T09:00:00Z")]),
            EventJSON.deploy("d1", at: "2026-07-01T09:00:00Z", version: "v1", commits: [("a1", "2026-06-19T09:00:00Z")]),
            EventJSON.deploy("d3", at: "2026-07-15T09:00:00Z", version: "v1", commits: [("a1", "2026-06-19T09:00:00Z"), ("b1", "2026-07-14T09:00:00Z")]),
        ])
        let leadTimes = Self.leadTimesAfterTheCutoff
        engine.forget(before: Self.cutoff, commitsSince: Timestamp.parse(rfc3339: "2026-06-01T00:00:00Z")!)
        #expect(leadTimes(engine) == 1, "a1 is remembered as shipped before")
        engine.forget(before: Self.cutoff, commitsSince: Timestamp.parse(rfc3339: "2026-06-25T00:00:00Z")!)
        #expect(leadTimes(engine) == 1, "remembered from d1 (July 1st), a1 is still remembered from June 25th on")
        engine.forget(before: Self.cutoff, commitsSince: Timestamp.parse(rfc3339: "2026-07-02T00:00:00Z")!)
        #expect(leadTimes(engine) == 2, "from July 2nd on, a1 is forgotten")
    }
}
