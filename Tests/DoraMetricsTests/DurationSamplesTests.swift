import DoraTestSupport
import Testing

@testable import DoraMetrics

/// A statistic finds its ranks by a radix selection across the pool's sorted runs, without
/// copying them: it must give the nearest rank of the sorted values.
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
            let r = Stat.rank(percentTenths: tenths, of: all.count)
            #expect(pool.value(atRank: r) == sorted[r - 1])
        }
        let b = sorted[sorted.count / 2]
        #expect(pool.count(above: b, inclusive: false) == sorted.filter { $0 > b }.count)
        #expect(pool.count(above: b, inclusive: true) == sorted.filter { $0 >= b }.count)
    }

    /// Every rank, over pools whose values take every width (the first pass's buckets are
    /// then wide, and several passes narrow them), negatives and the extremes (a range as wide
    /// as Int64), long runs of one value, a pool of a single value (a range of width 0), and
    /// runs of very different lengths.
    @Test(arguments: 0..<6)
    func everyRankOfAPoolOfAnyShapeIsTheSortedValuesRank(shape: Int) {
        var rng = SplitMix64(state: UInt64(shape) &+ 99)
        let value: () -> Int64 = [
            { Int64(bitPattern: rng.next()) },
            { Int64(rng.next() % 3_000_000_000_000) >> (rng.next() % 40) },
            { Int64(rng.next() % 7) * 1_000_000 - 3_000_000 },
            { [Int64.min, Int64.max, -1, 0, 1][Int(rng.next() % 5)] },
            { 1 << 40 + Int64(rng.next() % 2048) },
            { 90_000_000 },
        ][shape]
        var pool = DurationSamples()
        var all: [Int64] = []
        for run in 0..<30 {
            let values = (0..<(run % 7 == 0 ? 2_000 : Int(rng.next() % 40))).map { _ in value() }
            all += values
            var sealed = DurationSamples(values)
            sealed.seal()
            pool.merge(sealed)
        }
        let sorted = all.sorted()
        let ranks = Array(stride(from: 1, through: sorted.count, by: 7)) + [sorted.count]
        #expect(pool.values(atRanks: ranks) == ranks.map { sorted[$0 - 1] })
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
