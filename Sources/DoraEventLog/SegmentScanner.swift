#if canImport(Glibc)
import Glibc
#endif
import DoraEvents

/// One block read from disk and checked against its checksum.
struct CheckedBlock {
    var header: BlockHeader
    var offset: Int
    /// The whole block: header, records frame, raw frame.
    var bytes: [UInt8]
    /// The segment file it was read from.
    var path: String

    var recordsFrame: Range<Int> { header.headerBytes..<header.headerBytes + Int(header.recordsFrameBytes) }
    var rawFrame: Range<Int> {
        let start = header.headerBytes + Int(header.recordsFrameBytes)
        return start..<start + Int(header.rawFrameBytes)
    }
}

/// Reads the blocks of one segment file in order, checking each.
///
/// The rules for damage (docs/log-format.md, "Recovery"): a block that fails is the torn
/// *tail* when no intact block starts anywhere after it; otherwise it is damage in the middle,
/// never skipped silently.
struct SegmentScanner {
    let file: PosixFile
    let fileSize: Int
    let segmentNumber: UInt32

    init(path: String) throws(EventLogError) {
        file = try PosixFile.open(path, flags: O_RDONLY)
        fileSize = try file.size
        let header = try file.read(at: 0, count: LogFormat.segmentHeaderBytes)
        do {
            segmentNumber = try LogFormat.decodeSegmentHeader(header)
        } catch {
            throw error.located(file: path, byteOffset: 0)
        }
    }

    /// Reads the header of the block at `offset` and checks that the block fits in the file.
    func readHeader(at offset: Int) throws(EventLogError) -> BlockHeader {
        let fail = { (message: String) in EventLogError(.corruptBlock, message, file: file.path, byteOffset: offset) }
        guard fileSize - offset >= 8 else { throw fail("block header is torn (\(fileSize - offset) bytes at the end)") }
        let prefix = try file.read(at: offset, count: 8)
        guard let contentLength = BlockHeader.contentLength(prefix: prefix) else {
            throw fail("no block header here (bad magic or length)")
        }
        guard fileSize - offset >= 8 + contentLength else { throw fail("block header is torn") }
        let content = try file.read(at: offset + 8, count: contentLength)
        let header: BlockHeader
        do {
            header = try BlockHeader.decode(content: content)
        } catch {
            throw error.located(file: file.path, byteOffset: offset)
        }
        guard header.encodedContentBytes == contentLength else { throw fail("block header length disagrees with its content") }
        guard fileSize - offset >= header.totalBytes else {
            throw fail("block is torn: \(header.totalBytes) bytes declared, \(fileSize - offset) present")
        }
        return header
    }

    /// Reads and checks the block at `offset`.
    /// - Throws: `EventLogError` (`.corruptBlock`) saying what is wrong, located at `offset`.
    func readBlock(at offset: Int, verifyChecksum: Bool = true) throws(EventLogError) -> CheckedBlock {
        let fail = { (message: String) in EventLogError(.corruptBlock, message, file: file.path, byteOffset: offset) }
        let header = try readHeader(at: offset)
        let bytes = try file.read(at: offset, count: header.totalBytes)
        if verifyChecksum {
            var crc = CRC32C()
            bytes.withUnsafeBytes { b in
                crc.update(UnsafeRawBufferPointer(rebasing: b[8..<header.headerBytes - 4]))
                crc.update(UnsafeRawBufferPointer(rebasing: b[header.headerBytes..<header.totalBytes]))
            }
            guard crc.finalized == header.checksum else {
                throw fail("block fails its checksum (stored \(hex(header.checksum)), computed \(hex(crc.finalized)))")
            }
        }
        guard header.recordCount == 0 || header.minTime <= header.maxTime else { throw fail("block time range is inverted") }
        return CheckedBlock(header: header, offset: offset, bytes: bytes, path: file.path)
    }

    /// The first offset after `offset` where an intact block starts, if any.
    func nextIntactBlock(after offset: Int) -> Int? {
        let magic: [UInt8] = [0x5B, 0x2A, 0x4D, 0x18]
        let chunk = 1 << 20
        var position = offset + 1
        while position < fileSize - 8 {
            guard let bytes = try? file.read(at: position, count: min(chunk + 3, fileSize - position)) else { return nil }
            var i = 0
            while i + 4 <= bytes.count {
                if bytes[i] == magic[0] && bytes[i + 1] == magic[1] && bytes[i + 2] == magic[2] && bytes[i + 3] == magic[3] {
                    if (try? readBlock(at: position + i)) != nil { return position + i }
                }
                i += 1
            }
            position += chunk
        }
        return nil
    }

    /// Every block in order. Stops at the first failing block and reports it with `isTail`
    /// telling whether anything intact follows (false) or not (true).
    func scan(
        verifyChecksums: Bool = true, _ body: (CheckedBlock) throws(EventLogError) -> Void
    ) throws(EventLogError) -> ScanOutcome {
        var offset = LogFormat.segmentHeaderBytes
        while offset < fileSize {
            let block: CheckedBlock
            do {
                block = try readBlock(at: offset, verifyChecksum: verifyChecksums)
            } catch {
                let following = nextIntactBlock(after: offset)
                return ScanOutcome(validEnd: offset, damage: error, isTail: following == nil, nextIntact: following)
            }
            try body(block)
            offset += block.header.totalBytes
        }
        return ScanOutcome(validEnd: offset, damage: nil, isTail: false, nextIntact: nil)
    }
}

/// How a scan of one segment ended.
struct ScanOutcome {
    /// The end of the last intact block before any damage.
    var validEnd: Int
    var damage: EventLogError?
    /// The damage runs to the end of the file (a torn tail), with no intact block after it.
    var isTail: Bool
    var nextIntact: Int?
}

