import DoraEvents
import Testing

@Suite struct IDFingerprintTests {
    /// MurmurHash3 x64/128 with seed 0, from the reference implementation (the `mmh3` Python
    /// package, `hash128(key, seed=0, x64arch=True, signed=False)`), as (key, h1, h2): every
    /// tail length, one and two full blocks, and non-ASCII bytes. The fingerprints are stored
    /// in every log's id index, so they must never change.
    static let reference: [([UInt8], UInt64, UInt64)] = [
        (Array("".utf8), 0x0000_0000_0000_0000, 0x0000_0000_0000_0000),
        (Array("a".utf8), 0x8555_5565_f659_7889, 0xe6b5_3a48_510e_895a),
        (Array("ab".utf8), 0x938b_11ea_16ed_1b2e, 0xe65e_a701_9b52_d4ad),
        (Array("abc".utf8), 0xb496_3f3f_3fad_7867, 0x3ba2_7441_26ca_2d52),
        (Array("event-7".utf8), 0x8521_bd95_f7f6_4fa5, 0xaa94_93e0_8412_634e),
        (Array("d-1308".utf8), 0x6cd1_aceb_3e84_eb7b, 0xa2eb_1ad7_c4a2_5941),
        (Array("3f794f8da1d9".utf8), 0x2655_4c58_e435_f391, 0x5aee_6b16_f6e4_fc8c),
        (Array("analytics-19".utf8), 0xb6e9_1ce2_0072_2c9a, 0xefb4_b551_046e_dd8f),
        (Array("0123456789abcde".utf8), 0xa62d_d5f6_c0bf_2351, 0x4fcc_f50c_7c54_4cf0),
        (Array("0123456789abcdef".utf8), 0x4be0_6d94_cf4a_d1a7, 0x87c3_5b5c_63a7_08da),
        (Array("0123456789abcdef0".utf8), 0xeb24_ae87_85a5_c075, 0x73fb_68b3_3131_28ca),
        (Array("0123456789abcdef01234567".utf8), 0x5563_be52_3b28_9ed9, 0x2e22_a452_85c7_0cef),
        (Array("0123456789abcdef0123456789abcdef!".utf8), 0x1d63_dd45_9192_0335, 0xb3fc_702a_a858_586d),
        (Array(1...39), 0xbf70_79a5_8060_10af, 0xa501_484c_d323_19ae),
        ([99, 97, 102, 195, 169, 45, 195, 188], 0x088b_d3c2_ef9e_36b7, 0x9e1f_9e71_748d_46de),
    ]

    @Test func fingerprintsAreMurmurHash3OfTheUTF8AsTheReferenceComputesIt() {
        for (key, h1, h2) in Self.reference {
            let fingerprint = key.withUnsafeBytes { IDFingerprint(bytes: $0) }
            #expect(fingerprint == IDFingerprint(high: h1, low: h2), "\(key)")
            #expect(IDFingerprint(id: String(decoding: key, as: UTF8.self)) == fingerprint)
        }
    }

    @Test func aKeyInsideALargerBufferHasTheFingerprintOfItsOwnBytes() {
        // The tail is read without touching bytes past the key: the same key at every offset
        // of a buffer, with other bytes around it, gives one fingerprint.
        for (key, h1, h2) in Self.reference {
            for before in 0...9 {
                let buffer = [UInt8](repeating: 0xA5, count: before) + key + [UInt8](repeating: 0x5A, count: 9)
                let fingerprint = buffer.withUnsafeBytes { IDFingerprint(bytes: UnsafeRawBufferPointer(rebasing: $0[before..<before + key.count])) }
                #expect(fingerprint == IDFingerprint(high: h1, low: h2), "\(key) at \(before)")
            }
        }
    }
}
