/// Durations (microseconds) that a statistic is computed over, held as sorted runs.
///
/// A service holds one run; a team or the totals hold their services' runs, shared
/// copy-on-write, never copied or re-sorted. A run is in memory, or set aside in a
/// `SampleStore` (`store(in:)`), where the statistics read it back. Nearest-rank percentiles
/// are found by a radix selection across the runs, and the mean from an exact integer sum, so
/// the result is the same whatever the order of the runs and wherever they are held.
public struct DurationSamples: Sendable, Equatable {
    private var runs: [SampleRun] = []
    /// Values appended since the last `seal`, not yet sorted.
    private var pending: [Int64] = []

    public init() {}

    public init(_ values: [Int64]) {
        pending = values
    }

    public var count: Int { runs.reduce(pending.count) { $0 + $1.count } }
    public var isEmpty: Bool { count == 0 }

    public mutating func append(_ value: Int64) {
        pending.append(value)
    }

    /// Sorts the pending values into a run.
    public mutating func seal() {
        guard !pending.isEmpty else { return }
        Self.sortAscending(&pending)
        runs.append(SampleRun(pending))
        pending = []
    }

    /// Below this many values, `sortAscending` uses the standard sort.
    static let radixSortedFrom = 512

    /// Sorts `values` ascending. A service's samples (50,000 lead times and more in a large
    /// log) are sorted once per analysis, and the standard library's comparison sort was 5 % of
    /// a 10M-event replay; equal integers are indistinguishable, so any sort gives the same
    /// array, and a least-significant-digit radix sort on 11-bit digits does it in a few linear
    /// passes, skipping the digits that every value shares (durations use 40-odd of the 64
    /// bits). Short arrays keep the standard sort (a pass costs 2,048 counters); a
    /// differential test holds the two equal.
    static func sortAscending(_ values: inout [Int64]) {
        guard values.count >= radixSortedFrom else {
            values.sort()
            return
        }
        // Keys with the sign bit flipped: their unsigned order is the values' signed order.
        let flip: UInt64 = 1 << 63
        var keys = values.map { UInt64(bitPattern: $0) ^ flip }
        var differing: UInt64 = 0
        let first = keys[0]
        for k in keys { differing |= k ^ first }
        var spare = [UInt64](repeating: 0, count: keys.count)
        var counts = [Int](repeating: 0, count: 2048)
        for shift in stride(from: UInt64(0), to: 64, by: 11) where (differing >> shift) & 0x7FF != 0 {
            keys.withUnsafeBufferPointer { from in
                spare.withUnsafeMutableBufferPointer { to in
                    counts.withUnsafeMutableBufferPointer { c in
                        for i in c.indices { c[i] = 0 }
                        for k in from { c[Int((k >> shift) & 0x7FF)] += 1 }
                        var total = 0
                        for i in c.indices {
                            let n = c[i]
                            c[i] = total
                            total += n
                        }
                        for k in from {
                            let digit = Int((k >> shift) & 0x7FF)
                            to[c[digit]] = k
                            c[digit] += 1
                        }
                    }
                }
            }
            swap(&keys, &spare)
        }
        for i in values.indices { values[i] = Int64(bitPattern: keys[i] ^ flip) }
    }

    /// Pools `other`'s runs into these (sealing both first).
    public mutating func merge(_ other: DurationSamples) {
        seal()
        var o = other
        o.seal()
        runs += o.runs
    }

    /// All values, sorted (for tests and small pools).
    public var sorted: [Int64] {
        var s = self
        s.seal()
        var all = s.runs.flatMap(\.values)
        all.sort()  // in place: the totals of a large log are tens of millions of values
        return all
    }

    /// Sets the values aside in `store` (sealing them first): they leave memory, and every
    /// statistic reads them back from there.
    public mutating func store(in store: any SampleStore) {
        seal()
        runs = runs.map { $0.storing(in: store) }
    }

    /// Whether every value is set aside in a store (none is in memory).
    public var isStored: Bool { pending.isEmpty && runs.allSatisfy(\.isStored) }

    /// A pool of stored runs up to this many values is read back into memory for a statistic
    /// (32 MB; `inMemory`); a larger one is read where it is.
    static let readBackUpTo = 4 << 20

    /// These samples, sealed, with their stored runs read back into memory when they hold at
    /// most `readBackUpTo` values: a statistic over them then reads the store a few times
    /// (`SampleRun.inMemory`), not once per probe of every run. A larger pool, the whole
    /// period's totals of a very large log, is selected in place: its runs are few per
    /// service and long, and reading it back would hold it all in memory.
    private func sealedForReading(upTo limit: Int = readBackUpTo) -> DurationSamples {
        var s = self
        s.seal()
        let stored = s.runs.reduce(0) { $0 + ($1.isStored ? $1.count : 0) }
        if stored > 0 && stored <= limit { s.runs = SampleRun.inMemory(s.runs) }
        return s
    }

