import DoraStatistics
import Testing

@Suite struct ExactTestsTests {
    /// Reference p-values from SciPy 1.17 (`scipy.stats.fisher_exact` on [[yes1, n1 - yes1],
    /// [yes2, n2 - yes2]], two-sided), computed once and written here.
    @Test(arguments: [
        (1, 10, 11, 14, 0.0027594561852200836),
        (3, 40, 9, 41, 0.11566657521763912),
        (0, 5, 0, 7, 1.0),
        (5, 5, 0, 5, 0.007936507936507938),
        (20, 200, 20, 200, 1.0),
        (7, 120, 19, 118, 0.012638830963787102),
    ])
    func fishersTestAgreesWithAReferenceImplementation(_ c: (Int, Int, Int, Int, Double)) {
        let p = FisherExactTest.twoSidedPValue(yes1: c.0, n1: c.1, yes2: c.2, n2: c.3)
        #expect(abs(p - c.4) <= 1e-9 * max(c.4, 1e-3), "\(c): \(p)")
        // Swapping the periods changes nothing.
        #expect(abs(FisherExactTest.twoSidedPValue(yes1: c.2, n1: c.3, yes2: c.0, n2: c.1) - p) < 1e-12)
    }

    @Test func fishersTestOfAPeriodWithoutTrialsIsOne() {
        #expect(FisherExactTest.twoSidedPValue(yes1: 0, n1: 0, yes2: 3, n2: 4) == 1)
    }

    /// Reference p-values from SciPy 1.17 (`scipy.stats.binomtest(count2, count1 + count2,
    /// exposure2 / (exposure1 + exposure2))`, two-sided).
    @Test(arguments: [
        (10, 30.0, 25, 30.0, 0.016673847800120715),
        (92, 92.0, 80, 92.0, 0.4016835365505058),
        (3, 7.0, 0, 7.0, 0.25),
        (40, 91.0, 70, 92.0, 0.005523412983226287),
        (0, 10.0, 5, 20.0, 0.17695473251028804),
    ])
    func thePoissonRateTestAgreesWithAReferenceImplementation(_ c: (Int, Double, Int, Double, Double)) {
        let p = PoissonRateTest.twoSidedPValue(count1: c.0, exposure1: c.1, count2: c.2, exposure2: c.3)
        #expect(abs(p - c.4) <= 1e-9 * max(c.4, 1e-3), "\(c): \(p)")
        #expect(PoissonRateTest.twoSidedPValue(count1: 0, exposure1: 3, count2: 0, exposure2: 5) == 1)
    }

    @Test func theTwoSidedExceedanceTestIsTwiceTheSmallerTail() {
        // m = 40 baseline samples, b their 38th smallest (p95); n = 40 current samples.
        let (m, n, r) = (40, 40, 38)
        let up = ExceedanceTest.pValue(m: m, n: n, r: r, k: 9)
        #expect(abs(ExceedanceTest.twoSidedPValue(m: m, n: n, r: r, above: 9, atOrAbove: 9) - min(1, 2 * up)) < 1e-12)
        // No current sample at or above b: the lower tail, P(K <= 0).
        let none = 1 - ExceedanceTest.pValue(m: m, n: n, r: r, k: 1)
        #expect(abs(ExceedanceTest.twoSidedPValue(m: m, n: n, r: r, above: 0, atOrAbove: 0) - min(1, 2 * none)) < 1e-12)
        // Expected counts (about 2.9 above the p95) are no evidence either way.
        #expect(ExceedanceTest.twoSidedPValue(m: m, n: n, r: r, above: 3, atOrAbove: 3) > 0.5)
        // Ties at b count against a decrease: more at-or-above means a larger lower tail.
        #expect(
            ExceedanceTest.twoSidedPValue(m: m, n: n, r: r, above: 0, atOrAbove: 2)
                > ExceedanceTest.twoSidedPValue(m: m, n: n, r: r, above: 0, atOrAbove: 0))
    }
}

extension ExactTestsTests {
    @Test func theLowerTailIsOneLessTheUpperTailAbove() {
        for (m, n, r) in [(40, 40, 38), (20, 35, 10), (200, 150, 100), (7, 3, 1), (5000, 5000, 2500)] {
            for k in stride(from: 0, through: n, by: max(1, n / 17)) {
                let lower = ExceedanceTest.lowerTail(m: m, n: n, r: r, k: k)
                let complement = k == n ? 1 : 1 - ExceedanceTest.pValue(m: m, n: n, r: r, k: k + 1)
                #expect(abs(lower - complement) <= 1e-9, "m \(m) n \(n) r \(r) k \(k): \(lower) against \(complement)")
                let bounded = ExceedanceTest.lowerTail(m: m, n: n, r: r, k: k, stoppingAt: 0.5)
                #expect(lower < 0.5 ? bounded == lower : bounded >= 0.5)
            }
        }
    }
}
