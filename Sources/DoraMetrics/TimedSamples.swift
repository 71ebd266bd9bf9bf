/// A duration metric that SLOs can be set on (slo.md, "Definition": `metric`).
public enum DurationMetric: String, CaseIterable, Sendable {
    case rollbackTime = "rollback_time"
    case recoveryTime = "recovery_time"
    case timeToRestore = "time_to_restore"
    case detect, decide, act, verify
    case leadTime = "lead_time"
}

/// One value of a duration metric, stamped with the event time at which it became known
/// (slo.md, "Samples"), and the id an on-call engineer opens to see it (`rollback_id`,
/// `alert_id` or the deploy's `id`).
public struct TimedSample: Sendable, Equatable {
    /// When the value became known, in microseconds since 1970.
    public var time: Int64
    /// The duration, in microseconds (never negative).
    public var value: Int64
    public var id: String

    public init(time: Int64, value: Int64, id: String) {
        self.time = time
        self.value = value
        self.id = id
    }

    /// The order samples are evaluated in: by time, then id (as UTF-8 bytes), then value
    /// (among the samples of one id at one time).
    public static func precedes(_ a: TimedSample, _ b: TimedSample) -> Bool {
        if a.time != b.time { return a.time < b.time }
        // Ids compared as bytes: Swift's `==` would also equate other normalizations.
        if a.id.utf8.elementsEqual(b.id.utf8) { return a.value < b.value }
        return a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
    }

    /// `samples` in evaluation order (`precedes`). Sorts (time, position) pairs, so ids are
    /// compared only between samples at one time and no sample (nor its string) moves until
    /// the end.
    public static func sorted(_ samples: [TimedSample]) -> [TimedSample] {
        precondition(samples.count <= Int(Int32.max))
        var keys = samples.indices.map { (time: samples[$0].time, index: Int32(truncatingIfNeeded: $0)) }
        keys.sort { a, b in
            a.time != b.time ? a.time < b.time : precedes(samples[Int(a.index)], samples[Int(b.index)])
        }
        return keys.map { samples[Int($0.index)] }
    }

    /// `sorted(_:)` in place, for a list too large to hold twice: a pooled window rebuilt from
    /// every member's samples (at start-up, millions). The samples are first moved into
    /// buckets of consecutive time ranges, in place (at most one swap per sample, with a count
    /// per bucket), then each bucket is sorted in place by `precedes`: 64 to 128 samples a
    /// bucket when the times are spread, so the sort's buffer is a bucket's, where a sort of
    /// the whole list needed a buffer of half of it (72 MB for the 100M stream's pooled lead
    /// times; bench/RESULTS.md, twenty-seventh session). The same order as `sorted`: the
    /// buckets follow time, and `precedes` tells apart any two samples that are not equal in
    /// time, id bytes and value (a test holds the two equal).
    public static func sort(_ samples: inout [TimedSample]) {
        guard samples.count > 1 else { return }
        var (earliest, latest) = (Int64.max, Int64.min)
        for sample in samples { (earliest, latest) = (min(earliest, sample.time), max(latest, sample.time)) }
        // Bucket b holds the times whose offset from the earliest, shifted right by `shift`, is
        // b: at most 2^16 buckets, 64 to 128 samples each if the times are spread evenly.
        let span = UInt64(bitPattern: latest &- earliest)
        var bucketBits = 0
        while bucketBits < 16 && 64 << (bucketBits + 1) <= samples.count { bucketBits += 1 }
        let shift = UInt64(max(0, (64 - span.leadingZeroBitCount) - bucketBits))
        let bucketCount = Int(span >> shift) + 1
        @inline(__always) func bucket(_ sample: TimedSample) -> Int { Int(UInt64(bitPattern: sample.time &- earliest) >> shift) }
        var next = [Int](repeating: 0, count: bucketCount + 1)  // bucket b: next[b] ..< next[b + 1], once counted
        for sample in samples { next[bucket(sample) + 1] += 1 }
        for b in 0..<bucketCount { next[b + 1] += next[b] }
        let ends = Array(next.dropFirst())
        samples.withUnsafeMutableBufferPointer { s in
            // Each bucket in turn takes its samples: a sample of another bucket is swapped to the
            // next free place of that one, so each swap puts a sample where it belongs.
            for b in 0..<bucketCount {
                while next[b] < ends[b] {
                    let target = bucket(s[next[b]])
                    if target == b {
                        next[b] += 1
                    } else {
                        s.swapAt(next[b], next[target])
                        next[target] += 1
                    }
                }
            }
            var start = 0
            for end in ends {
                if end - start > 1 {
                    var samplesOfBucket = UnsafeMutableBufferPointer(rebasing: s[start..<end])
                    samplesOfBucket.sort(by: precedes)
                }
                start = end
            }
        }
    }
}

