import DoraStatistics
public import DoraMetrics

/// The breach and regression state machines of SLOs over one scope (slo.md, "Evaluation"):
/// one SLO, or several on the same metric and window, which then share the windows (moving a
/// sample through them is most of the cost) and keep a state machine each.
///
/// Feed it the scope's samples in time order; it evaluates once per distinct sample time, and
/// also at every instant a sample leaves the current window (its time + window) or, with
/// regression on, the baseline window (its time + 2 window), and returns the transitions.
/// The live run and the backtest both use it, which is why a live run that receives events in
/// time order emits exactly the backtest's transitions.
/// Invariant: it keeps only the samples of the last two windows (older ones can no longer be
/// in a baseline), so its memory is bounded by the event rate times twice the window.
/// A sample that leaves the current window keeps only its time and value: the baseline's
/// verdicts depend on nothing else, and exemplars come from the current window.
public struct ScopeEvaluator: Sendable {
    /// The SLOs evaluated here, all on one metric and window; never empty.
    public let slos: [SLODefinition]
    public let scope: SLOScope
    /// The first (or only) SLO.
    public var slo: SLODefinition { slos[0] }
    /// The current window: samples with time in (latest - window, latest], in (time, id)
    /// order, from `currentStart` to `filled` (those before `currentStart` were passed over and
    /// not dropped yet). Samples from `filled` on are being added (only while `add` runs:
    /// otherwise `filled` is the count). They are put here before they are evaluated so that a
    /// window filled with millions of samples at once (a pooled scope at start-up) takes over
    /// the array it is given instead of holding a second copy of it (bench/RESULTS.md,
    /// twenty-sixth session).
    private var samples: [TimedSample] = []
    private var currentStart = 0
    private var filled = 0
    /// The baseline window: time and value of the samples with time in (latest - 2 window,
    /// latest - window], in time order, from `baselineStart`. Half a `TimedSample`: the pooled
    /// windows of a large organisation are among a live run's largest parts (bench/RESULTS.md,
    /// thirty-fifth session).
    private var baseline: [BaselineSample] = []
    private var baselineStart = 0
    /// The values of the baseline and current windows, each kept sorted as samples move
    /// through (an insertion or removal per move instead of a sort per evaluation).
    private var baselineValues = SortedValues()
    private var currentValues = SortedValues()
    /// Per SLO, whether its breach and regression alerts fire.
    private var breachFiring: [Bool]
    private var regressionFiring: [Bool]
    /// The last evaluation's time: samples at or before it were already evaluated.
    public private(set) var evaluatedThrough: Int64 = .min
    /// Whether a sample leaving the baseline is an evaluation instant (some SLO here has
    /// regression on; without it, the baseline changes no verdict).
    private let baselineExpires: Bool

    public init(slo: SLODefinition, scope: SLOScope) {
        self.init(slos: [slo], scope: scope)
    }

    /// Evaluators for `slos` sharing windows: they must all be on one metric and window.
    public init(slos: [SLODefinition], scope: SLOScope) {
        precondition(!slos.isEmpty && slos.allSatisfy { $0.metric == slos[0].metric && $0.window == slos[0].window })
        self.slos = slos
        self.scope = scope
        breachFiring = Array(repeating: false, count: slos.count)
        regressionFiring = Array(repeating: false, count: slos.count)
        baselineExpires = slos.contains { $0.regression != nil }
    }

    /// How many samples its windows hold: what it retains, whenever it drops the fronts it
    /// passed over (so that two evaluators fed the same samples in other batches agree).
    var retainedSamples: Int { (baseline.count - baselineStart) + (samples.count - currentStart) }

    /// How many samples its arrays hold, including the passed-over fronts not dropped yet.
    var storedSamples: Int { baseline.count + samples.count }

    /// The samples in the baseline and current windows as of the last evaluation (for tests).
    var windows: (baseline: ArraySlice<BaselineSample>, current: ArraySlice<TimedSample>) {
        (baseline[baselineStart...], samples[currentStart..<filled])
    }

    /// The current window's nearest-rank value of `slos[index]`'s percentile and its sample
    /// count, as of the last evaluation (nil with no sample): what an alert would report.
    public func currentValue(_ index: Int) -> (value: Int64?, samples: Int) {
        let n = currentValues.count
        return (n > 0 ? currentValues.element(rank: slos[index].rank(among: n)) : nil, n)
    }

