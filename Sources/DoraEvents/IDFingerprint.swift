/// The 128-bit fingerprint of a string (MurmurHash3 x64/128 of its UTF-8, seed 0): the id
/// index's key, and how metrics hold commit shas without a heap string each.
///
/// Two distinct strings share a fingerprint with probability about n^2 / 2^129: about 1.5e-23
/// for 100M of them, which doralog accepts (docs/log-format.md, "Id index").
public struct IDFingerprint: Hashable, Comparable, Sendable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(id: String) {
        var s = id
        self = s.withUTF8 { IDFingerprint(bytes: UnsafeRawBufferPointer($0)) }
    }

    public static func < (a: IDFingerprint, b: IDFingerprint) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }

    public init(bytes: UnsafeRawBufferPointer) {
        let c1: UInt64 = 0x87c3_7b91_1142_53d5
        let c2: UInt64 = 0x4cf5_ad43_2745_937f
        var h1: UInt64 = 0
        var h2: UInt64 = 0
        let n = bytes.count
        let blocks = n / 16
        @inline(__always) func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
        @inline(__always) func fmix(_ k: UInt64) -> UInt64 {
            var k = k
            k ^= k >> 33
            k = k &* 0xff51_afd7_ed55_8ccd
            k ^= k >> 33
            k = k &* 0xc4ce_b9fe_1a85_ec53
            k ^= k >> 33
            return k
        }
        for i in 0..<blocks {
            var k1 = bytes.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self).littleEndian
            var k2 = bytes.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self).littleEndian
            k1 = k1 &* c1; k1 = rotl(k1, 31); k1 = k1 &* c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 = h1 &+ h2; h1 = h1 &* 5 &+ 0x52dc_e729
            k2 = k2 &* c2; k2 = rotl(k2, 33); k2 = k2 &* c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 = h2 &+ h1; h2 = h2 &* 5 &+ 0x3849_5ab5
        }
        var k1: UInt64
        var k2: UInt64
        let tail = blocks * 16
        let rest = n & 15
        // The tail's bytes, little-endian, read in at most three loads per word (ids and shas
        // are mostly shorter than a block, so this is most of the work), never past the end.
        @inline(__always) func word(at offset: Int, count: Int) -> UInt64 {
            if count == 8 { return bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian }
            var v: UInt64 = 0
            var i = 0
            if count & 4 != 0 {
                v = UInt64(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
                i = 4
            }
            if count & 2 != 0 {
                v |= UInt64(bytes.loadUnaligned(fromByteOffset: offset + i, as: UInt16.self).littleEndian) << UInt64(8 * i)
                i += 2
            }
            if count & 1 != 0 { v |= UInt64(bytes[offset + i]) << UInt64(8 * i) }
            return v
        }
        if rest > 8 {
            k2 = word(at: tail + 8, count: rest - 8)
            k2 = k2 &* c2; k2 = rotl(k2, 33); k2 = k2 &* c1; h2 ^= k2
        }
        if rest > 0 {
            k1 = word(at: tail, count: min(rest, 8))
            k1 = k1 &* c1; k1 = rotl(k1, 31); k1 = k1 &* c2; h1 ^= k1
        }
        h1 ^= UInt64(n); h2 ^= UInt64(n)
        h1 = h1 &+ h2; h2 = h2 &+ h1
        h1 = fmix(h1); h2 = fmix(h2)
        h1 = h1 &+ h2; h2 = h2 &+ h1
        self.high = h1
        self.low = h2
    }
}
