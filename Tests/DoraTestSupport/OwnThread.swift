import Foundation

/// Runs blocking work (child processes, sleeps, librdkafka polls) on a thread of its own.
///
/// Swift Testing runs test functions on Swift's cooperative pool, which has one thread per
/// core: a test that blocks one of those threads for a minute stalls every other test on a
/// two-core machine. Tests that block for seconds wrap their body in this.
public func onOwnThread<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
