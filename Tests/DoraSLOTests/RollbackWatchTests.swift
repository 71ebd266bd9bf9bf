import DoraEvents
import DoraMetrics
@testable import DoraSLO
import DoraTestSupport
import Testing

/// `RollbackStuck` and `RollbackFailed` (docs/slo.md, "Failed and stuck rollbacks") on
/// hand-made streams, through the backtest's evaluation and the live path's rounds.
@Suite struct RollbackWatchTests {
    /// p95 rollback time under 5 minutes, breach and regression out of the way (one sample
    /// never makes min_samples).
    static let slo: SLODefinition = {
        var slo = SLODefinition(name: "rb", metric: .rollbackTime, objective: 300_000_000)
        slo.minSamples = 5
        slo.regression = nil
        return slo
    }()

    static func time(_ clock: String) -> Int64 { Timestamp.parse(rfc3339: MetricsTesting.at(clock))!.microseconds }

    static func engine(_ lines: [String]) -> MetricsEngine {
        var engine = MetricsEngine()
        for line in lines { engine.add(try! EventDecoder.decode(line)) }
        return engine
    }

    static func deploy(_ id: String, _ clock: String, version: String = "v2") -> String {
        EventJSON.deploy(id, at: MetricsTesting.at(clock), version: version)
    }

    static func rollback(_ id: String, _ status: String, _ clock: String, from: String? = "v2") -> String {
        EventJSON.rollback("\(id)-\(status)", at: MetricsTesting.at(clock), rollbackID: id, status: status, from: status == "started" ? from : nil)
    }

    /// A transition as the tables write it: kind, state, rollback, time of day, value in seconds.
    struct Row: Equatable, CustomStringConvertible {
        var kind: SLOAlert.Kind
        var state: SLOAlert.State
        var rollback: String
        var at: String
        var value: Double?
        var description: String { "\(kind.rawValue) \(state.rawValue) \(rollback) \(at) \(value.map { "\($0)" } ?? "null")" }
    }

