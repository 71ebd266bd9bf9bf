extension RandomAccessCollection where Index == Int {
    /// The first index whose element satisfies `belongs`, which must be false for a prefix of
    /// the collection and true for the rest (a binary search; `endIndex` when none does).
    /// The one lower-bound search of the metrics and the SLO windows.
    @inlinable
    public func partitionPoint(where belongs: (Element) -> Bool) -> Int {
        var (lo, hi) = (startIndex, endIndex)
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if belongs(self[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
