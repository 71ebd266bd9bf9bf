/// The exact, distribution-free test of a percentile's change: SLO regressions (docs/slo.md)
/// and period comparisons use it.
///
/// With m baseline samples whose r-th smallest is b, and n current samples of which k exceed b:
/// if nothing changed, all m + n samples are exchangeable and
/// P(K = j) = C(m - r + j, j) C(r - 1 + n - j, n - j) / C(m + n, n).
public enum ExceedanceTest {
    /// P(K >= k), to about 1e-10 relative (the log-gamma of the window sizes bounds it).
    /// - Precondition: 1 <= r <= m, n >= 1, 0 <= k <= n.
    public static func pValue(m: Int, n: Int, r: Int, k: Int) -> Double {
        pValue(m: m, n: n, r: r, k: k, stoppingAt: .infinity)
    }

    /// `pValue`, or a value of at least `bound` as soon as the p-value is known to reach it:
    /// enough to decide `p < bound`, and cheaper when the p-value is large.
    ///
    /// The terms P(K = j) are log-concave in j, so they rise to one mode and then fall, each
    /// ratio to the previous term no larger than the one before. Summing from j = k, once the
    /// terms fall, the rest is at most term x ratio / (1 - ratio); the sum stops when that is
    /// negligible. A regression's k lies past the mode, where a few terms suffice.
    public static func pValue(m: Int, n: Int, r: Int, k: Int, stoppingAt bound: Double) -> Double {
        precondition(1 <= r && r <= m && n >= 1 && 0 <= k && k <= n)
        return k == 0 ? 1 : tail(m: m, n: n, r: r, from: k, upward: true, stoppingAt: bound)
    }

    /// The two-sided p-value of a change of the baseline's r-th smallest value b, in either
    /// direction: twice the smaller tail, at most 1.
    ///
    /// With ties the two tails count differently, each so that ties make it larger (never a
    /// false alarm from ties): an increase counts the current samples above b (`above`), a
    /// decrease those at or above it (`atOrAbove`), so the lower tail is P(K <= atOrAbove).
    /// - Precondition: 1 <= r <= m, n >= 1, 0 <= above <= atOrAbove <= n.
    ///
    /// The tails overlap (above <= atOrAbove), so at most one is below one half: each is
    /// summed only until it reaches one half, and the smaller one is then exact.
    public static func twoSidedPValue(m: Int, n: Int, r: Int, above: Int, atOrAbove: Int) -> Double {
        precondition(above <= atOrAbove && atOrAbove <= n)
        let upper = pValue(m: m, n: n, r: r, k: above, stoppingAt: 0.5)
        let lower = lowerTail(m: m, n: n, r: r, k: atOrAbove, stoppingAt: 0.5)
        return min(1, 2 * min(upper, lower))
    }

    /// P(K <= k), summed from j = k down, or a value of at least `bound` as soon as the sum
    /// reaches it. Below the mode the terms fall as j falls, so the sum stops once the rest is
    /// negligible, as `pValue` does above the mode.
    /// - Precondition: 1 <= r <= m, n >= 1, 0 <= k <= n.
    public static func lowerTail(m: Int, n: Int, r: Int, k: Int, stoppingAt bound: Double = .infinity) -> Double {
        precondition(1 <= r && r <= m && n >= 1 && 0 <= k && k <= n)
        return k == n ? 1 : tail(m: m, n: n, r: r, from: k, upward: false, stoppingAt: bound)
    }

    /// The sum of P(K = j) from j = k to n (`upward`) or down to 0, stopping once it reaches
    /// `bound` or once the terms left are negligible: the terms are log-concave in j, so past
    /// the mode each ratio to the previous term is no larger than the one before, and the rest
    /// is at most term x ratio / (1 - ratio).
    private static func tail(m: Int, n: Int, r: Int, from k: Int, upward: Bool, stoppingAt bound: Double) -> Double {
        // log P(K = k), normalised by the sum of all terms, C(m + n, n).
        var logTerm = logChoose(m - r + k, k) + logChoose(r - 1 + n - k, n - k) - logChoose(m + n, n)
        var sum = 0.0
        var j = k
        let end = upward ? n : 0
        while true {
            let term = exp(logTerm)
            sum += term
            if sum >= bound || j == end { break }
            // P(K = i + 1) / P(K = i) for the step between i and i + 1; going down, its inverse.
            let i = upward ? j : j - 1
            let rising = Double(m - r + i + 1) / Double(i + 1) * Double(n - i) / Double(r - 1 + n - i)
            let ratio = upward ? rising : 1 / rising
            if ratio < 1 && term * ratio / (1 - ratio) <= sum * 0x1p-60 { break }
            logTerm += log(ratio)
            j += upward ? 1 : -1
        }
        return min(sum, 1)
    }
}

/// log C(a, b), through the log-gamma function (exact enough for the tests here: about 1e-12
/// relative for the sizes of a report).
func logChoose(_ a: Int, _ b: Int) -> Double {
    lgamma(Double(a) + 1) - lgamma(Double(b) + 1) - lgamma(Double(a - b) + 1)
}

#if canImport(Glibc)
import Glibc
#endif
