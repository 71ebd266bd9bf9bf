import DoraEvents
import DoraGenerator
import DoraMetrics
import DoraSLO
import DoraStatistics
import DoraTestSupport
import Testing

/// The incremental evaluator against a naive one that recomputes every window from scratch,
/// on generated event streams.
@Suite struct BacktestTests {
    static func engine(seed: UInt64) -> MetricsEngine {
        var configuration = GeneratorConfiguration()
        configuration.seed = seed
        // Small enough for the naive evaluation (a sort per window per instant) to stay quick.
        configuration.events = 4_000
        configuration.days = 40
        configuration.services = 4
        var engine = MetricsEngine()
        var seen = Set<String>()
        for line in EventGenerator(configuration: configuration).lines() {
            if let e = try? EventDecoder.decode(line), seen.insert(e.id).inserted { engine.add(e) }
        }
        return engine
    }

    /// slo.md's evaluation written the obvious way: per evaluation instant (every sample time,
    /// every sample time + window, and with regression on every sample time + 2 windows, before
    /// `end`), cut both windows out of the time-sorted samples, sort them, test.
    func naive(_ slo: SLODefinition, _ samples: [TimedSample], scope: SLOScope, end: Int64 = .max) -> [SLOAlert] {
        var out: [SLOAlert] = []
        var firing: [SLOAlert.Kind: Bool] = [.breach: false, .regression: false]
        func firstAfter(_ bound: Int64) -> Int { samples.partitionPoint { $0.time > bound } }
        var instants = Set(samples.map(\.time))
        for s in samples {
            if s.time + slo.window < end { instants.insert(s.time + slo.window) }
            if slo.regression != nil && s.time + 2 * slo.window < end { instants.insert(s.time + 2 * slo.window) }
        }
        for t in instants.sorted() {
            let current = Array(samples[firstAfter(t - slo.window)..<firstAfter(t)])
            let baseline = samples[firstAfter(t - 2 * slo.window)..<firstAfter(t - slo.window)].map(\.value).sorted()
            let values = current.map(\.value).sorted()
            let value = values.isEmpty ? nil : values[slo.rank(among: values.count) - 1]
            var b: Int64?
            var p: Double?
            if baseline.count >= slo.minSamples && values.count >= slo.minSamples {
                let r = slo.rank(among: baseline.count)
                b = baseline[r - 1]
                p = ExceedanceTest.pValue(m: baseline.count, n: values.count, r: r, k: values.filter { $0 > b! }.count)
            }
            let holds: [SLOAlert.Kind: Bool] = [
                .breach: values.count >= slo.minSamples && value! > slo.objective,
                .regression: slo.regression.map { reg in
                    p.map { $0 < reg.significance } == true && Double(value!) >= (1 + reg.minIncrease) * Double(b!)
                } ?? false,
            ]
            let exemplars = current.sorted { $0.value != $1.value ? $0.value > $1.value : $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
                .prefix(3).map(\.id)
            for kind in [SLOAlert.Kind.breach, .regression] where holds[kind]! != firing[kind]! {
                if kind == .regression && slo.regression == nil { continue }
                firing[kind] = holds[kind]!
                out.append(
                    SLOAlert(
                        kind: kind, state: holds[kind]! ? .firing : .resolved, slo: slo.name, scope: scope, metric: slo.metric,
                        percentileTenths: slo.percentileTenths, value: value, objective: slo.objective,
                        baseline: kind == .breach ? nil : b, pValue: kind == .breach ? nil : p, samples: values.count,
                        window: slo.window, at: t, exemplars: exemplars))
            }
        }
        return out
    }

    @Test(arguments: [11, 12] as [UInt64])
    func theEvaluatorAgreesWithANaiveRecomputationOnGeneratedStreams(seed: UInt64) {
        let engine = Self.engine(seed: seed)
        var slos: [SLODefinition] = []
        // Each metric twice, with other percentiles and objectives but the same window, so the
        // pairs share windows inside the evaluation (the naive one evaluates each alone).
        for round in 0..<2 {
            for (i, metric) in DurationMetric.allCases.enumerated() {
                var slo = SLODefinition(name: "s\(round)-\(i)", metric: metric, objective: [20, 8][round] * 60_000_000)
                slo.window = 7 * 86_400_000_000
                slo.minSamples = 3
                slo.percentileTenths = [950, 500, 999, 900][(i + round) % 4]
                slo.per = i % 2 == 0 ? .service : .group
                if round == 1 { slo.regression = SLODefinition.Regression(significance: 0.05, minIncrease: 0.1) }
                slos.append(slo)
            }
        }
        // The backtest's end a few days before the stream's: the expiries after it wait.
        let end = engine.latest!.microseconds - 3 * 86_400_000_000
        var evaluation = SLOEvaluation(slos: slos)
        let all = evaluation.evaluate(engine, to: end)
        // The window alerts (the rollback-time SLOs also watch each rollback: RollbackWatchTests).
        let alerts = all.filter { $0.rollbackID == nil }
        #expect(all.count > alerts.count, "stuck or failed rollbacks in the stream")
        var expected: [SLOAlert] = []
        for slo in slos {
            let perService = engine.timedSamples(slo.metric).map { s in s.samples.filter { $0.time < end } }
            if slo.per == .service {
                for (s, samples) in zip(engine.timedSamples(slo.metric), perService) {
                    expected += naive(slo, samples, scope: .service(s.service), end: end)
                }
            } else {
                let pooled = perService.flatMap { $0 }.sorted {
                    $0.time != $1.time ? $0.time < $1.time : $0.id.utf8.lexicographicallyPrecedes($1.id.utf8)
                }
                expected += naive(slo, pooled, scope: .selection(.all), end: end)
            }
        }
        expected.sort(by: SLOAlert.precedes)
        #expect(alerts.count > 20, "the stream should exercise the state machines")
        let sampleTimes = Set(DurationMetric.allCases.flatMap { engine.timedSamples($0).flatMap { $0.samples.map(\.time) } })
        #expect(alerts.filter { !sampleTimes.contains($0.at) }.count > 10, "transitions at expiries, where no sample is")
        #expect(alerts == expected)
    }

    @Test func feedingBatchesInTimeOrderGivesTheBacktestsTransitions() {
        let engine = Self.engine(seed: 13)
        var slo = SLODefinition(name: "rb", metric: .rollbackTime, objective: 5 * 60_000_000)
        slo.window = 7 * 86_400_000_000
        slo.minSamples = 3
        var backtest = SLOEvaluation(slos: [slo])
        let all = backtest.evaluate(engine)
        // The live path: the same samples arrive in slices of time.
        var live = SLOEvaluation(slos: [slo])
        var seen: [SLOAlert] = []
        let day: Int64 = 86_400_000_000
        let start = Timestamp.parse(rfc3339: "2026-07-01T00:00:00Z")!.microseconds
        for d in stride(from: start, through: start + 70 * day, by: Int64.Stride(3 * day)) {
            seen += live.evaluate(engine, to: d)
        }
        seen += live.evaluate(engine)
        #expect(!all.isEmpty && seen == all)
    }
}
