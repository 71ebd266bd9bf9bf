/// A sorted multiset of durations for one SLO window: insert, remove, k-th smallest and
/// "how many above x", each in about O(log n + block) time.
///
/// Kept as a list of sorted blocks of at most `blockLimit` values (split when full, dropped
/// when empty), so an insertion moves at most one block's values instead of the whole window:
/// windows pooled over many services hold tens of thousands of samples.
/// Invariant: every block is non-empty and sorted, and blocks are in order.
struct SortedValues: Sendable {
    private var blocks: [[Int64]] = []
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
            i = end
        }
    }

    /// The block that holds (or would hold) `v`: the first whose last value is >= v.
    private func block(for v: Int64) -> Int {
        var (lo, hi) = (0, blocks.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if blocks[mid][blocks[mid].count - 1] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    mutating func insert(_ v: Int64) {
        count += 1
        guard !blocks.isEmpty else {
            blocks = [[v]]
            return
        }
        let b = min(block(for: v), blocks.count - 1)
        blocks[b].insert(v, at: Self.upperBound(blocks[b], v))
        if blocks[b].count > Self.blockLimit {
            let half = Array(blocks[b][(Self.blockLimit / 2)...])
            blocks[b].removeSubrange((Self.blockLimit / 2)...)
            blocks.insert(half, at: b + 1)
        }
    }

    /// Removes one occurrence of `v`, which must be present.
    mutating func remove(_ v: Int64) {
        let b = block(for: v)
        precondition(b < blocks.count, "a window lost track of its values")
        let at = Self.upperBound(blocks[b], v) - 1
        precondition(at >= 0 && blocks[b][at] == v, "a window lost track of its values")
        blocks[b].remove(at: at)
        if blocks[b].isEmpty { blocks.remove(at: b) }
        count -= 1
    }

    /// The `rank`-th smallest value (1-based).
    func element(rank: Int) -> Int64 {
        precondition(rank >= 1 && rank <= count)
        var remaining = rank
        for block in blocks {
            if remaining <= block.count { return block[remaining - 1] }
            remaining -= block.count
        }
        preconditionFailure("rank beyond the count")
    }

    /// How many values are greater than `x`.
    func countAbove(_ x: Int64) -> Int {
        var above = 0
        var b = blocks.count - 1
        while b >= 0 && blocks[b][0] > x {
            above += blocks[b].count
            b -= 1
        }
        if b >= 0 { above += blocks[b].count - Self.upperBound(blocks[b], x) }
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
