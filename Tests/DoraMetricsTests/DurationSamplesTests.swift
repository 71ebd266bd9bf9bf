import DoraTestSupport
import Foundation
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

/// Samples set aside in a store (a partitioned replay's, on disk) give every statistic the
/// samples in memory give.
@Suite struct StoredSamplesTests {
    /// A store in memory that counts its reads.
    final class ArrayStore: SampleStore, @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int64] = []
        private(set) var reads = 0

        func countingReadsFromNow() { lock.withLock { reads = 0 } }

        func append(_ more: UnsafeBufferPointer<Int64>) -> Int {
            lock.withLock {
                values += more
                return values.count - more.count
            }
        }

        func read(from position: Int, into buffer: UnsafeMutableBufferPointer<Int64>) {
            lock.withLock {
                reads += 1
                for i in buffer.indices { buffer[i] = values[position + i] }
            }
        }

        /// Adds `delta` to every stored value (to show that statistics read them from here).
        func shift(by delta: Int64) {
            lock.withLock { values = values.map { $0 + delta } }
        }
    }

    @Test(arguments: [1, 3, 40])
    func aPoolWithStoredRunsGivesTheStatisticsOfThePoolInMemory(runs: Int) {
        var rng = SplitMix64(state: UInt64(runs) &+ 7)
        let store = ArrayStore()
        var inMemory = DurationSamples()
        var mixed = DurationSamples()
        for r in 0..<runs {
            // Some runs longer than a chunk read back at once, so that reads come in several.
            let length = r % 5 == 0 ? SampleRun.chunkValues + 300 : Int(rng.next() % 500)
            let values = (0..<length).map { _ in Int64(rng.next() % 9_000_000_000) - 1_000_000 }
            var run = DurationSamples(values)
            run.seal()
            inMemory.merge(run)
            if r % 2 == 0 { run.store(in: store) }
            #expect(run.isStored == (r % 2 == 0 || values.isEmpty))
            mixed.merge(run)
        }
        let sorted = inMemory.sorted
        #expect(mixed.sorted == sorted && mixed == inMemory)
        store.countingReadsFromNow()
        #expect(mixed.stat == inMemory.stat)
        // The stored runs lie together: one read brings them all back.
        #expect(store.reads == 1)
        let ranks = Array(stride(from: 1, through: sorted.count, by: 97)) + [sorted.count]
        #expect(mixed.values(atRanks: ranks) == inMemory.values(atRanks: ranks))
        // A pool too large to read back is selected where its runs are stored.
        #expect(mixed.values(atRanks: ranks, readingBackUpTo: 0) == inMemory.values(atRanks: ranks))
        let middle = sorted[sorted.count / 2]
        #expect(mixed.count(above: middle, inclusive: true) == inMemory.count(above: middle, inclusive: true))
        let bounds: [Int64] = [0, 60_000_000, 1_000_000_000, 5_000_000_000]
        #expect(mixed.buckets(bounds) == inMemory.buckets(bounds))
        #expect(store.reads > 0)
        // The stored runs are read from the store, not from a copy kept aside.
        store.shift(by: 1)
        #expect(mixed.sorted != sorted)
        #expect(mixed.stat.mean == inMemory.stat.mean, "the mean is the sum kept when the run was stored")
    }

    /// `MetricSamples.store(in:)` must reach every duration list it has: a list left out would
    /// stay in memory in a partitioned replay.
    @Test func storingAServicesSamplesSetsEveryDurationListAside() {
        let lists: [WritableKeyPath<MetricSamples, DurationSamples>] = [
            \.leadTimes, \.recovery, \.detect, \.decide, \.act, \.verify, \.timeToRestore, \.rollbackDurations,
            \.autoRollbackDurations, \.manualRollbackDurations,
        ]
        let declared = Mirror(reflecting: MetricSamples()).children.filter { $0.value is DurationSamples }.count
        #expect(declared == lists.count, "a duration list was added: add it to MetricSamples.forEachDuration and here")
        var samples = MetricSamples()
        for (i, list) in lists.enumerated() { samples[keyPath: list] = DurationSamples([Int64(i), 7]) }
        let store = ArrayStore()
        samples.store(in: store)
        #expect(samples.isStored)
        for list in lists { #expect(samples[keyPath: list].isStored) }
    }
}
