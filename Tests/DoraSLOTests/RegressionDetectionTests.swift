import DoraMetrics
import DoraSLO
import DoraTestSupport
import Foundation
import Testing

/// The regression detector on seeded synthetic streams: how often it fires when nothing changes,
/// and how fast it sees a real step (docs/slo.md quotes these figures).
@Suite struct RegressionDetectionTests {
    typealias Random = SplitMix64

    /// Sample distributions of rollback-like durations, in seconds.
    enum Shape: String, CaseIterable, Sendable {
        case exponential, lognormal, uniform, pareto, coarse
        func draw(_ r: inout Random) -> Double {
            switch self {
            case .exponential: return -120 * log(r.unit())
            case .lognormal:
                let z = sqrt(-2 * log(r.unit())) * cos(2 * Double.pi * r.unit())
                return 90 * exp(0.8 * z)
            case .uniform: return 30 + 300 * r.unit()
            case .pareto: return 60 / pow(r.unit(), 1 / 2.5)
            case .coarse: return Double(Int(r.unit() * 10) + 1) * 60  // whole minutes: many ties
            }
        }
    }

    static let hour: Int64 = 3_600_000_000
    static let slo: SLODefinition = {
        var slo = SLODefinition(name: "p95", metric: .rollbackTime, objective: Int64.max / 4)  // breaches never fire
        slo.window = 7 * 24 * hour  // one sample an hour: 168 per window
        return slo
    }()

    /// Feeds `count` hourly samples (after two windows of warm-up) and returns, per evaluation,
    /// whether the regression state is firing; `factor` multiplies samples from `stepAt` on.
    func run(_ shape: Shape, seed: UInt64, count: Int, factor: Double = 1, stepAt: Int = .max) -> [Bool] {
        var r = Random(state: seed)
        var e = ScopeEvaluator(slo: Self.slo, scope: .service("s"))
        let warmUp = 336
        var firing: [Bool] = []
        for i in 0..<(warmUp + count) {
            let v = shape.draw(&r) * (i >= stepAt ? factor : 1)
            let sample = TimedSample(time: Int64(i) * Self.hour, value: Int64(v * 1_000_000), id: "s-\(i)")
            _ = e.add([sample], evaluateFrom: Int64(warmUp) * Self.hour)
            if i >= warmUp { firing.append(e.isRegressionFiring) }
        }
        return firing
    }

    @Test(arguments: Shape.allCases)
    func onStationarySamplesTheRegressionAlertFiresInAtMostOnePercentOfEvaluations(_ shape: Shape) {
        let firing = run(shape, seed: 42, count: 10_000)
        let rate = Double(firing.filter { $0 }.count) / Double(firing.count)
        #expect(rate <= 0.01, "\(shape): firing in \(rate * 100)% of 10000 evaluations")
        Self.report("\(shape): firing in \(firing.filter { $0 }.count) of \(firing.count) stationary evaluations")
    }

    @Test(arguments: Shape.allCases)
    func aStepUpOfHalfTheP95FiresWithinTheFirstCurrentWindow(_ shape: Shape) {
        // 2 more windows of stationary samples, then every sample 1.5x: the p95 goes up 50%.
        let stepAt = 336 + 336
        let firing = run(shape, seed: 7, count: 336 + 168, factor: 1.5, stepAt: stepAt)
        let afterStep = firing[336...]
        let first = afterStep.firstIndex(of: true).map { $0 - 336 }
        #expect(first != nil && first! < 168, "\(shape): fired \(first.map { "\($0) h" } ?? "never") after the step")
        Self.report("\(shape): step x1.5 seen \(first.map { "\($0 + 1) samples" } ?? "never") after the step")
    }

    /// Prints a measured figure when DORALOG_PRINT_DETECTION is set (bench/slo-detection.sh).
    static func report(_ line: String) {
        if ProcessInfo.processInfo.environment["DORALOG_PRINT_DETECTION"] != nil { print("detection: " + line) }
    }
}

extension RegressionDetectionTests {
    /// The figures of docs/slo.md over 20 seeds per shape (bench/slo-detection.sh runs it; off
    /// in the normal suite because it takes minutes in a debug build).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["DORALOG_PRINT_DETECTION"] != nil), arguments: Shape.allCases)
    func detectionFiguresOverTwentySeeds(_ shape: Shape) {
        var rates: [Double] = []
        var episodes = 0  // firing transitions on stationary streams
        var delays: [Int] = []
        for seed in 1...20 as ClosedRange<UInt64> {
            let still = run(shape, seed: seed * 1000, count: 10_000)
            rates.append(Double(still.filter { $0 }.count) / Double(still.count))
            episodes += zip([false] + still, still).filter { !$0 && $1 }.count
            let stepped = run(shape, seed: seed * 1000 + 1, count: 336 + 168, factor: 1.5, stepAt: 672)
            delays.append(stepped[336...].firstIndex(of: true).map { $0 - 336 + 1 } ?? Int.max)
        }
        rates.sort()
        delays.sort()
        let mean = rates.reduce(0, +) / Double(rates.count)
        let seen = delays.filter { $0 <= 168 }.count
        Self.report(
            "\(shape): stationary firing rate mean \(String(format: "%.3f", mean * 100))%, max \(String(format: "%.2f", rates.last! * 100))%,"
                + " \(episodes) firing transitions in 200000 evaluations;"
                + " step x1.5 seen within a window in \(seen)/20, median \(delays[10]) samples, worst \(delays.last! == Int.max ? "never" : "\(delays.last!)")")
    }
}
