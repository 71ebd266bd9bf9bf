import Foundation

/// Runs blocking work (child processes, sleeps, librdkafka polls) on a thread of its own.
///
/// Swift Testing runs test functions on Swift's cooperative pool, which has one thread per
/// core: a test that blocks one of those threads for a minute stalls every other test on a
/// two-core machine. Tests that block for seconds wrap their body in this. The body stays in the
/// calling task (a task-executor preference, not a detached thread), so `#expect` inside it is
/// still attributed to the test that called it.
public func onOwnThread<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
    let executor = DedicatedThreadExecutor()
    defer { executor.shutdown() }
    return try await withTaskExecutorPreference(executor) { try body() }
}

/// A task executor that runs its jobs, in order, on one thread it owns.
///
/// Invariant: the thread ends only after `shutdown()` and once no job is left; a job enqueued
/// after that runs on a thread of its own, so no job is ever dropped.
final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false  // guarded by `condition`

    init() {
        let thread = Thread { [self] in runJobs() }
        thread.stackSize = 8 << 20
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        defer { condition.unlock() }
        if finished {
            Thread { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }.start()
        } else {
            jobs.append(job)
            condition.signal()
        }
    }

    func shutdown() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            guard !jobs.isEmpty else { return condition.unlock() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
