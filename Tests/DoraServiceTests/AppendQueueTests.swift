@testable import DoraService
import DoraEventLog
import Foundation
import Synchronization
import Testing

@Suite struct AppendQueueTests {
    func append(_ stored: Int) -> Appended {
        var summary = AppendSummary()
        summary.stored = stored
        return Appended(summary: summary, stored: .none)
    }

    @Test func everythingQueuedIsTakenAtOnceThenNilAfterFinish() async {
        let queue = AppendQueue()
        queue.push(append(1))
        queue.push(append(2))
        let first = await queue.take()
        #expect(first?.appends.map(\.summary.stored) == [1, 2])
        queue.push(append(3))
        queue.finish()
        #expect(await queue.take()?.appends.map(\.summary.stored) == [3], "what is left after finish still comes out")
        #expect(await queue.take() == nil)
    }

    @Test func aWaitingTakerWakesUpWhenSomethingArrives() async {
        let queue = AppendQueue()
        async let taken = queue.take()
        try? await Task.sleep(for: .milliseconds(50))
        queue.push(append(7))
        #expect(await taken?.appends.first?.summary.stored == 7)
    }

    @Test func cancellingAWaitingTakerEndsIt() async {
        let queue = AppendQueue()
        let task = Task { await queue.take() }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        #expect(await task.value == nil)
    }

    @Test func aTickWakesTheTakerWithNothingAndSaysWhetherIngestionIsCaughtUp() async {
        let queue = AppendQueue()
        async let taken = queue.take()
        try? await Task.sleep(for: .milliseconds(50))
        queue.setCaughtUp(true)
        queue.tick()
        let woken = await taken
        #expect(woken?.appends.isEmpty == true && woken?.caughtUp == true)
        queue.push(append(4))
        queue.setCaughtUp(false)
        let next = await queue.take()
        #expect(next?.appends.count == 1 && next?.caughtUp == false, "the state at the take, not at the push")
    }

    @Test func theQueueKeepsWhenItWasFirstFinished() {
        let queue = AppendQueue()
        #expect(queue.finishedAt == nil)
        queue.finish()
        let first = queue.finishedAt
        #expect(first != nil)
        queue.finish()
        #expect(queue.finishedAt == first)
    }

    /// A flag shared between a test and a thread.
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .acquiring) }
        func set() { value.store(true, ordering: .releasing) }
    }

    /// Pushes `append` on a thread of its own; the flag is set once the push returns.
    func pushOnAThread(_ queue: AppendQueue, _ append: Appended, keepWaiting: @escaping @Sendable () -> Bool = { true }) -> Flag {
        let returned = Flag()
        Thread {
            queue.push(append, keepWaiting: keepWaiting)
            returned.set()
        }.start()
        return returned
    }

    /// Whether `flag` is set within five seconds.
    func becomesSet(_ flag: Flag) async -> Bool {
        for _ in 0..<500 {
            if flag.isSet { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test func aPushOverTheByteLimitWaitsUntilTheAggregatorTakesTheQueue() async {
        let queue = AppendQueue(byteLimit: 0)  // any record frame is over it
        let returned = pushOnAThread(queue, append(5))
        try? await Task.sleep(for: .milliseconds(300))
        #expect(!returned.isSet, "the push waits while the queue is over its limit")
        #expect(await queue.take()?.appends.map(\.summary.stored) == [5])
        #expect(await becomesSet(returned), "taking the queue lets the push return")
    }

    @Test func aPushUnderTheByteLimitReturnsAtOnce() async {
        let queue = AppendQueue(byteLimit: 1)  // `.none` is one byte: at the limit, not over it
        let returned = pushOnAThread(queue, append(1))
        #expect(await becomesSet(returned))
    }

    @Test func finishingTheQueueEndsAWaitingPush() async {
        let queue = AppendQueue(byteLimit: 0)
        let returned = pushOnAThread(queue, append(1))
        try? await Task.sleep(for: .milliseconds(200))
        queue.finish()
        #expect(await becomesSet(returned))
        #expect(await queue.take()?.appends.count == 1, "what was pushed is still taken after finish")
    }

    @Test func aStopRequestEndsAWaitingPush() async {
        let queue = AppendQueue(byteLimit: 0)
        let stop = Flag()
        let returned = pushOnAThread(queue, append(1)) { !stop.isSet }
        try? await Task.sleep(for: .milliseconds(200))
        #expect(!returned.isSet)
        stop.set()
        #expect(await becomesSet(returned), "the wait checks keepWaiting about ten times a second")
    }
}
