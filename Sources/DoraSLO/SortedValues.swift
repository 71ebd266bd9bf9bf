/// A sorted multiset of durations for one SLO window: insert, remove, k-th smallest and
/// "how many above x", each in about O(log n + block) time.
///
/// Kept as a list of sorted blocks of at most `blockLimit` values (split when full, dropped
/// when empty), so an insertion moves at most one block's values instead of the whole window:
/// windows pooled over many services hold tens of thousands of samples. Each block's largest
/// value and size are also kept in two flat arrays, so finding a block reads one contiguous
/// array instead of touching every block it passes.
/// Invariant: every block is non-empty and sorted, blocks are in order, and `maxima[i]` and
/// `counts[i]` are block i's last value and size.
struct SortedValues: Sendable {
    private var blocks: [[Int64]] = []
    private var maxima: [Int64] = []
    private var counts: [Int] = []
    private(set) var count = 0
    private static let blockLimit = 256

    init() {}

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
            return
        }
        let b = min(block(for: v), blocks.count - 1)
        blocks[b].insert(v, at: Self.upperBound(blocks[b], v))
        counts[b] += 1
        if v > maxima[b] { maxima[b] = v }
        if counts[b] > Self.blockLimit {
            let keep = Self.blockLimit / 2
            let upper = Array(blocks[b][keep...])
            blocks[b].removeSubrange(keep...)
            blocks.insert(upper, at: b + 1)
            maxima.insert(maxima[b], at: b + 1)
            counts.insert(upper.count, at: b + 1)
            maxima[b] = blocks[b][keep - 1]
            counts[b] = keep
        }
    }

    /// Removes one occurrence of `v`, which must be present.
    mutating func remove(_ v: Int64) {
        let b = block(for: v)
        precondition(b < blocks.count, "a window lost track of its values")
        let at = Self.upperBound(blocks[b], v) - 1
        precondition(at >= 0 && blocks[b][at] == v, "a window lost track of its values")
        blocks[b].remove(at: at)
        counts[b] -= 1
        if counts[b] == 0 {
            blocks.remove(at: b)
            maxima.remove(at: b)
            counts.remove(at: b)
        } else if at == counts[b] {
            maxima[b] = blocks[b][at - 1]  // the largest value went; the next one is the new last
        }
        count -= 1
    }

    /// The `rank`-th smallest value (1-based).
    func element(rank: Int) -> Int64 {
        precondition(rank >= 1 && rank <= count)
        var remaining = rank
        for b in counts.indices {
            if remaining <= counts[b] { return blocks[b][remaining - 1] }
            remaining -= counts[b]
        }
        preconditionFailure("rank beyond the count")
    }

    /// How many values are greater than `x`.
    func countAbove(_ x: Int64) -> Int {
        guard x < .max else { return 0 }
        let b = block(for: x + 1)  // the first block holding a value above x; later ones hold only such values
        guard b < blocks.count else { return 0 }
        var above = counts[b] - Self.upperBound(blocks[b], x)
        for later in (b + 1)..<counts.count { above += counts[later] }
        return above
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
