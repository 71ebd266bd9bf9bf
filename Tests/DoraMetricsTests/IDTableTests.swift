import DoraEvents
import Testing

@testable import DoraMetrics

@Suite struct IDTableTests {
    @Test func anIDFoundByItsBytesOrByItsStringHasOneEntryInTheOrderOfFirstSight() {
        var table = IDTable<[Int]>()
        var expected: [String: [Int]] = [:]
        var order: [String] = []
        var generator = SystemRandomNumberGenerator()
        for step in 0..<20_000 {
            let id = "a-\(Int.random(in: 0..<3_000, using: &generator))"
            if expected[id] == nil { order.append(id) }
            expected[id, default: []].append(step)
            // Every other lookup by the id's bytes, as the replay path does.
            let p =
                step.isMultiple(of: 2)
                ? Array(id.utf8).withUnsafeBytes { table.position(of: $0, initial: []) } : table.position(of: id, initial: [])
            table[position: p].append(step)
        }
        #expect(table.count == expected.count && table.ids == order)
        for (id, steps) in table { #expect(steps == expected[id]) }
        for (id, steps) in expected { #expect(table[id] == steps) }
        #expect(table["never-seen"] == nil && !table.isEmpty)
    }

    @Test func roomReservedAfterSomeIDsKeepsEachOfThemFoundAndTheOrderOfFirstSight() {
        var table = IDTable<Int>()
        let first = (0..<5_000).map { "alert-\($0)" }
        for id in first { table[position: table.position(of: id, initial: 0)] += 1 }
        table.reserveCapacity(12_000)
        for id in first + (0..<7_000).map({ "later-\($0)" }) { table[position: table.position(of: id, initial: 0)] += 1 }
        #expect(table.count == 12_000 && table.ids == first + (0..<7_000).map { "later-\($0)" })
        #expect(first.allSatisfy { table[$0] == 2 } && table["later-6999"] == 1 && table["never"] == nil)
        table.reserveCapacity(10)  // less than it holds: nothing changes
        #expect(table.count == 12_000 && table["alert-0"] == 2)
    }

    @Test func idsAreComparedAsBytesSoTwoSpellingsOfOneTextAreTwoEntries() {
        var table = IDTable<Int>()
        let composed = "caf\u{e9}"
        let decomposed = "cafe\u{301}"
        #expect(composed == decomposed)  // Swift's == equates them; the table must not
        table[position: table.position(of: composed, initial: 0)] += 1
        table[position: table.position(of: decomposed, initial: 0)] += 10
        #expect(table.count == 2 && table[composed] == 1 && table[decomposed] == 10)
    }
}
