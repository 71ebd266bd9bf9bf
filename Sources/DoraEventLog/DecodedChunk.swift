import Dispatch
import DoraEvents

/// The decoded form of a run of a batch's messages: what stage 1 of an append needs, before
/// de-duplication. Pure; several chunks of one batch are decoded in parallel.
struct DecodedChunk: Sendable {
    /// Binary records of the valid messages, back to back.
    var records: [UInt8] = []
    /// Per valid message: the end of its record in `records`.
    var recordEnds: [Int] = []
    /// Per valid message: its index in the batch.
    var messages: [Int32] = []
    var fingerprints: [IDFingerprint] = []
    var times: [Int64] = []
    /// Per valid message: is its type unknown to this version.
    var unknownType: [Bool] = []
    /// Dead-letter lines of the rejected messages, in message order.
    var deadLetters: [UInt8] = []
    var rejected = 0

    /// Below this many messages a batch is decoded on the calling thread alone.
    static let parallelThreshold = 2048

    /// Decodes every message of `batch`, in two chunks on two threads when it is large.
    static func decode(_ batch: MessageBatch) -> [DecodedChunk] {
        guard batch.count >= parallelThreshold else { return [decode(batch, 0..<batch.count)] }
        let middle = batch.count / 2
        let slots = ChunkSlots()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            slots.store(decode(batch, i == 0 ? 0..<middle : middle..<batch.count), at: i)
        }
        return slots.chunks
    }

    static func decode(_ batch: MessageBatch, _ range: Range<Int>) -> DecodedChunk {
        var chunk = DecodedChunk()
        chunk.records.reserveCapacity(range.count * 128)
        chunk.recordEnds.reserveCapacity(range.count)
        chunk.messages.reserveCapacity(range.count)
        chunk.fingerprints.reserveCapacity(range.count)
        chunk.times.reserveCapacity(range.count)
        batch.bytes.withUnsafeBytes { all in
            for i in range {
                let message = UnsafeRawBufferPointer(rebasing: all[batch.ranges[i]])
                let event: Event
                do throws(EventError) {
                    if let size = batch.oversized[i] {
                        throw EventError(
                            .tooLarge,
                            "message is \(size) bytes; the limit is \(EventDecoder.maximumMessageBytes) (1 MiB); the dead letter keeps its first \(message.count) bytes"
                        )
                    }
                    event = try EventDecoder.decode(message)
                } catch {
                    DeadLetterStore.appendLine(error, source: batch.sources[i], raw: message, to: &chunk.deadLetters)
                    chunk.rejected += 1
                    continue
                }
                EventBinaryCodec.encode(event, into: &chunk.records)
                chunk.recordEnds.append(chunk.records.count)
                chunk.messages.append(Int32(i))
                chunk.fingerprints.append(IDFingerprint(id: event.id))
                chunk.times.append(event.time.microseconds)
                if case .unknown = event.details { chunk.unknownType.append(true) } else { chunk.unknownType.append(false) }
            }
        }
        return chunk
    }
}

/// Where the parallel decoders leave their chunks. `@unchecked Sendable`: each decoder writes
/// only its own pre-initialized slot, and `concurrentPerform` returns only after all finished.
private final class ChunkSlots: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<DecodedChunk>

    init() {
        slots = .allocate(capacity: 2)
        slots.initialize(repeating: DecodedChunk(), count: 2)
    }

    deinit {
        slots.deinitialize(count: 2)
        slots.deallocate()
    }

    func store(_ chunk: DecodedChunk, at index: Int) {
        slots[index] = chunk
    }

    var chunks: [DecodedChunk] { [slots[0], slots[1]] }
}
