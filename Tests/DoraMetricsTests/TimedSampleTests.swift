import DoraMetrics
import DoraTestSupport
import Testing

@Suite struct TimedSampleTests {
    @Test func sortingOrdersByTimeThenIDBytesThenValue() {
        var generator = SystemRandomNumberGenerator()
        let ids = ["a", "b", "ab", "r-1", "r-10", "r-2", "\u{E9}", "e\u{301}"]
        let samples = (0..<2000).map { _ in
            TimedSample(
                time: Int64.random(in: 0..<50, using: &generator), value: Int64.random(in: 0..<5, using: &generator),
                id: ids.randomElement(using: &generator)!)
        }
        let reference = samples.sorted { a, b in
            if a.time != b.time { return a.time < b.time }
            let (x, y) = (Array(a.id.utf8), Array(b.id.utf8))
            return x != y ? x.lexicographicallyPrecedes(y) : a.value < b.value
        }
        #expect(TimedSample.sorted(samples) == reference)
    }

    @Test func sortingInPlaceGivesSortedsOrderForSortedRunsAndForShuffledSamples() {
        // A pooled window is rebuilt from its members' sorted samples, one run after another.
        var generator = SystemRandomNumberGenerator()
        let ids = ["a", "b", "ab", "r-1", "r-10", "r-2", "\u{E9}", "e\u{301}"]
        func random(_ count: Int) -> [TimedSample] {
            (0..<count).map { _ in
                TimedSample(
                    time: Int64.random(in: 0..<40, using: &generator), value: Int64.random(in: 0..<4, using: &generator),
                    id: ids.randomElement(using: &generator)!)
            }
        }
        func bytes(_ samples: [TimedSample]) -> [[Int64]] { samples.map { [$0.time, $0.value] + $0.id.utf8.map(Int64.init) } }
        for samples in [(0..<30).flatMap { _ in TimedSample.sorted(random(Int.random(in: 0..<60, using: &generator))) }, random(3000), []] {
            var inPlace = samples
            TimedSample.sort(&inPlace)
            #expect(bytes(inPlace) == bytes(TimedSample.sorted(samples)))
        }
    }

    @Test(arguments: 0..<4)
    func sortingInPlaceGivesSortedsOrderForTimesFromOneInstantToTheWholeRange(seed: UInt64) {
        // Enough samples for thousands of time buckets, times from clustered to extreme, and
        // runs of one deploy's samples (one time and id).
        var generator = SplitMix64(state: 0x5EED_0300 + seed)
        let ids = ["d-1", "d-10", "d-2", "\u{E9}", "e\u{301}"]
        let spreads: [ClosedRange<Int64>] = [5...5, 0...3_600_000_000, -86_400_000_000...5_184_000_000_000, Int64.min...Int64.max]
        func bytes(_ samples: [TimedSample]) -> [[Int64]] { samples.map { [$0.time, $0.value] + $0.id.utf8.map(Int64.init) } }
        for (spread, skewed) in spreads.flatMap({ [($0, false), ($0, true)] }) {
            var samples: [TimedSample] = []
            while samples.count < 20_000 {
                // Also skewed: most at one instant, so that some buckets hold only a few.
                let time = skewed && Int.random(in: 0..<100, using: &generator) > 0 ? spread.lowerBound : Int64.random(in: spread, using: &generator)
                let id = ids.randomElement(using: &generator)!
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    samples.append(TimedSample(time: time, value: Int64.random(in: 0..<3, using: &generator), id: id))
                }
            }
            samples += [TimedSample(time: spread.lowerBound, value: 1, id: "a"), TimedSample(time: spread.upperBound, value: 1, id: "a")]
            samples.shuffle(using: &generator)
            var inPlace = samples
            TimedSample.sort(&inPlace)
            #expect(bytes(inPlace) == bytes(TimedSample.sorted(samples)), "times in \(spread), skewed: \(skewed)")
        }
    }

    @Test func canonicallyEquivalentIDsAreOrderedByTheirBytesNotMerged() {
        // "é" as one code point (C3 A9) and as e + combining accent (65 CC 81): Swift's `==`
        // calls them equal; the bytes put the decomposed one first.
        let composed = TimedSample(time: 1, value: 1, id: "\u{E9}")
        let decomposed = TimedSample(time: 1, value: 2, id: "e\u{301}")
        let sorted = TimedSample.sorted([composed, decomposed])
        #expect(sorted.map(\.value) == [2, 1])
        #expect(TimedSample.sorted([decomposed, composed]).map(\.value) == [2, 1])
    }

    @Test func sortingNothingOrOneSampleGivesItBack() {
        #expect(TimedSample.sorted([]).isEmpty)
        let one = TimedSample(time: 5, value: 7, id: "x")
        #expect(TimedSample.sorted([one]) == [one])
    }
}