    public var isBreachFiring: Bool { breachFiring[0] }
    public var isRegressionFiring: Bool { regressionFiring[0] }
    /// Whether the breach (regression) alert of `slos[index]` fires.
    public func isBreachFiring(_ index: Int) -> Bool { breachFiring[index] }
    public func isRegressionFiring(_ index: Int) -> Bool { regressionFiring[index] }

    /// Adds `newSamples` (all at times after the last evaluation, in (time, id) order) and
    /// evaluates at each of their distinct times and at every window expiry before each of them
    /// and before `end`.
    /// - Parameters:
    ///   - evaluateFrom: evaluations before this time update the windows but emit no
    ///     transition and leave the states as they are (a backtest's `--from`).
    ///   - end: expiries at or after it are not evaluated yet (the end of a backtest, or a live
    ///     run's clock); sample times are evaluated whatever it is.
    public mutating func add(_ newSamples: consuming [TimedSample], evaluateFrom: Int64 = .min, end: Int64 = .min) -> [SLOAlert] {
        if samples.isEmpty {
            // Taken over, not copied.
            samples = consume newSamples
        } else {
            // Room for them all and an eighth more, rather than doubling up to twice their
            // count (bench/RESULTS.md, twenty-fourth session).
            let needed = samples.count + newSamples.count
            if needed > samples.capacity { samples.reserveCapacity(roomToGrow(needed)) }
            samples.append(contentsOf: newSamples)
        }
        return evaluateAdded(evaluateFrom: evaluateFrom, end: end)
    }

    /// Evaluates the samples from `filled` on (see `add`), moving them into the windows.
    private mutating func evaluateAdded(evaluateFrom: Int64, end: Int64) -> [SLOAlert] {
        var out: [SLOAlert] = []
        while filled < samples.count {
            let t = samples[filled].time
            precondition(t > evaluatedThrough, "samples must arrive in time order")
            out += expire(before: t, evaluateFrom: evaluateFrom)
            while filled < samples.count && samples[filled].time == t {
                currentValues.insert(samples[filled].value)
                filled += 1
            }
            moveWindows(to: t)
            if t >= evaluateFrom { out += evaluate(at: t) }
            evaluatedThrough = t
        }
        return out + expire(before: end, evaluateFrom: evaluateFrom)
    }

    /// The next instant after the last evaluation at which a retained sample leaves the
    /// current window or (when that matters) the baseline; nil when none will.
    public var nextExpiry: Int64? {
        let window = slo.window
        var next: Int64?
        if currentStart < filled { next = samples[currentStart].time + window }
        if baselineExpires && baselineStart < baseline.count { next = min(next ?? .max, baseline[baselineStart].time + 2 * window) }
        return next
    }

    /// Evaluates at every window expiry before `end` (the live run's clock moving on with no
    /// new sample, or the rest of a backtest), so that a breach resolves once its slow samples
    /// age out.
    public mutating func expire(before end: Int64, evaluateFrom: Int64 = .min) -> [SLOAlert] {
        var out: [SLOAlert] = []
        while let t = nextExpiry, t < end {
            moveWindows(to: t)
            if t >= evaluateFrom { out += evaluate(at: t) }
            evaluatedThrough = t
        }
        return out
    }

    /// Brings the evaluator up to date with its scope's samples as now known (the live run
    /// recomputes them when events arrive). `samples(after:)` gives those with time after a
    /// bound, in (time, id) order: the evaluator asks only for the ones its windows can still
    /// hold. Samples at or before the last evaluation only change the windows of later
    /// evaluations (a late event cannot change an alert already sent); later ones are
    /// evaluated in order.
    public mutating func update(
        from samples: (_ after: Int64) -> [TimedSample], evaluateFrom: Int64 = .min, end: Int64 = .min
    ) -> [SLOAlert] {
        let horizon = evaluatedThrough == .min ? Int64.min : evaluatedThrough - 2 * slo.window
        // The current window takes the list over (see `filled`): those already evaluated are
        // put back in the windows, the rest evaluated in order.
        self.samples = samples(horizon)
        let seen = self.samples.partitionPoint { $0.time > evaluatedThrough }
        filled = seen
        let currentBound = evaluatedThrough == .min ? Int64.min : evaluatedThrough - slo.window
        currentStart = self.samples[..<seen].firstIndex { $0.time > currentBound } ?? seen
        baseline = self.samples[..<currentStart].map(BaselineSample.init)
        baselineStart = 0
        baselineValues = SortedValues(baseline.lazy.map(\.value))
        currentValues = SortedValues(self.samples[currentStart..<seen].lazy.map(\.value))
        return evaluateAdded(evaluateFrom: evaluateFrom, end: end)
    }

