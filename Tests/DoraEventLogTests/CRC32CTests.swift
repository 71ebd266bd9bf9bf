import Testing

@testable import DoraEventLog

@Suite("CRC-32C")
struct CRC32CTests {
    /// The standard check values, in whichever implementation this machine uses and in software.
    @Test func bothImplementationsGiveTheStandardCheckValues() {
        let vectors: [([UInt8], UInt32)] = [
            (Array("123456789".utf8), 0xE306_9283),
            ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
            ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
            ((0..<32).map { UInt8($0) }, 0x46DD_794E),
        ]
        for (bytes, expected) in vectors {
            #expect(CRC32C.checksum(bytes) == expected)
            var software = CRC32C()
            bytes.withUnsafeBytes { software.updateInSoftware($0) }
            #expect(software.finalized == expected)
        }
    }

    /// The processor's instruction and the tables agree on every length, alignment and split
    /// (lengths around the 8-byte steps, odd starts, a running value carried between parts).
    @Test(.enabled(if: CRC32C.usesHardware, "this processor has no CRC-32C instruction"))
    func theProcessorsInstructionAgreesWithTheSoftwareTables() {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        data.withUnsafeBytes { all in
            for start in 0..<9 {
                for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 65_537] where start + length <= all.count {
                    let part = UnsafeRawBufferPointer(rebasing: all[start..<start + length])
                    var hardware = CRC32C()
                    hardware.update(part)
                    var software = CRC32C()
                    software.updateInSoftware(part)
                    #expect(hardware.finalized == software.finalized, "start \(start), length \(length)")
                }
            }
            // Discontiguous parts: the running value is carried from one call to the next.
            var hardware = CRC32C()
            var software = CRC32C()
            for (from, to) in [(0, 3), (3, 11), (11, 4_099), (4_099, 70_000)] {
                hardware.update(UnsafeRawBufferPointer(rebasing: all[from..<to]))
                software.updateInSoftware(UnsafeRawBufferPointer(rebasing: all[from..<to]))
            }
            #expect(hardware.finalized == software.finalized)
            #expect(hardware.finalized == CRC32C.checksum(all))
        }
    }
}
