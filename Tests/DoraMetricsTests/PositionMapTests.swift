import DoraEvents
import Testing

@testable import DoraMetrics

@Suite struct PositionMapTests {
    @Test func aMapThatOutgrowsItsCapacityKeepsEveryPositionAndReplacesOnlyItsOwnKey() {
        var map = PositionMap(capacity: 0)
        var expected: [String: Int] = [:]
        var generator = SystemRandomNumberGenerator()
        for step in 0..<20_000 {
            let key = "service-\(Int.random(in: 0..<5_000, using: &generator))"
            let replaced = map.updateValue(step, forKey: IDFingerprint(id: key))
            #expect(replaced == expected[key])
            expected[key] = step
        }
        #expect(map.count == expected.count)
        for (key, position) in expected { #expect(map[IDFingerprint(id: key)] == position) }
        #expect(map[IDFingerprint(id: "never-added")] == nil)
    }
}
