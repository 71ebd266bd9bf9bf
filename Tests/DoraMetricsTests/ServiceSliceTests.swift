import DoraEvents
import DoraTestSupport
import Testing

@testable import DoraMetrics

/// A report analyses its services through slices (`MetricsEngine.slice`): the parts of
/// disjoint slices that cover the services must add up to the whole engine's, whatever the
/// cut, with the rollbacks of the services seen only in other environments taken once.
@Suite struct ServiceSliceTests {
    @Test(arguments: [1, 2, 3, 8] as [Int])
    func theSlicesOfAnEngineMakeTheReportOfTheWholeEngine(size: Int) throws {
        var engine = MetricsEngine()
        let events = GeneratedPropertyTests.events(seed: 21)
        for e in events { engine.add(e) }
        // A drill in staging of each service, and of one seen only there: readiness reads a
        // service's rollbacks of every environment.
        let services = Set(events.map(\.service)).sorted() + ["only-in-staging"]
        for (i, service) in services.enumerated() {
            engine.add(try EventDecoder.decode(EventJSON.rollback(
                "drill-\(i)", at: events[events.count / 2].time.rfc3339, rollbackID: "drill-\(i)", status: "completed",
                service: service, environment: "staging", exercise: "drill")))
        }
        let period = try #require(engine.defaultPeriod)
        let objective = Readiness.defaultObjective
        let whole = engine.report(period: period, log: (engine.added, 0, 0))
        let wholeReadiness = engine.readiness(period: period, objective: objective, services: whole.services.map(\.service))

        var analyses = ServiceAnalyses(periods: [period])
        var readiness = ReadinessParts(period: period, objective: objective)
        var start = 0
        repeat {
            let end = min(engine.serviceCount, start + size)
            let slice = engine.slice(start..<end, withOthers: end == engine.serviceCount)
            let part = slice.analyse(periods: [period])
            analyses.append(contentsOf: part)
            readiness.append(contentsOf: slice.readinessParts(period: period, objective: objective, services: part.listedInFirstPeriod))
            start = end
        } while start < engine.serviceCount
        #expect(analyses.count == engine.serviceCount)
        let sliced = engine.reports(from: analyses, log: (engine.added, 0, 0))[0]
        #expect(sliced == whole)
        #expect(Readiness(period: period, objective: objective, parts: readiness) == wholeReadiness)
        #expect(!engine.slice(0..<1, withOthers: false).elsewhere.keys.contains("only-in-staging"))
        #expect(engine.slice(0..<1, withOthers: true).elsewhere.keys.contains("only-in-staging"))
    }
}
