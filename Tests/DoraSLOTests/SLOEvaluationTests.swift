import DoraEvents
import DoraGenerator
import DoraMetrics
@testable import DoraSLO
import Testing

/// The live path's rounds: only the scopes of touched services, windows kept across rounds
/// unless a late sample changed what they hold.
@Suite struct SLOEvaluationTests {
    static let day: Int64 = 86_400_000_000

    /// Medians near the generated data's typical values, over short windows, so that breaches
    /// fire and resolve often and depend on every sample in the windows.
    static var slos: [SLODefinition] {
        func slo(_ name: String, _ metric: DurationMetric, _ objective: Int64, per: SLODefinition.Aggregation, days: Int64) -> SLODefinition {
            var s = SLODefinition(name: name, metric: metric, objective: objective)
            s.percentileTenths = 500
            s.per = per
            s.window = days * day
            s.minSamples = 2
            return s
        }
        return [
            slo("rb", .rollbackTime, 5 * 60_000_000, per: .service, days: 4),
            slo("restore", .timeToRestore, 20 * 60_000_000, per: .group, days: 2),
            slo("lead", .leadTime, day, per: .group, days: 1),
        ]
    }

    /// Generated events of five services, shuffled within `shuffleWindow` events.
    static func stream(seed: UInt64, events: Int, days: Int, shuffleWindow: Int) -> GeneratorConfiguration {
        var configuration = GeneratorConfiguration()
        configuration.seed = seed
        configuration.events = events
        configuration.days = days
        configuration.services = 5
        configuration.shuffleWindow = shuffleWindow
        return configuration
    }

    @Test(arguments: [21, 22] as [UInt64])
    func roundsOfTouchedServicesEmitWhatRebuildingEveryScopeEachRoundEmits(seed: UInt64) {
        // Late samples: completions before starts, resolutions before firings.
        let configuration = Self.stream(seed: seed, events: 3_000, days: 30, shuffleWindow: 256)
        var engine = MetricsEngine()
        var incremental = SLOEvaluation(slos: Self.slos)
        var rebuilt = SLOEvaluation(slos: Self.slos)
        var (fast, reference): ([SLOAlert], [SLOAlert]) = ([], [])
        var seen = Set<String>()
        var touched = Set<String>()
        var generator = SystemRandomNumberGenerator()
        var roundSize = 1
        var (rounds, differingWindows) = (0, 0)
        for line in EventGenerator(configuration: configuration).lines() {
            guard let e = try? EventDecoder.decode(line), seen.insert(e.id).inserted else { continue }
            engine.add(e)
            touched.insert(e.service)
            if touched.count >= roundSize || Int.random(in: 0..<40, using: &generator) == 0 {
                // The live clock: the latest stored event time.
                let clock = engine.latest!.microseconds
                fast += incremental.evaluate(engine, services: touched, end: clock)
                reference += rebuilt.evaluate(engine, end: clock)  // every scope, every window rebuilt
                rounds += 1
                for (key, evaluator) in incremental.evaluators {
                    let expected = rebuilt.evaluators[key]?.windows
                    if evaluator.windows.baseline.elementsEqual(expected?.baseline ?? []),
                        evaluator.windows.current.elementsEqual(expected?.current ?? [])
                    {
                        continue
                    }
                    differingWindows += 1
                }
                touched = []
                roundSize = Int.random(in: 1...5, using: &generator)
            }
        }
        fast += incremental.evaluate(engine, services: touched)
        reference += rebuilt.evaluate(engine)
        let sampleTimes = Set(DurationMetric.allCases.flatMap { engine.timedSamples($0).flatMap { $0.samples.map(\.time) } })
        #expect(fast.contains { !sampleTimes.contains($0.at) }, "windows should also age out between samples")
        #expect(fast.count >= 10, "the stream should exercise the state machines")
        #expect(fast == reference)
        #expect(rounds > 500 && differingWindows == 0, "windows differing from a rebuild's in \(differingWindows) scope-rounds")
    }

