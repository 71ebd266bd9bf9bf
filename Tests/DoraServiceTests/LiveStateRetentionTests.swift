@testable import DoraService
import DoraEventLog
import DoraEvents
import DoraGenerator
import DoraMetrics
import DoraSLO
import DoraTestSupport
import Testing
import Dispatch

/// `live.retention`: the live state forgets what lies before its retention, evaluates its SLOs
/// as the backtest of the whole history does, and holds as much after a year as after a month.
@Suite struct LiveStateRetentionTests {
    static let day: Int64 = 86_400_000_000

    /// Duration SLOs on every kind of sample, a week's window, regression on, and a readiness
    /// objective (which reads every rollback a service ever had).
    static let slos: [SLODefinition] = [DurationMetric.rollbackTime, .recoveryTime, .timeToRestore, .leadTime, .detect].map { metric in
        var slo = SLODefinition(name: "\(metric)", metric: metric, objective: 1_800_000_000)
        slo.window = 7 * day
        slo.minSamples = 3
        slo.per = metric == .leadTime ? .group : .service
        return slo
    }
    /// Those whose samples never move once known. A recovery episode's samples move when a
    /// later incident links to its deploy, which a live run sees as a late change (docs/run.md)
    /// and the backtest never does: with them, live and backtest differ with or without a
    /// retention.
    static let steadySLOs = slos.filter { [.rollbackTime, .timeToRestore, .leadTime].contains($0.metric) }
    static let readiness = [ReadinessObjective(name: "exercised", maxAge: 10 * day)]

    /// Valid generated events in (time, id) order.
    static func events(days: Int, count: Int, seed: UInt64 = 42) -> [Event] {
        var configuration = GeneratorConfiguration()
        configuration.seed = seed
        // Long before now: events dated after tomorrow are the future, which no clock follows.
        configuration.start = Timestamp.parse(rfc3339: "2024-01-01T00:00:00Z")!
        configuration.events = count
        configuration.days = days
        configuration.services = 8
        configuration.duplicateRate = 0
        configuration.malformedRate = 0
        return EventGenerator(configuration: configuration).lines().compactMap { try? EventDecoder.decode($0) }
            .sorted { $0.time != $1.time ? $0.time < $1.time : $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
    }

    static func state(retention: Int64?, slos: [SLODefinition] = slos) -> LiveState {
        LiveState(
            configuration: MetricsConfiguration(), slos: slos, readiness: readiness, assignments: ServiceAssignments(), retention: retention)
    }

    /// A report computes from a copy of the state's values that shares their storage; a
    /// retention step replaces every service's state, so it waits for the reports holding the
    /// old one (else both would be held), and a report asked for meanwhile waits for the step.
    @Test func aRetentionStepWaitsForTheReportsThatHoldTheStateItReplaces() async throws {
        let state = Self.state(retention: 14 * Self.day)
        let events = Self.events(days: 40, count: 3_000)
        _ = await state.add(events.filter { $0.time.microseconds < events[0].time.startOfDay.microseconds + 20 * Self.day }, summary: AppendSummary())
        let (entered, release) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let busy = Task { await state.onReportThread { entered.signal(); release.wait() } }
        await Task.detached { entered.wait() }.value
        let held = Task { await state.report() }  // takes its source, then waits for the thread
        try #require(await Self.eventually { await state.reportsHolding == 1 }, "the report took its source")
        let before = await state.retainedFrom
        // A round that moves the retention on, its step deferred as `run` defers it.
        _ = await state.add(events.filter { $0.time.microseconds >= events[0].time.startOfDay.microseconds + 20 * Self.day }, summary: AppendSummary(), deferringRetention: true)
        let step = Task { await state.applyRetention() }
        try #require(await Self.eventually { await state.retentionWaiting }, "the step waits for the report")
        #expect(await state.retainedFrom == before, "the step waits while a report holds the state")
        let asked = Task { await state.report() }  // waits for the step
        release.signal()
        await busy.value
        await step.value
        let moved = try #require(await state.retainedFrom)
        #expect(before.map { moved > $0 } ?? true, "the step ran once the report let go")
        let heldFrom = try #require(await held.value).period.from
        #expect(heldFrom < moved, "the report that held the state reads it as it was before the step")
        let after = try #require(await asked.value)
        #expect(after.period.from >= moved, "the report asked for during the wait reads the state after the step")
    }

    /// Whether `condition` holds within 30 s (a bound on a hang, not a measurement).
    static func eventually(_ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return false
    }

    /// `events` (in time order) a day at a time: the rounds of a live run receiving them.
    static func rounds(_ events: [Event]) -> [[Event]] {
        var out: [[Event]] = []
        var i = 0
        while i < events.count {
            let dayEnd = events[i].time.startOfDay.microseconds + day
            var j = i
            while j < events.count && events[j].time.microseconds < dayEnd { j += 1 }
            out.append(Array(events[i..<j]))
            i = j
        }
        return out
    }

    /// Feeds `events` a day at a time, as a live run receiving them in time order would.
    static func feed(_ events: [Event], to state: LiveState) async -> [SLOAlert] {
        var out: [SLOAlert] = []
        for round in rounds(events) { out += await state.add(round, summary: AppendSummary(read: round.count, stored: round.count)) }
        return out
    }

    static func expectSame(_ a: [SLOAlert], _ b: [SLOAlert], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, "\(what): \(a.count) transitions, \(b.count) expected", sourceLocation: sourceLocation)
        let first = a.indices.first { $0 >= b.count || a[$0] != b[$0] }
        #expect(first == nil, "\(what), first difference: \(first.map { "\(a[$0])\n  expected \($0 < b.count ? "\(b[$0])" : "none")" } ?? "")", sourceLocation: sourceLocation)
    }

