import Dispatch
import DoraMetrics
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The threads of the live state, all at a lowered scheduling priority (a higher nice value),
/// so that when they compete with ingestion for a core, ingestion (which makes events durable
/// and acknowledges them) goes first and the derived state takes what is left. When ingestion
/// idles, the priority changes nothing: they get every core.
///
/// One thread is the live state's serial executor; the others (one per further core) help it
/// with the parallel parts of a round (`ParallelMap`), and one computes the live reports off
/// the executor (`report`). Invariants: executor jobs run one at a time, in the order they
/// were enqueued, and so do reports; after `stop`, every thread finishes what it was given and
/// exits.
final class AggregatorThreads: SerialExecutor, HelperThreads, Sendable {
    /// The nice value each thread adds to its own (Linux: 0 to 19). Raising it needs no
    /// privilege and lowering it back does, so it is set once, on threads no one else uses.
    let niceness: Int32
    private let jobs = Mutex(Jobs())
    /// One signal per job, and one for `stop`.
    private let ready = DispatchSemaphore(value: 0)
    private let helpers: [Helper]
    /// Whether `runEverywhere` is running (it serves one caller at a time).
    private let helping = Atomic<Bool>(false)
    private let reporter: WorkQueue

    private struct Jobs: ~Copyable {
        var queue: [UnownedJob] = []
        var head = 0
    }

    /// - Parameter helpers: how many threads help with a round's parallel parts (default:
    ///   one per core besides the executor's).
    init(niceness: Int32, helpers: Int = max(0, ProcessInfo.processInfo.activeProcessorCount - 1)) {
        self.niceness = niceness
        self.helpers = (0..<helpers).map { _ in Helper(niceness: niceness) }
        reporter = WorkQueue(name: "doralog-report", niceness: niceness)
        Self.start(name: "doralog-live", niceness: niceness) { [self] in runJobs() }
    }

    // MARK: The serial executor

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.queue.append(job) }
        ready.signal()
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets every thread exit once it has run what it was given; nothing may be enqueued after
    /// (the live state calls it when it goes away).
    func stop() {
        ready.signal()
        for h in helpers { h.give(nil) }
        reporter.stop()
    }

    private func runJobs() {
        while true {
            ready.wait()
            let next = jobs.withLock { j -> UnownedJob? in
                guard j.head < j.queue.count else { return nil }
                defer {
                    j.head += 1
                    if j.head > 1024 && j.head * 2 > j.queue.count {
                        j.queue.removeFirst(j.head)
                        j.head = 0
                    }
                }
                return j.queue[j.head]
            }
            // Each job and `stop` signal once: no job for a signal means it was the stop's,
            // and every job queued before it has run.
            guard let next else { return }
            next.runSynchronously(on: asUnownedSerialExecutor())
        }
    }

    // MARK: The helpers

    /// Serves one caller at a time (the live state's actor, which never nests two maps).
    func runEverywhere(_ work: @escaping @Sendable () -> Void) {
        precondition(!helping.exchange(true, ordering: .acquiring), "the helpers serve one map at a time")
        defer { helping.store(false, ordering: .releasing) }
        for h in helpers { h.give(work) }
        work()
        for h in helpers { h.waitUntilDone() }
    }

    /// One helper thread: it runs each piece of work it is given, then says so.
    private final class Helper: Sendable {
        private let work = Mutex<(@Sendable () -> Void)?>(nil)
        private let given = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)

        init(niceness: Int32) {
            // The thread holds the helper, not the threads object, so that one can go away.
            AggregatorThreads.start(name: "doralog-helper", niceness: niceness) { [self] in
                while true {
                    given.wait()
                    guard runGivenWork() else { return }
                    done.signal()
                }
            }
        }

        /// Runs the work given, if any, and lets go of it before returning (`ParallelMap` checks
        /// that its closure did not escape once every thread said it is done).
        private func runGivenWork() -> Bool {
            guard let w = work.withLock({ $0.take() }) else { return false }
            w()
            return true
        }

        /// Gives it `work` to run (nil: exit).
        func give(_ w: (@Sendable () -> Void)?) {
            work.withLock { $0 = w }
            given.signal()
        }

        func waitUntilDone() { done.wait() }
    }

    // MARK: The report thread

    /// Runs `work` on the report thread, after the reports asked for before it, and returns
    /// its result.
    func report<R: Sendable>(_ work: @escaping @Sendable () -> R) async -> R {
        await withCheckedContinuation { done in reporter.add { done.resume(returning: work()) } }
    }

    /// One thread running the work added to it, one piece at a time, in order.
    private final class WorkQueue: Sendable {
        private let queue = Mutex<[(@Sendable () -> Void)?]>([])
        private let added = DispatchSemaphore(value: 0)

        init(name: String, niceness: Int32) {
            AggregatorThreads.start(name: name, niceness: niceness) { [self] in
                while true {
                    added.wait()
                    guard let work = queue.withLock({ $0.removeFirst() }) else { return }
                    work()
                }
            }
        }

        func add(_ work: @escaping @Sendable () -> Void) {
            queue.withLock { $0.append(work) }
            added.signal()
        }

        /// Lets the thread exit once it has run the work added before.
        func stop() {
            queue.withLock { $0.append(nil) }
            added.signal()
        }
    }

    /// Starts a thread whose priority is lowered by `niceness` before it runs `body`.
    private static func start(name: String, niceness: Int32, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            #if canImport(Glibc)
                // On Linux the nice value is per thread, and `who` 0 is the calling thread.
                if niceness > 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) }
            #endif
            body()
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }
}
