/// One pass of `DurationSamples.values(atRanks:)`: the candidates for a rank (a window of
/// each sorted run, every value within the candidates' range) counted into buckets of equal
/// width over that range.
///
/// Invariants: one window per run (empty where a run has no candidate); `counts` sums to the
/// number of candidates; a value v falls into bucket `(key(v) - lowKey) >> shift`, so the
/// buckets are in value order.
struct RankSelection {
    private let runs: [SampleRun]
    private(set) var windows: [Range<Int>]
    /// The smallest candidate's key; `span`: the largest's key minus it.
    private let lowKey: UInt64
    private let span: UInt64
    private let shift: UInt64
    private let counts: [Int]

    /// Counts the values of `windows` (one per run, possibly empty) into 256 to 65,536
    /// buckets, more for more candidates (a pass costs its candidates plus its buckets).
    init(runs: [SampleRun], windows: [Range<Int>]) {
        self.runs = runs
        var (low, high) = (UInt64.max, UInt64.min)
        var candidates = 0
        for (run, window) in zip(runs, windows) where !window.isEmpty {
            low = min(low, Self.key(run[window.lowerBound]))
            high = max(high, Self.key(run[window.upperBound - 1]))
            candidates += window.count
        }
        precondition(candidates > 0, "selecting a rank among no values")
        self.windows = windows
        lowKey = low
        span = high - low
        let bits = UInt64(min(16, max(8, Int.bitWidth - candidates.leadingZeroBitCount + 2)))
        let spanBits = UInt64(UInt64.bitWidth - span.leadingZeroBitCount)
        let shift = spanBits > bits ? spanBits - bits : 0
        self.shift = shift
        var counts = [Int](repeating: 0, count: Int(span >> shift) + 1)
        counts.withUnsafeMutableBufferPointer { c in
            for (run, window) in zip(runs, windows) where !window.isEmpty {
                run.forEachChunk(in: window) { values in
                    for v in values { c[Int((Self.key(v) &- low) >> shift)] += 1 }
                }
            }
        }
        self.counts = counts
    }

    /// Finds the bucket holding 1-based rank `rank` among the candidates and makes `rank`
    /// count from that bucket's start, and narrows the windows to the bucket. Returns the value
    /// when that settles it (a bucket one value wide, or holding one value); otherwise nil, and
    /// the next pass counts the narrowed windows.
    mutating func narrow(toRank rank: inout Int) -> Int64? {
        var bucket = 0
        while rank > counts[bucket] {
            rank -= counts[bucket]
            bucket += 1
        }
        let lowOffset = UInt64(bucket) << shift
        if shift == 0 { return Self.value(ofKey: lowKey + lowOffset) }
        let highOffset = min(span, lowOffset | ((1 << shift) - 1))
        let (low, high) = (Self.value(ofKey: lowKey + lowOffset), Self.value(ofKey: lowKey + highOffset))
        var narrowed: [Range<Int>] = []
        for (run, window) in zip(runs, windows) {
            guard !window.isEmpty else {
                narrowed.append(window)
                continue
            }
            narrowed.append(run.partitionPoint(in: window) { $0 >= low }..<run.partitionPoint(in: window) { $0 > high })
        }
        windows = narrowed
        guard counts[bucket] == 1 else { return nil }
        let only = zip(runs, windows).first { !$0.1.isEmpty }!
        return only.0[only.1.lowerBound]
    }

    /// The value's key: its bits with the sign flipped, whose unsigned order is the values'
    /// signed order (so that a range's width never overflows).
    private static func key(_ v: Int64) -> UInt64 { UInt64(bitPattern: v) ^ (1 << 63) }
    private static func value(ofKey k: UInt64) -> Int64 { Int64(bitPattern: k ^ (1 << 63)) }
}
