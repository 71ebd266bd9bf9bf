import DoraEvents
import DoraGenerator
import DoraReports
import DoraTestSupport
import Testing

@testable import DoraMetrics

/// Properties that must hold on any realistic stream, checked on generated ones.
@Suite struct GeneratedPropertyTests {
    static func events(seed: UInt64, count: Int = 6000) -> [Event] {
        var configuration = GeneratorConfiguration()
        configuration.seed = seed
        configuration.events = count
        configuration.days = 60
        configuration.services = 12
        var seen = Set<String>()
        return EventGenerator(configuration: configuration).lines().compactMap { try? EventDecoder.decode($0) }
            .filter { seen.insert($0.id).inserted }
    }

    static func report(_ events: [Event], period: Period? = nil) -> Report {
        var engine = MetricsEngine()
        for e in events { engine.add(e) }
        return engine.report(period: period ?? engine.defaultPeriod!, log: (events.count, 0, 0))
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func shuffledInputGivesAByteIdenticalJSONReport(seed: UInt64) {
        let events = Self.events(seed: seed)
        let expected = JSONReportRenderer.render(Self.report(events))
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3 {
            #expect(JSONReportRenderer.render(Self.report(events.shuffled(using: &rng))) == expected)
        }
        #expect(MarkdownReportRenderer.render(Self.report(events.reversed())) == MarkdownReportRenderer.render(Self.report(events)))
    }

    @Test(arguments: [4, 5] as [UInt64])
    func countsAddUpAcrossServicesTeamsAndTotals(seed: UInt64) {
        let r = Self.report(Self.events(seed: seed))
        let t = r.totals
        func sum(_ blocks: [Metrics], _ f: (Metrics) -> Int) -> Int { blocks.map(f).reduce(0, +) }
        let services = r.services.map(\.metrics)
        let teams = r.teams.map(\.metrics)
        let additive: [(String, (Metrics) -> Int)] = [
            ("deployments", { $0.deployments.count }), ("failed", { $0.deployments.failed }),
            ("failed changes", { $0.changeFailure.failedChanges }), ("rework", { $0.rework.deployments }),
            ("lead times", { $0.leadTime.stat.count }), ("recovered", { $0.recovery.stat.count }), ("open", { $0.recovery.open }),
            ("restored", { $0.timeToRestore.stat.count }), ("unrestored", { $0.timeToRestore.open }),
            ("rollbacks started", { $0.rollbacks.started }), ("completed", { $0.rollbacks.completed }),
            ("failed rollbacks", { $0.rollbacks.failed }), ("anomalies", { $0.anomalies }),
        ]
        for (name, f) in additive {
            #expect(sum(services, f) == f(t), "services add up to totals: \(name)")
            #expect(sum(teams, f) == f(t), "teams add up to totals: \(name)")
        }
        #expect(r.teams.map(\.services).reduce(0, +) == r.services.count)
        #expect(t.changeFailure.failedChanges <= t.deployments.count)
        #expect(t.rework.deployments <= t.deployments.count)
        #expect(t.recovery.stat.count + t.recovery.open == t.changeFailure.failedChanges)
        #expect(t.recovery.modes.rollback + t.recovery.modes.rollForward + t.recovery.modes.other == t.recovery.stat.count)
        #expect(t.recovery.detect.count == t.recovery.stat.count)
        #expect(t.recovery.decide.count == t.recovery.modes.rollback && t.recovery.act.count == t.recovery.modes.rollback)
        #expect(t.rollbacks.auto + t.rollbacks.manual == t.rollbacks.started)
        #expect(t.recovery.stat.count > 50 && t.recovery.modes.rollForward > 0 && t.recovery.open > 0, "the stream exercises every shape")
    }

    @Test func phasesSumToTheRecoveryTimeOfEveryEpisode() {
        var engine = MetricsEngine()
        for e in Self.events(seed: 6) { engine.add(e) }
        var checked = 0
        for state in engine.serviceStates {
            let a = state.analyze(configuration: engine.configuration)
            for e in a.episodes {
                guard let healthy = e.healthyAt else { continue }
                let impact = a.deploys[e.deploy].time
                let detect = e.detectedAt - impact
                #expect(detect >= 0)
                if e.hasRollback, let started = e.rollbackStarted, let done = e.rollbackDone {
                    let decide = started - e.detectedAt
                    let act = done - started
                    let verify = healthy - done
                    #expect(decide >= 0 && act >= 0 && verify >= 0)
                    #expect(detect + decide + act + verify == healthy - impact)
                    checked += 1
                }
            }
        }
        #expect(checked > 20)
    }

    @Test func countsOfConsecutivePeriodsAddUpToTheirUnion() {
        let events = Self.events(seed: 7)
        var engine = MetricsEngine()
        for e in events { engine.add(e) }
        let whole = engine.defaultPeriod!
        let middle = whole.from.advanced(byMicroseconds: whole.microseconds / 3 / 86_400_000_000 * 86_400_000_000)
        let parts = [Period(from: whole.from, to: middle), Period(from: middle, to: whole.to)]
        let all = engine.report(period: whole, log: (0, 0, 0)).totals
        let split = parts.map { engine.report(period: $0, log: (0, 0, 0)).totals }
        #expect(split.map(\.deployments.count).reduce(0, +) == all.deployments.count)
        #expect(split.map(\.changeFailure.failedChanges).reduce(0, +) == all.changeFailure.failedChanges)
        #expect(split.map(\.leadTime.stat.count).reduce(0, +) == all.leadTime.stat.count)
        #expect(split.map(\.recovery.stat.count).reduce(0, +) == all.recovery.stat.count)
        #expect(split.map(\.rollbacks.started).reduce(0, +) == all.rollbacks.started)
        #expect(split.map(\.timeToRestore.stat.count).reduce(0, +) == all.timeToRestore.stat.count)
    }
}
