import Dispatch
import DoraEvents

/// The decoded form of a run of a batch's messages: what stage 1 of an append needs, before
/// de-duplication, already in the form the block's two frames hold. Pure; the chunks of one
/// batch are decoded in parallel.
///
/// Invariant: entry j of every per-message array is the j-th valid message; its records-frame
/// entry ends at `recordEnds[j]` and its raw line at `rawEnds[j]`, each starting where entry
/// j-1 ends, so a run of valid messages is one contiguous range of each buffer.
struct DecodedChunk: Sendable {
    /// Records-frame entries of the valid messages, back to back: each its raw length
    /// (varint) and its binary record.
    var records: [UInt8] = []
    var recordEnds: [Int] = []
    /// Raw-frame lines of the valid messages, back to back: each its bytes and a newline.
    var raw: [UInt8] = []
    var rawEnds: [Int] = []
    var fingerprints: [IDFingerprint] = []
    /// Per valid message: `ContentFingerprint` of its binary record.
    var contents: [UInt64] = []
    /// Per valid message: its index in the batch (its source).
    var messageIndices: [Int] = []
    var times: [Int64] = []
    /// Per valid message: is its type unknown to this version.
    var unknownType: [Bool] = []
    /// Dead-letter lines of the rejected messages, in message order.
    var deadLetters: [UInt8] = []
    var rejected = 0

    var count: Int { fingerprints.count }

    /// The records-frame bytes of valid messages `first..<end`.
    func recordBytes(_ first: Int, _ end: Int) -> ArraySlice<UInt8> {
        records[(first == 0 ? 0 : recordEnds[first - 1])..<recordEnds[end - 1]]
    }

    /// The raw-frame bytes of valid messages `first..<end`.
    func rawBytes(_ first: Int, _ end: Int) -> ArraySlice<UInt8> {
        raw[(first == 0 ? 0 : rawEnds[first - 1])..<rawEnds[end - 1]]
    }

    /// Valid message `j` as a conflicting duplicate: its id, source and bytes, copied out.
    func conflict(_ j: Int, source: MessageSource) -> PendingConflict {
        let entry = recordBytes(j, j + 1)
        let id = entry.withUnsafeBytes { bytes -> String in
            var reader = BinaryReader(bytes)
            // Written by `decode` just now: it reads back.
            guard (try? reader.unsigned()) != nil, let record = try? EventRecord.read(from: &reader) else { return "" }
            return String(decoding: record.id, as: UTF8.self)
        }
        return PendingConflict(fingerprint: fingerprints[j], id: id, source: source, raw: Array(rawBytes(j, j + 1).dropLast()))
    }

    /// Below this many messages a batch is decoded on the calling thread alone.
    static let parallelThreshold = 2048

    /// Pieces a large batch is cut into. More pieces than cores, so that a core slowed by
    /// other work (the compression of the previous batch) takes fewer of them.
    static let pieces = 8

    /// Decodes every message of `batch`, in pieces on all cores when it is large.
    static func decode(_ batch: MessageBatch) -> [DecodedChunk] {
        guard batch.count >= parallelThreshold else { return [decode(batch, 0..<batch.count)] }
        let slots = ChunkSlots(count: pieces)
        let n = batch.count
        DispatchQueue.concurrentPerform(iterations: pieces) { i in
            slots.store(decode(batch, n * i / pieces..<n * (i + 1) / pieces), at: i)
        }
        return slots.chunks
    }

    static func decode(_ batch: MessageBatch, _ range: Range<Int>) -> DecodedChunk {
        var chunk = DecodedChunk()
        let bytes = range.isEmpty ? 0 : batch.ranges[range.last!].upperBound - batch.ranges[range.first!].lowerBound
        chunk.records.reserveCapacity(bytes / 2)
        chunk.raw.reserveCapacity(bytes + range.count)
        chunk.recordEnds.reserveCapacity(range.count)
        chunk.rawEnds.reserveCapacity(range.count)
        chunk.fingerprints.reserveCapacity(range.count)
        chunk.contents.reserveCapacity(range.count)
        chunk.messageIndices.reserveCapacity(range.count)
        chunk.times.reserveCapacity(range.count)
        chunk.unknownType.reserveCapacity(range.count)
        var scratch: [UInt8] = []
        batch.bytes.withUnsafeBytes { all in
            for i in range {
                let message = UnsafeRawBufferPointer(rebasing: all[batch.ranges[i]])
                let entryStart = chunk.records.count
                var recordStart = entryStart
                if let reason = batch.unmappable[i] {
                    DeadLetterStore.appendUnmappableLine(reason, source: batch.sources[i], raw: message, to: &chunk.deadLetters)
                    chunk.rejected += 1
                    continue
                }
                let facts: RecordFacts
                do throws(EventError) {
                    if let size = batch.oversized[i] {
                        throw EventError(
                            .tooLarge,
                            "message is \(size) bytes; the limit is \(EventDecoder.maximumMessageBytes) (1 MiB); the dead letter keeps its first \(message.count) bytes"
                        )
                    }
                    EventBinaryCodec.writeUnsigned(UInt64(message.count), into: &chunk.records)
                    recordStart = chunk.records.count
                    facts = try EventDecoder.appendRecord(of: message, to: &chunk.records, scratch: &scratch)
                } catch {
                    chunk.records.removeSubrange(entryStart...)
                    DeadLetterStore.appendLine(error, source: batch.sources[i], raw: message, to: &chunk.deadLetters)
                    chunk.rejected += 1
                    continue
                }
                chunk.recordEnds.append(chunk.records.count)
                chunk.raw.append(contentsOf: message)
                chunk.raw.append(0x0A)
                chunk.rawEnds.append(chunk.raw.count)
                chunk.fingerprints.append(facts.fingerprint)
                chunk.contents.append(
                    chunk.records.withUnsafeBytes { ContentFingerprint.of(record: UnsafeRawBufferPointer(rebasing: $0[recordStart...])) })
                chunk.messageIndices.append(i)
                chunk.times.append(facts.time)
                chunk.unknownType.append(facts.isUnknownType)
            }
        }
        return chunk
    }
}

/// Where the parallel decoders leave their chunks. `@unchecked Sendable`: each decoder writes
/// only its own pre-initialized slot, and `concurrentPerform` returns only after all finished.
private final class ChunkSlots: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<DecodedChunk>
    private let count: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: DecodedChunk(), count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    func store(_ chunk: DecodedChunk, at index: Int) {
        slots[index] = chunk
    }

    var chunks: [DecodedChunk] { Array(UnsafeBufferPointer(start: slots, count: count)) }
}