    /// `update(from:)` for a scope whose samples are unchanged through `unchangedThrough`:
    /// only the retained samples after it are replaced (a late event near the present costs
    /// the samples it moved, not a rebuild of both windows), and the windows end up holding
    /// exactly what a rebuild would put in them. With nothing changed, it only evaluates the
    /// new samples.
    public mutating func refresh(
        samples: (_ after: Int64) -> [TimedSample], unchangedThrough: Int64, evaluateFrom: Int64 = .min, end: Int64 = .min
    ) -> [SLOAlert] {
        if unchangedThrough >= evaluatedThrough { return add(samples(evaluatedThrough), evaluateFrom: evaluateFrom, end: end) }
        // Here evaluatedThrough > .min: something was evaluated.
        guard unchangedThrough >= evaluatedThrough - 2 * slo.window else {
            return update(from: samples, evaluateFrom: evaluateFrom, end: end)
        }
        // Replace the retained samples after the unchanged part with the scope's samples after
        // it, as now known, up to the last evaluation (all within the retained windows, since
        // the unchanged part reaches into them).
        var k = self.samples.count
        while k > currentStart && self.samples[k - 1].time > unchangedThrough { k -= 1 }
        var gone = Array(self.samples[k...])
        if k == currentStart {
            // Into the baseline too, whose samples are matched by time and value alone.
            var b = baseline.count
            while b > baselineStart && baseline[b - 1].time > unchangedThrough { b -= 1 }
            gone = baseline[b...].map { TimedSample(time: $0.time, value: $0.value, id: "") } + gone
        }
        let fresh = samples(unchangedThrough)
        let seen = fresh.prefix { $0.time <= evaluatedThrough }
        replace(gone, with: Array(seen))
        return add(Array(fresh[seen.count...]), evaluateFrom: evaluateFrom, end: end)
    }

    /// `update(from:)` for a scope whose samples, since they were last fed, lost `removed` and
    /// gained `added` (each in evaluation order; `removed` among the samples fed so far). The
    /// live run knows exactly what each round changed, so the windows take only that: a late
    /// sample costs its own insertion and one pass over the windows, not a rebuild of every
    /// sample after it. The windows end up holding exactly what a rebuild would put in them.
    public mutating func apply(
        removing removed: [TimedSample], adding added: [TimedSample], evaluateFrom: Int64 = .min, end: Int64 = .min
    ) -> [SLOAlert] {
        let late = added.prefix { $0.time <= evaluatedThrough }
        if evaluatedThrough > .min {
            // Only the retained windows, (latest - 2 window, latest], can hold what changed.
            let horizon = evaluatedThrough - 2 * slo.window
            let gone = removed.filter { $0.time > horizon }
            let come = late.filter { $0.time > horizon }
            if !gone.isEmpty || !come.isEmpty { replace(gone, with: come) }
        }
        return add(Array(added[late.count...]), evaluateFrom: evaluateFrom, end: end)
    }

    /// Takes `gone` out of the retained windows and puts `come` in (both in time order, all
    /// within the retained windows), as of the last evaluation. In the baseline a sample is
    /// matched by its time and value (it has no id there): either of two such samples leaves
    /// the same window.
    private mutating func replace(_ gone: [TimedSample], with come: [TimedSample]) {
        let currentBound = evaluatedThrough - slo.window
        for sample in gone {
            if sample.time <= currentBound { baselineValues.remove(sample.value) } else { currentValues.remove(sample.value) }
        }
        for sample in come {
            if sample.time <= currentBound { baselineValues.insert(sample.value) } else { currentValues.insert(sample.value) }
        }
        let goneBefore = gone.partitionPoint { $0.time > currentBound }
        let comeBefore = come.partitionPoint { $0.time > currentBound }
        Self.replace(
            in: &baseline, from: baselineStart,
            removing: gone[..<goneBefore].map(BaselineSample.init), adding: come[..<comeBefore].map(BaselineSample.init)
        ) { $0.value == $1.value }
        baselineStart = 0
        Self.replace(in: &samples, from: currentStart, removing: gone[goneBefore...], adding: come[comeBefore...]) { a, b in
            a.value == b.value && a.id.utf8.elementsEqual(b.id.utf8)
        }
        currentStart = 0
        filled = samples.count
    }

