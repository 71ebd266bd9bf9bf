import DoraEvents
import DoraMetrics
import DoraTestSupport
import Testing

@testable import DoraSLO

/// The readiness objective (`metric: rollback_exercised`): `RollbackUnexercised` on the passage
/// of time, `RollbackFailed` on a failed exercise, in the backtest and live alike.
@Suite struct ReadinessWatchTests {
    static let day: Int64 = 86_400_000_000
    static func time(_ text: String) -> Int64 { Timestamp.parse(rfc3339: text)!.microseconds }

    static let objective: ReadinessObjective = {
        var o = ReadinessObjective(name: "drilled", maxAge: 10 * day)
        o.selection = .all
        return o
    }()

    static func drill(_ id: String, _ status: String, _ time: String, service: String = "a", environment: String = "staging") -> String {
        EventJSON.rollback("\(id)-\(status)", at: time, rollbackID: id, status: status, service: service, environment: environment,
                           from: status == "started" ? "v2" : nil, exercise: "drill")
    }

    /// a: seen July 1; a drill succeeds July 3 12:00; one fails July 20 08:00; a real rollback
    /// in production succeeds July 22 09:00. q: seen July 2, never exercised. s: only staging.
    static let events: [String] = [
        EventJSON.deploy("d-a", at: "2026-07-01T00:00:00Z", service: "a"),
        EventJSON.deploy("d-q", at: "2026-07-02T00:00:00Z", service: "q"),
        drill("d1", "started", "2026-07-03T11:58:00Z"), drill("d1", "completed", "2026-07-03T12:00:00Z"),
        drill("d2", "started", "2026-07-20T07:55:00Z"), drill("d2", "failed", "2026-07-20T08:00:00Z"),
        EventJSON.rollback("r1-s", at: "2026-07-22T08:50:00Z", rollbackID: "r1", status: "started", service: "a", from: "v3"),
        EventJSON.rollback("r1-c", at: "2026-07-22T09:00:00Z", rollbackID: "r1", status: "completed", service: "a"),
        drill("s1", "started", "2026-07-05T00:00:00Z", service: "s"),
    ]

    struct Row: Equatable, CustomStringConvertible {
        var kind: SLOAlert.Kind
        var state: SLOAlert.State
        var service: String
        var at: String
        /// Seconds.
        var value: Double?
        var rollback: String? = nil
        var description: String {
            let shown = value.map { String($0) } ?? "nil"
            return "\(at) \(service) \(kind.rawValue) \(state.rawValue) value=\(shown) \(rollback ?? "")"
        }
    }

    static func rows(_ alerts: [SLOAlert]) -> [Row] {
        alerts.map { a in
            guard case .service(let service) = a.scope else { return Row(kind: a.kind, state: a.state, service: "?", at: "", value: nil) }
            return Row(
                kind: a.kind, state: a.state, service: service, at: Timestamp(microseconds: a.at).rfc3339,
                value: a.value.map { Double($0) / 1e6 }, rollback: a.rollbackID)
        }
    }

    static let expected: [Row] = [
        Row(kind: .rollbackUnexercised, state: .firing, service: "q", at: "2026-07-12T00:00:00Z", value: nil),
        Row(kind: .rollbackUnexercised, state: .firing, service: "a", at: "2026-07-13T12:00:00Z", value: 864_000),
        Row(kind: .rollbackFailed, state: .firing, service: "a", at: "2026-07-20T08:00:00Z", value: 16 * 86_400 + 20 * 3600, rollback: "d2"),
        Row(kind: .rollbackFailed, state: .resolved, service: "a", at: "2026-07-22T09:00:00Z", value: 0, rollback: "d2"),
        Row(kind: .rollbackUnexercised, state: .resolved, service: "a", at: "2026-07-22T09:00:00Z", value: 0),
    ]

    @Test func theBacktestFiresOnThePassageOfTimeAndOnAFailureAndResolvesOnTheNextSuccess() {
        var evaluation = SLOEvaluation(slos: [], readiness: [Self.objective])
        let alerts = evaluation.evaluate(MetricsTesting.engine(Self.events), to: Self.time("2026-08-01T00:00:00Z"))
        #expect(Self.rows(alerts) == Self.expected)
        // At the end q is still unexercised; a's next deadline is pending on the clock.
        #expect(evaluation.firing.map(\.description) == ["drilled RollbackUnexercised service=q"])
        #expect(evaluation.nextExpiry == Self.time("2026-08-01T09:00:00Z"))
        let first = alerts.first { $0.kind == .rollbackUnexercised && $0.scope == .service("a") }!
        #expect(
            first.json
                == #"{"schema": "doralog.alert/v1", "alert": "RollbackUnexercised", "state": "firing", "slo": "drilled", "scope": {"service": "a"}, "metric": "rollback_exercised", "percentile": null, "value": 864000.0, "objective": 864000.0, "baseline": null, "p_value": null, "samples": 1, "window_seconds": 864000, "at": "2026-07-13T12:00:00Z", "exemplars": ["d1"]}"#)
    }

    @Test func aQuietServiceFiresAtTheEndOfTheBacktestButNotAtOrAfterIt() {
        let engine = MetricsTesting.engine(Self.events)
        var before = SLOEvaluation(slos: [], readiness: [Self.objective])
        #expect(before.evaluate(engine, to: Self.time("2026-07-12T00:00:00Z")).isEmpty, "--to is exclusive")
        var after = SLOEvaluation(slos: [], readiness: [Self.objective])
        #expect(Self.rows(after.evaluate(engine, to: Self.time("2026-07-12T00:00:00Z") + 1)) == [Self.expected[0]])
        // --from after a firing: it is not shown and its alert stays ok.
        var from = SLOEvaluation(slos: [], readiness: [Self.objective])
        #expect(Self.rows(from.evaluate(engine, from: Self.time("2026-07-13T00:00:00Z"), to: Self.time("2026-08-01T00:00:00Z"))) == Array(Self.expected[1...]))
    }