    static func rows(_ alerts: [SLOAlert]) -> [Row] {
        alerts.map { a in
            let clock = String(Timestamp(microseconds: a.at).rfc3339.dropFirst(11).prefix(8))
            return Row(kind: a.kind, state: a.state, rollback: a.rollbackID ?? "-", at: clock, value: a.value.map { Double($0) / 1e6 })
        }
    }

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var events: [String]
        var expected: [Row]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "in flight past the objective: stuck from started + 5 min until it completes",
            events: [deploy("d1", "09:00:00"), rollback("r1", "started", "10:00:00"), rollback("r1", "completed", "10:12:00")],
            expected: [
                Row(kind: .rollbackStuck, state: .firing, rollback: "r1", at: "10:05:00", value: 300),
                Row(kind: .rollbackStuck, state: .resolved, rollback: "r1", at: "10:12:00", value: 720),
            ]),
        Case(
            name: "completed within the objective, or exactly at it: nothing",
            events: [
                rollback("r1", "started", "10:00:00"), rollback("r1", "completed", "10:04:59"),
                rollback("r2", "started", "11:00:00"), rollback("r2", "completed", "11:05:00"),
            ],
            expected: []),
        Case(
            name: "failed before the objective: failed until the deploy's next rollback completes",
            events: [
                deploy("d1", "09:00:00"), rollback("r1", "started", "10:00:00"), rollback("r1", "failed", "10:03:00"),
                rollback("r2", "started", "10:20:00"), rollback("r2", "completed", "10:24:00"),
            ],
            expected: [
                Row(kind: .rollbackFailed, state: .firing, rollback: "r1", at: "10:03:00", value: 180),
                Row(kind: .rollbackFailed, state: .resolved, rollback: "r1", at: "10:24:00", value: 180),
            ]),
        Case(
            name: "a completion of another deploy's rollback does not clear it",
            events: [
                deploy("d1", "09:00:00"), deploy("d2", "09:30:00", version: "v3"),
                rollback("r1", "started", "10:00:00"), rollback("r1", "failed", "10:03:00"),
                rollback("r2", "started", "10:20:00", from: "v3"), rollback("r2", "completed", "10:24:00"),
            ],
            expected: [Row(kind: .rollbackFailed, state: .firing, rollback: "r1", at: "10:03:00", value: 180)]),
        Case(
            name: "stuck, then failed: stuck resolves at the failure, which fires",
            events: [deploy("d1", "09:00:00"), rollback("r1", "started", "10:00:00"), rollback("r1", "failed", "10:30:00")],
            expected: [
                Row(kind: .rollbackStuck, state: .firing, rollback: "r1", at: "10:05:00", value: 300),
                Row(kind: .rollbackFailed, state: .firing, rollback: "r1", at: "10:30:00", value: 1800),
                Row(kind: .rollbackStuck, state: .resolved, rollback: "r1", at: "10:30:00", value: 1800),
            ]),
        Case(
            name: "a completion before the failure does not clear it; the episode's recovery does",
            events: [
                deploy("d1", "09:00:00"),
                EventJSON.alert("a1-f", at: MetricsTesting.at("09:50:00"), alertID: "a1", status: "firing", severity: "critical"),
                rollback("r0", "started", "10:00:00"), rollback("r0", "completed", "10:02:00"),
                rollback("r1", "started", "10:01:00"), rollback("r1", "failed", "10:03:00"),
                EventJSON.alert("a1-r", at: MetricsTesting.at("11:00:00"), alertID: "a1", status: "resolved"),
            ],
            expected: [
                Row(kind: .rollbackFailed, state: .firing, rollback: "r1", at: "10:03:00", value: 120),
                Row(kind: .rollbackFailed, state: .resolved, rollback: "r1", at: "11:00:00", value: 120),
            ]),
        Case(
            name: "a failure cleared at its own instant raises nothing",
            events: [
                deploy("d1", "09:00:00"), rollback("r1", "started", "10:00:00"), rollback("r1", "failed", "10:03:00"),
                rollback("r2", "started", "10:01:00"), rollback("r2", "completed", "10:03:00"),
            ],
            expected: []),
        Case(
            name: "a failure with no started event links nowhere: cleared by any later completion",
            events: [
                rollback("r1", "failed", "10:03:00"),
                rollback("r2", "started", "10:20:00", from: "v9"), rollback("r2", "completed", "10:21:00"),
            ],
            expected: [
                Row(kind: .rollbackFailed, state: .firing, rollback: "r1", at: "10:03:00", value: nil),
                Row(kind: .rollbackFailed, state: .resolved, rollback: "r1", at: "10:21:00", value: nil),
            ]),
    ]

    @Test(arguments: cases)
    func theBacktestRaisesAndResolvesRollbackAlertsAtTheirInstants(_ c: Case) {
        var evaluation = SLOEvaluation(slos: [Self.slo])
        let alerts = evaluation.evaluate(Self.engine(c.events), to: Self.time("23:00:00"))
        #expect(Self.rows(alerts) == c.expected)
        #expect(alerts.allSatisfy { $0.scope == .service("checkout") && $0.samples == 1 && $0.exemplars == [$0.rollbackID!] })
    }

    @Test func beforeItsInstantAStuckAlertIsNotYetDueAndStillFiresAtTheEnd() {
        let engine = Self.engine([Self.rollbackStarted])
        var early = SLOEvaluation(slos: [Self.slo])
        #expect(early.evaluate(engine, to: Self.time("10:05:00")).isEmpty, "--to is exclusive")
        var late = SLOEvaluation(slos: [Self.slo])
        #expect(Self.rows(late.evaluate(engine, to: Self.time("10:05:00") + 1)).map(\.state) == [.firing])
        #expect(late.firing.map(\.kind) == [.rollbackStuck])
        // --from after the firing: the state starts at ok, nothing is shown.
        var from = SLOEvaluation(slos: [Self.slo])
        #expect(from.evaluate(engine, from: Self.time("10:06:00"), to: Self.time("12:00:00")).isEmpty && from.firing.isEmpty)
    }

    static let rollbackStarted = rollback("r1", "started", "10:00:00")

    @Test func liveRoundsFireTheStuckAlertOnTheClockAndTakeItBackOnALateCompletion() {
        var engine = Self.engine([Self.rollbackStarted])
        var live = SLOEvaluation(slos: [Self.slo])
        // The round that stores the start: the clock is the start, nothing is due.
        #expect(live.evaluate(engine, services: ["checkout"], end: Self.time("10:00:00")).isEmpty)
        #expect(live.nextExpiry == Self.time("10:05:00"))
        // The clock passes 10:05 with no event: the stuck alert fires there.
        let stuck = live.expire(before: Self.time("10:07:00"))
        #expect(Self.rows(stuck) == [Row(kind: .rollbackStuck, state: .firing, rollback: "r1", at: "10:05:00", value: 300)])
        // A completion dated 10:04 arrives late: the backtest never fires; live resolves at once,
        // dated at its firing.
        engine.add(try! EventDecoder.decode(Self.rollback("r1", "completed", "10:04:00")))
        let taken = live.evaluate(engine, services: ["checkout"], end: Self.time("10:07:00"))
        #expect(Self.rows(taken) == [Row(kind: .rollbackStuck, state: .resolved, rollback: "r1", at: "10:05:00", value: 240)])
        #expect(live.firing.isEmpty)
    }

    @Test func theJSONOfARollbackAlertNamesItsRollback() {
        var evaluation = SLOEvaluation(slos: [Self.slo])
        let alert = evaluation.evaluate(Self.engine([Self.rollbackStarted]), to: Self.time("11:00:00")).first
        #expect(
            alert?.json
                == #"{"schema": "doralog.alert/v1", "alert": "RollbackStuck", "state": "firing", "slo": "rb", "scope": {"service": "checkout"}, "metric": "rollback_time", "percentile": 95, "value": 300.0, "objective": 300.0, "baseline": null, "p_value": null, "samples": 1, "window_seconds": 2419200, "at": "2026-07-01T10:05:00Z", "exemplars": ["r1"], "rollback_id": "r1"}"#)
    }

    @Test func aWatchLetsGoOfTheOutcomesThatCanNoLongerRaiseOrResolveAnAlert() {
        var watch = RollbackWatch(slo: Self.slo, service: "api")
        let t = Self.time("10:00:00")
        let minute: Int64 = 60_000_000
        let fast = RollbackOutcome(rollbackID: "fast", started: t, completed: t + 2 * minute, failed: nil, failureCleared: nil)
        let retried = RollbackOutcome(
            rollbackID: "retried", started: t, completed: t + 3 * minute, failed: t + minute, failureCleared: t + 3 * minute)
        let inFlight = RollbackOutcome(rollbackID: "flight", started: t + 10 * minute, completed: nil, failed: nil, failureCleared: nil)
        let failed = watch.update([fast, retried, inFlight], from: .min, to: .max, end: t + 12 * minute)
        #expect(failed.map(\.kind) == [.rollbackFailed, .rollbackFailed] && failed.map(\.state) == [.firing, .resolved])
        #expect(watch.retainedItems == 2, "the rollback in flight, and the resolved alert's state")
        // The clock passes the objective of the one in flight: it is stuck, and stays kept.
        #expect(watch.advance(from: .min, to: .max, end: t + 16 * minute).map(\.kind) == [.rollbackStuck])
        #expect(watch.retainedItems == 3)
        // Its completion resolves it; then only the alerts' states are left.
        var completed = inFlight
        completed.completed = t + 20 * minute
        let resolved = watch.update([fast, retried, completed], from: .min, to: .max, end: t + 21 * minute)
        #expect(resolved.map(\.kind) == [.rollbackStuck] && resolved.map(\.state) == [.resolved])
        #expect(watch.retainedItems == 2)
    }

    /// The engine hands a service's outcomes over in no particular order (its table's), so a
    /// watch's transitions, once sorted as every evaluation sorts them, must not depend on it.
    @Test func aWatchEmitsTheSameTransitionsWhateverTheOrderOfTheOutcomes() {
        let t = Self.time("10:00:00")
        let minute: Int64 = 60_000_000
        let outcomes = [
            RollbackOutcome(rollbackID: "quick", started: t, completed: t + 2 * minute, failed: nil, failureCleared: nil),
            RollbackOutcome(rollbackID: "slow", started: t, completed: t + 9 * minute, failed: nil, failureCleared: nil),
            RollbackOutcome(rollbackID: "retried", started: t, completed: t + 3 * minute, failed: t + minute, failureCleared: t + 3 * minute),
            RollbackOutcome(rollbackID: "broken", started: t + minute, completed: nil, failed: t + 2 * minute, failureCleared: nil),
            RollbackOutcome(rollbackID: "hung", started: t + 2 * minute, completed: nil, failed: nil, failureCleared: nil),
            RollbackOutcome(rollbackID: "orphan", started: nil, completed: nil, failed: t + 4 * minute, failureCleared: t + 4 * minute),
        ]
        func transitions(_ order: [RollbackOutcome]) -> [SLOAlert] {
            var watch = RollbackWatch(slo: Self.slo, service: "api")
            var out = watch.update(order, from: .min, to: .max, end: t + 6 * minute)
            var later = order
            for i in later.indices where later[i].rollbackID == "hung" { later[i].completed = t + 20 * minute }
            out += watch.update(later, from: .min, to: .max, end: t + 30 * minute)
            SLOAlert.sort(&out)
            return out
        }
        let inOrder = transitions(outcomes)
        #expect(Self.rows(inOrder).count == 7, "stuck: slow and hung, each fired and resolved; failed: retried (fired, resolved), broken")
        #expect(transitions(outcomes.reversed()) == inOrder)
        var random = SplitMix64(state: 7)
        for _ in 0..<5 { #expect(transitions(outcomes.shuffled(using: &random)) == inOrder) }
    }

    /// After a retention forgot rollbacks, a watch lets go of their resolved alerts but keeps
    /// one still firing (it is never dropped without its resolution being said).
    @Test func aWatchForgetsTheResolvedAlertsOfForgottenRollbacksAndKeepsTheFiringOnes() {
        var watch = RollbackWatch(slo: Self.slo, service: "api")
        let t = Self.time("10:00:00")
        let minute: Int64 = 60_000_000
        let retried = RollbackOutcome(
            rollbackID: "retried", started: t, completed: t + 3 * minute, failed: t + minute, failureCleared: t + 3 * minute)
        let broken = RollbackOutcome(rollbackID: "broken", started: t, completed: nil, failed: t + 2 * minute, failureCleared: nil)
        let recent = RollbackOutcome(rollbackID: "recent", started: t + 9 * minute, completed: t + 10 * minute, failed: nil, failureCleared: nil)
        _ = watch.update([retried, broken], from: .min, to: .max, end: t + 4 * minute)
        #expect(watch.firing.map(\.rollbackID) == ["broken"])
        #expect(watch.retainedItems == 3, "broken's outcome, its firing alert and retried's resolved one")
        watch.forgetUnknownRollbacks()
        #expect(watch.update([recent], from: .min, to: .max, end: t + 11 * minute).isEmpty)
        #expect(watch.firing.map(\.kind) == [.rollbackFailed] && watch.firing.map(\.rollbackID) == ["broken"])
        #expect(watch.retainedItems == 1, "only broken's firing alert")
    }
}
