import DoraEvents
import DoraMetrics
import Testing

/// The live run's lead times, kept deploy by deploy, against a derivation from scratch.
@Suite struct LeadTimeIndexTests {
    static func leadTimes(_ engine: MetricsEngine) -> [ServiceTimedSamples] {
        engine.timedSamples(.leadTime)
    }

    @Test(arguments: [31, 32] as [UInt64])
    func keptLeadTimesEqualDerivedOnesAfterEveryBatchEvenWithLateDeploys(seed: UInt64) {
        // Shuffled: deploys arrive out of time order, and later deploys repeat earlier shas.
        var generator = SystemRandomNumberGenerator()
        var events = GeneratedPropertyTests.events(seed: seed)
        for i in events.indices.dropLast(1) where Int.random(in: 0..<8, using: &generator) == 0 {
            events.swapAt(i, Int.random(in: i..<min(events.count, i + 400), using: &generator))
        }
        var kept = MetricsEngine()
        kept.trackLeadTimes()
        var derived = MetricsEngine()
        var checked = 0
        for (i, e) in events.enumerated() {
            kept.add(e)
            derived.add(e)
            if i % 500 == 499 || i == events.count - 1 {
                let (a, b) = (Self.leadTimes(kept), Self.leadTimes(derived))
                #expect(a == b, "after \(i + 1) events")
                checked += a.reduce(0) { $0 + $1.samples.count }
            }
        }
        #expect(checked > 10_000)
    }

    @Test func anEarlierDeployOfAShaTakesItsLeadTimeOver() {
        let t0 = Timestamp(microseconds: 1_700_000_000_000_000)
        let hour: Int64 = 3_600_000_000
        func deploy(_ id: String, at hours: Int64, shas: [String]) -> Event {
            let commits = shas.map { Event.Commit(sha: $0, time: t0) }
            return Event(
                id: id, time: Timestamp(microseconds: t0.microseconds + hours * hour), service: "api",
                details: .deploy(Event.Deploy(version: id, commits: commits)))
        }
        var kept = MetricsEngine()
        kept.trackLeadTimes()
        kept.add(deploy("late", at: 5, shas: ["a", "b"]))
        #expect(Self.leadTimes(kept).first?.samples.map(\.value) == [5 * hour, 5 * hour])
        // Arriving after it, a deploy three hours earlier ships "a" first.
        kept.add(deploy("early", at: 3, shas: ["a"]))
        let samples = Self.leadTimes(kept).first?.samples ?? []
        #expect(samples.map(\.id) == ["early", "late"])
        #expect(samples.map(\.value) == [3 * hour, 5 * hour])
    }

    @Test func aLateForgottenDeployChangesTheLeadTimesAndTouchesTheServiceOnlyWhenARetainedDeployShipsItsSha() {
        let t0 = Timestamp(microseconds: 1_700_000_000_000_000)
        let hour: Int64 = 3_600_000_000
        func deploy(_ id: String, at hours: Int64, shas: [String]) -> Event {
            Event(
                id: id, time: Timestamp(microseconds: t0.microseconds + hours * hour), service: "api",
                details: .deploy(Event.Deploy(version: id, commits: shas.map { Event.Commit(sha: $0, time: t0) })))
        }
        var kept = MetricsEngine()
        kept.trackLeadTimes()
        var derived = MetricsEngine()
        for e in [deploy("old", at: 0, shas: ["o"]), deploy("d1", at: 100, shas: ["a", "b"])] {
            kept.add(e)
            derived.add(e)
        }
        let cutoff = Timestamp(microseconds: t0.microseconds + 50 * hour)
        kept.forget(before: cutoff, commitsSince: t0)
        derived.forget(before: cutoff, commitsSince: t0)
        _ = kept.takeTouchedServices()
        let before = Self.leadTimes(kept)
        #expect(before.first?.samples.map(\.value) == [100 * hour, 100 * hour])
        // Arriving after the cutoff passed it: a deploy of a sha that no retained deploy ships.
        kept.addForgotten(deploy("late-1", at: 10, shas: ["x", "o"]))
        derived.addForgotten(deploy("late-1", at: 10, shas: ["x", "o"]))
        #expect(kept.takeTouchedServices().isEmpty, "nothing to evaluate again")
        #expect(Self.leadTimes(kept) == before && Self.leadTimes(derived) == before)
        // One of "a": d1 no longer ships it first.
        kept.addForgotten(deploy("late-2", at: 20, shas: ["a"]))
        derived.addForgotten(deploy("late-2", at: 20, shas: ["a"]))
        #expect(kept.takeTouchedServices() == ["api"])
        #expect(Self.leadTimes(kept).first?.samples.map(\.value) == [100 * hour])
        #expect(Self.leadTimes(kept) == Self.leadTimes(derived))
    }

    @Test func theFirstEntryOfAShaInItsFirstDeployGivesItsTimeAndACommitAfterItsDeployNone() {
        // metrics.md §2.2: the commit time is the first entry's for that sha in that deploy; a
        // commit time after the deploy excludes the sha, whatever later deploys ship it.
        let t0 = Timestamp(microseconds: 1_700_000_000_000_000)
        let hour: Int64 = 3_600_000_000
        func deploy(_ id: String, at hours: Int64, _ commits: [(String, Int64)]) -> Event {
            Event(
                id: id, time: Timestamp(microseconds: t0.microseconds + hours * hour), service: "api",
                details: .deploy(Event.Deploy(
                    version: id,
                    commits: commits.map { Event.Commit(sha: $0.0, time: Timestamp(microseconds: t0.microseconds + $0.1 * hour)) })))
        }
        let events = [
            deploy("d2", at: 5, [("a", 1), ("a", 2), ("x", 6)]),
            deploy("d3", at: 8, [("x", 6), ("b", 7)]),
            deploy("d1", at: 4, [("x", 6)]),  // late, and earlier: now first for x, still after its deploy
        ]
        var kept = MetricsEngine()
        kept.trackLeadTimes()
        var derived = MetricsEngine()
        for e in events {
            kept.add(e)
            derived.add(e)
            #expect(Self.leadTimes(kept) == Self.leadTimes(derived))
        }
        let samples = Self.leadTimes(kept).first?.samples ?? []
        #expect(samples.map(\.id) == ["d2", "d3"])
        #expect(samples.map(\.value) == [4 * hour, 1 * hour], "a: 5h - 1h (its first entry); b: 8h - 7h; x: none")
    }

    @Test func mergedEnginesFallBackToDerivationAndTrackAgainOnceConsolidated() {
        let events = GeneratedPropertyTests.events(seed: 33, count: 3000)
        var whole = MetricsEngine()
        for e in events { whole.add(e) }
        var first = MetricsEngine()
        first.trackLeadTimes()
        var second = MetricsEngine()
        for (i, e) in events.enumerated() {
            if i % 2 == 0 { first.add(e) } else { second.add(e) }
        }
        first.merge(second)
        #expect(Self.leadTimes(first) == Self.leadTimes(whole))
        first.consolidate()
        #expect(Self.leadTimes(first) == Self.leadTimes(whole))
    }
}