    /// Drops `array[..<start]` and `gone` from `array` (time-sorted from `start`) and merges
    /// `come` in after the samples of its own time. In place, so that a window is never held
    /// twice (the pooled scope of a large organisation holds millions of samples). `same`
    /// tells a removed sample among those of its time.
    private static func replace<Sample: TimeOrdered>(
        in array: inout [Sample], from start: Int, removing gone: some Collection<Sample>, adding come: some Collection<Sample>,
        same: (Sample, Sample) -> Bool
    ) {
        let gone = Array(gone), come = Array(come)
        // First the samples without `gone` and the passed-over prefix, a time at a time (the
        // order within one time is irrelevant: evaluation happens once per time)...
        if gone.isEmpty {
            array.removeFirst(start)
        } else {
            let kept = array.withUnsafeMutableBufferPointer { a -> Int in
                var (g, i, w) = (0, start, 0)
                while i < a.count {
                    let t = a[i].time
                    var end = i
                    while end < a.count && a[end].time == t { end += 1 }
                    precondition(g >= gone.count || gone[g].time >= t, "a removed sample was never in the windows")
                    var removed: [Int] = []  // positions in this time's group, each taken once
                    while g < gone.count && gone[g].time == t {
                        let match = (i..<end).first { k in !removed.contains(k) && same(a[k], gone[g]) }
                        precondition(match != nil, "a removed sample was never in the windows")
                        removed.append(match!)
                        g += 1
                    }
                    for k in i..<end where !removed.contains(k) {
                        if k != w { a.swapAt(k, w) }
                        w += 1
                    }
                    i = end
                }
                precondition(g == gone.count, "a removed sample was never in the windows")
                return w
            }
            array.removeLast(array.count - kept)
        }
        // ...then `come` merged in from the back, after the samples of its own time.
        guard !come.isEmpty else { return }
        var j = array.count - 1
        array.append(contentsOf: come)
        array.withUnsafeMutableBufferPointer { a in
            var (c, k) = (come.count - 1, a.count - 1)
            while c >= 0 {
                if j >= 0 && a[j].time > come[c].time {
                    a.swapAt(k, j)
                    j -= 1
                } else {
                    a[k] = come[c]
                    c -= 1
                }
                k -= 1
            }
        }
    }

    /// `update(from:)` with every sample of the scope.
    public mutating func update(to all: [TimedSample], evaluateFrom: Int64 = .min, end: Int64 = .min) -> [SLOAlert] {
        update(from: { after in all.filter { $0.time > after } }, evaluateFrom: evaluateFrom, end: end)
    }

    /// Moves the samples that left the current window by `t` to the baseline, and those that
    /// left the baseline out.
    private mutating func moveWindows(to t: Int64) {
        let window = slo.window
        // Samples leave the current window for the baseline, and the baseline for good.
        while currentStart < filled && samples[currentStart].time <= t - window {
            let v = samples[currentStart].value
            currentValues.remove(v)
            baselineValues.insert(v)
            appendToBaseline(BaselineSample(samples[currentStart]))
            currentStart += 1
        }
        while baselineStart < baseline.count && baseline[baselineStart].time <= t - 2 * window {
            baselineValues.remove(baseline[baselineStart].value)
            baselineStart += 1
        }
        // The passed-over fronts dropped, in place, once they are a quarter (the current
        // window) or half (the baseline) of their arrays. The current window's array can be
        // millions of samples taken over at start-up, most of which move on to the baseline:
        // the pages its room no longer needs go back to the kernel as they move, so that the
        // samples are never held at full size twice and no copy is made (bench/RESULTS.md,
        // thirty-fifth session).
        if currentStart > 4096 && currentStart * 4 > samples.count {
            samples.removeFirst(currentStart)
            filled -= currentStart
            currentStart = 0
            UnusedCapacity.release(&samples)
        }
        if baselineStart > 4096 && baselineStart * 2 > baseline.count {
            baseline.removeFirst(baselineStart)
            baselineStart = 0
        }
    }

