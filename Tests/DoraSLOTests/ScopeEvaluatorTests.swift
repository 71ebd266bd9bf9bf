import DoraEvents
import DoraMetrics
@testable import DoraSLO
import Testing

/// The state machines of slo.md, fed hand-made samples.
@Suite struct ScopeEvaluatorTests {
    static let minute: Int64 = 60_000_000
    static let day: Int64 = 86_400_000_000

    /// An SLO on rollback time: p95 under 5 minutes over 1 day, at least 5 samples.
    func slo(regression: SLODefinition.Regression? = nil) -> SLODefinition {
        var slo = SLODefinition(name: "rb", metric: .rollbackTime, objective: 5 * Self.minute)
        slo.window = Self.day
        slo.regression = regression
        return slo
    }

    func samples(_ minutes: [Int64], startingAt hour: Int64 = 0) -> [TimedSample] {
        minutes.enumerated().map { i, v in
            TimedSample(time: (hour + Int64(i)) * 3_600_000_000, value: v * Self.minute, id: "r-\(hour + Int64(i))")
        }
    }

    @Test func aBreachNeedsMinSamplesThenFiresAndResolvesAtTheRightSample() {
        var e = ScopeEvaluator(slo: slo(), scope: .service("checkout"))
        // Four slow rollbacks: too few samples for a verdict.
        #expect(e.add(samples([9, 9, 9, 9])).isEmpty)
        // The fifth makes five samples, p95 = 9 min > 5 min: fires at that sample.
        let fired = e.add(samples([9], startingAt: 4))
        #expect(fired.count == 1)
        #expect(fired.first?.kind == .breach && fired.first?.state == .firing)
        #expect(fired.first?.at == 4 * 3_600_000_000 && fired.first?.samples == 5)
        #expect(fired.first?.value == 9 * Self.minute)
        // Fast rollbacks. The window is (t - 1 day, t]; p95 is the 23rd smallest of 24 values,
        // so one slow sample left is tolerated: at hour 27 only hour 4's remains.
        var transitions: [SLOAlert] = []
        for h in 5..<30 { transitions += e.add(samples([1], startingAt: Int64(h))) }
        #expect(transitions.count == 1)
        #expect(transitions.first?.state == .resolved)
        #expect(transitions.first?.at == Int64(27) * 3_600_000_000)
        #expect(transitions.first?.value == Self.minute)
    }

    @Test func samplesAtTheSameTimeAreOneEvaluation() {
        var e = ScopeEvaluator(slo: slo(), scope: .service("checkout"))
        let t: Int64 = 1_000_000
        let same = (0..<5).map { TimedSample(time: t, value: 10 * Self.minute, id: "r-\($0)") }
        let out = e.add(same)
        #expect(out.count == 1 && out[0].samples == 5)
        #expect(out[0].exemplars == ["r-0", "r-1", "r-2"], "largest first, ties by id")
    }

    @Test func exemplarsAreTheLargestSamplesOfTheCurrentWindow() {
        var e = ScopeEvaluator(slo: slo(), scope: .service("checkout"))
        let out = e.add(samples([6, 30, 7, 12, 8]))
        #expect(out.first?.exemplars == ["r-1", "r-3", "r-4"])
    }

    @Test func anEvaluationInsideABatchSeesOnlyTheSamplesUpToItsTime() {
        var e = ScopeEvaluator(slo: slo(), scope: .service("checkout"))
        // It fires at hour 4, before the two slower samples of the same batch.
        let out = e.add(samples([9, 9, 9, 9, 9, 60, 60]))
        #expect(out.count == 1 && out[0].at == 4 * Self.hour && out[0].samples == 5)
        #expect(out[0].exemplars == ["r-0", "r-1", "r-2"])
    }