func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}

/// Decoding the frames of a checked block.
extension CheckedBlock {
    /// Decompresses the records frame and calls `body` with each event and its raw length.
    func forEachRecord(
        using decompressor: ZstdDecompressor, scratch: inout [UInt8], _ body: (Event, Int) throws(EventLogError) -> Void
    ) throws(EventLogError) {
        try forEachEventRecord(using: decompressor, scratch: &scratch) { (record, rawLength) throws(EventLogError) in
            try body(Event(record), rawLength)
        }
    }

    /// Decompresses the records frame and calls `body` with each record, read in place (valid
    /// only during the call), and its raw length.
    func forEachEventRecord(
        using decompressor: ZstdDecompressor, scratch: inout [UInt8], _ body: (EventRecord, Int) throws(EventLogError) -> Void
    ) throws(EventLogError) {
        try forEachEncodedRecord(using: decompressor, scratch: &scratch) { (record, rawLength, _) throws(EventLogError) in
            try body(record, rawLength)
        }
    }

    /// `forEachEventRecord`, also giving each record's binary encoding (what its
    /// `ContentFingerprint` is taken of), valid only during the call.
    func forEachEncodedRecord(
        using decompressor: ZstdDecompressor, scratch: inout [UInt8],
        _ body: (EventRecord, Int, UnsafeRawBufferPointer) throws(EventLogError) -> Void
    ) throws(EventLogError) {
        guard header.recordCount > 0 else { return }
        let frame = recordsFrame
        let decompressResult: Result<Void, EventLogError> = bytes.withUnsafeBytes { b in
            Result { () throws(EventLogError) in
                try decompressor.decompress(
                    UnsafeRawBufferPointer(rebasing: b[frame]), size: Int(header.recordsBytes), into: &scratch)
            }
        }
        try decompressResult.mapError { $0.located(file: path, byteOffset: offset) }.get()
        let result: Result<Void, EventLogError> = scratch.withUnsafeBytes { raw in
            Result { () throws(EventLogError) in
                var reader = BinaryReader(raw)
                let locate = { (e: BinaryDecodingError) in
                    EventLogError(.corruptBlock, "records frame: \(e.description)", file: path, byteOffset: offset)
                }
                let version = try Result { () throws(BinaryDecodingError) in try reader.byte() }.mapError(locate).get()
                guard version <= EventBinaryCodec.version else {
                    throw EventLogError(.badSegment, "record encoding \(version) is newer than this doralog; upgrade doralog", file: path, byteOffset: offset)
                }
                var n = 0
                while !reader.isAtEnd {
                    let start: Int
                    let rawLength: Int
                    let record: EventRecord
                    // Not through a `Result`: the record (a large struct) would be copied twice more per event.
                    do throws(BinaryDecodingError) {
                        rawLength = Int(try reader.unsigned())
                        start = reader.offset
                        record = try EventRecord.read(from: &reader)
                    } catch {
                        throw locate(error)
                    }
                    try body(record, rawLength, UnsafeRawBufferPointer(rebasing: raw[start..<reader.offset]))
                    n += 1
                }
                guard n == Int(header.recordCount) else {
                    throw EventLogError(.corruptBlock, "records frame holds \(n) records, header says \(header.recordCount)", file: path, byteOffset: offset)
                }
            }
        }
        try result.get()
    }

    /// Calls `body` with each record and its bytes exactly as received, checking that the raw
    /// frame holds exactly those messages, each followed by a newline.
    func forEachRecordWithRawBytes(
        using decompressor: ZstdDecompressor, scratch: inout [UInt8],
        _ body: (Event, ArraySlice<UInt8>) throws(EventLogError) -> Void
    ) throws(EventLogError) {
        try forEachRecordWithRawAndEncodedBytes(using: decompressor, scratch: &scratch) { (event, raw, _) throws(EventLogError) in
            try body(event, raw)
        }
    }

    /// `forEachRecordWithRawBytes`, also giving each record's binary encoding (valid only
    /// during the call).
    func forEachRecordWithRawAndEncodedBytes(
        using decompressor: ZstdDecompressor, scratch: inout [UInt8],
        _ body: (Event, ArraySlice<UInt8>, UnsafeRawBufferPointer) throws(EventLogError) -> Void
    ) throws(EventLogError) {
        let raw = try rawBytes(using: decompressor)
        var position = 0
        try forEachEncodedRecord(using: decompressor, scratch: &scratch) { (record, length, encoded) throws(EventLogError) in
            guard position + length < raw.count, raw[position + length] == 0x0A else {
                throw EventLogError(.corruptBlock, "raw frame does not match the records' lengths", file: path, byteOffset: offset)
            }
            try body(Event(record), raw[position..<position + length], encoded)
            position += length + 1
        }
        guard position == raw.count else {
            throw EventLogError(
                .corruptBlock, "raw frame has \(raw.count - position) bytes no record accounts for", file: path, byteOffset: offset)
        }
    }

    /// Decompresses the raw frame: the events' bytes as received, each followed by a newline.
    func rawBytes(using decompressor: ZstdDecompressor) throws(EventLogError) -> [UInt8] {
        var out: [UInt8] = []
        guard header.rawFrameBytes > 0 else { return out }
        let frame = rawFrame
        let result: Result<Void, EventLogError> = bytes.withUnsafeBytes { b in
            Result { () throws(EventLogError) in
                try decompressor.decompress(UnsafeRawBufferPointer(rebasing: b[frame]), size: Int(header.rawBytes), into: &out)
            }
        }
        try result.mapError { $0.located(file: path, byteOffset: offset) }.get()
        return out
    }
}