    /// Appends to the baseline, growing it by an eighth when full (or first reusing its
    /// passed-over front, when that is a quarter of it), rather than doubling it.
    private mutating func appendToBaseline(_ sample: BaselineSample) {
        if baseline.count == baseline.capacity {
            if baselineStart * 4 > baseline.count {
                baseline.removeFirst(baselineStart)
                baselineStart = 0
            } else {
                baseline.reserveCapacity(roomToGrow(baseline.count))
            }
        }
        baseline.append(sample)
    }

    /// One evaluation at `t` (a sample time or an expiry), over the windows as moved to it.
    private mutating func evaluate(at t: Int64) -> [SLOAlert] {
        let current = samples[currentStart..<filled]
        let n = currentValues.count
        var out: [SLOAlert] = []
        for index in slos.indices { evaluate(index, at: t, current: current, n: n, into: &out) }
        return out
    }

    /// The state machines of `slos[index]` at sample time `t`, over the windows as moved.
    private mutating func evaluate(_ index: Int, at t: Int64, current: ArraySlice<TimedSample>, n: Int, into out: inout [SLOAlert]) {
        let slo = slos[index]
        // No current sample (every one aged out): no value, and no verdict can hold.
        let value: Int64? = n > 0 ? currentValues.element(rank: slo.rank(among: n)) : nil
        func alert(_ kind: SLOAlert.Kind, _ state: SLOAlert.State, baseline: Int64?, pValue: Double?) -> SLOAlert {
            SLOAlert(
                kind: kind, state: state, slo: slo.name, scope: scope, metric: slo.metric, percentileTenths: slo.percentileTenths,
                value: value, objective: slo.objective, baseline: baseline, pValue: pValue, samples: n, window: slo.window, at: t,
                exemplars: Self.largest(3, of: current).map(\.id))
        }

        let breach = n >= slo.minSamples && value! > slo.objective  // minSamples >= 1
        if breach != breachFiring[index] {
            breachFiring[index] = breach
            out.append(alert(.breach, breach ? .firing : .resolved, baseline: nil, pValue: nil))
        }

        if let regression = slo.regression {
            // The p-value can cost O(n) exponentials: it is computed only when the cheap half of
            // the condition holds (and only far enough to decide), or for the alert object of a
            // transition.
            let m = baselineValues.count
            let enough = m >= slo.minSamples && n >= slo.minSamples
            let r = enough ? slo.rank(among: m) : 0
            let b: Int64? = enough ? baselineValues.element(rank: r) : nil
            func pValue(stoppingAt bound: Double = .infinity) -> Double? {
                guard let b else { return nil }
                return ExceedanceTest.pValue(m: m, n: n, r: r, k: currentValues.countAbove(b), stoppingAt: bound)
            }
            var p: Double?
            var regressed = false
            if let b, Double(value!) >= (1 + regression.minIncrease) * Double(b) {  // b: n >= minSamples >= 1
                // Enough to decide; exact when it is below the significance level.
                let decided = pValue(stoppingAt: regression.significance)!
                regressed = decided < regression.significance
                if regressed { p = decided }
            }
            if regressed != regressionFiring[index] {
                regressionFiring[index] = regressed
                out.append(alert(.regression, regressed ? .firing : .resolved, baseline: b, pValue: p ?? pValue()))
            }
        }
    }

    /// The `count` largest samples, largest first, ties by id (one pass, no sort).
    private static func largest(_ count: Int, of samples: ArraySlice<TimedSample>) -> [TimedSample] {
        func before(_ a: TimedSample, _ b: TimedSample) -> Bool {
            a.value != b.value ? a.value > b.value : a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
        }
        var top: [TimedSample] = []
        for s in samples where top.count < count || before(s, top[top.count - 1]) {
            let at = top.firstIndex { before(s, $0) } ?? top.count
            top.insert(s, at: at)
            if top.count > count { top.removeLast() }
        }
        return top
    }
}

/// A sample of a baseline window: what is left of a `TimedSample` once it has left the
/// current window.
struct BaselineSample: Sendable, Equatable, TimeOrdered {
    var time: Int64
    var value: Int64

    init(_ sample: TimedSample) {
        time = sample.time
        value = sample.value
    }
}

/// A window's element: ordered by its time.
protocol TimeOrdered {
    var time: Int64 { get }
}

extension TimedSample: TimeOrdered {}
