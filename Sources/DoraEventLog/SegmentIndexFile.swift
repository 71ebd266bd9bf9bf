#if canImport(Glibc)
import Glibc
#endif
import DoraEvents

/// The `.idx` sidecar of a sealed segment: its block table (so a time-range replay reads only
/// the blocks it needs), its latest Kafka offsets, and its ids' fingerprints, sorted, each
/// with its `StoredCopy` (the content fingerprint and place of the stored event).
///
/// Invariant: valid only for a segment of exactly `segmentBytes` bytes; a sidecar that fails
/// its checksum or disagrees is rebuilt from the segment (it is derived, never the truth).
/// Layout 2 (`DORAIDX2`, written before conflicting duplicates were told apart) has no stored
/// copies and no conflict counts: readers use it as it is, a writer rebuilds it.
struct SegmentIndexFile {
    static let signature: [UInt8] = Array("DORAIDX3".utf8)
    static let signatureWithoutCopies: [UInt8] = Array("DORAIDX2".utf8)

    var segmentNumber: UInt32
    var segmentBytes: Int
    var blocks: [BlockLocation]
    var offsets: [PartitionOffset]
    var fingerprintCount: Int
    /// Where the sorted fingerprints start in the sidecar file.
    var fingerprintOffset: Int
    /// Where their stored copies start (12 bytes each, in fingerprint order); nil in layout 2.
    var copiesOffset: Int?

    /// Serializes a sidecar (`members` sorted ascending by fingerprint).
    static func encode(
        segmentNumber: UInt32, segmentBytes: Int, blocks: [BlockLocation], offsets: [PartitionOffset],
        members: [(IDFingerprint, StoredCopy)]
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
            out.appendLE(UInt32(b.conflictingDuplicates))
            out.appendLE(UInt32(b.rejected))
            out.appendLE(UInt32(b.unknownTypes))
            out.appendLE(UInt64(bitPattern: b.minTime.microseconds))
            out.appendLE(UInt64(bitPattern: b.maxTime.microseconds))
        }
        out.appendOffsets(offsets)
        out.appendLE(UInt64(members.count))
        out.reserveCapacity(out.count + members.count * (16 + copyBytes) + 4)
        for (f, _) in members {
            out.appendLE(f.high)
            out.appendLE(f.low)
        }
        for (_, copy) in members {
            out.appendLE(copy.content)
            out.appendLE(copy.ordinal)
        }
        out.appendLE(CRC32C.checksum(out))
        return out
    }

    /// Bytes of one stored copy: content fingerprint u64, ordinal u32.
    static let copyBytes = 12

    /// Loads and checks a sidecar; nil when it is missing, damaged or stale.
    static func load(path: String, segmentNumber: UInt32, segmentBytes: Int) -> SegmentIndexFile? {
        guard let file = try? PosixFile.open(path, flags: O_RDONLY), let size = try? file.size,
            let bytes = try? file.read(at: 0, count: size), bytes.count == size
        else { return nil }
        return parse(bytes, segmentNumber: segmentNumber, segmentBytes: segmentBytes)
    }

    /// Checks and reads the bytes of a sidecar (as `encode` made them, or as read from its
    /// file); nil when they are damaged or stale.
    static func parse(_ bytes: [UInt8], segmentNumber: UInt32, segmentBytes: Int) -> SegmentIndexFile? {
        let size = bytes.count
        guard size >= 12 else { return nil }
        let stored = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: size - 4, as: UInt32.self).littleEndian }
        guard bytes.withUnsafeBytes({ CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<size - 4])) }) == stored
        else { return nil }
        return bytes.withUnsafeBytes { raw -> SegmentIndexFile? in
            var r = BinaryReader(raw)
            do throws(BinaryDecodingError) {
                let layout = Array(try r.bytes(8))
                guard layout == signature || layout == signatureWithoutCopies else { return nil }
                let hasCopies = layout == signature
                guard try r.littleEndian(UInt32.self) == segmentNumber, try r.littleEndian(UInt64.self) == UInt64(segmentBytes)
                else { return nil }
                let blockCount = Int(try r.littleEndian(UInt32.self))
                guard blockCount <= r.remaining / (hasCopies ? 48 : 44) else { return nil }
                var blocks: [BlockLocation] = []
                for _ in 0..<blockCount {
                    let offset = try r.littleEndian(UInt64.self)
                    guard offset < UInt64(segmentBytes) else { return nil }
                    blocks.append(
                        BlockLocation(
                            segment: segmentNumber, offset: Int(offset),
                            totalBytes: Int(try r.littleEndian(UInt32.self)), recordCount: Int(try r.littleEndian(UInt32.self)),
                            duplicates: Int(try r.littleEndian(UInt32.self)),
                            conflictingDuplicates: hasCopies ? Int(try r.littleEndian(UInt32.self)) : 0,
                            rejected: Int(try r.littleEndian(UInt32.self)),
                            unknownTypes: Int(try r.littleEndian(UInt32.self)),
                            minTime: Timestamp(microseconds: Int64(bitPattern: try r.littleEndian(UInt64.self))),
                            maxTime: Timestamp(microseconds: Int64(bitPattern: try r.littleEndian(UInt64.self)))))
                }
                let offsets = try r.offsets()
                let count = try r.littleEndian(UInt64.self)
                let entryBytes = hasCopies ? 16 + copyBytes : 16
                guard count <= UInt64(r.remaining / entryBytes), r.remaining == Int(count) * entryBytes + 4 else { return nil }
                return SegmentIndexFile(
                    segmentNumber: segmentNumber, segmentBytes: segmentBytes, blocks: blocks, offsets: offsets,
                    fingerprintCount: Int(count), fingerprintOffset: r.offset,
                    copiesOffset: hasCopies ? r.offset + Int(count) * 16 : nil)
            } catch {
                return nil
            }
        }
    }
}
