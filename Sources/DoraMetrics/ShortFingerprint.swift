import DoraEvents

/// A string that one service's state only ever compares with its own other strings (commit
/// shas, deploy versions), kept as 64 bits of its fingerprint (`IDFingerprint.low`).
///
/// Among n distinct strings of one service, two share these bits with a chance of about
/// n² / 2^65 (about 1 in 4 · 10^7 for a million shas in one service's retained state). The
/// log's ids keep all 128 bits: there, 100M ids are compared with each other. Half the bytes
/// of the commits and versions that a live run keeps per retained deploy and per remembered
/// commit (`ServiceState.shippedBefore`): about 90 MB at the 100M stream's density
/// (bench/RESULTS.md, twenty-eighth session).
struct ShortFingerprint: Hashable, Comparable, Sendable, BitwiseCopyable {
    var bits: UInt64

    init(bits: UInt64) { self.bits = bits }

    init(_ fingerprint: IDFingerprint) { bits = fingerprint.low }

    init(id: String) { self.init(IDFingerprint(id: id)) }

    static func < (a: ShortFingerprint, b: ShortFingerprint) -> Bool { a.bits < b.bits }

    /// As a fingerprint whose both halves are these bits, for the hash tables keyed by
    /// fingerprints (they place a key by its low bits).
    var fingerprint: IDFingerprint { IDFingerprint(high: bits, low: bits) }

    /// 16 hexadecimal digits: how an explanation names a commit whose sha the metrics do not
    /// keep (`Explanation.nameCommits`).
    var hex: String {
        let s = String(bits, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
