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
/// sample times, whatever the batching). Ingestion never waits for the aggregator.
///
/// Invariant: after `finish`, `takeAll` returns what is left, then nil.
final class AppendQueue: Sendable {
    private struct State: Sendable {
        var items: [Appended] = []
        var caughtUp = false
        var ticked = false
        var finished = false
        var finishedAt: ContinuousClock.Instant?
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Queues one append (the ingest thread).
    func push(_ append: Appended) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.items.append(append)
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
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
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            if s.finishedAt == nil { s.finishedAt = .now }
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
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
        enum Step { case take(Taken), end, wait }
        while true {
            let step = state.withLock { s -> Step in
                defer { s.ticked = false }
                if !s.items.isEmpty {
                    defer { s.items.removeAll() }
                    return .take(Taken(appends: s.items, caughtUp: s.caughtUp))
                }
                if s.finished { return .end }
                return s.ticked ? .take(Taken(appends: [], caughtUp: s.caughtUp)) : .wait
            }
            switch step {
            case .take(let taken): return taken
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
