import Dispatch
import DoraEventLog
import DoraEvents
import Synchronization

/// One durable append: its counts and the events it stored.
struct Appended: Sendable {
    var summary: AppendSummary
    var stored: StoredRecords
}

/// Hands durable appends from the ingest thread to the aggregator, which takes everything
/// queued at once: when evaluation is slower than ingestion, appends coalesce into one
/// evaluation instead of queueing one evaluation each (same transitions: evaluation happens at
/// sample times, whatever the batching).
///
/// The queue is bounded: once it holds more than `byteLimit` bytes of records, `push` waits
/// until the aggregator takes them. Ingestion then reads no further, and what is not read yet
/// waits in Kafka, not in memory: without the bound, a backfill (a topic's history read at
/// ingestion's speed, several times the live state's) queued its records without limit (228 MB
/// at one point of a run whose live state ran slower than ingestion, bench/RESULTS.md,
/// twenty-ninth session).
///
/// Invariant: after `finish`, `take` returns what is left, then nil; `push` no longer waits.
final class AppendQueue: Sendable {
    /// The default `byteLimit`: 32 MiB, about 300,000 events of the generated streams.
    static let defaultByteLimit = 32 << 20

    /// Bytes of records the queue holds before `push` waits for the aggregator.
    let byteLimit: Int
    /// Signalled when the queue empties or finishes while a `push` waits for room.
    private let room = DispatchSemaphore(value: 0)

    private struct State: Sendable {
        var items: [Appended] = []
        /// The records' bytes in `items`.
        var bytes = 0
        /// Whether a `push` waits for room (`take` and `finish` then signal `room`).
        var pushWaits = false
        var caughtUp = false
        var ticked = false
        var finished = false
        var finishedAt: ContinuousClock.Instant?
        var waiter: CheckedContinuation<Void, Never>?

        /// Whether a `push` waits for room, which it will no longer: the caller signals `room`.
        mutating func takePushWaits() -> Bool {
            defer { pushWaits = false }
            return pushWaits
        }
    }

    private let state = Mutex(State())

    init(byteLimit: Int = AppendQueue.defaultByteLimit) {
        self.byteLimit = byteLimit
    }

    /// Queues one append (the ingest thread); then, while the queue holds more than
    /// `byteLimit` bytes and is not finished, waits for the aggregator to take them, checking
    /// `keepWaiting` about ten times a second (a stop request ends the wait).
    func push(_ append: Appended, keepWaiting: () -> Bool = { true }) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.items.append(append)
            s.bytes += append.stored.byteCount
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
        while keepWaiting() {
            let full = state.withLock { s -> Bool in
                s.pushWaits = s.bytes > byteLimit && !s.finished
                return s.pushWaits
            }
            guard full else { return }
            _ = room.wait(timeout: .now() + .milliseconds(100))
        }
    }

    /// Whether ingestion has handed over everything it read and every partition is at its end
    /// (set by the ingest thread after the appends it concerns were pushed).
    func setCaughtUp(_ value: Bool) {
        state.withLock { $0.caughtUp = value }
    }

    /// Wakes a waiting `take` with no appends (the aggregator's clock ticks).
    func tick() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.ticked = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// No more appends will come.
    func finish() {
        let (waiter, pushWaits) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Bool) in
            s.finished = true
            if s.finishedAt == nil { s.finishedAt = .now }
            defer { s.waiter = nil }
            return (s.waiter, s.takePushWaits())
        }
        waiter?.resume()
        if pushWaits { room.signal() }
    }

    /// When `finish` was first called (the drain's log line says how long it took after).
    var finishedAt: ContinuousClock.Instant? { state.withLock { $0.finishedAt } }

    /// What the aggregator takes at once: the appends queued, and whether ingestion was caught
    /// up when they were taken (then nothing it read is missing from them).
    struct Taken: Sendable {
        var appends: [Appended]
        var caughtUp: Bool
    }

    /// Everything queued, waiting for at least one append or a tick (which may give none);
    /// nil once finished and empty (or when the task is cancelled).
    func take() async -> Taken? {
        enum Step { case take(Taken, pushWaits: Bool), end, wait }
        while true {
            let step = state.withLock { s -> Step in
                defer { s.ticked = false }
                if !s.items.isEmpty {
                    defer {
                        s.items.removeAll()
                        s.bytes = 0
                    }
                    return .take(Taken(appends: s.items, caughtUp: s.caughtUp), pushWaits: s.takePushWaits())
                }
                if s.finished { return .end }
                return s.ticked ? .take(Taken(appends: [], caughtUp: s.caughtUp), pushWaits: false) : .wait
            }
            switch step {
            case .take(let taken, let pushWaits):
                if pushWaits { room.signal() }
                return taken
            case .end: return nil
            case .wait: break
            }
            if Task.isCancelled { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { s -> Bool in
                        if !s.items.isEmpty || s.finished || s.ticked { return true }
                        s.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                finish()
            }
        }
    }
}
