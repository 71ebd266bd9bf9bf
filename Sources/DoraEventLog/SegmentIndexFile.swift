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
struct SegmentIndexFile: Equatable {
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

    /// Writes the sidecar of segment `segmentNumber` to `path`, atomically, `members` sorted
    /// ascending by fingerprint; returns it as `load` reads it back.
    ///
    /// Written in pieces of about `writeChunkBytes`, the checksum kept as they go: at the seal
    /// of a full segment its members would otherwise be held a second time as bytes (23 MB,
    /// beside the id map they come from), and that was the peak of a large ingest.
    static func write<Members: RandomAccessCollection<(IDFingerprint, StoredCopy)>>(
        to path: String, directory: String, segmentNumber: UInt32, segmentBytes: Int, blocks: [BlockLocation],
        offsets: [PartitionOffset], members: Members
    ) throws(EventLogError) -> SegmentIndexFile {
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
        let fingerprintOffset = out.count
        out.reserveCapacity(max(out.count, writeChunkBytes) + 16)
        return try PosixFile.writeAtomically(to: path, directory: directory) { (file) throws(EventLogError) in
            // The buffer is the closure's own: a variable that a nested function captured
            // was checked for exclusive access at every append (about 1.5 % of an ingest's CPU).
            var buffer = out
            var checksum = CRC32C()
            for (f, _) in members {
                buffer.appendLE(f.high)
                buffer.appendLE(f.low)
                if buffer.count >= writeChunkBytes { try flush(&buffer, to: file, checksum: &checksum) }
            }
            for (_, copy) in members {
                buffer.appendLE(copy.content)
                buffer.appendLE(copy.ordinal)
                if buffer.count >= writeChunkBytes { try flush(&buffer, to: file, checksum: &checksum) }
            }
            try flush(&buffer, to: file, checksum: &checksum)
            buffer.appendLE(checksum.finalized)
            try file.write(buffer)
            return SegmentIndexFile(
                segmentNumber: segmentNumber, segmentBytes: segmentBytes, blocks: blocks, offsets: offsets,
                fingerprintCount: members.count, fingerprintOffset: fingerprintOffset,
                copiesOffset: fingerprintOffset + members.count * 16)
        }
    }

    /// Writes `buffer` to `file`, counting it into `checksum`, and empties it.
    private static func flush(_ buffer: inout [UInt8], to file: PosixFile, checksum: inout CRC32C) throws(EventLogError) {
        buffer.withUnsafeBytes { checksum.update($0) }
        try file.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// About how many bytes `write` hands to the file at a time.
    static let writeChunkBytes = 1 << 20

    /// Bytes of one stored copy: content fingerprint u64, ordinal u32.
    static let copyBytes = 12

    /// Bytes per id in a sidecar: its fingerprint and its stored copy.
    static let bytesPerID = 16 + copyBytes

    /// Loads and checks a sidecar; nil when it is missing, damaged or stale.
    static func load(path: String, segmentNumber: UInt32, segmentBytes: Int) -> SegmentIndexFile? {
        loadWithBytes(path: path, segmentNumber: segmentNumber, segmentBytes: segmentBytes)?.index
    }

    /// `load`, also giving the file's bytes it checked (an open reads the fingerprints from
    /// them, rather than from the file a second time).
    static func loadWithBytes(path: String, segmentNumber: UInt32, segmentBytes: Int) -> (index: SegmentIndexFile, bytes: [UInt8])? {
        guard let file = try? PosixFile.open(path, flags: O_RDONLY), let size = try? file.size,
            let bytes = try? file.read(at: 0, count: size), bytes.count == size,
            let index = parse(bytes, segmentNumber: segmentNumber, segmentBytes: segmentBytes)
        else { return nil }
        return (index, bytes)
    }

    /// Checks and reads the bytes of a sidecar file; nil when they are damaged or stale.
    private static func parse(_ bytes: [UInt8], segmentNumber: UInt32, segmentBytes: Int) -> SegmentIndexFile? {
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
                let entryBytes = hasCopies ? bytesPerID : 16
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
