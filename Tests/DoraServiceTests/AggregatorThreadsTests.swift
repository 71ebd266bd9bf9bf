@testable import DoraService
import DoraMetrics
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct AggregatorThreadsTests {
    /// An actor on the threads' executor that notes, per call, its thread and that thread's
    /// nice value.
    actor Probe {
        let threads: AggregatorThreads
        nonisolated var unownedExecutor: UnownedSerialExecutor { threads.asUnownedSerialExecutor() }
        private(set) var calls: [(order: Int, thread: pthread_t, nice: Int32)] = []

        init(threads: AggregatorThreads) { self.threads = threads }

        func note(_ order: Int) {
            calls.append((order, pthread_self(), AggregatorThreadsTests.niceOfThisThread()))
        }
    }

    static func niceOfThisThread() -> Int32 {
        getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
    }

    @Test func anActorOnTheExecutorRunsOnOneThreadOfLoweredPriorityInOrder() async {
        let threads = AggregatorThreads(niceness: 3, helpers: 1)
        defer { threads.stop() }
        let probe = Probe(threads: threads)
        let own = Self.niceOfThisThread()
        for i in 0..<50 { await probe.note(i) }
        let calls = await probe.calls
        #expect(calls.map(\.order) == Array(0..<50))
        #expect(calls.allSatisfy { pthread_equal($0.thread, calls[0].thread) != 0 })
        #expect(pthread_equal(calls[0].thread, pthread_self()) == 0)
        #expect(calls.allSatisfy { $0.nice == min(19, own + 3) })
    }

    @Test func workRunsOnTheCallerAndEveryLoweredHelperBeforeRunEverywhereReturns() {
        let threads = AggregatorThreads(niceness: 2, helpers: 2)
        defer { threads.stop() }
        let own = Self.niceOfThisThread()
        let runs = Mutex<[(thread: pthread_t, nice: Int32)]>([])
        threads.runEverywhere {
            usleep(20_000)  // slow work: a return before the helpers finish would show below
            runs.withLock { $0.append((pthread_self(), Self.niceOfThisThread())) }
        }
        let seen = runs.withLock { $0 }
        #expect(seen.count == 3)
        let helpers = seen.filter { pthread_equal($0.thread, pthread_self()) == 0 }
        #expect(helpers.count == 2)
        #expect(pthread_equal(helpers[0].thread, helpers[1].thread) == 0)
        #expect(helpers.allSatisfy { $0.nice == min(19, own + 2) })
    }

    @Test func aMapOnTheHelpersGivesEveryResultInInputOrder() {
        let threads = AggregatorThreads(niceness: 0, helpers: 1)
        defer { threads.stop() }
        let items = Array(0..<5_000)
        for _ in 0..<3 {
            #expect(ParallelMap.map(items, on: .helpers(threads)) { $0 * 3 + 1 } == items.map { $0 * 3 + 1 })
        }
        #expect(ParallelMap.map([7], on: .helpers(threads)) { $0 + 1 } == [8])
        #expect(ParallelMap.map([Int](), on: .helpers(threads)) { $0 + 1 } == [])
    }
}
