import DoraEvents
/// A batch after stage 1 of an append: validated, de-duplicated, encoded but not compressed.
struct PreparedAppend: Sendable {
    var summary = AppendSummary()
    /// The records frame's content: the encoding version, then per event its raw length and
    /// its binary form.
    var records: [UInt8] = []
    /// The raw frame's content: each stored message's bytes and a newline.
    var raw: [UInt8] = []
    var minTime = Int64.max
    var maxTime = Int64.min
    var fingerprints: [IDFingerprint] = []
    /// Per stored event, its `ContentFingerprint` (parallel to `fingerprints`).
    var contents: [UInt64] = []
    var offsets: [PartitionOffset] = []
    /// Dead-letter lines of the rejected messages.
    var deadLetters: [UInt8] = []
    /// Conflicting duplicates, whose dead-letter lines are written at commit, once the place
    /// of their stored copy is known.
    var conflicts: [PendingConflict] = []

    /// Whether a block must be written: anything stored, counted or any offset moved.
    var needsBlock: Bool {
        summary.stored > 0 || summary.duplicates > 0 || summary.rejected > 0 || !offsets.isEmpty
    }
}

/// Stage 2 of an append: compresses a prepared batch into a checksummed block.
///
/// Pure (no I/O, no shared state), so it can run on a worker thread. `@unchecked Sendable`
/// because it owns a zstd context: the pipeline hands it to one thread at a time and waits
/// for the result before handing it on, so no two threads ever use it together.
final class BlockEncoder: @unchecked Sendable {
    /// The raw frame, at the log's configured level.
    private let compressor: ZstdCompressor
    /// The records frame, always at level 1: it is binary (compresses about 2:1 whatever the
    /// level), derivable from the raw frame, and read by every replay.
    private let recordsCompressor: ZstdCompressor

    init(level: Int32) {
        compressor = ZstdCompressor(level: level)
        recordsCompressor = ZstdCompressor(level: 1)
    }

    /// The block's bytes (header, records frame, raw frame), or empty when none is needed.
    func encode(_ p: PreparedAppend) throws(EventLogError) -> [UInt8] {
        guard p.needsBlock else { return [] }
        let stored = p.summary.stored
        var header = BlockHeader(
            recordCount: UInt32(stored), duplicates: UInt32(p.summary.duplicates),
            conflictingDuplicates: UInt32(p.summary.conflictingDuplicates), rejected: UInt32(p.summary.rejected),
            unknownTypes: UInt32(p.summary.unknownTypes), minTime: stored > 0 ? p.minTime : 0, maxTime: stored > 0 ? p.maxTime : 0,
            recordsFrameBytes: 0, recordsBytes: 0, rawFrameBytes: 0, rawBytes: 0, offsets: p.offsets)
        var block: [UInt8] = []
        block.reserveCapacity(header.headerBytes + p.raw.count / 3 + p.records.count / 2)
        block.append(contentsOf: repeatElement(0, count: header.headerBytes))
        if stored > 0 {
            header.recordsBytes = UInt32(p.records.count)
            header.recordsFrameBytes = UInt32(try p.records.withBytes { (r) throws(EventLogError) in try recordsCompressor.compress(r, appendingTo: &block) })
            header.rawBytes = UInt32(p.raw.count)
            header.rawFrameBytes = UInt32(try p.raw.withBytes { (r) throws(EventLogError) in try compressor.compress(r, appendingTo: &block) })
        }
        var crc = CRC32C()
        let unsigned = header.encoded()
        unsigned.withUnsafeBytes { crc.update(UnsafeRawBufferPointer(rebasing: $0[8..<unsigned.count - 4])) }
        let headerBytes = header.headerBytes
        block.withUnsafeBytes { crc.update(UnsafeRawBufferPointer(rebasing: $0[headerBytes...])) }
        header.checksum = crc.finalized
        block.replaceSubrange(0..<headerBytes, with: header.encoded())
        return block
    }
}