/// One service's samples of one metric, in (time, id) order, with its team.
public struct ServiceTimedSamples: Sendable, Equatable {
    public var service: String
    /// The team of its latest event naming one (metrics.md), if any.
    public var team: String?
    public var samples: [TimedSample]

    /// Drops the samples dated before `cutoff` (they are kept in time order, so a prefix).
    public mutating func dropSamples(before cutoff: Int64) {
        samples.removeFirst(samples.partitionPoint { $0.time >= cutoff })
    }
}

/// How one service's samples of one metric changed between two rounds of an evaluation: the
/// old samples without `removed` and with `added` are the new ones (each in evaluation order).
/// Compared lists give the two suffixes from the first sample that differs (`init(from:to:)`);
/// the lead-time index gives exactly the samples gone and the new ones. Consumers read both
/// as multisets. Copies, not slices: a slice would keep the whole old array alive.
public struct SampleChange: Sendable, Equatable {
    public var removed: [TimedSample]
    public var added: [TimedSample]
    /// The earliest time at which the samples differ.
    public var time: Int64

    /// The change from `old` to `new` (both in evaluation order); nil if they are equal.
    public init?(from old: ArraySlice<TimedSample>, to new: ArraySlice<TimedSample>) {
        let common = Self.commonPrefixCount(old, new)
        guard common < old.count || common < new.count else { return nil }
        removed = Array(old.dropFirst(common))
        added = Array(new.dropFirst(common))
        time = min(removed.first?.time ?? .max, added.first?.time ?? .max)
    }

    /// How many samples `old` and `new` have in common from their start.
    static func commonPrefixCount(_ old: ArraySlice<TimedSample>, _ new: ArraySlice<TimedSample>) -> Int {
        var n = 0
        while n < old.count && n < new.count && old[old.startIndex + n] == new[new.startIndex + n] { n += 1 }
        return n
    }

    public init?(from old: [TimedSample], to new: [TimedSample]) {
        self.init(from: old[...], to: new[...])
    }

    /// The change that took `removed` away and brought `added` (each in evaluation order, no
    /// sample in both); nil if both are empty.
    init?(removed: [TimedSample], added: [TimedSample]) {
        guard !removed.isEmpty || !added.isEmpty else { return nil }
        self.removed = removed
        self.added = added
        time = min(removed.first?.time ?? .max, added.first?.time ?? .max)
    }

    /// This change as seen by an evaluation that leaves out the samples dated before `cutoff`
    /// (`SLOEvaluation.forget(before:)`): the same as the change between the two sample lists
    /// with those left out; nil if that is none.
    public func leavingOut(before cutoff: Int64) -> SampleChange? {
        guard cutoff > .min else { return self }
        return SampleChange(from: removed.filter { $0.time >= cutoff }[...], to: added.filter { $0.time >= cutoff }[...])
    }
}

extension MetricsEngine {
    /// Every sample of `metric` over the whole history added, per service of the environment
    /// (services listed in UTF-8 order), or only for `only` when given.
    /// - Complexity: O(n log n) in the events of the services concerned.
    public func timedSamples(_ metric: DurationMetric, only: Set<String>? = nil) -> [ServiceTimedSamples] {
        timedSamples(of: [metric], only: only)[metric] ?? []
    }

    /// `timedSamples` for several metrics at once: each service is analysed once for all
    /// (services on several `threads`).
    public func timedSamples(
        of metrics: Set<DurationMetric>, only: Set<String>? = nil, threads: ParallelMap.Threads = .everyCore
    ) -> [DurationMetric: [ServiceTimedSamples]] {
        timedSamples(of: metrics, withRollbackOutcomes: false, only: only, threads: threads).samples
    }

    /// `timedSamples`, and with `withRollbackOutcomes` each service's `rollbackOutcomes` too,
    /// from the same pass over each service (the live run needs both every round).
    public func timedSamples(
        of metrics: Set<DurationMetric>, withRollbackOutcomes: Bool, only: Set<String>? = nil,
        threads: ParallelMap.Threads = .everyCore
    ) -> (samples: [DurationMetric: [ServiceTimedSamples]], rollbackOutcomes: [String: [RollbackOutcome]]) {
        guard !metrics.isEmpty || withRollbackOutcomes else { return ([:], [:]) }  // a live round that takes all from here
        let selected = services.filter { only?.contains($0.name) ?? true }
        let perService = ParallelMap.map(selected, on: threads) {
            $0.consolidated().timedSamples(metrics, withRollbackOutcomes: withRollbackOutcomes, configuration: configuration)
        }
        var out: [DurationMetric: [ServiceTimedSamples]] = [:]
        var outcomes: [String: [RollbackOutcome]] = [:]
        for (state, (byMetric, rollbacks)) in zip(selected, perService) {
            let team = team(of: state.name)
            for (metric, samples) in byMetric {
                out[metric, default: []].append(ServiceTimedSamples(service: state.name, team: team, samples: samples))
            }
            if let rollbacks { outcomes[state.name] = rollbacks }
        }
        for metric in out.keys { out[metric]!.sort { $0.service.utf8.lexicographicallyPrecedes($1.service.utf8) } }
        return (out, outcomes)
    }
}

