import Dispatch
import DoraEvents
import Synchronization

/// Reads, checks and decodes blocks on a worker thread, ahead of the caller, in log order.
///
/// At most `depth` decoded blocks wait at a time, so memory stays bounded. `@unchecked
/// Sendable`: the worker alone touches the readers and the decompressor; each slot is written
/// by the worker before its semaphore is signalled and read by the caller only after waiting.
final class BlockDecodePipeline: @unchecked Sendable {
    private let blocks: [BlockLocation]
    private let read: (BlockLocation) throws(EventLogError) -> CheckedBlock
    private let decompressor = ZstdDecompressor()
    private var slots: [Result<[Event], EventLogError>?]
    private let ready: [DispatchSemaphore]
    private let room: DispatchSemaphore
    private let cancelled = Atomic<Bool>(false)

    init(blocks: [BlockLocation], depth: Int = 4, read: @escaping (BlockLocation) throws(EventLogError) -> CheckedBlock) {
        self.blocks = blocks
        self.read = read
        slots = Array(repeating: nil, count: blocks.count)
        ready = blocks.map { _ in DispatchSemaphore(value: 0) }
        room = DispatchSemaphore(value: depth)
    }

    /// Calls `body` with every event of every block, in order, while later blocks decode.
    func forEachEvent(_ body: (Event) -> Void) throws(EventLogError) {
        DispatchQueue.global().async { self.produce() }
        defer {
            // Unblock and stop the worker if we leave early (an error).
            cancelled.store(true, ordering: .releasing)
            room.signal()
        }
        for i in blocks.indices {
            ready[i].wait()
            let result = slots[i]!
            slots[i] = nil
            room.signal()
            for event in try result.get() { body(event) }
        }
    }

    private func produce() {
        var scratch: [UInt8] = []
        for (i, location) in blocks.enumerated() {
            room.wait()
            if cancelled.load(ordering: .acquiring) { return }
            var events: [Event] = []
            events.reserveCapacity(location.recordCount)
            do throws(EventLogError) {
                let block = try read(location)
                try block.forEachRecord(using: decompressor, scratch: &scratch) { event, _ in events.append(event) }
                slots[i] = .success(events)
            } catch {
                slots[i] = .failure(error)
                ready[i].signal()
                return
            }
            ready[i].signal()
        }
    }
}
