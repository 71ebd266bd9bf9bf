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
}
