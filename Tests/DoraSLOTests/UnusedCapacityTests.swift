#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import DoraSLO

@Suite struct UnusedCapacityTests {
    /// How many of the whole pages in [start, end) are resident (`mincore`).
    func residentPages(from start: Int, to end: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let (first, last) = ((start + page - 1) & ~(page - 1), end & ~(page - 1))
        guard last > first else { return 0 }
        var flags = [UInt8](repeating: 0, count: (last - first) / page)
        let status = flags.withUnsafeMutableBufferPointer { mincore(UnsafeMutableRawPointer(bitPattern: first), last - first, $0.baseAddress) }
        #expect(status == 0)
        return flags.reduce(0) { $0 + Int($1 & 1) }
    }

    @Test func theRoomPastTheLastElementLeavesMemoryAndTheElementsStay() {
        var array = [Int64](repeating: 7, count: 8 << 20)  // 64 MiB, every page written
        array.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = Int64(i) } }
        array.removeLast(7 << 20)  // keeps its room
        let capacity = array.capacity
        let base = array.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress!) }
        let (roomStart, roomEnd) = (base + array.count * 8, base + capacity * 8)
        #expect(residentPages(from: roomStart, to: roomEnd) > 1_000, "the room was written, so it is resident")

        UnusedCapacity.release(&array)
        #expect(array.capacity == capacity && array.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress!) } == base, "not moved")
        #expect(residentPages(from: roomStart, to: roomEnd) == 0)
        #expect(residentPages(from: base, to: roomStart) > 0, "the elements' pages stay")
        #expect(array.indices.allSatisfy { array[$0] == Int64($0) })
        // The array grows into its room again, which reads as what is written there.
        array.append(contentsOf: (0..<1_000).map { -Int64($0) })
        #expect(array.capacity == capacity && array.suffix(1_000).elementsEqual((0..<1_000).map { -Int64($0) }))
    }

    @Test func littleRoomIsLeftAlone() {
        var array = [Int64](repeating: 1, count: 1_000)
        array.removeLast(500)
        let before = array
        UnusedCapacity.release(&array)
        #expect(array == before)
    }
}
