import DoraEvents
import DoraMetrics
import DoraTestSupport
import Testing

@Suite struct StatisticsAndBandsTests {
    @Test(arguments: [
        (1, 1, 1), (2, 1, 2), (3, 2, 3), (20, 10, 19), (21, 11, 20),
    ])
    func nearestRankPercentilesPickTheValueAtRankCeilPN(n: Int, p50Rank: Int, p95Rank: Int) {
        let values = (1...n).map { Int64($0) * 1_000_000 }
        let stat = Stat(values.shuffled())
        #expect(stat.p50 == Double(p50Rank))
        #expect(stat.p95 == Double(p95Rank))
        #expect(stat.mean == Double(n + 1) / 2)
        #expect(stat.count == n)
    }

    @Test func pooledRunsGiveTheSameStatisticsAsOneSortedArray() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var pool = DurationSamples()
            var all: [Int64] = []
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let run = (0..<Int.random(in: 0...40, using: &rng)).map { _ in Int64.random(in: 0...5_000_000, using: &rng) }
                all += run
                var part = DurationSamples(run)
                part.seal()
                pool.merge(part)
            }
            #expect(Stat(all) == Stat(pool.sorted))
            guard !all.isEmpty else { continue }
            let sorted = all.sorted()
            let viaPool = Stat(pool.sorted)
            #expect(viaPool.p50 == Double(Stat.nearestRank(sorted, percentTenths: 500)) / 1_000_000)
            var merged = MetricSamples()
            merged.leadTimes = pool
            let m = Metrics(merged, period: period)
            #expect(m.leadTime.stat.p95 == Double(Stat.nearestRank(sorted, percentTenths: 950)) / 1_000_000)
            #expect(m.leadTime.stat.count == all.count)
        }
    }

    @Test func theMeanIsExactWhateverTheOrderOfRuns() {
        let a: [Int64] = [1, 2, 3, 1_000_000_000_000_001]
        let b: [Int64] = [7, 900_000_000_000_013]
        var ab = DurationSamples(a)
        ab.merge(DurationSamples(b))
        var ba = DurationSamples(b)
        ba.merge(DurationSamples(a))
        var m1 = MetricSamples(); m1.act = ab
        var m2 = MetricSamples(); m2.act = ba
        #expect(Metrics(m1, period: period).recovery.act == Metrics(m2, period: period).recovery.act)
    }

    @Test func anEmptyStatisticIsNull() {
        let stat = Stat([])
        #expect(stat.count == 0 && stat.p50 == nil && stat.p95 == nil && stat.mean == nil)
    }

    let day: Int64 = 86_400_000_000
    let period = Period(
        from: Timestamp(microseconds: 0), to: Timestamp(microseconds: 30 * 86_400_000_000))

    func metrics(_ configure: (inout MetricSamples) -> Void) -> Metrics {
        var s = MetricSamples()
        configure(&s)
        return Metrics(s, period: period)
    }

    @Test(arguments: [(30, Band.elite), (29, .high), (5, .high), (4, .medium), (1, .medium), (0, .low)])
    func deploymentFrequencyBandsAtTheirEdges(count: Int, band: Band) {
        // Over 30 days: 30 deploys is 1/day; 5 is >= 1/7 per day (30/7 = 4.29); 1 is 1/30.
        #expect(metrics { $0.deployments = count }.deployments.band == band)
    }

    @Test(arguments: [(86_400_000_000 - 1, Band.elite), (86_400_000_000, .high), (7 * 86_400_000_000, .medium), (30 * 86_400_000_000 - 1, .medium), (30 * 86_400_000_000, .low)] as [(Int64, Band)])
    func leadTimeBandsAtTheirEdges(p50: Int64, band: Band) {
        #expect(metrics { $0.leadTimes = DurationSamples([p50]) }.leadTime.band == band)
    }

    @Test(arguments: [(5, Band.elite), (6, .high), (10, .high), (11, .medium), (15, .medium), (16, .low)])
    func changeFailureBandsAtTheirEdges(failed: Int, band: Band) {
        let m = metrics { $0.deployments = 100; $0.failedChanges = failed }
        #expect(m.changeFailure.band == band)
        #expect(m.changeFailure.rate == Double(failed) / 100)
    }

    @Test(arguments: [(3_600_000_000 - 1, Band.elite), (3_600_000_000, .high), (86_400_000_000, .medium), (7 * 86_400_000_000 - 1, .medium), (7 * 86_400_000_000, .low)] as [(Int64, Band)])
    func recoveryTimeBandsAtTheirEdges(p50: Int64, band: Band) {
        #expect(metrics { $0.recovery = DurationSamples([p50]) }.recovery.band == band)
    }

    /// A pool of many runs (a team's or the totals' services) takes its band's p50 from the
    /// same selection as its statistic: the nearest-rank p50 of every
    /// pooled value, at the band's edge.
    @Test(arguments: [(10, Band.elite), (9, .low)])
    func aPoolOfManyRunsIsBandedOnItsPooledP50(justUnderADay: Int, band: Band) {
        func pool(_ value: (Int) -> Int64) -> DurationSamples {
            var pooled = DurationSamples()
            for i in 0..<20 {  // 20 one-value runs: the p50 is the 10th smallest
                var run = DurationSamples([value(i)])
                run.seal()
                pooled.merge(run)
            }
            return pooled
        }
        let lead = pool { $0 < justUnderADay ? day - 1 : 40 * day }
        let recovery = pool { $0 < justUnderADay ? 3_600_000_000 - 1 : 8 * day }
        let m = metrics {
            $0.leadTimes = lead
            $0.recovery = recovery
        }
        #expect(m.leadTime.band == band && m.recovery.band == band)
        #expect(m.leadTime.stat.p50 == Double(justUnderADay == 10 ? day - 1 : 40 * day) / 1_000_000)
    }

    @Test func bandsAreNullWhenTheirFigureIs() {
        let m = metrics { _ in }
        #expect(m.leadTime.band == nil && m.changeFailure.band == nil && m.recovery.band == nil)
        #expect(m.deployments.band == .low)
    }

    @Test func aFractionalPeriodGivesFractionalRates() {
        let half = Period(from: Timestamp(microseconds: 0), to: Timestamp(microseconds: 43_200_000_000))
        var s = MetricSamples()
        s.deployments = 1
        let m = Metrics(s, period: half)
        #expect(m.deployments.perDay == 2 && m.deployments.perWeek == 14 && m.deployments.band == .elite)
    }

    @Test func bucketsCountTheValuesAtOrBelowEachBoundAcrossRuns() {
        var samples = DurationSamples([30_000_000, 60_000_000, 61_000_000])
        samples.merge(DurationSamples([10_000_000, 600_000_000]))
        let buckets = samples.buckets([10_000_000, 60_000_000, 300_000_000])
        #expect(buckets.cumulative == [1, 3, 4])
        #expect(buckets.count == 5 && buckets.sumSeconds == 761)
        #expect(DurationSamples().buckets([1]).cumulative == [0])
    }

    /// v1.1 bands of a group: 30 services of one team each deploy once in 30 days. Pooled,
    /// that is 1 a day ("elite" before v1.1); each service deploys 1/30 a day, so the median
    /// service, and the team and the totals with it, are "medium". With 2 more services that
    /// deploy daily (30 deploys each), the median of 32 (rank 16) is still a monthly one.
    @Test func aGroupsFrequencyBandIsItsMedianServicesWhileItsPerDayStaysPooled() {
        func lines(_ services: Int, deploysEach: Int) -> [String] {
            (0..<services).flatMap { s in
                (0..<deploysEach).map { d in
                    EventJSON.deploy("d-\(s)-\(d)", at: MetricsTesting.at("10:00:00", day: d + 1), service: "s\(100 + s)", team: "core")
                }
            }
        }
        let july = ("2026-07-01T00:00:00Z", "2026-07-31T00:00:00Z")
        let monthly = MetricsTesting.report(lines(30, deploysEach: 1), from: july.0, to: july.1)
        #expect(monthly.totals.deployments.perDay == 1)
        #expect(monthly.totals.deployments.band == .medium)
        #expect(monthly.teams.map(\.metrics.deployments.band) == [.medium])
        #expect(monthly.services.allSatisfy { $0.metrics.deployments.band == .medium })
        let mixed = MetricsTesting.report(lines(30, deploysEach: 1) + lines(2, deploysEach: 30).map {
            $0.replacingOccurrences(of: "\"s10", with: "\"daily-s10").replacingOccurrences(of: "\"d-", with: "\"e-")
        }, from: july.0, to: july.1)
        #expect(mixed.services.count == 32 && mixed.totals.deployments.count == 90)
        #expect(mixed.totals.deployments.perDay == 3 && mixed.totals.deployments.band == .medium)
        // No listed service: no median, no band.
        let empty = MetricsTesting.report(lines(1, deploysEach: 1), from: "2026-08-01T00:00:00Z", to: "2026-08-02T00:00:00Z")
        #expect(empty.services.isEmpty && empty.totals.deployments.band == nil)
    }
}

