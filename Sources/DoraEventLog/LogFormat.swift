public import DoraEvents

/// The position in a Kafka partition up to which the log holds everything: the next offset to
/// read. Stored in the same block as the events it covers, so the two are durable together.
public struct PartitionOffset: Hashable, Sendable {
    public var topic: String
    public var partition: Int32
    /// The offset of the next message to consume (last stored offset + 1).
    public var nextOffset: Int64

    public init(topic: String, partition: Int32, nextOffset: Int64) {
        self.topic = topic
        self.partition = partition
        self.nextOffset = nextOffset
    }
}

/// Constants and the fixed-layout headers of the on-disk format (docs/log-format.md).
///
/// Everything is little-endian. Segment and block headers are zstd skippable frames, so a
/// segment file is a valid zstd stream (`zstd -dc` prints records and raw events).
enum LogFormat {
    /// The segment header's format version.
    static let formatVersion: UInt16 = 1
    /// The block header's format version: 2 adds the count of conflicting duplicates after the
    /// count of duplicates. Version 1 blocks (without it) are read as having none.
    static let blockFormatVersion: UInt16 = 2
    static let segmentMagic: UInt32 = 0x184D_2A5D  // skippable frame, nibble D
    static let blockMagic: UInt32 = 0x184D_2A5B  // skippable frame, nibble B
    static let segmentSignature: [UInt8] = Array("DORALOGS".utf8)
    /// Skippable magic + size + 28 bytes of content.
    static let segmentHeaderBytes = 36
    /// The fixed part of a version 1 block header's content, before the offsets and the
    /// checksum; version 2 has 4 bytes more.
    static let blockFixedBytes = 2 + 2 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 4 + 4 + 4 + 2
    /// A block header's content is never larger than this (guards against garbage lengths).
    static let maximumBlockHeaderBytes = 1 << 20
    /// A frame in a block is never larger than this (guards against garbage lengths).
    static let maximumFrameBytes = 1 << 30

    static func segmentName(_ number: UInt32) -> String {
        let digits = String(number)
        return "segment-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".zst"
    }

    static func indexName(_ number: UInt32) -> String {
        segmentName(number).replacingSuffix(".zst", with: ".idx")
    }

    /// Whether a file of this name is one a log writes (segments, their sidecar indexes, the
    /// lock, the dead letters, and the temporary files they are written through).
    static func isLogFileName(_ name: String) -> Bool {
        name == "lock" || name.hasPrefix(DeadLetterStore.fileName)
            || (name.hasPrefix("segment-") && (name.contains(".zst") || name.contains(".idx")))
    }

    static func segmentNumber(fromName name: String) -> UInt32? {
        guard name.hasPrefix("segment-"), name.hasSuffix(".zst") else { return nil }
        return UInt32(name.dropFirst(8).dropLast(4))
    }

    static func encodeSegmentHeader(number: UInt32, createdMicroseconds: Int64) -> [UInt8] {
        var content: [UInt8] = segmentSignature
        content.appendLE(formatVersion)
        content.appendLE(UInt16(0))
        content.appendLE(number)
        content.appendLE(UInt64(bitPattern: createdMicroseconds))
        content.appendLE(CRC32C.checksum(content))
        var out: [UInt8] = []
        out.appendLE(segmentMagic)
        out.appendLE(UInt32(content.count))
        out += content
        return out
    }

    /// Checks a segment header; returns the segment number it names.
    static func decodeSegmentHeader(_ bytes: [UInt8]) throws(EventLogError) -> UInt32 {
        guard bytes.count >= segmentHeaderBytes else {
            throw EventLogError(.badSegment, "segment header is torn (\(bytes.count) of \(segmentHeaderBytes) bytes)", byteOffset: 0)
        }
        let result: Result<Result<UInt32, EventLogError>, EventLogError> = bytes.withUnsafeBytes { raw in
            Result { () throws(EventLogError) in
                var r = BinaryReader(raw)
                do throws(BinaryDecodingError) {
                    guard try r.littleEndian(UInt32.self) == segmentMagic, try r.littleEndian(UInt32.self) == 28,
                        Array(try r.bytes(8)) == segmentSignature
                    else { return .failure(EventLogError(.badSegment, "not a doralog segment (bad magic)", byteOffset: 0)) }
                    let version = try r.littleEndian(UInt16.self)
                    guard version <= formatVersion else {
                        return .failure(EventLogError(
                            .badSegment, "segment format version \(version) is newer than this doralog (\(formatVersion)); upgrade doralog",
                            byteOffset: 0))
                    }
                    _ = try r.littleEndian(UInt16.self)
                    let number = try r.littleEndian(UInt32.self)
                    _ = try r.littleEndian(UInt64.self)
                    let crc = try r.littleEndian(UInt32.self)
                    guard crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[8..<32])) else {
                        return .failure(EventLogError(.badSegment, "segment header fails its checksum", byteOffset: 0))
                    }
                    return .success(number)
                } catch {
                    throw EventLogError(.badSegment, error.description, byteOffset: 0)
                }
            }
        }
        return try result.get().get()
    }
}

