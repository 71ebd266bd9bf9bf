import DoraEvents
import Testing

@testable import DoraMetrics

@Suite struct ShortFingerprintTests {
    @Test func aShortFingerprintIsTheLowHalfOfTheStringsFingerprintAndNamesItselfInSixteenHexDigits() {
        for id in ["", "a", "0123456789abcdef0123456789abcdef01234567", "é"] {
            let short = ShortFingerprint(id: id)
            #expect(short.bits == IDFingerprint(id: id).low)
            #expect(short.fingerprint == IDFingerprint(high: short.bits, low: short.bits))
            #expect(short.hex.count == 16 && UInt64(short.hex, radix: 16) == short.bits)
        }
        #expect(ShortFingerprint(bits: 1).hex == "0000000000000001")
        #expect(ShortFingerprint(bits: 1) < ShortFingerprint(bits: 2))
    }

    /// What the live state's memory at the 100M stream's density was sized by (docs/run.md).
    @Test func aRetainedDeployTakesFortyBytesAndACommitOrARememberedCommitSixteen() {
        #expect(MemoryLayout<ServiceState.DeployRecord>.stride == 40)
        #expect(MemoryLayout<ServiceState.CommitRecord>.stride == 16)
        #expect(MemoryLayout<SortedFingerprintTable<Int64>.Entry>.stride == 16)
    }
}
