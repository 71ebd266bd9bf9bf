@testable import DoraSLO
import Testing

@Suite struct SortedValuesTests {
    @Test func itAgreesWithASortedArrayThroughRandomInsertsAndRemovals() {
        var generator = SystemRandomNumberGenerator()
        var values = SortedValues()
        var reference: [Int64] = []
        for step in 0..<20_000 {
            if reference.isEmpty || Int.random(in: 0..<3, using: &generator) > 0 {
                let v = Int64.random(in: 0..<500, using: &generator)  // many ties
                values.insert(v)
                reference.insert(v, at: reference.firstIndex { $0 > v } ?? reference.count)
            } else {
                let v = reference[Int.random(in: 0..<reference.count, using: &generator)]
                values.remove(v)
                reference.remove(at: reference.firstIndex(of: v)!)
            }
            if step % 97 == 0 {
                #expect(values.count == reference.count)
                for rank in [1, (reference.count + 1) / 2, reference.count] where rank >= 1 {
                    #expect(values.element(rank: rank) == reference[rank - 1])
                }
                let x = Int64.random(in: -1..<501, using: &generator)
                #expect(values.countAbove(x) == reference.filter { $0 > x }.count)
            }
        }
        #expect(SortedValues(reference.shuffled()).element(rank: 1) == reference.first)
        #expect((1...max(1, reference.count)).allSatisfy { reference.isEmpty || values.element(rank: $0) == reference[$0 - 1] })
    }

    /// A window's values mostly come in rising (durations of samples in time order are not, but
    /// each block fills from its end) or at random: either way the blocks hold about their
    /// values, not twice or four times their room.
    @Test(arguments: [false, true])
    func blocksKeepAboutTheRoomTheirValuesNeed(random: Bool) {
        var generator = SystemRandomNumberGenerator()
        var values = SortedValues()
        for i in 0..<100_000 { values.insert(random ? Int64.random(in: 0..<1_000_000, using: &generator) : Int64(i)) }
        #expect(values.count == 100_000)
        #expect(values.reservedValues <= values.count + values.count / 4, "\(values.reservedValues) reserved for \(values.count)")
    }

    @Test func wideValuesSplitAndEmptyBlocksKeepEveryRankAndCount() {
        var generator = SystemRandomNumberGenerator()
        var values = SortedValues((0..<3_000).map { _ in Int64.random(in: -1_000_000...1_000_000, using: &generator) })
        var reference = (0..<values.count).map { values.element(rank: $0 + 1) }
        // Grow past many splits, then drain from the top and the bottom (blocks emptied).
        for _ in 0..<5_000 {
            let v = Int64.random(in: -2_000_000...2_000_000, using: &generator)
            values.insert(v)
            reference.insert(v, at: reference.firstIndex { $0 > v } ?? reference.count)
        }
        for i in 0..<6_000 {
            let v = i % 2 == 0 ? reference.removeLast() : reference.removeFirst()
            values.remove(v)
        }
        #expect(values.count == reference.count)
        #expect((1...reference.count).allSatisfy { values.element(rank: $0) == reference[$0 - 1] })
        for x in [Int64.min, -1_500_000, 0, 1_500_000, Int64.max] {
            #expect(values.countAbove(x) == reference.filter { $0 > x }.count)
        }
    }
}
