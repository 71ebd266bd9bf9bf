import DoraMetrics
import Testing

/// `ParallelMap`: results in input order, and the consuming map's hand-over.
@Suite struct ParallelMapTests {
    final class Box: Sendable {
        let value: Int
        init(_ value: Int) { self.value = value }
    }

    @Test func resultsComeInInputOrderOnEveryCore() {
        let items = Array(0..<1_000)
        #expect(ParallelMap.map(items) { $0 * 2 } == items.map { $0 * 2 })
    }

    @Test func theConsumingMapHandsEachElementOverWithNoOtherReferenceLeft() {
        let boxes = (0..<64).map { Box($0) }
        let unique = ParallelMap.map(consuming: boxes.map { $0.value }.map { Box($0) }) { (box: consuming Box) -> (Int, Bool) in
            var held = box
            return (held.value, isKnownUniquelyReferenced(&held))
        }
        #expect(unique.map(\.0) == Array(0..<64), "in input order")
        let allUnique = unique.allSatisfy { $0.1 }
        #expect(allUnique, "an element still referenced elsewhere would be copied on its first write")
        // The plain map lends the elements: the array still holds each one.
        let lent = ParallelMap.map(boxes) { box -> Bool in
            var held = box
            return isKnownUniquelyReferenced(&held)
        }
        let noneUnique = lent.allSatisfy { !$0 }
        #expect(noneUnique)
    }
}
