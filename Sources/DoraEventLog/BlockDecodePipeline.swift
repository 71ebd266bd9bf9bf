import Dispatch
import DoraEvents
import Synchronization

/// Reads, checks and decodes blocks on worker threads, ahead of the caller, in log order.
///
/// Two workers take alternate blocks; each may run at most `depth` blocks ahead of the caller,
/// with its own semaphore (so neither can starve the other of room), and memory stays
/// bounded. `@unchecked Sendable`: each worker alone touches its decompressor; each slot is
/// written by one worker before its semaphore is signalled and read by the caller only after
/// waiting on it.
final class BlockDecodePipeline: @unchecked Sendable {
    private static let workers = 2
    private let blocks: [BlockLocation]
    private let read: (BlockLocation) throws(EventLogError) -> CheckedBlock
    private var slots: [Result<[Event], EventLogError>?]
    private let ready: [DispatchSemaphore]
    private let room: [DispatchSemaphore]
    private let cancelled = Atomic<Bool>(false)
    private let finished = DispatchGroup()

    init(blocks: [BlockLocation], depth: Int = 2, read: @escaping (BlockLocation) throws(EventLogError) -> CheckedBlock) {
        self.blocks = blocks
        self.read = read
        slots = Array(repeating: nil, count: blocks.count)
        ready = blocks.map { _ in DispatchSemaphore(value: 0) }
        // Created at 0 and raised to `depth`: libdispatch traps when a semaphore is freed below
        // its initial value, which an early exit (a damaged block) could otherwise leave.
        room = (0..<Self.workers).map { _ in DispatchSemaphore(value: 0) }
        for r in room { for _ in 0..<depth { r.signal() } }
    }

    /// Calls `body` with every event of every block, in order, while later blocks decode.
    func forEachEvent(_ body: (Event) -> Void) throws(EventLogError) {
        for w in 0..<Self.workers {
            DispatchQueue.global().async(group: finished) { self.produce(worker: w) }
        }
        defer {
            // Stop the workers if we leave early (an error), and wait for them.
            cancelled.store(true, ordering: .releasing)
            for r in room { r.signal() }
            finished.wait()
        }
        for i in blocks.indices {
            ready[i].wait()
            let result = slots[i]!
            slots[i] = nil
            room[i % Self.workers].signal()
            let events = try result.get()
            events.withUnsafeBufferPointer { buffer in
                for i in buffer.indices { body(buffer[i]) }
            }
        }
    }

    private func produce(worker: Int) {
        let decompressor = ZstdDecompressor()
        var scratch: [UInt8] = []
        for i in stride(from: worker, to: blocks.count, by: Self.workers) {
            room[worker].wait()
            if cancelled.load(ordering: .acquiring) { return }
            let location = blocks[i]
            var events: [Event] = []
            events.reserveCapacity(location.recordCount)
            do throws(EventLogError) {
                let block = try read(location)
                try block.forEachRecord(using: decompressor, scratch: &scratch) { event, _ in events.append(event) }
                slots[i] = .success(events)
            } catch {
                slots[i] = .failure(error)
            }
            ready[i].signal()
        }
    }
}
