import DoraStatistics
import Foundation
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

    /// Every term, summed in log space: the plain definition, O(n) logarithms.
    func fullSum(m: Int, n: Int, r: Int, k: Int) -> Double {
        var logs = [0.0]
        for j in 0..<n {
            logs.append(logs[j] + log(Double(m - r + j + 1) / Double(j + 1) * Double(n - j) / Double(r - 1 + n - j)))
        }
        func logSumExp(_ values: ArraySlice<Double>) -> Double {
            let top = values.max()!
            return top + log(values.reduce(0) { $0 + exp($1 - top) })
        }
        return exp(logSumExp(logs[k...]) - logSumExp(logs[...]))
    }

    @Test func theSumStoppedOnceTheRestIsNegligibleAgreesWithEveryTermSummed() {
        var generator = SystemRandomNumberGenerator()
        var checked = 0
        for _ in 0..<2_000 {
            let m = Int.random(in: 1...3_000, using: &generator)
            let n = Int.random(in: 1...3_000, using: &generator)
            let r = Int.random(in: 1...m, using: &generator)
            let k = Int.random(in: 0...n, using: &generator)
            let (fast, full) = (ExceedanceTest.pValue(m: m, n: n, r: r, k: k), fullSum(m: m, n: n, r: r, k: k))
            guard full > 1e-280 else { continue }  // the full sum's own underflow
            #expect(abs(fast - full) <= 1e-9 * full, "m \(m) n \(n) r \(r) k \(k): \(fast) vs \(full)")
            checked += 1
        }
        #expect(checked > 500)
    }

    @Test func aBoundStopsTheSumOnlyOnceThePValueReachesIt() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let m = Int.random(in: 1...500, using: &generator)
            let n = Int.random(in: 1...500, using: &generator)
            let r = Int.random(in: 1...m, using: &generator)
            let k = Int.random(in: 0...n, using: &generator)
            let exact = ExceedanceTest.pValue(m: m, n: n, r: r, k: k)
            let bounded = ExceedanceTest.pValue(m: m, n: n, r: r, k: k, stoppingAt: 0.01)
            if exact < 0.01 { #expect(bounded == exact) } else { #expect(bounded >= 0.01) }
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