    /// `slos`, and SLOs on the recovery episodes' metrics, pooled and per service.
    static var episodeSLOs: [SLODefinition] {
        func slo(_ name: String, _ metric: DurationMetric, _ objective: Int64, per: SLODefinition.Aggregation) -> SLODefinition {
            var s = SLODefinition(name: name, metric: metric, objective: objective)
            s.percentileTenths = 500
            s.per = per
            s.window = 3 * day
            s.minSamples = 2
            return s
        }
        return slos + [
            slo("recovery", .recoveryTime, 15 * 60_000_000, per: .group), slo("detect", .detect, 10 * 60_000_000, per: .service),
            slo("act", .act, 5 * 60_000_000, per: .group), slo("verify", .verify, 3 * 60_000_000, per: .service),
        ]
    }

    @Test(arguments: [23, 24] as [UInt64])
    func sampleChangesTakenFromTheEngineEmitWhatComparingWithAKeptCopyEmits(seed: UInt64) {
        // The live run's rounds with a retention, evaluated twice: taking the changes from the
        // engine's indexes (lead times, links and episodes), and comparing with the samples
        // kept from the last round.
        let configuration = Self.stream(seed: seed, events: 6_000, days: 40, shuffleWindow: 512)
        let retention = 8 * Self.day  // twice the longest window
        var engine = MetricsEngine()
        engine.trackLeadTimes()
        engine.trackEpisodes()
        var taking = SLOEvaluation(slos: Self.episodeSLOs)
        var comparing = SLOEvaluation(slos: Self.episodeSLOs)
        var (fast, reference): ([SLOAlert], [SLOAlert]) = ([], [])
        var seen = Set<String>()
        var events = EventGenerator(configuration: configuration).lines().compactMap { try? EventDecoder.decode($0) }
            .filter { seen.insert($0.id).inserted }
        // Some arrive weeks late, after the retention passed them.
        events = events.enumerated().sorted { ($0.offset % 29 == 0 ? $0.offset + 2_000 : $0.offset) < ($1.offset % 29 == 0 ? $1.offset + 2_000 : $1.offset) }
            .map(\.element)
        var generator = SystemRandomNumberGenerator()
        var retainedFrom = Int64.min
        var (rounds, differingWindows, leadChanges, episodeChanges, forgotten) = (0, 0, 0, 0, 0)
        for e in events {
            if e.time.microseconds < retainedFrom {
                engine.addForgotten(e)
                forgotten += 1
            } else {
                engine.add(e)
            }
            guard Int.random(in: 0..<12, using: &generator) == 0 else { continue }
            let touched = engine.takeTouchedServices()
            let changes = engine.takeSampleChanges(only: touched)
            leadChanges += changes[.leadTime]?.count ?? 0
            episodeChanges += changes[.recoveryTime]?.count ?? 0
            let clock = engine.latest!.microseconds
            fast += taking.evaluate(engine, services: touched, end: clock, engineChanges: changes)
            reference += comparing.evaluate(engine, services: touched, end: clock)
            rounds += 1
            for (key, evaluator) in taking.evaluators {
                let expected = comparing.evaluators[key]?.windows
                if !evaluator.windows.baseline.elementsEqual(expected?.baseline ?? [])
                    || !evaluator.windows.current.elementsEqual(expected?.current ?? [])
                {
                    differingWindows += 1
                }
            }
            // The retention moves as in the live run: evaluations forget first, then the engine.
            let start = Timestamp(microseconds: clock - retention).startOfDay.microseconds
            if start > retainedFrom {
                taking.forget(before: start)
                comparing.forget(before: start)
                engine.forget(before: Timestamp(microseconds: start), commitsSince: Timestamp(microseconds: start - retention))
                retainedFrom = start
            }
        }
        for name in ["lead", "recovery", "detect", "act", "verify", "rb"] {
            #expect(fast.contains { $0.slo == name }, "the SLO \(name) should change state: \(Set(fast.map(\.slo)))")
        }
        // The rollback alerts, fed only the outcomes that changed each round.
        #expect(fast.contains { $0.kind == .rollbackFailed } && fast.contains { $0.kind == .rollbackStuck })
        #expect(fast == reference)
        #expect(rounds > 300 && leadChanges > 100 && episodeChanges > 100 && forgotten > 20 && differingWindows == 0,
                "windows differing in \(differingWindows) scope-rounds")
        #expect(taking.retainedItems < comparing.retainedItems, "no copy of the kept samples")
    }

    @Test func aLateSampleArrivingWhileItsServiceIsOutOfTheSelectionIsInItsWindowsOnReturn() {
        var slo = SLODefinition(name: "team-rb", metric: .rollbackTime, objective: 10 * 60_000_000)
        slo.selection = .team("core")
        slo.window = 7 * Self.day
        var engine = MetricsEngine()
        var live = SLOEvaluation(slos: [slo])
        let t0 = Timestamp.parse(rfc3339: "2026-07-01T00:00:00Z")!.microseconds
        let hour: Int64 = 3_600_000_000
        func rollback(_ id: String, team: String, at t: Int64, minutes: Int64) {
            for (suffix, status, time) in [("s", "started", t), ("c", "completed", t + minutes * 60_000_000)] {
                let json = """
                    {"id":"\(id)-\(suffix)","type":"rollback","time":"\(Timestamp(microseconds: time).rfc3339)","service":"s",\
                    "team":"\(team)","rollback_id":"\(id)","status":"\(status)","trigger":"manual","from_version":"v2"}
                    """
                engine.add(try! EventDecoder.decode(json))
            }
        }
        rollback("r1", team: "core", at: t0, minutes: 5)
        rollback("r2", team: "core", at: t0 + 4 * hour, minutes: 5)
        _ = live.evaluate(engine, services: ["s"], end: engine.latest!.microseconds)
        // Out of the team, a late rollback lands between the two evaluated ones...
        rollback("r3", team: "core", at: t0 + 2 * hour, minutes: 50)
        rollback("r4", team: "edge", at: t0 + 5 * hour, minutes: 5)
        _ = live.evaluate(engine, services: ["s"], end: engine.latest!.microseconds)
        // ...and back in the team, the windows hold it, as a rebuild's do.
        rollback("r5", team: "core", at: t0 + 6 * hour, minutes: 5)
        _ = live.evaluate(engine, services: ["s"], end: engine.latest!.microseconds)
        var rebuilt = SLOEvaluation(slos: [slo])
        _ = rebuilt.evaluate(engine, end: engine.latest!.microseconds)
        let key = SLOEvaluation.Key(group: 0, scope: .service("s"))
        let (got, expected) = (live.evaluators[key]?.windows, rebuilt.evaluators[key]?.windows)
        #expect(got != nil && got!.current.map(\.id) == expected?.current.map(\.id))
        #expect(got?.current.contains { $0.id == "r3" } == true)
    }

    @Test func aServiceLeavingAPooledSelectionLeavesItsWindows() {
        // Two services pooled by team; one moves to another team, so its samples leave the pool.
        var slo = SLODefinition(name: "team-rb", metric: .rollbackTime, objective: 10 * 60_000_000)
        slo.per = .group
        slo.selection = .team("core")
        slo.window = 7 * Self.day
        slo.minSamples = 1
        slo.regression = nil
        var engine = MetricsEngine()
        var evaluation = SLOEvaluation(slos: [slo])
        let t0 = Timestamp.parse(rfc3339: "2026-07-01T00:00:00Z")!.microseconds
        func rollback(_ id: String, service: String, team: String, at t: Int64, minutes: Int64) {
            for (suffix, status, time) in [("s", "started", t), ("c", "completed", t + minutes * 60_000_000)] {
                let json = """
                    {"id":"\(id)-\(suffix)","type":"rollback","time":"\(Timestamp(microseconds: time).rfc3339)","service":"\(service)",\
                    "team":"\(team)","rollback_id":"\(id)","status":"\(status)","trigger":"manual","from_version":"v2"}
                    """
                engine.add(try! EventDecoder.decode(json))
            }
        }
        rollback("r1", service: "slow", team: "core", at: t0, minutes: 60)
        rollback("r2", service: "fast", team: "core", at: t0 + 3_600_000_000, minutes: 1)
        let first = evaluation.evaluate(engine, services: ["slow", "fast"], end: engine.latest!.microseconds)
        #expect(first.filter { $0.kind == .breach }.map(\.state) == [.firing], "the slow service's hour breaches the pooled p95")
        // "slow" now names another team: the pool is "fast" alone, whose next sample is quick.
        rollback("r3", service: "slow", team: "edge", at: t0 + 7_200_000_000, minutes: 1)
        rollback("r4", service: "fast", team: "core", at: t0 + 7_200_000_000, minutes: 1)
        let second = evaluation.evaluate(engine, services: ["slow", "fast"], end: engine.latest!.microseconds)
        #expect(second.filter { $0.kind == .breach }.map(\.state) == [.resolved], "\(second)")
    }
}
