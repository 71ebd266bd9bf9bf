@testable import DoraService
import DoraEventLog
import DoraEvents
import DoraMetrics
import DoraSLO
import DoraTestSupport
import Foundation
import Testing

@Suite struct LiveStateTests {
    static func rollbacks(day: Int, minutes: Int) -> [Event] {
        EventJSON.rollbacks(day: day, minutes: minutes).map { try! EventDecoder.decode($0) }
    }

    /// The breach transitions (the 10-minute rollbacks also raise a RollbackStuck each).
    static func breaches(_ alerts: [SLOAlert]) -> [SLOAlert] { alerts.filter { $0.kind == .breach } }

    static let slo: SLODefinition = {
        var slo = SLODefinition(name: "rb", metric: .rollbackTime, objective: 300_000_000)
        slo.window = 7 * 86_400_000_000
        slo.minSamples = 3
        slo.regression = nil
        return slo
    }()

    @Test func addingAppendsFiresAndResolvesAndTheReportCountsWhatWasStored() async {
        let state = LiveState(
            configuration: MetricsConfiguration(), slos: [Self.slo], assignments: ServiceAssignments([.init(pattern: "check*", tier: "tier-1")]))
        var summary = AppendSummary()
        summary.read = 7
        summary.stored = 6
        summary.rejected = 1
        let fired = await state.add(Self.rollbacks(day: 1, minutes: 10), summary: summary)
        #expect(Self.breaches(fired).map(\.state) == [.firing] && fired.first?.scope == .service("checkout"))
        #expect(fired.filter { $0.kind == .rollbackStuck }.map(\.state) == [.firing, .resolved, .firing, .resolved, .firing, .resolved])
        let firing = await state.firing
        #expect(firing.count == 1)
        summary.read = 6
        summary.rejected = 0
        let resolved = await state.add(Self.rollbacks(day: 11, minutes: 1), summary: summary)
        #expect(Self.breaches(resolved).map(\.state) == [.resolved] && resolved.count == 1)
        let report = await state.report()
        #expect(report?.events.stored == 12 && report?.events.rejected == 1)
        #expect(report?.totals.rollbacks.completed == 6)
        #expect(report?.groups.map(\.team) == ["tier-1"] && report?.groups.first?.metrics.rollbacks.completed == 6, "pooled by tier")
        let emitted = await state.alertsEmitted
        #expect(emitted[.init(kind: .breach, state: .firing)] == 1 && emitted[.init(kind: .breach, state: .resolved)] == 1)
        #expect(emitted[.init(kind: .rollbackStuck, state: .firing)] == 3)
    }

    /// A report is computed off the state's executor: a round that comes while the report
    /// thread is busy is evaluated at once, and its alert is not held up by the report.
    @Test func aRoundIsEvaluatedWhileTheReportThreadIsBusy() async throws {
        let state = LiveState(configuration: MetricsConfiguration(), slos: [Self.slo], assignments: ServiceAssignments())
        _ = await state.add(Self.rollbacks(day: 1, minutes: 1), summary: AppendSummary())
        let (entered, release) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let busy = Task { await state.onReportThread { entered.signal(); release.wait() } }
        await Task.detached { entered.wait() }.value
        let report = Task { await state.report() }
        let fired = await state.add(Self.rollbacks(day: 2, minutes: 10), summary: AppendSummary())
        #expect(Self.breaches(fired).map(\.state) == [.firing], "the round went on while the report waited")
        release.signal()
        await busy.value
        let completed = try #require(await report.value).totals.rollbacks.completed
        #expect(completed == 3 || completed == 6, "the state as of some moment, never a part of a round")
    }

    /// A report reads each service as it was when it took the service's slice: the rounds
    /// after that change the state, not the report.
    @Test func aReportReadsEachServiceAsItWasWhenItTookItsSlice() async throws {
        let state = LiveState(configuration: MetricsConfiguration(), slos: [Self.slo], assignments: ServiceAssignments())
        _ = await state.add(Self.rollbacks(day: 1, minutes: 1), summary: AppendSummary())
        let period = Period(from: Timestamp.parse(rfc3339: "2026-07-01T00:00:00Z")!, to: Timestamp.parse(rfc3339: "2026-07-10T00:00:00Z")!)
        let before = try #require(await state.report(period: period))
        let source = await state.takeReportSource()
        let (slice, isLast) = await state.takeSlice(from: 0)
        #expect(isLast && slice.count == 1, "one service: one slice")
        _ = await state.add(Self.rollbacks(day: 2, minutes: 10), summary: AppendSummary())
        #expect(source.report(from: source.parts(of: slice, period: period, bucketBounds: nil)) == before)
        await state.letGoOfReportSource()
        let after = try #require(await state.report(period: period))
        #expect(after.totals.rollbacks.completed == 6 && before.totals.rollbacks.completed == 3)
    }