    @Test func aLiveRunWithAShortRetentionEmitsTheBacktestsTransitions() async {
        let events = Self.events(days: 120, count: 9_000)
        let state = Self.state(retention: 14 * Self.day, slos: Self.steadySLOs)
        let live = await Self.feed(events, to: state)
        // The backtest over the whole history, to just after the latest event.
        var engine = MetricsEngine()
        for e in events { engine.add(e) }
        var backtest = SLOEvaluation(slos: Self.steadySLOs, readiness: Self.readiness, assignments: ServiceAssignments())
        let expected = backtest.evaluate(engine, to: events.last!.time.microseconds + 1)
        #expect(expected.count > 20, "the stream should make the SLOs fire and resolve")
        #expect(Set(expected.map(\.kind)).count >= 4, "breaches, regressions, rollback and readiness alerts: \(Set(expected.map(\.kind)))")
        Self.expectSame(live, expected, "live with a retention against the backtest")
        // It did forget: it holds about the retention's share of the history (14 of 120 days),
        // plus what does not grow with it: the windows of the SLOs, and the commits remembered
        // for one more retention.
        let retainedFrom = await state.retainedFrom
        #expect(retainedFrom == Timestamp(microseconds: events.last!.time.microseconds - 14 * Self.day).startOfDay)
        let whole = Self.state(retention: nil, slos: Self.steadySLOs)
        Self.expectSame(await Self.feed(events, to: whole), expected, "live without a retention against the backtest")
        let (kept, all) = (await state.retainedItems, await whole.retainedItems)
        #expect(kept * 3 < all, "kept \(kept) of \(all)")
    }

    @Test func aRetentionChangesNothingALiveRunEmits() async {
        let events = Self.events(days: 120, count: 9_000, seed: 11)
        let live = await Self.feed(events, to: Self.state(retention: 14 * Self.day))
        let control = await Self.feed(events, to: Self.state(retention: nil))
        #expect(control.count > 50)
        Self.expectSame(live, control, "live with a retention against live without")
    }

    /// `run` sends a round's transitions before the retention step the round is due; a caller
    /// that defers the step and never asks for it gets it at its next round. Either way the
    /// transitions, and what is held once the step has run, are those of a step taken at once.
    @Test func aDeferredRetentionStepChangesNeitherTheTransitionsNorWhatIsHeld() async {
        let events = Self.events(days: 60, count: 5_000, seed: 5)
        let (atOnce, deferred, neverAsked) = (
            Self.state(retention: 14 * Self.day), Self.state(retention: 14 * Self.day), Self.state(retention: 14 * Self.day)
        )
        var (a, b, c) = ([SLOAlert](), [SLOAlert](), [SLOAlert]())
        var (sameHeld, oneStepBehind, waited) = (true, true, 0)
        var previousStart: Timestamp?
        for round in Self.rounds(events) {
            let summary = AppendSummary(read: round.count, stored: round.count)
            a += await atOnce.add(round, summary: summary)
            b += await deferred.add(round, summary: summary, deferringRetention: true)
            await deferred.applyRetention()
            c += await neverAsked.add(round, summary: summary, deferringRetention: true)
            let (held, heldDeferred, heldNeverAsked) = (await atOnce.retainedItems, await deferred.retainedItems, await neverAsked.retainedItems)
            if held != heldDeferred { sameHeld = false }
            if heldNeverAsked > held { waited += 1 }
            // The step never asked for ran at the start of this round: one step behind.
            if await neverAsked.retainedFrom != previousStart { oneStepBehind = false }
            previousStart = await atOnce.retainedFrom
        }
        #expect(a.count > 20)
        Self.expectSame(b, a, "deferred, then applied, against at once")
        Self.expectSame(c, a, "deferred and never asked for, against at once")
        #expect(sameHeld, "after the step the deferring caller runs, it holds what the other does")
        #expect(waited > 30, "a step never asked for waits for the next round (\(waited) of the rounds)")
        #expect(oneStepBehind, "and runs at the start of that round")
        await neverAsked.applyRetention()
        #expect(await neverAsked.retainedItems == (await atOnce.retainedItems))
    }

