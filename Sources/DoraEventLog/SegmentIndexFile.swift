#if canImport(Glibc)
import Glibc
#endif
import DoraEvents

/// The `.idx` sidecar of a sealed segment: its block table (so a time-range replay reads only
/// the blocks it needs), its latest Kafka offsets, and its ids' fingerprints, sorted.
///
/// Invariant: valid only for a segment of exactly `segmentBytes` bytes; a sidecar that fails
/// its checksum or disagrees is rebuilt from the segment (it is derived, never the truth).
struct SegmentIndexFile {
    static let signature: [UInt8] = Array("DORAIDX2".utf8)

    var segmentNumber: UInt32
    var segmentBytes: Int
    var blocks: [BlockLocation]
    var offsets: [PartitionOffset]
    var fingerprintCount: Int
    /// Where the sorted fingerprints start in the sidecar file.
    var fingerprintOffset: Int

    /// Serializes a sidecar (fingerprints must be sorted ascending).
    static func encode(
        segmentNumber: UInt32, segmentBytes: Int, blocks: [BlockLocation], offsets: [PartitionOffset],
        sortedFingerprints: [IDFingerprint]
    ) -> [UInt8] {
        var out = signature
        out.appendLE(segmentNumber)
        out.appendLE(UInt64(segmentBytes))
        out.appendLE(UInt32(blocks.count))
        for b in blocks {
            out.appendLE(UInt64(b.offset))
            out.appendLE(UInt32(b.totalBytes))
            out.appendLE(UInt32(b.recordCount))
            out.appendLE(UInt32(b.duplicates))
            out.appendLE(UInt32(b.rejected))
            out.appendLE(UInt32(b.unknownTypes))
            out.appendLE(UInt64(bitPattern: b.minTime.microseconds))
            out.appendLE(UInt64(bitPattern: b.maxTime.microseconds))
        }
        out.appendOffsets(offsets)
        out.appendLE(UInt64(sortedFingerprints.count))
        out.reserveCapacity(out.count + sortedFingerprints.count * 16 + 4)
        for f in sortedFingerprints {
            out.appendLE(f.high)
            out.appendLE(f.low)
        }
        out.appendLE(CRC32C.checksum(out))
        return out
    }

    /// Loads and checks a sidecar; nil when it is missing, damaged or stale.
    static func load(path: String, segmentNumber: UInt32, segmentBytes: Int) -> SegmentIndexFile? {
        guard let file = try? PosixFile.open(path, flags: O_RDONLY), let size = try? file.size, size >= 12,
            let bytes = try? file.read(at: 0, count: size), bytes.count == size
        else { return nil }
        let stored = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: size - 4, as: UInt32.self).littleEndian }
        guard bytes.withUnsafeBytes({ CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<size - 4])) }) == stored
        else { return nil }
        return bytes.withUnsafeBytes { raw -> SegmentIndexFile? in
            var r = BinaryReader(raw)
            do throws(BinaryDecodingError) {
                guard Array(try r.bytes(8)) == signature, try r.littleEndian(UInt32.self) == segmentNumber,
                    try r.littleEndian(UInt64.self) == UInt64(segmentBytes)
                else { return nil }
                let blockCount = Int(try r.littleEndian(UInt32.self))
                guard blockCount <= r.remaining / 44 else { return nil }
                var blocks: [BlockLocation] = []
                for _ in 0..<blockCount {
                    let offset = try r.littleEndian(UInt64.self)
                    guard offset < UInt64(segmentBytes) else { return nil }
                    blocks.append(
                        BlockLocation(
                            segment: segmentNumber, offset: Int(offset),
                            totalBytes: Int(try r.littleEndian(UInt32.self)), recordCount: Int(try r.littleEndian(UInt32.self)),
                            duplicates: Int(try r.littleEndian(UInt32.self)), rejected: Int(try r.littleEndian(UInt32.self)),
                            unknownTypes: Int(try r.littleEndian(UInt32.self)),
                            minTime: Timestamp(microseconds: Int64(bitPattern: try r.littleEndian(UInt64.self))),
                            maxTime: Timestamp(microseconds: Int64(bitPattern: try r.littleEndian(UInt64.self)))))
                }
                let offsets = try r.offsets()
                let count = try r.littleEndian(UInt64.self)
                guard count <= UInt64(r.remaining / 16), r.remaining == Int(count) * 16 + 4 else { return nil }
                return SegmentIndexFile(
                    segmentNumber: segmentNumber, segmentBytes: segmentBytes, blocks: blocks, offsets: offsets,
                    fingerprintCount: Int(count), fingerprintOffset: r.offset)
            } catch {
                return nil
            }
        }
    }
}
