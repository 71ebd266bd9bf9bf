import Dispatch
import DoraEvents
import Synchronization

/// Folds the events of a list of blocks into one accumulator per worker thread.
///
/// Workers take the next unread block from a shared counter, read, check and decode it, and
/// hand each record, read in place, straight to their own accumulator: no `Event` is built,
/// none crosses a thread, and nothing is kept after it is folded. Which worker gets which
/// block is unspecified, so the fold must not depend on event order (the metric engine's does
/// not). The first damaged block stops every worker and is thrown. `@unchecked Sendable`: each
/// worker writes only its own slot of `states` and `failures` (separately allocated, so no
/// array is shared while they run), and the owner reads them only after waiting for them all.
final class ParallelBlockFold<State>: @unchecked Sendable {
    private let blocks: [BlockLocation]
    private let read: (BlockLocation) throws(EventLogError) -> CheckedBlock
    private let next = Atomic<Int>(0)
    private let cancelled = Atomic<Bool>(false)
    private let workers: Int
    private let states: UnsafeMutablePointer<State>
    private let failures: UnsafeMutablePointer<(block: Int, error: EventLogError)?>
    private var statesMoved = false

    init(blocks: [BlockLocation], states initial: [State], read: @escaping (BlockLocation) throws(EventLogError) -> CheckedBlock) {
        self.blocks = blocks
        self.read = read
        workers = initial.count
        states = .allocate(capacity: workers)
        _ = UnsafeMutableBufferPointer(start: states, count: workers).initialize(from: initial)
        failures = .allocate(capacity: workers)
        failures.initialize(repeating: nil, count: workers)
    }

    deinit {
        if !statesMoved { states.deinitialize(count: workers) }
        states.deallocate()
        failures.deinitialize(count: workers)
        failures.deallocate()
    }

    /// Runs the workers and returns their accumulators, in worker order. Call it once.
    /// - Throws: the error of the earliest damaged block a worker met.
    func run(_ add: @escaping @Sendable (inout State, EventRecord) -> Void) throws(EventLogError) -> [State] {
        // The calling thread is one of the workers. Blocking it while the others ran on
        // Dispatch's global queue would leave a worker waiting for a free thread when the
        // caller is one of that pool's (a Swift task's): on two cores, for about a second.
        DispatchQueue.concurrentPerform(iterations: workers) { w in work(worker: w, add) }
        let failed = (0..<workers).compactMap { failures[$0] }
        if let first = failed.min(by: { $0.block < $1.block }) { throw first.error }
        // Moved out, not copied: a copy would share the accumulators' storage and make the
        // caller's first mutation copy all of it.
        statesMoved = true
        return (0..<workers).map { (states + $0).move() }
    }

    private func work(worker: Int, _ add: (inout State, EventRecord) -> Void) {
        let decompressor = ZstdDecompressor()
        var scratch: [UInt8] = []
        while !cancelled.load(ordering: .relaxed) {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard i < blocks.count else { return }
            do throws(EventLogError) {
                let block = try read(blocks[i])
                try block.forEachEventRecord(using: decompressor, scratch: &scratch) { record, _ in add(&states[worker], record) }
            } catch {
                failures[worker] = (i, error)
                cancelled.store(true, ordering: .relaxed)
                return
            }
        }
    }
}
