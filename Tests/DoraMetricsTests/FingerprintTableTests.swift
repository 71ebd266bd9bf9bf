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

    /// A table lists its entries in slot order, which must depend only on the keys and the
    /// starting capacity: keys whose home slots differ are listed by home slot (the low 32 bits
    /// of the fingerprint scaled to the slot count), whatever their insertion order, through growth.
    @Test(arguments: [8, 20])
    func entriesAreListedByTheirHomeSlotThroughGrowth(keys count: Int) {
        // Home slots 0 ..< slots in a scrambled order: 8 keys stay in 16 slots (at most 7/10
        // full), 20 make them grow to 32. The bits above the low 32 do not place a key.
        let slots = count <= 11 ? 16 : 32
        let shift = UInt64(32 - slots.trailingZeroBitCount)
        let homes = (0..<count).map { UInt64($0 * 13 % slots) }
        var table = FingerprintTable<Int32>()
        for (i, home) in homes.enumerated() {
            table.updateValue(Int32(i), forKey: IDFingerprint(high: 7, low: home << shift | UInt64(i) << 40))
        }
        var listed: [UInt64] = []
        table.forEach { key, _ in listed.append(key.low & 0xFFFF_FFFF) }
        #expect(listed == homes.sorted().map { $0 << shift })
        #expect(SlotSizing.home(UInt32(homes[1] << shift), slots: slots) == Int(homes[1]))
    }
}