    /// Read a slice at a time, the services make the report they make read all at once: each
    /// service is in one slice, and the rollbacks of a service seen only in another
    /// environment (which readiness counts) in exactly one.
    @Test func aReportReadInSlicesEqualsTheReportReadAtOnce() async throws {
        let day: Int64 = 86_400_000_000
        let generated = LiveStateRetentionTests.events(days: 30, count: 4_000)
        let start = generated[0].time.startOfDay
        let drill = try [("started", 0), ("completed", 12)].map { status, minutes in
            try EventDecoder.decode(EventJSON.rollback(
                "elsewhere-\(status)", at: start.advanced(byMicroseconds: 5 * day + Int64(minutes) * 60_000_000).rfc3339,
                rollbackID: "elsewhere", status: status, service: "rehearsed-in-staging-only", environment: "staging",
                from: status == "started" ? "v2" : nil, to: status == "started" ? "v1" : nil, exercise: "drill"))
        }
        let makeState = {
            LiveState(
                configuration: MetricsConfiguration(), slos: [Self.slo], readiness: [ReadinessObjective(name: "exercised", maxAge: 10 * day)],
                assignments: ServiceAssignments([.init(pattern: "*", tier: "tier-1")]))
        }
        let state = makeState()
        _ = await state.add(generated + drill, summary: AppendSummary(read: generated.count + 2, stored: generated.count + 2))
        await state.setReportSlices(1)
        let services = await state.takeSlice(from: 0).slice.count
        #expect(services == 8, "the generated services, not the one seen only in staging")
        let bounds: [Int64] = [60_000_000, 600_000_000, 3_600_000_000]
        let whole = try #require(await state.report(bucketBounds: bounds))
        for slices in [3, services] {
            await state.setReportSlices(slices)
            let sliced = try #require(await state.report(bucketBounds: bounds))
            #expect(sliced == whole, "in \(slices) slices")
        }
        #expect(whole.services.count == services)
        let readiness = try #require(whole.readiness)
        #expect(!readiness.services.contains { $0.service == "rehearsed-in-staging-only" }, "readiness lists the report's services")
        let withoutDrill = makeState()
        _ = await withoutDrill.add(generated, summary: AppendSummary(read: generated.count, stored: generated.count))
        let others = try #require(await withoutDrill.report()?.readiness)
        #expect(readiness.drills.count == others.drills.count + 1, "the drill of the service seen only in staging, once")
    }

    @Test func theClockFollowsTheWallClockOnlyWhileCaughtUpAndAgesTheBreachOut() async {
        let state = LiveState(configuration: MetricsConfiguration(), slos: [Self.slo], assignments: ServiceAssignments())
        // July 1st, three 10-minute rollbacks completed 08:10, 09:10, 10:10: the breach fires.
        let fired = await state.add(Self.rollbacks(day: 1, minutes: 10), summary: AppendSummary())
        #expect(Self.breaches(fired).map(\.state) == [.firing])
        let latest = Timestamp.parse(rfc3339: "2026-07-01T10:10:00Z")!.microseconds
        #expect(await state.clock == latest, "the latest stored event time")
        // Not caught up: the stored events are the clock, nothing has aged out.
        #expect(await state.tick(caughtUp: false).isEmpty)
        // Caught up: the wall clock (months later) passes July 8th 08:10, when the first sample
        // leaves the 7-day window, and the breach resolves at that instant.
        // (The wall clock is read before the tick, so no delay of a loaded machine between the
        // tick and the check can fail it.)
        let beforeTick = Timestamp.now().microseconds
        let resolved = await state.tick(caughtUp: true)
        #expect(resolved.map(\.state) == [.resolved])
        #expect(resolved.first?.at == Timestamp.parse(rfc3339: "2026-07-08T08:10:00Z")!.microseconds && resolved.first?.samples == 2)
        #expect(await state.clock >= beforeTick - 30_000_000, "the wall clock less the 30 s lag")
        #expect(await state.clock <= Timestamp.now().microseconds - 30_000_000, "the lag applied")
        // The clock never goes back.
        #expect(await state.tick(caughtUp: false).isEmpty)
        #expect(await state.clock > latest)
        #expect(await state.alertsEmitted[.init(kind: .breach, state: .resolved)] == 1)
    }

    @Test func storedRecordsFromTheLogGiveTheSameStateAsTheirEvents() async throws {
        try await withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            let lines = EventJSON.rollbacks(day: 1, minutes: 10) + EventJSON.rollbacks(day: 11, minutes: 1)
                + LogTesting.deploys(40) + [EventJSON.specExample[1]]
            let (summary, stored) = try log.appendReportingStored(LogTesting.batch(lines))
            let assignments = ServiceAssignments([.init(pattern: "check*", tier: "tier-1")])
            let viaRecords = LiveState(configuration: MetricsConfiguration(), slos: [Self.slo], assignments: assignments)
            let viaEvents = LiveState(configuration: MetricsConfiguration(), slos: [Self.slo], assignments: assignments)
            let a = await viaRecords.add([stored], summary: summary)
            let b = await viaEvents.add(stored.events, summary: summary)
            #expect(!a.isEmpty && a == b)
            let ra = try #require(await viaRecords.report())
            let rb = try #require(await viaEvents.report())
            #expect(ra == rb && ra.events.stored == lines.count)
        }
    }

    @Test func aReplayRestoresTheStatesWithoutEmittingThePast() async throws {
        try await withTemporaryDirectory { dir in
            let log = try EventLog(directory: dir)
            _ = try log.append(LogTesting.batch(EventJSON.rollbacks(day: 1, minutes: 10)))
            let state = LiveState(configuration: MetricsConfiguration(), slos: [Self.slo], assignments: ServiceAssignments())
            #expect(await state.isReady == false)
            try await state.replay(LogReader(directory: dir))
            let ready = await state.isReady
            let firing = await state.firing
            #expect(ready && firing.count == 1, "the breach is firing again, silently: \(firing)")
            #expect(await state.alertsEmitted.isEmpty)
            // Fast rollbacks ten days later resolve it: only that transition is emitted.
            let resolved = await state.add(Self.rollbacks(day: 11, minutes: 1), summary: AppendSummary())
            #expect(Self.breaches(resolved).map(\.state) == [.resolved])
        }
    }
}
