import DoraEvents
import Testing

@testable import DoraMetrics

@Suite struct FingerprintTableTests {
    /// Keys whose low bits collide in any table up to 2^16 slots, so probing runs long.
    static func crowded(_ n: Int) -> [IDFingerprint] {
        (0..<n).map { IDFingerprint(high: UInt64($0) &* 0x9E37_79B9_7F4A_7C15 | 1, low: UInt64($0 % 7) << 16) }
    }

    @Test(arguments: [0, 1, 10, 11, 5_000])
    func aTableThatOutgrowsItsCapacityFindsEveryKeyWithItsLatestValue(capacity: Int) {
        var table = FingerprintTable<Int64>(capacity: capacity)
        var expected: [IDFingerprint: Int64] = [:]
        var generator = SystemRandomNumberGenerator()
        let keys = Self.crowded(300) + (0..<3_000).map { IDFingerprint(id: "sha-\($0)") } + [IDFingerprint(high: 0, low: 0)]
        for step in 0..<20_000 {
            let key = keys.randomElement(using: &generator)!
            let replaced = table.updateValue(Int64(step), forKey: key)
            #expect(replaced == expected[key])
            expected[key] = Int64(step)
        }
        #expect(table.count == expected.count)
        var listed: [IDFingerprint: Int64] = [:]
        table.forEach { key, value in listed[key] = value }
        let same = listed == expected
        #expect(same)
        for (key, value) in expected { #expect(table[key] == value) }
        #expect(table[IDFingerprint(id: "never-added")] == nil)
    }

    @Test func anEmptyTableFindsNothingAndHoldsNoSlots() {
        let table = FingerprintTable<Int32>()
        #expect(table.isEmpty && table.count == 0)
        #expect(table[IDFingerprint(high: 0, low: 0)] == nil && table[IDFingerprint(id: "a")] == nil)
        var visited = 0
        table.forEach { _, _ in visited += 1 }
        #expect(visited == 0)
    }

    @Test func theAllZeroKeyIsAKeyLikeAnyOther() {
        var table = FingerprintTable<Int64>()
        let zero = IDFingerprint(high: 0, low: 0)
        let new = [9, 4, 10].map { table.raiseValue(to: $0, forKey: zero) }
        #expect(new == [true, false, false])
        #expect(table[zero] == 10 && table.count == 1)
        #expect(table.filter { _, v in v > 10 }.isEmpty)
        #expect(table.filter { _, v in v == 10 }[zero] == 10)
    }

    @Test func raiseValueKeepsTheMaximumAndSaysWhetherTheKeyIsNew() {
        var table = FingerprintTable<Int64>()
        let keys = Self.crowded(50)
        for (i, key) in keys.enumerated() {
            let inserted = table.raiseValue(to: Int64(100 + i), forKey: key)
            #expect(inserted)
        }
        for (i, key) in keys.enumerated() {
            let higher = i % 2 == 0
            let inserted = table.raiseValue(to: Int64(higher ? 200 + i : i), forKey: key)
            #expect(!inserted)
            #expect(table[key] == Int64(higher ? 200 + i : 100 + i))
        }
        #expect(table.count == 50)
    }

    @Test func aFilteredTableHoldsExactlyTheAcceptedEntries() {
        var table = FingerprintTable<Int64>()
        let keys = Self.crowded(400) + (0..<400).map { IDFingerprint(id: "k\($0)") }
        for (i, key) in keys.enumerated() { table.updateValue(Int64(i), forKey: key) }
        let kept = table.filter { _, v in v % 3 == 0 }
        #expect(kept.count == keys.indices.filter { $0 % 3 == 0 }.count)
        for (i, key) in keys.enumerated() { #expect(kept[key] == (i % 3 == 0 ? Int64(i) : nil)) }
    }

    /// Reports list lead-time items in a first-deploy map's slot order (`report --explain`), so
    /// that order must stay the one of linear probing from the fingerprint's low bits, through
    /// growth: keys whose home slots differ are listed by home slot, whatever their insertion.
    @Test(arguments: [8, 20])
    func entriesAreListedByTheirHomeSlotThroughGrowth(keys count: Int) {
        // Low bits 0 ..< 32 in a scrambled order, distinct modulo the final slot count: 8 keys
        // stay in 16 slots, 20 make them grow to 32.
        let lows = (0..<count).map { UInt64($0 * 13 % 32) }
        let mask: UInt64 = count <= 10 ? 15 : 31
        var table = FingerprintTable<Int32>()
        for (i, low) in lows.enumerated() { table.updateValue(Int32(i), forKey: IDFingerprint(high: 7, low: low | 1 << 40)) }
        var listed: [UInt64] = []
        table.forEach { key, _ in listed.append(key.low & 0xFF) }
        #expect(Set(lows.map { $0 & mask }).count == count)
        #expect(listed == lows.sorted { $0 & mask < $1 & mask })
    }
}