/// What a block header says about its block (docs/log-format.md, "Block").
///
/// Invariants: `minTime <= maxTime` when `recordCount > 0`; the frames' lengths are within the
/// format's limits; `checksum` covers the header content before it and both frames.
struct BlockHeader: Equatable, Sendable {
    /// `LogFormat.blockFormatVersion` when written by this doralog; 1 in older logs.
    var version: UInt16 = LogFormat.blockFormatVersion
    var recordCount: UInt32
    /// Duplicates dropped and messages rejected by the append that wrote this block.
    var duplicates: UInt32
    /// Of the duplicates, those whose content differs from the stored copy (version 2).
    var conflictingDuplicates: UInt32
    var rejected: UInt32
    /// Of the stored records, how many have a type this version does not know.
    var unknownTypes: UInt32
    var minTime: Int64
    var maxTime: Int64
    var recordsFrameBytes: UInt32
    var recordsBytes: UInt32
    var rawFrameBytes: UInt32
    var rawBytes: UInt32
    var offsets: [PartitionOffset]
    var checksum: UInt32 = 0

    /// Skippable-frame magic and size, then the content.
    var encodedContentBytes: Int {
        LogFormat.blockFixedBytes + (version >= 2 ? 4 : 0) + offsets.reduce(0) { $0 + 2 + $1.topic.utf8.count + 4 + 8 } + 4
    }

    var headerBytes: Int { 8 + encodedContentBytes }
    var totalBytes: Int { headerBytes + Int(recordsFrameBytes) + Int(rawFrameBytes) }

