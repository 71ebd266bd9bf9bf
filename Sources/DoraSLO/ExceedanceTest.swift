/// The exact, distribution-free test slo.md uses for regressions.
///
/// With m baseline samples whose r-th smallest is b, and n current samples of which k exceed b:
/// if nothing changed, all m + n samples are exchangeable and
/// P(K = j) = C(m - r + j, j) C(r - 1 + n - j, n - j) / C(m + n, n).
public enum ExceedanceTest {
    /// P(K >= k). Computed from the ratios of consecutive terms in log space and normalised by
    /// the sum of all terms (which is 1 exactly), so it neither overflows nor loses small values.
    /// - Precondition: 1 <= r <= m, n >= 1, 0 <= k <= n.
    public static func pValue(m: Int, n: Int, r: Int, k: Int) -> Double {
        precondition(1 <= r && r <= m && n >= 1 && 0 <= k && k <= n)
        if k == 0 { return 1 }
        // log t_j relative to t_0, where t_{j+1} / t_j = (m - r + j + 1)/(j + 1) * (n - j)/(r - 1 + n - j).
        var logs = [Double](repeating: 0, count: n + 1)
        for j in 0..<n {
            let ratio = Double(m - r + j + 1) / Double(j + 1) * Double(n - j) / Double(r - 1 + n - j)
            logs[j + 1] = logs[j] + log(ratio)
        }
        return exp(logSumExp(logs[k...]) - logSumExp(logs[...]))
    }

    private static func logSumExp(_ values: ArraySlice<Double>) -> Double {
        let top = values.max()!
        var sum = 0.0
        for v in values { sum += exp(v - top) }
        return top + log(sum)
    }
}

#if canImport(Glibc)
import Glibc
#endif
