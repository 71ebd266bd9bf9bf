import Dispatch
import DoraEvents
import Synchronization

/// Folds the records of a list of items (a log's blocks, a spill's chunks) into one
/// accumulator per worker thread.
///
/// Workers take the next unread item from a shared counter, have `records` read it (into the
/// worker's own buffers) and hand each record, read in place, straight to their own
/// accumulator: no `Event` is built, none crosses a thread, and nothing is kept after it is
/// folded. Which worker gets which item is unspecified, so the fold must not depend on event
/// order (the metric engine's does not). The first item that fails to read stops every worker
/// and its error is thrown. `@unchecked Sendable`: each worker writes only its own slot of
/// `states` and `failures` (separately allocated, so no array is shared while they run), and
/// the owner reads them only after waiting for them all.
final class ParallelRecordFold<State>: @unchecked Sendable {
    /// Reads item `item` with a worker's `buffers` and calls `body` with each of its records
    /// and the record's binary encoding, both valid only during the call.
    typealias Records = (
        _ item: Int, _ buffers: inout RecordBuffers, _ body: (EventRecord, UnsafeRawBufferPointer) -> Void
    ) throws(EventLogError) -> Void

    private let items: Int
    private let records: Records
    private let next = Atomic<Int>(0)
    private let cancelled = Atomic<Bool>(false)
    private let workers: Int
    private let states: UnsafeMutablePointer<State>
    private let failures: UnsafeMutablePointer<(item: Int, error: EventLogError)?>
    private var statesMoved = false

    init(items: Int, states initial: [State], records: @escaping Records) {
        self.items = items
        self.records = records
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
    /// - Throws: the error of the earliest item that failed to read.
    func run(_ add: @escaping @Sendable (inout State, EventRecord, UnsafeRawBufferPointer) -> Void) throws(EventLogError) -> [State] {
        // The calling thread is one of the workers. Blocking it while the others ran on
        // Dispatch's global queue would leave a worker waiting for a free thread when the
        // caller is one of that pool's (a Swift task's): on two cores, for about a second.
        DispatchQueue.concurrentPerform(iterations: workers) { w in work(worker: w, add) }
        let failed = (0..<workers).compactMap { failures[$0] }
        if let first = failed.min(by: { $0.item < $1.item }) { throw first.error }
        // Moved out, not copied: a copy would share the accumulators' storage and make the
        // caller's first mutation copy all of it.
        statesMoved = true
        return (0..<workers).map { (states + $0).move() }
    }

    private func work(worker: Int, _ add: (inout State, EventRecord, UnsafeRawBufferPointer) -> Void) {
        var buffers = RecordBuffers()
        while !cancelled.load(ordering: .relaxed) {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard i < items else { return }
            do throws(EventLogError) {
                try records(i, &buffers) { record, encoded in add(&states[worker], record, encoded) }
            } catch {
                failures[worker] = (i, error)
                cancelled.store(true, ordering: .relaxed)
                return
            }
        }
    }
}

/// One fold worker's reusable buffers: a decompressor and the bytes of the item being read.
struct RecordBuffers {
    let decompressor = ZstdDecompressor()
    var scratch: [UInt8] = []
}
