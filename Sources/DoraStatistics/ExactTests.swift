#if canImport(Glibc)
import Glibc
#endif

/// Fisher's exact test of two proportions: did the rate of "yes" change between two periods?
///
/// Used for the change failure rate and the rework rate (failed or rework deploys out of all
/// deploys). Exact for any counts, so it is right for the small samples of one team.
public enum FisherExactTest {
    /// The two-sided p-value of `yes1` of `n1` against `yes2` of `n2`: the probability, with
    /// the margins fixed and no difference between the periods, of a table at most as likely
    /// as the one observed. 1 when either period has no trials.
    /// - Precondition: 0 <= yes1 <= n1, 0 <= yes2 <= n2.
    public static func twoSidedPValue(yes1: Int, n1: Int, yes2: Int, n2: Int) -> Double {
        precondition(0 <= yes1 && yes1 <= n1 && 0 <= yes2 && yes2 <= n2)
        guard n1 > 0, n2 > 0 else { return 1 }
        let yes = yes1 + yes2
        // Hypergeometric: P(X = x) for x of the yes in period 1.
        func logP(_ x: Int) -> Double {
            logChoose(n1, x) + logChoose(n2, yes - x) - logChoose(n1 + n2, yes)
        }
        return sumOfTermsAtMostObserved(range: max(0, yes - n2)...min(yes, n1), observed: yes1, logP: logP)
    }
}

/// The exact test of two Poisson rates: did events per unit of time change between two
/// periods?
///
/// Used for deployments per day. Given the total n = count1 + count2, under no change count2
/// is binomial with n trials and probability exposure2 / (exposure1 + exposure2); the test is
/// that binomial's exact two-sided test. Exact for any counts.
public enum PoissonRateTest {
    /// The two-sided p-value of `count1` events in `exposure1` against `count2` in
    /// `exposure2` (exposures in any one unit, such as days). 1 when there are no events.
    /// - Precondition: counts >= 0, exposures > 0.
    public static func twoSidedPValue(count1: Int, exposure1: Double, count2: Int, exposure2: Double) -> Double {
        precondition(count1 >= 0 && count2 >= 0 && exposure1 > 0 && exposure2 > 0)
        let n = count1 + count2
        guard n > 0 else { return 1 }
        let q = exposure2 / (exposure1 + exposure2)
        func logP(_ x: Int) -> Double {
            logChoose(n, x) + Double(x) * log(q) + Double(n - x) * log1p(-q)
        }
        return sumOfTermsAtMostObserved(range: 0...n, observed: count2, logP: logP)
    }
}

/// The sum of the probabilities over `range` that are at most the observed one's (with a
/// relative tolerance of 1e-7, so that equal terms computed differently count as equal): the
/// two-sided p-value of the exact tests above, at most 1.
func sumOfTermsAtMostObserved(range: ClosedRange<Int>, observed: Int, logP: (Int) -> Double) -> Double {
    let threshold = logP(observed) + 1e-7
    var sum = 0.0
    for x in range {
        let l = logP(x)
        if l <= threshold { sum += exp(l) }
    }
    return min(1, sum)
}
