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

    /// Everything queued, waiting for at least one append; nil once finished and empty (or
    /// when the task is cancelled).
    func takeAll() async -> [Appended]? {
        while true {
            let taken = state.withLock { s -> [Appended]? in
                if !s.items.isEmpty {
                    defer { s.items.removeAll() }
                    return s.items
                }
                return s.finished ? [] : nil
            }
            if let taken { return taken.isEmpty ? nil : taken }
            if Task.isCancelled { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { s -> Bool in
                        if !s.items.isEmpty || s.finished { return true }
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