    /// The header bytes (skippable frame), with the checksum field written last.
    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(headerBytes)
        out.appendLE(LogFormat.blockMagic)
        out.appendLE(UInt32(encodedContentBytes))
        out.appendLE(version)
        out.appendLE(UInt16(0))
        out.appendLE(recordCount)
        out.appendLE(duplicates)
        if version >= 2 { out.appendLE(conflictingDuplicates) }
        out.appendLE(rejected)
        out.appendLE(unknownTypes)
        out.appendLE(UInt64(bitPattern: minTime))
        out.appendLE(UInt64(bitPattern: maxTime))
        out.appendLE(recordsFrameBytes)
        out.appendLE(recordsBytes)
        out.appendLE(rawFrameBytes)
        out.appendLE(rawBytes)
        out.appendOffsets(offsets)
        out.appendLE(checksum)
        return out
    }

    /// Reads the 8-byte skippable prefix: the content length, or nil if this is no block.
    static func contentLength(prefix: [UInt8]) -> Int? {
        guard prefix.count >= 8 else { return nil }
        let magic = prefix.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian }
        let length = prefix.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian }
        guard magic == LogFormat.blockMagic, length >= LogFormat.blockFixedBytes + 4,
            length <= LogFormat.maximumBlockHeaderBytes
        else { return nil }
        return Int(length)
    }

    /// Parses a header's content (after the 8-byte prefix). Does not check the checksum.
    static func decode(content: [UInt8]) throws(EventLogError) -> BlockHeader {
        let result: Result<Result<BlockHeader, EventLogError>, EventLogError> = content.withUnsafeBytes { raw in
            Result { () throws(EventLogError) in
                var r = BinaryReader(raw)
                do throws(BinaryDecodingError) {
                    let version = try r.littleEndian(UInt16.self)
                    guard version <= LogFormat.blockFormatVersion else {
                        return .failure(EventLogError(.badSegment, "block format version \(version) is newer than this doralog; upgrade doralog"))
                    }
                    _ = try r.littleEndian(UInt16.self)
                    var h = BlockHeader(
                        version: version, recordCount: try r.littleEndian(UInt32.self), duplicates: try r.littleEndian(UInt32.self),
                        conflictingDuplicates: version >= 2 ? try r.littleEndian(UInt32.self) : 0,
                        rejected: try r.littleEndian(UInt32.self), unknownTypes: try r.littleEndian(UInt32.self),
                        minTime: Int64(bitPattern: try r.littleEndian(UInt64.self)),
                        maxTime: Int64(bitPattern: try r.littleEndian(UInt64.self)),
                        recordsFrameBytes: try r.littleEndian(UInt32.self), recordsBytes: try r.littleEndian(UInt32.self),
                        rawFrameBytes: try r.littleEndian(UInt32.self), rawBytes: try r.littleEndian(UInt32.self),
                        offsets: [])
                    h.offsets = try r.offsets()
                    h.checksum = try r.littleEndian(UInt32.self)
                    guard r.isAtEnd else { return .failure(EventLogError(.corruptBlock, "block header has trailing bytes")) }
                    guard Int(h.recordsFrameBytes) <= LogFormat.maximumFrameBytes,
                        Int(h.rawFrameBytes) <= LogFormat.maximumFrameBytes,
                        Int(h.recordsBytes) <= LogFormat.maximumFrameBytes, Int(h.rawBytes) <= LogFormat.maximumFrameBytes
                    else { return .failure(EventLogError(.corruptBlock, "block header declares an impossible frame length")) }
                    return .success(h)
                } catch {
                    throw EventLogError(.corruptBlock, "block header does not parse: \(error.message)")
                }
            }
        }
        return try result.get().get()
    }
}

extension BlockHeader {
    /// The block-table entry of this block, at `offset` of segment `segment`.
    func location(segment: UInt32, offset: Int) -> BlockLocation {
        BlockLocation(
            segment: segment, offset: offset, totalBytes: totalBytes, recordCount: Int(recordCount),
            duplicates: Int(duplicates), conflictingDuplicates: Int(conflictingDuplicates), rejected: Int(rejected),
            unknownTypes: Int(unknownTypes), minTime: Timestamp(microseconds: minTime), maxTime: Timestamp(microseconds: maxTime))
    }
}

/// Where one block sits, and what its header says: an entry of a segment's block index.
public struct BlockLocation: Sendable, Equatable {
    public var segment: UInt32
    public var offset: Int
    public var totalBytes: Int
    public var recordCount: Int
    public var duplicates: Int
    /// Of the duplicates, those whose content differed from the stored copy.
    public var conflictingDuplicates: Int
    public var rejected: Int
    /// Stored records of a type this version does not know.
    public var unknownTypes: Int
    public var minTime: Timestamp
    public var maxTime: Timestamp
}

extension [UInt8] {
    /// Kafka positions as block headers and sidecars store them: a u16 count, then per
    /// position the topic (u16 length + UTF-8), the partition (i32) and the next offset (i64).
    mutating func appendOffsets(_ offsets: [PartitionOffset]) {
        appendLE(UInt16(offsets.count))
        for o in offsets {
            appendLE(UInt16(o.topic.utf8.count))
            self += o.topic.utf8
            appendLE(UInt32(bitPattern: o.partition))
            appendLE(UInt64(bitPattern: o.nextOffset))
        }
    }

    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}

extension BinaryReader {
    /// Reads Kafka positions written by `appendOffsets`.
    mutating func offsets() throws(BinaryDecodingError) -> [PartitionOffset] {
        var offsets: [PartitionOffset] = []
        for _ in 0..<(try littleEndian(UInt16.self)) {
            let n = Int(try littleEndian(UInt16.self))
            let topic = String(decoding: try bytes(n), as: UTF8.self)
            let partition = Int32(bitPattern: try littleEndian(UInt32.self))
            let next = Int64(bitPattern: try littleEndian(UInt64.self))
            offsets.append(PartitionOffset(topic: topic, partition: partition, nextOffset: next))
        }
        return offsets
    }
}
