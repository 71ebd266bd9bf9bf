/// Where sorted sample runs can be set aside once made, and read back by position: a
/// partitioned replay keeps the pooled samples of a very large log on disk, not in memory
/// (docs/replay.md, "Partitions").
///
/// Reads do not throw, because the statistics that read them do not: a store whose read
/// fails fills the buffer with zeros and keeps the error for its owner to throw.
public protocol SampleStore: AnyObject, Sendable {
    /// Appends `values`; returns the position of the first (counted in values).
    func append(_ values: UnsafeBufferPointer<Int64>) -> Int
    /// Fills `buffer` with the values from `position` on.
    func read(from position: Int, into buffer: UnsafeMutableBufferPointer<Int64>)
}

/// One sorted run of samples (a service's values of one metric and period): in memory, or in
/// a `SampleStore` once set aside.
///
/// Invariant: the values are ascending; `count` and `sum` are theirs wherever they are held.
struct SampleRun: Sendable, Equatable {
    private enum Storage: Sendable {
        case memory([Int64])
        case stored(any SampleStore, position: Int)
    }

    private let storage: Storage
    let count: Int
    /// Kept once stored: a mean would otherwise read every value back.
    private let storedSum: Int128

    /// A run of `values`, which must be sorted ascending.
    init(_ values: [Int64]) {
        storage = .memory(values)
        count = values.count
        storedSum = 0
    }

    private init(store: any SampleStore, position: Int, count: Int, sum: Int128) {
        storage = .stored(store, position: position)
        self.count = count
        storedSum = sum
    }

    /// The same run, held in `store` (a run already stored stays where it is).
    func storing(in store: any SampleStore) -> SampleRun {
        guard case .memory(let values) = storage else { return self }
        let position = values.withUnsafeBufferPointer { store.append($0) }
        return SampleRun(store: store, position: position, count: count, sum: sum)
    }

    var isStored: Bool {
        if case .stored = storage { return true }
        return false
    }

    /// The exact sum of the values.
    var sum: Int128 {
        guard case .memory(let values) = storage else { return storedSum }
        var total: Int128 = 0
        for v in values { total += Int128(v) }
        return total
    }

    /// The value at `index` (0-based).
    subscript(index: Int) -> Int64 {
        switch storage {
        case .memory(let values): return values[index]
        case .stored(let store, let position):
            var value: Int64 = 0
            withUnsafeMutablePointer(to: &value) { store.read(from: position + index, into: UnsafeMutableBufferPointer(start: $0, count: 1)) }
            return value
        }
    }

    /// Values read back from a store per call of `forEachChunk`'s body, at most.
    static let chunkValues = 1 << 16

    /// Calls `body` with the values of `range`, in order, in one or more contiguous chunks.
    func forEachChunk(in range: Range<Int>, _ body: (UnsafeBufferPointer<Int64>) -> Void) {
        switch storage {
        case .memory(let values):
            values.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) }
        case .stored(let store, let position):
            let buffer = UnsafeMutableBufferPointer<Int64>.allocate(capacity: min(range.count, Self.chunkValues))
            defer { buffer.deallocate() }
            var start = range.lowerBound
            while start < range.upperBound {
                let n = min(buffer.count, range.upperBound - start)
                let chunk = UnsafeMutableBufferPointer(rebasing: buffer[0..<n])
                store.read(from: position + start, into: chunk)
                body(UnsafeBufferPointer(chunk))
                start += n
            }
        }
    }

    /// The first index of `range` whose value satisfies `belongs`, which must be false for a
    /// prefix of the range and true for the rest (`range.upperBound` when none does).
    func partitionPoint(in range: Range<Int>, where belongs: (Int64) -> Bool) -> Int {
        switch storage {
        case .memory(let values): return values[range].partitionPoint(where: belongs)
        case .stored:
            // Probes read one value each; the last few thousand values are read at once.
            var (lo, hi) = (range.lowerBound, range.upperBound)
            while hi - lo > Self.searchedInMemory {
                let mid = lo + (hi - lo) / 2
                if belongs(self[mid]) { hi = mid } else { lo = mid + 1 }
            }
            var point = hi
            var found = false
            forEachChunk(in: lo..<hi) { values in
                guard !found else { return }
                let i = values.partitionPoint(where: belongs)
                if i < values.count {
                    point = lo + i
                    found = true
                }
            }
            return point
        }
    }

    /// Below this many values, a search in a stored run reads them all with one read.
    static let searchedInMemory = 4_096

    /// The same runs, every stored one read back into memory: the runs of one store are read
    /// in position order, neighbours (at most `gap` values apart) with one read, so that a
    /// pool of many small runs (a week's samples of each service) costs few reads.
    static func inMemory(_ runs: [SampleRun], gap: Int = 4_096) -> [SampleRun] {
        var out = runs
        var stored: [(index: Int, store: any SampleStore, position: Int)] = []
        for (i, run) in runs.enumerated() {
            if case .stored(let store, let position) = run.storage { stored.append((i, store, position)) }
        }
        stored.sort { ObjectIdentifier($0.store) != ObjectIdentifier($1.store) ? ObjectIdentifier($0.store) < ObjectIdentifier($1.store) : $0.position < $1.position }
        var first = 0
        while first < stored.count {
            // A span: runs of one store, each starting within `gap` values of the previous end.
            var last = first
            var end = stored[first].position + runs[stored[first].index].count
            while last + 1 < stored.count, stored[last + 1].store === stored[first].store,
                stored[last + 1].position <= end + gap, stored[last + 1].position + runs[stored[last + 1].index].count - stored[first].position <= chunkValues * 16 {
                last += 1
                end = max(end, stored[last].position + runs[stored[last].index].count)
            }
            let start = stored[first].position
            let span = [Int64](unsafeUninitializedCapacity: end - start) { buffer, count in
                stored[first].store.read(from: start, into: buffer)
                count = end - start
            }
            for k in first...last {
                let (index, _, position) = stored[k]
                out[index] = SampleRun(Array(span[(position - start)..<(position - start + runs[index].count)]))
            }
            first = last + 1
        }
        return out
    }

    /// Every value, in memory.
    var values: [Int64] {
        if case .memory(let values) = storage { return values }
        var out: [Int64] = []
        out.reserveCapacity(count)
        forEachChunk(in: 0..<count) { out += $0 }
        return out
    }

    /// Runs are equal when they hold the same values, wherever they are held.
    static func == (a: SampleRun, b: SampleRun) -> Bool {
        a.count == b.count && a.values == b.values
    }
}
