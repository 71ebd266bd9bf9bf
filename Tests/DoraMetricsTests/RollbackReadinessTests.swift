import DoraEvents
import DoraReports
import DoraTestSupport
import Testing

@testable import DoraMetrics

/// Drills (`"exercise": "drill"`) never count in the DORA metrics; rollback readiness counts
/// every rollback, real or drill, of every environment.
@Suite struct RollbackReadinessTests {
    static func time(_ text: String) -> Int64 { Timestamp.parse(rfc3339: text)!.microseconds }
    static let july = Period(from: Timestamp.parse(rfc3339: "2026-07-01T00:00:00Z")!, to: Timestamp.parse(rfc3339: "2026-08-01T00:00:00Z")!)
    static let thirtyDays: Int64 = 30 * 86_400_000_000

    /// The JSON report without the blocks that drills may change: the stored-event counts and
    /// readiness itself.
    static func doraJSON(_ engine: MetricsEngine, period: Period) -> String {
        let report = engine.report(period: period, log: (0, 0, 0))
        return JSONReportRenderer.render(report)
    }

    /// Drill rollbacks of the generated stream's services, in its environment and another,
    /// with one drill whose completion is not marked (it is still a drill).
    static func drills(for services: [String], around period: Period) -> [Event] {
        var lines: [String] = []
        for (i, service) in services.enumerated() {
            let start = Timestamp(microseconds: period.from.microseconds + Int64(i + 1) * 86_400_000_000)
            let end = start.advanced(byMicroseconds: 600_000_000)
            let environment = i % 2 == 0 ? nil : "staging"
            let id = "drill-\(i)"
            lines.append(EventJSON.rollback(id + "-s", at: start.rfc3339, rollbackID: id, status: "started", service: service,
                                            environment: environment, from: "v9", exercise: "drill"))
            // The third drill's completion is unmarked: its started event makes it a drill.
            lines.append(EventJSON.rollback(id + "-c", at: end.rfc3339, rollbackID: id, status: i == 2 ? "completed" : (i == 4 ? "failed" : "completed"),
                                            service: service, environment: environment, exercise: i == 2 ? nil : "drill"))
        }
        // A drill whose unmarked event comes first: a completion before any marked event.
        let late = Timestamp(microseconds: period.from.microseconds + 3 * 86_400_000_000)
        lines.append(EventJSON.rollback("drill-x-c", at: late.advanced(byMicroseconds: 300_000_000).rfc3339, rollbackID: "drill-x",
                                        status: "completed", service: services[0]))
        lines.append(EventJSON.rollback("drill-x-s", at: late.rfc3339, rollbackID: "drill-x", status: "started", service: services[0],
                                        from: "v9", exercise: "drill"))
        return lines.map(event)
    }

    @Test(arguments: [21, 22] as [UInt64])
    func aStreamWithAndWithoutDrillsGivesTheSameDORAReport(seed: UInt64) {
        let events = GeneratedPropertyTests.events(seed: seed)
        var plain = MetricsEngine()
        for e in events { plain.add(e) }
        let period = plain.defaultPeriod!
        let services = Array(Set(events.map(\.service))).sorted().prefix(6)
        let drills = Self.drills(for: Array(services), around: period)
        // In any order, and split across engines that are merged (replay's parallel fold).
        var withDrills = MetricsEngine()
        var random = SplitMix64(state: seed)
        for e in (drills + events).shuffled(using: &random) { withDrills.add(e) }
        var parts = [MetricsEngine(), MetricsEngine()]
        for (i, e) in (events + drills).enumerated() { parts[i % 2].add(e) }
        var merged = MetricsEngine()
        for part in parts { merged.merge(part) }
        #expect(Self.doraJSON(withDrills, period: period) == Self.doraJSON(plain, period: period))
        #expect(Self.doraJSON(merged, period: period) == Self.doraJSON(plain, period: period))
        #expect(withDrills.timedSamples(of: Set(DurationMetric.allCases)) == plain.timedSamples(of: Set(DurationMetric.allCases)))
        // ...while readiness sees them.
        let readiness = withDrills.readiness(period: period, objective: Self.thirtyDays, services: Array(services))
        #expect(readiness.drills.count == 7)
        #expect(readiness == merged.readiness(period: period, objective: Self.thirtyDays, services: Array(services)))
    }

