import DoraSLO
import Testing

@Suite struct ExceedanceTestTests {
    /// Counts, over every way of choosing which of the m + n ranked samples are the current
    /// ones (all equally likely when nothing changed), how often K >= k.
    func bruteForce(m: Int, n: Int, r: Int, k: Int) -> Double {
        var hits = 0
        var total = 0
        for mask in 0..<(1 << (m + n)) where mask.nonzeroBitCount == n {
            total += 1
            var baselineSeen = 0
            var exceeding = 0
            var passedB = false
            for position in 0..<(m + n) {  // ascending order of value
                if mask & (1 << position) == 0 {
                    baselineSeen += 1
                    if baselineSeen == r { passedB = true }
                } else if passedB {
                    exceeding += 1
                }
            }
            if exceeding >= k { hits += 1 }
        }
        return Double(hits) / Double(total)
    }

    @Test func thePValueIsTheExactExceedanceProbability() {
        for m in 1...7 {
            for n in 1...6 {
                for r in 1...m {
                    for k in 0...n {
                        let exact = ExceedanceTest.pValue(m: m, n: n, r: r, k: k)
                        let counted = bruteForce(m: m, n: n, r: r, k: k)
                        #expect(abs(exact - counted) < 1e-12, "m \(m) n \(n) r \(r) k \(k): \(exact) vs \(counted)")
                    }
                }
            }
        }
    }

    @Test func largeWindowsNeitherOverflowNorLoseTinyPValues() {
        let p = ExceedanceTest.pValue(m: 5000, n: 5000, r: 4750, k: 5000)
        #expect(p > 0 && p < 1e-300 || p == 0 || p.isNormal)
        let middle = ExceedanceTest.pValue(m: 5000, n: 5000, r: 4750, k: 250)
        #expect(middle > 0.3 && middle < 0.7, "about half the time at the expected count: \(middle)")
        #expect(ExceedanceTest.pValue(m: 5000, n: 5000, r: 4750, k: 0) == 1)
    }
}