    /// The value at 1-based rank `rank` of the pooled sorted values.
    func value(atRank rank: Int) -> Int64 {
        values(atRanks: [rank])[0]
    }

    /// The values at the 1-based ranks `ranks` of the pooled sorted values, found in place: a
    /// team's or the totals' pool holds every service's run, and a copy to select in cost
    /// about a tenth of `report`'s peak RSS at 10M events (bench/RESULTS.md, thirty-second
    /// session).
    ///
    /// A radix selection across the sorted runs (`RankSelection`): each pass counts the
    /// candidates into up to 65,536 buckets of their value range, keeps the bucket holding the
    /// rank, and narrows every run to it by binary search, so the passes after the first read
    /// few values. The first pass is shared by every rank. A single run is indexed directly.
    /// A differential test holds it to the sorted values' ranks.
    /// - Complexity: O(n) for the first pass, then O(runs · log n) per narrowing.
    /// - Parameter limit: `readBackUpTo`, lowered by tests to select stored runs in place.
    func values(atRanks ranks: [Int], readingBackUpTo limit: Int = readBackUpTo) -> [Int64] {
        let s = sealedForReading(upTo: limit)
        if s.runs.count == 1 { return ranks.map { s.runs[0][$0 - 1] } }
        let first = RankSelection(runs: s.runs, windows: s.runs.map { 0..<$0.count })
        return ranks.map { rank in
            var selection = first
            var r = rank
            while true {
                if let v = selection.narrow(toRank: &r) { return v }
                selection = RankSelection(runs: s.runs, windows: selection.windows)
            }
        }
    }

    private static func countAtOrBelow(_ run: SampleRun, _ v: Int64) -> Int {
        run.partitionPoint(in: 0..<run.count) { $0 > v }
    }

    /// The statistic (docs/metrics.md §3): nearest-rank p50 and p95, exact mean.
    var stat: Stat { statAndMedian.stat }

    /// `stat`, and its p50 in microseconds (what a band is judged on), from one selection.
    var statAndMedian: (stat: Stat, p50: Int64?) {
        let n = count
        guard n > 0 else { return (Stat(count: 0, p50: nil, p95: nil, mean: nil), nil) }
        var sum: Int128 = 0
        for run in runs { sum += run.sum }
        for v in pending { sum += Int128(v) }
        let (r50, r95) = (Stat.rank(percentTenths: 500, of: n), Stat.rank(percentTenths: 950, of: n))
        var s = self
        s.seal()
        let picked = s.values(atRanks: [r50, r95])
        let (p50, p95) = (picked[0], picked[1])
        return (Stat(count: n, p50: Double(p50) / 1_000_000, p95: Double(p95) / 1_000_000, mean: Double(sum) / Double(n) / 1_000_000), p50)
    }

    /// How many values are above `v` (`inclusive`: at or above), counted across the runs.
    /// - Complexity: O(runs · log n).
    func count(above v: Int64, inclusive: Bool) -> Int {
        let s = sealedForReading()
        return s.runs.reduce(0) { total, run in total + run.count - run.partitionPoint(in: 0..<run.count) { inclusive ? $0 >= v : $0 > v } }
    }

    /// The values counted into cumulative buckets: for each of `bounds` (microseconds,
    /// ascending), how many values are at or below it, with the count and exact sum.
    /// - Complexity: O(runs · bounds · log n).
    public func buckets(_ bounds: [Int64]) -> BucketCounts {
        let s = sealedForReading()
        var sum: Int128 = 0
        for run in s.runs { sum += run.sum }
        return BucketCounts(
            bounds: bounds,
            cumulative: bounds.map { bound in s.runs.reduce(0) { $0 + Self.countAtOrBelow($1, bound) } },
            count: s.count, sumSeconds: Double(sum) / 1_000_000)
    }
}

/// Durations counted into cumulative buckets: what a Prometheus histogram exposes.
///
/// Invariants: one count per bound, non-decreasing, none above `count`; bounds ascending.
public struct BucketCounts: Sendable, Equatable {
    /// Upper bounds in microseconds, ascending.
    public var bounds: [Int64]
    /// Per bound, the number of values at or below it.
    public var cumulative: [Int]
    public var count: Int
    /// The exact sum of the values, in seconds.
    public var sumSeconds: Double
}
