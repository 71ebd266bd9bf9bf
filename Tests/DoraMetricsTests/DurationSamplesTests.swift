import DoraTestSupport
import Testing

@testable import DoraMetrics

/// The two ways a statistic finds a rank: bisection across a few sorted runs, selection in a
/// copy of many. Both must give the nearest rank of the sorted values.
@Suite struct RankSelectionTests {
    @Test(arguments: [1, 2, 5, 17, 40, 300])
    func aPoolOfThisManyRunsGivesTheSortedValuesRanks(runs: Int) {
        var rng = SplitMix64(state: UInt64(runs))
        var pool = DurationSamples()
        var all: [Int64] = []
        for _ in 0..<runs {
            // Runs of different sizes, with ties (values on a coarse grid) and an empty one.
            let values = (0..<Int(rng.next() % 60)).map { _ in Int64(rng.next() % 50) * 1_000_000 }
            all += values
            var run = DurationSamples(values)
            run.seal()
            pool.merge(run)
        }
        let sorted = all.sorted()
        let stat = pool.stat
        if sorted.isEmpty {
            #expect(stat.count == 0)
            return
        }
        #expect(stat.p50 == Double(sorted[Stat.rank(percentTenths: 500, of: sorted.count) - 1]) / 1_000_000)
        #expect(stat.p95 == Double(sorted[Stat.rank(percentTenths: 950, of: sorted.count) - 1]) / 1_000_000)
        for tenths in [1, 250, 500, 900, 950, 999, 1000] {
            var copy = all
            let r = Stat.rank(percentTenths: tenths, of: all.count)
            #expect(DurationSamples.select(&copy, rank: r, in: 0..<copy.count) == sorted[r - 1])
            #expect(pool.value(atRank: r) == sorted[r - 1])
        }
        let b = sorted[sorted.count / 2]
        #expect(pool.count(above: b, inclusive: false) == sorted.filter { $0 > b }.count)
        #expect(pool.count(above: b, inclusive: true) == sorted.filter { $0 >= b }.count)
    }
}

/// The radix sort of long sample arrays against the standard sort.
@Suite struct SampleSortTests {
    @Test(arguments: [0, 1, 511, 512, 513, 5_000, 70_000])
    func theRadixSortOrdersValuesAsTheStandardSortDoes(count: Int) {
        var rng = SplitMix64(state: UInt64(count) &+ 7)
        // Durations of every width, negatives (clock faults), the extremes, ties, and arrays
        // whose values share all their high digits (the passes that are skipped).
        let shapes: [() -> Int64] = [
            { Int64(bitPattern: rng.next()) },
            { Int64(rng.next() % 3_000_000_000_000) },
            { Int64(rng.next() % 7) * 1_000_000 - 3_000_000 },
            { [Int64.min, Int64.max, -1, 0, 1][Int(rng.next() % 5)] },
            { 1 << 40 + Int64(rng.next() % 2048) },
        ]
        for shape in shapes {
            let values = (0..<count).map { _ in shape() }
            var radix = values
            DurationSamples.sortAscending(&radix)
            #expect(radix == values.sorted())
        }
    }
}
