import DoraEvents
@testable import DoraMetrics
import DoraTestSupport
import Testing

/// `MetricsEngine.explain`: the items behind a number, in a fixed order.
@Suite struct ExplanationTests {
    /// One deploy with many commits: its lead times share the deploy's instant, service and id,
    /// and differ only in the commit. The shas are listed in descending order, so an order taken
    /// from the event (or from a hash table) is not the sorted one.
    let shas = (0..<40).map { "c\(200 - $0)" }

    func explanation() -> Explanation {
        let commits = shas.map { ($0, MetricsTesting.at("08:00:00")) }
        let lines = [EventJSON.deploy("d1", at: MetricsTesting.at("10:00:00"), service: "checkout", version: "v1", commits: commits)]
        let engine = MetricsTesting.engine(lines)
        return engine.explain(ExplainedMetric("lead_time.p50")!, period: engine.defaultPeriod!, scope: .totals)
    }

    func commits(_ e: Explanation) -> [String] {
        e.items.compactMap { item in item.ids.first { $0.kind == "commit" }?.id }
    }

    @Test func itemsAtTheSameInstantAreOrderedByTheirIdsWhateverTheOrderTheyWereGathered() {
        let e = explanation()
        #expect(commits(e) == shas.map { ShortFingerprint(id: $0).hex }.sorted())
    }

    @Test func namingTheCommitsOrdersThemByShaAndMarksThePercentileAmongThemAgain() {
        var e = explanation()
        e.nameCommits(shas)
        #expect(commits(e) == shas.sorted())
        // Every value is equal (two hours): the rank's item is the rank-th in the new order.
        #expect(e.rank == 20)
        #expect(e.items.indices.filter { e.items[$0].isRank } == [19])
    }
}