    @Test func recordsReadInPlaceGiveTheSameReadinessAndDORAFiguresAsDecodedEvents() {
        let events = GeneratedPropertyTests.events(seed: 23)
        let services = Array(Set(events.map(\.service))).sorted().prefix(6)
        var whole = MetricsEngine()
        for e in events { whole.add(e) }
        let all = events + Self.drills(for: Array(services), around: whole.defaultPeriod!) + Self.handMade.map(event)
        var bytes: [UInt8] = []
        for e in all { EventBinaryCodec.encode(e, into: &bytes) }
        var fromEvents = MetricsEngine()
        for e in all { fromEvents.add(e) }
        var fromRecords = MetricsEngine()
        bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            while !reader.isAtEnd { fromRecords.add(try! EventRecord.read(from: &reader)) }
        }
        let p = fromEvents.defaultPeriod!
        let names = fromEvents.report(period: p, log: (0, 0, 0)).services.map(\.service)
        #expect(Self.doraJSON(fromRecords, period: p) == Self.doraJSON(fromEvents, period: p))
        #expect(fromRecords.readiness(period: p, objective: Self.thirtyDays, services: names)
                == fromEvents.readiness(period: p, objective: Self.thirtyDays, services: names))
        #expect(fromRecords.readinessTimelines() == fromEvents.readinessTimelines())
        #expect(fromEvents.readiness(period: p, objective: Self.thirtyDays, services: names).drills.count >= 9)
    }

    /// Hand-made: four services of production, one only in staging; July, objective 30 days.
    static let handMade: [String] = [
        // Every listed service deploys in July.
        EventJSON.deploy("d-a", at: "2026-07-02T09:00:00Z", service: "a"),
        EventJSON.deploy("d-b", at: "2026-07-02T09:00:00Z", service: "b"),
        EventJSON.deploy("d-c", at: "2026-07-02T09:00:00Z", service: "c"),
        EventJSON.deploy("d-d", at: "2026-07-02T09:00:00Z", service: "d"),
        // a: a real rollback in production, 600 s, completed on July 20 at 10:00.
        EventJSON.rollback("ra-s", at: "2026-07-20T09:50:00Z", rollbackID: "ra", status: "started", service: "a", from: "v2", trigger: "auto"),
        EventJSON.rollback("ra-c", at: "2026-07-20T10:00:00Z", rollbackID: "ra", status: "completed", service: "a"),
        // b: a staging drill that succeeded on June 10 (before July), then one that failed on July 15.
        EventJSON.rollback("b1-s", at: "2026-06-10T12:00:00Z", rollbackID: "b1", status: "started", service: "b", environment: "staging", from: "v2", exercise: "drill"),
        EventJSON.rollback("b1-c", at: "2026-06-10T12:02:00Z", rollbackID: "b1", status: "completed", service: "b", environment: "staging", exercise: "drill"),
        EventJSON.rollback("b2-s", at: "2026-07-15T14:00:00Z", rollbackID: "b2", status: "started", service: "b", environment: "staging", from: "v2", exercise: "drill"),
        EventJSON.rollback("b2-f", at: "2026-07-15T14:05:00Z", rollbackID: "b2", status: "failed", service: "b", environment: "staging", exercise: "drill"),
        // c: never rolled back. d: a drill started before the period's end, completed after it.
        EventJSON.rollback("d1-s", at: "2026-07-31T23:00:00Z", rollbackID: "d1", status: "started", service: "d", environment: "staging", from: "v2", exercise: "drill"),
        EventJSON.rollback("d1-c", at: "2026-08-01T00:10:00Z", rollbackID: "d1", status: "completed", service: "d", environment: "staging", exercise: "drill"),
        // e: only in staging (not a listed service), a drill of July 5 that never ended.
        EventJSON.rollback("e1-s", at: "2026-07-05T08:00:00Z", rollbackID: "e1", status: "started", service: "e", environment: "staging", from: "v2", exercise: "drill"),
    ]

    @Test func readinessOfAHandMadeStreamIsAsComputedByHand() throws {
        let engine = MetricsTesting.engine(Self.handMade)
        let report = engine.report(period: Self.july, log: (0, 0, 0))
        #expect(report.services.map(\.service) == ["a", "b", "c", "d"])
        let r = engine.readiness(period: Self.july, objective: Self.thirtyDays, services: report.services.map(\.service))
        #expect(r.asOf == Self.july.to)
        #expect(r.services.map(\.service) == ["a", "b", "c", "d"])
        // a: its real rollback; 11 days 14 hours before August 1.
        let a = r.services[0]
        #expect(a.lastExercise?.rollbackID == "ra" && a.lastExercise?.isDrill == false && a.lastExercise?.environment == "production")
        #expect(a.lastExercise?.outcome == .completed && a.lastExercise?.duration == 600_000_000 && a.lastExercise?.trigger == .auto)
        #expect(a.lastSuccess == Self.time("2026-07-20T10:00:00Z") && !a.isStale)
        #expect(Readiness.days(r.asOf.microseconds - a.lastExercise!.at) == 11 + 14.0 / 24)
        // b: the failed drill is its last exercise; its last success is 51 days 12 hours old: stale.
        let b = r.services[1]
        #expect(b.lastExercise?.rollbackID == "b2" && b.lastExercise?.outcome == .failed && b.lastExercise?.duration == 300_000_000)
        #expect(b.lastExercise?.at == Self.time("2026-07-15T14:05:00Z"))
        #expect(b.lastSuccess == Self.time("2026-06-10T12:02:00Z") && b.isStale)
        // c: never. d: in progress at the period's end (its completion comes after), no success: stale.
        #expect(r.services[2].lastExercise == nil && r.services[2].isStale)
        let d = r.services[3]
        #expect(d.lastExercise?.outcome == .inProgress && d.lastExercise?.at == Self.time("2026-07-31T23:00:00Z"))
        #expect(d.lastExercise?.duration == nil && d.lastSuccess == nil && d.isStale)
        #expect(r.neverExercised == ["c"])
        #expect(r.stale == ["b", "d"])
        // July's drills, judged on all their events: b2 failed, d1 completed (70 min), e1 in progress.
        #expect(r.drills.count == 3 && r.drills.completed == 1 && r.drills.failed == 1 && r.drills.inProgress == 1)
        #expect(r.drills.successRate == 0.5)
        #expect(r.drills.duration == Stat(count: 1, p50: 4200, p95: 4200, mean: 4200))
        // Drills are not DORA rollbacks; the real one is.
        #expect(report.totals.rollbacks.started == 1 && report.totals.rollbacks.completed == 1 && report.totals.rollbacks.failed == 0)
    }

    @Test func theMarkdownReportShowsReadinessStaleServicesFirst() {
        let engine = MetricsTesting.engine(Self.handMade)
        var report = engine.report(period: Self.july, log: (0, 0, 0))
        report.readiness = engine.readiness(period: Self.july, objective: Self.thirtyDays, services: report.services.map(\.service))
        let md = MarkdownReportRenderer.render(report)
        let expected = """
            ## Rollback readiness

            As of 2026-08-01. A service is stale when its last successful rollback, real or drill, in any environment, is 30 d old or more.

            Drills started in the period: 3 (1 completed, 1 failed, 1 in progress); success rate 50 %; duration p50 70 min, p95 70 min.

            Never exercised (1): c.

            Stale (2): b, d.

            | service | last rollback | kind | environment | outcome | duration | days since | last success | stale |
            |---|---|---|---|---|---|---|---|---|
            | b | b2 | drill | staging | failed | 5 min | 16.4 | 2026-06-10T12:02:00Z | **stale** |
            | d | d1 | drill | staging | in progress | - | 0 | never | **stale** |
            | a | ra | real | production | completed | 10 min | 11.6 | 2026-07-20T10:00:00Z | no |
            """
        #expect(md.contains(expected), "\(md)")
    }

    @Test func aSuccessExactlyTheObjectiveOldIsStaleAndOneMicrosecondYoungerIsNot() {
        let completion = Self.july.to.microseconds - Self.thirtyDays
        for (offset, stale) in [(0 as Int64, true), (1, false)] {
            let t = Timestamp(microseconds: completion + offset)
            let engine = MetricsTesting.engine([
                EventJSON.deploy("d", at: "2026-07-02T09:00:00Z", service: "a"),
                EventJSON.rollback("r-c", at: t.rfc3339, rollbackID: "r", status: "completed", service: "a", exercise: "drill"),
            ])
            let r = engine.readiness(period: Self.july, objective: Self.thirtyDays, services: ["a"])
            #expect(r.services[0].isStale == stale, "completed \(t.rfc3339)")
        }
    }

    @Test func theOutcomesTimelineListsSuccessesAndFailuresOfEveryEnvironmentInTimeOrder() {
        let engine = MetricsTesting.engine(Self.handMade)
        let timelines = engine.readinessTimelines(before: Self.july.to.microseconds)
        #expect(timelines.map(\.service) == ["a", "b", "c", "d"], "the environment's services; e is only in staging")
        let b = timelines[1]
        #expect(b.firstSeen == Self.time("2026-07-02T09:00:00Z"))
        #expect(b.outcomes == [
            ExerciseOutcome(time: Self.time("2026-06-10T12:02:00Z"), succeeded: true, rollbackID: "b1"),
            ExerciseOutcome(time: Self.time("2026-07-15T14:05:00Z"), succeeded: false, rollbackID: "b2"),
        ])
        #expect(timelines[3].outcomes.isEmpty, "d's completion is after the bound")
    }
}