    @Test func theLiveReportOverTheRetentionIsTheReportOfTheWholeHistory() async throws {
        let events = Self.events(days: 90, count: 8_000, seed: 7)
        let state = Self.state(retention: 30 * Self.day)
        _ = await Self.feed(events, to: state)
        var engine = MetricsEngine()
        for e in events { engine.add(e) }
        let period = try #require(await state.defaultPeriod)
        #expect(period.from == (await state.retainedFrom), "the default period starts where the retention does")
        #expect(period.to == engine.defaultPeriod?.to)
        // A day past the cutoff, no episode reaches back before it (the generator's are hours).
        let later = Period(from: period.from.advanced(byMicroseconds: Self.day), to: period.to)
        let live = try #require(await state.report(period: later))
        var full = engine.report(period: later, log: (events.count, 0, 0))
        full.readiness = engine.readiness(period: later, objective: Self.readiness[0].maxAge, services: full.services.map(\.service))
        #expect(live.totals.deployments.count > 100 && full.readiness?.services.isEmpty == false)
        #expect(live.totals == full.totals)
        #expect(live.services == full.services)
        #expect(live.readiness == full.readiness)
        #expect(live == full)
    }

    @Test func aRestartRemembersTheCommitsShippedInBlocksWhollyBeforeTheRetention() async throws {
        try await withTemporaryDirectory { dir in
            // A deploy a day in July at noon, each day appended on its own (a block a day).
            // Commit "x" is shipped on the 5th, the 12th and the 25th: only the 5th ships it
            // first. With a 10-day retention and the last deploy on the 30th, the retention
            // starts on the 20th and the commits of deploys since the 10th are remembered.
            let log = try EventLog(directory: dir)
            var events: [Event] = []
            for day in 1...30 {
                var commits = [("c\(day)", MetricsTesting.at("08:00:00", day: day))]
                if [5, 12, 25].contains(day) { commits.append(("x", MetricsTesting.at("00:00:00", day: 1))) }
                let line = EventJSON.deploy("d\(day)", at: MetricsTesting.at("12:00:00", day: day), version: "v\(day)", commits: commits)
                _ = try log.append(LogTesting.batch([line], firstLine: day))
                events.append(event(line))
            }
            let reader = try LogReader(directory: dir)
            #expect(reader.blocks.filter { $0.recordCount > 0 }.count == 30)
            var whole = MetricsEngine()
            for e in events { whole.add(e) }
            let period = Period(
                from: Timestamp.parse(rfc3339: MetricsTesting.at("00:00:00", day: 20))!, to: Timestamp.parse(rfc3339: MetricsTesting.at("00:00:00", day: 31))!)
            let expected = whole.report(period: period, log: (30, 0, 0)).totals.leadTime.stat
            #expect(expected.count == 11, "the deploys of the 20th to the 30th, each shipping its own commit first")
            // Fed a day at a time: the 25th's "x" was shipped on the 12th, which the retention
            // forgot while remembering its commits (those of the 5th's are forgotten by then).
            let live = Self.state(retention: 10 * Self.day, slos: [])
            _ = await Self.feed(events, to: live)
            #expect(await live.retainedFrom == period.from)
            #expect(await live.report(period: period)?.totals.leadTime.stat == expected)
            // Restarted: the 12th's block lies wholly before the retention's start.
            let restarted = Self.state(retention: 10 * Self.day, slos: [])
            try await restarted.replay(reader)
            #expect(await restarted.retainedFrom == period.from)
            #expect(await restarted.report(period: period)?.totals.leadTime.stat == expected)
        }
    }

    @Test func memoryStaysFlatWhenTheSameEventsRepeatAtLaterTimes() async {
        let week = Self.events(days: 7, count: 1_500, seed: 3)
        let retained = Self.state(retention: 14 * Self.day)
        let unbounded = Self.state(retention: nil)
        var kept: [Int] = []
        var all: [Int] = []
        for k in 0..<16 {
            // The same week k weeks later, under new ids.
            let shifted = week.map { e in
                var e = e
                e.id += "-\(k)"
                e.time = e.time.advanced(byMicroseconds: Int64(k) * 7 * Self.day)
                return e
            }
            _ = await Self.feed(shifted, to: retained)
            _ = await Self.feed(shifted, to: unbounded)
            kept.append(await retained.retainedItems)
            all.append(await unbounded.retainedItems)
        }
        #expect(kept[15] == kept[7] && kept[11] == kept[7], "flat once the retention is full: \(kept)")
        #expect(all[15] > all[7] * 3 / 2, "without a retention it grows: \(all)")
    }
}