    @Test func withoutTheFailureAlertOnlyTheUnexercisedOnesFire() {
        var objective = Self.objective
        objective.alertsOnFailure = false
        var evaluation = SLOEvaluation(slos: [], readiness: [objective])
        let alerts = evaluation.evaluate(MetricsTesting.engine(Self.events), to: Self.time("2026-08-01T00:00:00Z"))
        #expect(Self.rows(alerts) == Self.expected.filter { $0.kind == .rollbackUnexercised })
    }

    @Test func aSelectionLimitsTheServicesWatched() {
        var objective = Self.objective
        objective.selection = .services(["a"])
        var evaluation = SLOEvaluation(slos: [], readiness: [objective])
        let alerts = evaluation.evaluate(MetricsTesting.engine(Self.events), to: Self.time("2026-08-01T00:00:00Z"))
        #expect(Self.rows(alerts) == Self.expected.filter { $0.service == "a" })
    }

    /// Live: each event is stored in a round of its own whose clock is its time; between
    /// events the clock ticks every hour (`expire`); at the end the clock reaches August 1.
    @Test func aLiveRunFedInTimeOrderEmitsExactlyTheBacktestsTransitions() {
        let ordered = Self.events.map(event).sorted { $0.time < $1.time }
        var engine = MetricsEngine()
        var live = SLOEvaluation(slos: [], readiness: [Self.objective])
        var emitted: [SLOAlert] = []
        var clock = ordered[0].time.microseconds
        for e in ordered {
            while clock + 3_600_000_000 < e.time.microseconds {
                clock += 3_600_000_000
                emitted += live.expire(before: clock)
            }
            engine.add(e)
            clock = e.time.microseconds
            emitted += live.evaluate(engine, services: engine.takeTouchedServices(), end: clock)
        }
        emitted += live.expire(before: Self.time("2026-08-01T00:00:00Z"))
        var backtest = SLOEvaluation(slos: [], readiness: [Self.objective])
        let expected = backtest.evaluate(MetricsTesting.engine(Self.events), to: Self.time("2026-08-01T00:00:00Z"))
        var sorted = emitted
        SLOAlert.sort(&sorted)
        #expect(Self.rows(sorted) == Self.rows(expected))
        #expect(emitted.map(\.json) == expected.map(\.json), "the same alert objects")
    }

    /// Fast, failed and never-ending drills in production beside slow real rollbacks: a
    /// rollback-time SLO and its failed and stuck alerts see only the real ones.
    @Test func drillsNeverReachTheRollbackTimeSLOsOrTheirRollbackAlerts() {
        var slo = SLODefinition(name: "rb", metric: .rollbackTime, objective: 5 * 60_000_000)
        slo.minSamples = 3
        slo.regression = nil
        let real = (1...3).flatMap { EventJSON.rollbacks(service: "checkout", day: $0, minutes: 10) }
        let drills = (1...3).flatMap { day in
            (0..<4).flatMap { i -> [String] in
                let id = "drill-\(day)-\(i)"
                let start = MetricsTesting.at("1\(i):00:00", day: day)
                let ends = [["completed", "1\(i):01:00"], ["failed", "1\(i):02:00"], ["completed", "1\(i):00:30"], []][i]
                var lines = [EventJSON.rollback(id + "-s", at: start, rollbackID: id, status: "started", service: "checkout", from: "v2", exercise: "drill")]
                if ends.count == 2 {
                    lines.append(EventJSON.rollback(id + "-e", at: MetricsTesting.at(ends[1], day: day), rollbackID: id, status: ends[0],
                                                    service: "checkout", exercise: "drill"))
                }
                return lines
            }
        }
        let end = Self.time("2026-07-10T00:00:00Z")
        var without = SLOEvaluation(slos: [slo])
        let expected = without.evaluate(MetricsTesting.engine(real), to: end)
        var with = SLOEvaluation(slos: [slo])
        let seen = with.evaluate(MetricsTesting.engine(real + drills), to: end)
        #expect(expected.contains { $0.kind == .breach }, "the real rollbacks breach")
        #expect(seen.map(\.json) == expected.map(\.json))
        #expect(!seen.contains { $0.rollbackID?.hasPrefix("drill") == true })
    }

    @Test func aLateSuccessDatedBeforeAFiringAlreadySentResolvesItAtOnce() {
        var engine = MetricsTesting.engine([EventJSON.deploy("d-q", at: "2026-07-02T00:00:00Z", service: "q")])
        var live = SLOEvaluation(slos: [], readiness: [Self.objective])
        _ = live.evaluate(engine, services: engine.takeTouchedServices(), end: Self.time("2026-07-02T00:00:00Z"))
        let fired = live.expire(before: Self.time("2026-07-13T00:00:00Z"))
        #expect(Self.rows(fired) == [Self.expected[0]])
        // A drill that succeeded on July 5 arrives now: the alert should never have fired.
        engine.add(event(Self.drill("q1", "completed", "2026-07-05T00:00:00Z", service: "q")))
        let taken = live.evaluate(engine, services: engine.takeTouchedServices(), end: Self.time("2026-07-13T00:00:00Z"))
        #expect(Self.rows(taken) == [Row(kind: .rollbackUnexercised, state: .resolved, service: "q", at: "2026-07-12T00:00:00Z", value: 7 * 86_400)])
        #expect(live.firing.isEmpty)
        // And it fires again ten days after that success.
        #expect(live.nextExpiry == Self.time("2026-07-15T00:00:00Z"))
    }
}