    /// A window filled with a whole history at once (a live run's start-up) takes the array it
    /// is given and moves through it in place, dropping its passed-over front on the way: it
    /// must give what adding one time at a time gives.
    @Test(arguments: 0..<4)
    func aLongHistoryAddedAtOnceGivesWhatAddingItATimeAtATimeGives(seed: UInt64) {
        var random = SplitMix(state: seed)
        var s = slo(regression: SLODefinition.Regression(significance: 0.05, minIncrease: 0.1))
        s.objective = 8 * Self.minute
        // About 100 samples a day over 200 days: the baseline (two days) holds about 200, so
        // more than half the batch has passed out of it while the rest still waits.
        let history = TimedSample.sorted((0..<20_000).map { _ in
            TimedSample(time: Self.minute * Int64(random(200 * 24 * 60)), value: Self.minute * Int64(random(12)), id: "s-\(random(50))")
        })
        var atOnce = ScopeEvaluator(slo: s, scope: .service("checkout"))
        var inTurn = atOnce
        let end = history.last!.time + 3 * Self.day
        let batch = atOnce.add(history, end: end)
        var turns: [SLOAlert] = []
        var i = 0
        while i < history.count {
            var j = i
            while j < history.count && history[j].time == history[i].time { j += 1 }
            turns += inTurn.add(Array(history[i..<j]))
            i = j
        }
        turns += inTurn.expire(before: end)
        #expect(!batch.isEmpty && batch == turns, "seed \(seed)")
        #expect(atOnce.storedSamples <= 2 * atOnce.retainedSamples + 2 * 4096, "seed \(seed): the passed-over fronts were dropped")
        #expect(atOnce.windows.baseline == inTurn.windows.baseline && atOnce.windows.current == inTurn.windows.current, "seed \(seed)")
    }

    @Test func aRegressionFiresOnAStepUpAndResolvesWhenTheBaselineCatchesUp() {
        var s = slo(regression: SLODefinition.Regression(significance: 0.01, minIncrease: 0.2))
        s.objective = 1000 * Self.minute  // never breached
        var e = ScopeEvaluator(slo: s, scope: .service("checkout"))
        // One sample an hour: three days of values 1..24 minutes (every window holds one day's
        // cycle), then two days 3x slower. Evaluations start once a full baseline exists.
        let before = samples((0..<72).map { Int64($0 % 24 + 1) })
        let after = samples((0..<48).map { Int64(($0 % 24 + 1) * 3) }, startingAt: 72)
        var out = e.add(before, evaluateFrom: 48 * 3_600_000_000)
        #expect(out.isEmpty, "no change, no alert")
        out = e.add(after)
        let firing = out.filter { $0.kind == .regression && $0.state == .firing }
        #expect(firing.count == 1)
        if let f = firing.first {
            #expect(f.at < 96 * 3_600_000_000, "within the first current window after the step")
            #expect(f.pValue! < 0.01 && f.baseline != nil)
            #expect(Double(f.value!) >= 1.2 * Double(f.baseline!))
        }
        // Once both windows hold the slower values, the baseline has caught up.
        #expect(out.contains { $0.kind == .regression && $0.state == .resolved })
        #expect(!e.isRegressionFiring)
    }

    @Test func withRegressionOffOnlyBreachesAreEvaluated() {
        var e = ScopeEvaluator(slo: slo(regression: nil), scope: .service("checkout"))
        let out = e.add(samples((0..<100).map { Int64($0 < 50 ? 1 : 4) }))
        #expect(out.isEmpty)
    }

    @Test func aLateSampleJoinsLaterWindowsWithoutRewritingThePast() {
        var e = ScopeEvaluator(slo: slo(), scope: .service("checkout"))
        let early = samples([1, 1, 1, 1, 1])
        #expect(e.add(early).isEmpty)
        // A slow sample that happened at hour 2 arrives late, with a new one at hour 5.
        var all = early + samples([1], startingAt: 5)
        all.insert(TimedSample(time: 2 * 3_600_000_000 + 1, value: 60 * Self.minute, id: "late"), at: 3)
        let out = e.update(to: all)
        // Evaluated once, at hour 5, with the late sample in the window: p95 of 7 values is the max.
        #expect(out.count == 1 && out[0].at == 5 * 3_600_000_000 && out[0].samples == 7)
        #expect(out[0].exemplars.first == "late")
    }

    static let hour: Int64 = 3_600_000_000

