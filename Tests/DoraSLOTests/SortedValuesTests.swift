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
    }
}
