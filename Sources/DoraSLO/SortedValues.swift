/// A sorted multiset of durations for one SLO window: insert, remove, k-th smallest and
/// "how many above x", each in about O(log n + block) time.
///
/// Kept as a list of sorted blocks of at most `blockLimit` values (split when full, dropped
/// when empty), so an insertion moves at most one block's values instead of the whole window:
/// windows pooled over many services hold tens of thousands of samples. Each block's largest
/// value and size are also kept in two flat arrays, so finding a block reads one contiguous
/// array instead of touching every block it passes, and the sizes in a Fenwick tree, so a
/// rank is found in O(log blocks) (every evaluation asks for several).
/// Memory: a block's array grows by `growthStep` values at a time, and a full block is split
/// into two arrays of exactly its halves before the insertion, so a block holds about its
/// values and at most a step more (doubling, and a split that kept the full block's array,
/// left the windows of a large run about half empty: bench/RESULTS.md, thirty-fifth session).
/// Invariant: every block is non-empty and sorted, blocks are in order, `maxima[i]` and
/// `counts[i]` are block i's last value and size, and `sizes` is the Fenwick tree of `counts`.
struct SortedValues: Sendable {
    private var blocks: [[Int64]] = []
    private var maxima: [Int64] = []
    private var counts: [Int] = []
    /// 1-based Fenwick tree over `counts`: `sizes[i]` sums counts[i - (i & -i) ..< i].
    private var sizes: [Int] = [0]
    private(set) var count = 0
    private static let blockLimit = 256
    private static let growthStep = 32

    init() {}

    /// The room its blocks have, in values (at least `count`).
    var reservedValues: Int { blocks.reduce(0) { $0 + $1.capacity } }

    /// From unsorted values.
    init<S: Sequence>(_ values: S) where S.Element == Int64 {
        let sorted = values.sorted()
        count = sorted.count
        var i = 0
        while i < sorted.count {
            let end = min(i + Self.blockLimit / 2, sorted.count)
            blocks.append(Array(sorted[i..<end]))
            maxima.append(sorted[end - 1])
            counts.append(end - i)
            i = end
        }
        rebuildSizes()
    }

    /// The block that holds (or would hold) `v`: the first whose largest value is >= v.
    private func block(for v: Int64) -> Int {
        var (lo, hi) = (0, maxima.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if maxima[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    mutating func insert(_ v: Int64) {
        count += 1
        guard !blocks.isEmpty else {
            blocks = [[v]]
            maxima = [v]
            counts = [1]
            sizes = [0, 1]
            return
        }
        var b = min(block(for: v), blocks.count - 1)
        if counts[b] == Self.blockLimit {
            split(b)
            if v > maxima[b] { b += 1 }
        }
        if blocks[b].count == blocks[b].capacity { blocks[b].reserveCapacity(blocks[b].count + Self.growthStep) }
        blocks[b].insert(v, at: Self.upperBound(blocks[b], v))
        counts[b] += 1
        addSize(1, toBlock: b)
        if v > maxima[b] { maxima[b] = v }
    }

    /// Splits full block `b` into its lower and upper halves, each in an array of its size.
    private mutating func split(_ b: Int) {
        let keep = Self.blockLimit / 2
        let upper = Array(blocks[b][keep...])
        blocks[b] = Array(blocks[b][..<keep])
        blocks.insert(upper, at: b + 1)
        maxima.insert(maxima[b], at: b + 1)
        maxima[b] = blocks[b][keep - 1]
        counts[b] = keep
        counts.insert(upper.count, at: b + 1)
        rebuildSizes()
    }

    /// Removes one occurrence of `v`, which must be present.
    mutating func remove(_ v: Int64) {
        let b = block(for: v)
        precondition(b < blocks.count, "a window lost track of its values")
        let at = Self.upperBound(blocks[b], v) - 1
        precondition(at >= 0 && blocks[b][at] == v, "a window lost track of its values")
        blocks[b].remove(at: at)
        counts[b] -= 1
        addSize(-1, toBlock: b)
        if counts[b] == 0 {
            blocks.remove(at: b)
            maxima.remove(at: b)
            counts.remove(at: b)
            rebuildSizes()
        } else if at == counts[b] {
            maxima[b] = blocks[b][at - 1]  // the largest value went; the next one is the new last
        }
        count -= 1
    }

    /// The `rank`-th smallest value (1-based).
    func element(rank: Int) -> Int64 {
        precondition(rank >= 1 && rank <= count)
        // Down the Fenwick tree: the last block whose predecessors hold fewer than `rank`.
        var (position, remaining) = (0, rank)
        var step = 1
        while step * 2 < sizes.count { step *= 2 }
        while step > 0 {
            if position + step < sizes.count && sizes[position + step] < remaining {
                position += step
                remaining -= sizes[position]
            }
            step /= 2
        }
        return blocks[position][remaining - 1]
    }

    /// How many values are greater than `x`.
    func countAbove(_ x: Int64) -> Int {
        guard x < .max else { return 0 }
        let b = block(for: x + 1)  // the first block holding a value above x; later ones hold only such values
        guard b < blocks.count else { return 0 }
        return count - sizeOfBlocks(before: b) - Self.upperBound(blocks[b], x)
    }

    /// The values in blocks 0 ..< b.
    private func sizeOfBlocks(before b: Int) -> Int {
        var (i, sum) = (b, 0)
        while i > 0 {
            sum += sizes[i]
            i -= i & -i
        }
        return sum
    }

    private mutating func addSize(_ delta: Int, toBlock b: Int) {
        var i = b + 1
        while i < sizes.count {
            sizes[i] += delta
            i += i & -i
        }
    }

    /// Rebuilds `sizes` from `counts` in O(blocks) (after a block came or went).
    private mutating func rebuildSizes() {
        sizes = [0] + counts
        for i in 1..<max(1, sizes.count) {
            let parent = i + (i & -i)
            if parent < sizes.count { sizes[parent] += sizes[i] }
        }
    }

    /// The index of the first value greater than `x` in sorted `values`.
    static func upperBound(_ values: [Int64], _ x: Int64) -> Int {
        var (lo, hi) = (0, values.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] <= x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