extension MetricsEngine {
    /// The services `timedSamples(of:only:)` lists (in the same order), with their teams and no
    /// sample: the members of the scopes whose samples a caller takes from elsewhere (the SLO
    /// evaluation, the samples kept here, `samplesAsTaken`).
    public func listedServices(only: Set<String>? = nil) -> [ServiceTimedSamples] {
        services.lazy.filter { only?.contains($0.name) ?? true }
            .map { ServiceTimedSamples(service: $0.name, team: team(of: $0.name), samples: []) }
            .sorted { $0.service.utf8.lexicographicallyPrecedes($1.service.utf8) }
    }
}

extension ServiceState {
    /// This service's samples of each of `metrics`, in (time, id) order, and with
    /// `withRollbackOutcomes` its rollbacks' outcomes; one analysis serves all.
    func timedSamples(
        _ metrics: Set<DurationMetric>, withRollbackOutcomes: Bool = false, configuration: MetricsConfiguration
    ) -> (samples: [DurationMetric: [TimedSample]], rollbackOutcomes: [RollbackOutcome]?) {
        // The links kept by a live run's episode index serve the outcomes without an analysis.
        let outcomesNeedLinks = withRollbackOutcomes && rollbacksNeedLinks && !(episodes?.isUpdated ?? false)
        let needsAnalysis = !metrics.isDisjoint(with: [.recoveryTime, .detect, .decide, .act, .verify])
            || (metrics.contains(.leadTime) && leadTimes == nil) || outcomesNeedLinks
        let analysis =
            needsAnalysis ? analyze(configuration: configuration, recordingRollbackLinks: outcomesNeedLinks, findingRework: false) : nil
        var out: [DurationMetric: [TimedSample]] = [:]
        for metric in metrics { out[metric] = timedSamples(metric, analysis: analysis) }
        return (out, withRollbackOutcomes ? rollbackOutcomes(analysis: outcomesNeedLinks ? analysis : nil) : nil)
    }

    /// This service's samples of `metric`, in (time, id) order (`a`: its analysis, for the
    /// metrics that need one).
    private func timedSamples(_ metric: DurationMetric, analysis a: Analysis?) -> [TimedSample] {
        var out: [TimedSample] = []
        switch metric {
        case .rollbackTime:
            for (rollbackID, r) in rollbacks {
                if let sample = r.rollbackTimeSample(id: rollbackID) { out.append(sample) }
            }
        case .timeToRestore:
            for (alertID, a) in alerts {
                if let sample = a.timeToRestoreSample(id: alertID) { out.append(sample) }
            }
        case .recoveryTime, .detect, .decide, .act, .verify:
            let a = a!
            for e in a.episodes {
                e.forEachTimedSample(of: a.deploys[e.deploy]) { m, sample in if m == metric { out.append(sample) } }
            }
        case .leadTime:
            if let leadTimes { return leadTimes.samples(in: self) }
            let a = a!
            let firstDeploy = firstDeploys { a.position[$0] < a.position[$1] }
            return firstDeploy.leadTimeSamples(in: commits, position: a.position) { a.deploys[$0] }
        }
        return TimedSample.sorted(out)
    }
}

extension ServiceState.RollbackState {
    /// Its `rollback_time` sample (slo.md, "Samples"): from its start to its completion, dated
    /// at the completion; nil unless it started and completed.
    func rollbackTimeSample(id: String) -> TimedSample? {
        guard hasStarted, let done = completedTime else { return nil }
        return TimedSample(time: done, value: done - startedTime, id: id)
    }
}

extension ServiceState.AlertState {
    /// Whether it counts as an incident (metrics.md §2.5): it fired, with an incident severity.
    var isFiredIncident: Bool { firingID != nil && isIncident }

    /// Its `time_to_restore` sample: from its firing to its resolution, dated at the
    /// resolution; nil unless it is a resolved incident.
    func timeToRestoreSample(id: String) -> TimedSample? {
        guard isFiredIncident, let resolved = resolvedTime else { return nil }
        return TimedSample(time: resolved, value: resolved - firingTime, id: id)
    }
}