    /// A deterministic source of small random numbers (SplitMix64) for the differential test.
    struct SplitMix {
        var state: UInt64
        mutating func callAsFunction(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    /// `apply` takes only a round's change, in place; a rebuild (`update(to:)`) takes every
    /// sample. Both must leave the same windows and give the same verdicts then and after:
    /// samples removed and added at times that already hold samples, duplicates of one
    /// (time, value, id), late and new samples, and removals in the passed-over part.
    @Test(arguments: 0..<24)
    func applyingARoundsChangeLeavesTheWindowsAndVerdictsOfARebuild(seed: UInt64) {
        var random = SplitMix(state: seed)
        var s = slo(regression: SLODefinition.Regression(significance: 0.05, minIncrease: 0.1))
        s.objective = 8 * Self.minute
        let hour = Self.hour
        func sample(hours: Int) -> TimedSample {
            TimedSample(time: hour * Int64(random(hours)), value: Self.minute * Int64(random(12)), id: "s-\(random(30))")
        }
        let old = TimedSample.sorted((0..<300).map { _ in sample(hours: 96) })
        var live = ScopeEvaluator(slo: s, scope: .service("checkout"))
        _ = live.add(old)
        var rebuilt = live
        let through = live.evaluatedThrough
        // Remove some of the samples fed (by position: duplicates are removed one at a time).
        var positions = Set<Int>()
        for _ in 0..<random(40) { positions.insert(random(old.count)) }
        let removed = positions.sorted().map { old[$0] }
        let late = (0..<random(30)).map { _ in sample(hours: 96) }.filter { $0.time <= through }
        let new = (0..<random(30)).map { _ in
            TimedSample(time: through + hour * Int64(1 + random(30)), value: Self.minute * Int64(random(12)), id: "n-\(random(30))")
        }
        let added = TimedSample.sorted(late + new)
        let remaining = old.indices.filter { !positions.contains($0) }.map { old[$0] }
        let end = through + 40 * hour
        let applied = live.apply(removing: removed, adding: added, end: end)
        let reference = rebuilt.update(to: TimedSample.sorted(remaining + added), end: end)
        let sameAlerts = applied == reference
        #expect(sameAlerts, "seed \(seed)")
        func canonical(_ window: ArraySlice<TimedSample>) -> [TimedSample] {
            window.sorted { ($0.time, $0.value, $0.id) < ($1.time, $1.value, $1.id) }
        }
        func canonical(_ window: ArraySlice<BaselineSample>) -> [BaselineSample] {
            window.sorted { ($0.time, $0.value) < ($1.time, $1.value) }
        }
        let sameBaseline = canonical(live.windows.baseline) == canonical(rebuilt.windows.baseline)
        let sameCurrent = canonical(live.windows.current) == canonical(rebuilt.windows.current)
        #expect(sameBaseline && sameCurrent, "seed \(seed)")
        let held = live.windows.baseline.map(\.time) + live.windows.current.map(\.time)
        let inTimeOrder = zip(held, held.dropFirst()).allSatisfy { $0 <= $1 }
        #expect(inTimeOrder, "seed \(seed): the windows hold their samples in time order")
        // And every later verdict, as new samples arrive and old ones age out.
        let later = TimedSample.sorted((0..<50).map { _ in
            TimedSample(time: end + hour * Int64(random(72)), value: Self.minute * Int64(random(12)), id: "l-\(random(30))")
        })
        let laterLive = live.add(later, end: end + 120 * hour)
        let laterRebuilt = rebuilt.add(later, end: end + 120 * hour)
        let sameLater = laterLive == laterRebuilt
        #expect(sameLater, "seed \(seed)")
        let sameWindowsLater = canonical(live.windows.baseline) == canonical(rebuilt.windows.baseline)
            && canonical(live.windows.current) == canonical(rebuilt.windows.current)
        #expect(sameWindowsLater, "seed \(seed)")
    }


    @Test func aBreachResolvesWhenItsSlowSamplesAgeOutWithNoNewSample() {
        var e = ScopeEvaluator(slo: slo(), scope: .service("checkout"))
        // Five 9-minute rollbacks at hours 0..4 fire at hour 4 (as above); then nothing comes.
        #expect(e.add(samples([9, 9, 9, 9, 9])).map(\.state) == [.firing])
        #expect(e.nextExpiry == 24 * Self.hour, "hour 0's sample leaves the 1-day window at hour 24")
        // Up to (not at) hour 24: nothing yet.
        #expect(e.expire(before: 24 * Self.hour).isEmpty)
        // At hour 24 four samples are left, fewer than min_samples: resolved. Hours 25-28 take
        // the others out with no further transition.
        let out = e.expire(before: 30 * Self.hour)
        #expect(out.count == 1)
        #expect(out.first?.state == .resolved && out.first?.at == 24 * Self.hour)
        #expect(out.first?.samples == 4 && out.first?.value == 9 * Self.minute)
        #expect(out.first?.exemplars == ["r-1", "r-2", "r-3"])
        #expect(e.nextExpiry == nil, "no sample left to leave (regression is off)")
    }

    @Test func anExpiryThatEmptiesTheWindowHasANullValueAndNoExemplars() {
        var s = slo()
        s.minSamples = 1
        var e = ScopeEvaluator(slo: s, scope: .service("checkout"))
        #expect(e.add(samples([9], startingAt: 2)).map(\.state) == [.firing])
        // `end` of add: the expiries before it are evaluated too (the end of a backtest).
        let out = e.add([], end: 100 * Self.hour)
        #expect(out.count == 1 && out[0].state == .resolved && out[0].at == 26 * Self.hour)
        #expect(out[0].value == nil && out[0].samples == 0 && out[0].exemplars.isEmpty)
        #expect(out[0].json.contains(#""value": null, "objective": 300.0"#) && out[0].json.hasSuffix(#""exemplars": []}"#))
    }

    @Test func aSampleLeavingTheBaselineIsAnEvaluationInstantOfARegression() {
        var s = slo(regression: SLODefinition.Regression(significance: 0.01, minIncrease: 0.2))
        s.objective = 1000 * Self.minute  // never breached
        var e = ScopeEvaluator(slo: s, scope: .service("checkout"))
        // Day 0: one 100-minute rollback at hour 0, nine of 1 minute at hours 1..9. Day 1: ten of
        // 10 minutes at hours 30..39. While hour 0 is in the baseline, b (p95 of 10 = the largest)
        // is 100 minutes and nothing regresses.
        #expect(e.add(samples([100, 1, 1, 1, 1, 1, 1, 1, 1, 1]) + samples(Array(repeating: 10, count: 10), startingAt: 30)).isEmpty)
        // At hour 48 hour 0 leaves the baseline (t - 2 days): b = p95 of nine 1-minute values =
        // 1 minute, the current window (hours 30..39) is 10 minutes, k = 10 of n = 10 above b:
        // p = C(10,10) C(8,0) / C(19,10) = 1/92378 < 0.01. No sample is at hour 48, and the
        // first current-window expiry is hour 54.
        #expect(e.nextExpiry == 48 * Self.hour)
        let out = e.expire(before: 49 * Self.hour)
        #expect(out.count == 1)
        if let f = out.first {
            #expect(f.kind == .regression && f.state == .firing && f.at == 48 * Self.hour)
            #expect(f.baseline == Self.minute && f.value == 10 * Self.minute && f.samples == 10)
            #expect(abs(f.pValue! - 1.0 / 92378) < 1e-12)
        }
    }

    @Test func expiriesBeforeTheFirstEvaluationMoveTheWindowsAndEmitNothing() {
        var e = ScopeEvaluator(slo: slo(), scope: .service("checkout"))
        // A backtest from hour 30: the breach of hours 0..4 and its resolution at hour 24 are
        // before it; the state stays ok and the windows are empty by then.
        #expect(e.add(samples([9, 9, 9, 9, 9]), evaluateFrom: 30 * Self.hour, end: 40 * Self.hour).isEmpty)
        #expect(!e.isBreachFiring && e.nextExpiry == nil)
    }

    @Test func theAlertJSONFollowsTheContract() {
        let alert = SLOAlert(
            kind: .breach, state: .firing, slo: "tier1-rollback-p95", scope: .service("checkout"), metric: .rollbackTime,
            percentileTenths: 950, value: 412_000_000, objective: 300_000_000, baseline: nil, pValue: nil, samples: 12,
            window: 28 * Self.day, at: Timestamp.parse(rfc3339: "2026-07-03T10:08:30Z")!.microseconds, exemplars: ["r-9", "r-12", "r-3"])
        #expect(
            alert.json
                == #"{"schema": "doralog.alert/v1", "alert": "SLOBreach", "state": "firing", "slo": "tier1-rollback-p95", "scope": {"service": "checkout"}, "metric": "rollback_time", "percentile": 95, "value": 412.0, "objective": 300.0, "baseline": null, "p_value": null, "samples": 12, "window_seconds": 2419200, "at": "2026-07-03T10:08:30Z", "exemplars": ["r-9", "r-12", "r-3"]}"#)
        var group = alert
        group.scope = SLOScope.selection(.tier("tier-1"))
        group.percentileTenths = 999
        #expect(group.json.contains(#""scope": {"tier": "tier-1"}, "metric": "rollback_time", "percentile": 99.9,"#))
    }
}
