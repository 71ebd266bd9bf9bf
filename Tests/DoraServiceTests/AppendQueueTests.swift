@testable import DoraService
import DoraEventLog
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
        let first = await queue.takeAll()
        #expect(first?.map(\.summary.stored) == [1, 2])
        queue.push(append(3))
        queue.finish()
        #expect(await queue.takeAll()?.map(\.summary.stored) == [3], "what is left after finish still comes out")
        #expect(await queue.takeAll() == nil)
    }

    @Test func aWaitingTakerWakesUpWhenSomethingArrives() async {
        let queue = AppendQueue()
        async let taken = queue.takeAll()
        try? await Task.sleep(for: .milliseconds(50))
        queue.push(append(7))
        #expect(await taken?.first?.summary.stored == 7)
    }

    @Test func cancellingAWaitingTakerEndsIt() async {
        let queue = AppendQueue()
        let task = Task { await queue.takeAll() }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        #expect(await task.value == nil)
    }

    @Test func aPauseEndsOnceTheQueueIsFinished() async {
        let queue = AppendQueue()
        // Ten minutes unless `finish` ends it (the result says which, whatever the load).
        async let endedByFinish = queue.pause(for: .seconds(600))
        try? await Task.sleep(for: .milliseconds(50))
        queue.finish()
        #expect(await endedByFinish)
        #expect(queue.isFinished)
    }

    @Test func aPauseLastsItsDurationWhileTheQueueIsOpen() async {
        let queue = AppendQueue()
        let clock = ContinuousClock()
        let began = clock.now
        #expect(await queue.pause(for: .milliseconds(100)) == false)
        #expect(clock.now - began >= .milliseconds(100))
        #expect(!queue.isFinished)
    }
}
