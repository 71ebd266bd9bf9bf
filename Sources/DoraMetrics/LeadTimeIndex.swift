import DoraEvents

/// One service's lead-time samples (metrics.md §2.2), kept up to date deploy by deploy for the
/// live run, which would otherwise derive them again from every commit of the service's
/// history in each round. `report` derives them from scratch and never builds one.
///
/// It also says what changed since its samples were last taken (`takeChange`), so that the
/// SLO evaluation need not keep a copy of them to compare with: that copy shared the array,
/// and the round's first new deploy then copied it whole, every round, for every service.
///
/// Invariant: `samples` are exactly those a derivation from the same deploys gives, in
/// evaluation order (`TimedSample.sorted`): per commit sha, its first deploy by (time, id
/// bytes) holds it, with that deploy's commit time for it, unless the lead time is negative.
/// The samples as last taken are `samples[..<unchangedCount] + replaced`.
struct LeadTimeIndex: Sendable {
    private(set) var samples: [TimedSample] = []
    /// Per sha, its first deploy (an index into the service's deploys).
    private var first: FirstDeployMap
    /// How many of the samples are as they were when last taken.
    private var unchangedCount = 0
    /// The samples that followed those then.
    private var replaced: [TimedSample] = []

    /// The index of a service's history so far. Its change since the last take is measured
    /// from `previous`'s samples as last taken (none: from no sample), those before `cutoff`
    /// left out (a retention forgot them, and the evaluation left them out too).
    init(of state: ServiceState, previous: LeadTimeIndex? = nil, droppingBefore cutoff: Int64 = .min) {
        let deploys = state.deploys
        // The samples at once, rather than one insertion per deploy, and in `report`'s way.
        let (order, position) = state.deployOrder()
        first = state.firstDeploys { position[$0] < position[$1] }
        // The live bench held 8.6 million slots for 4.4 million samples without room to grow.
        samples = first.leadTimeSamples(in: state.commits, position: position, capacity: roomToGrow) { deploys[order[$0]] }
        guard let previous else { return }
        let taken = previous.samplesAsTaken
        let base = taken[taken.partitionPoint { $0.time >= cutoff }...]
        unchangedCount = SampleChange.commonPrefixCount(base, samples[...])
        replaced = Array(base.dropFirst(unchangedCount))
    }

    /// The samples as they were when last taken.
    var samplesAsTaken: [TimedSample] {
        replaced.isEmpty && unchangedCount == samples.count ? samples : Array(samples[..<unchangedCount]) + replaced
    }

    /// How the samples changed since they were last taken (nil: not at all); they count as
    /// taken from now on.
    mutating func takeChange() -> SampleChange? {
        defer {
            unchangedCount = samples.count
            replaced = []
        }
        return SampleChange(from: replaced[...], to: samples[unchangedCount...])
    }

    /// Keeps what a change at `position` is about to overwrite.
    private mutating func noteChange(at position: Int) {
        guard position < unchangedCount else { return }
        replaced = Array(samples[position..<unchangedCount]) + replaced
        unchangedCount = position
    }

    /// Whether a deploy of the index ships `sha` (first): only then does remembering it as
    /// shipped before (`shippedBefore`) change the samples.
    func shipsFirst(_ sha: IDFingerprint, in commits: ChunkedArray<ServiceState.CommitRecord>) -> Bool {
        first.contains(sha, in: commits)
    }

    /// Deploy order: time, then id bytes.
    private static func precedes(_ a: ServiceState.DeployRecord, _ b: ServiceState.DeployRecord) -> Bool {
        DoraMetrics.precedes(a.time, a.id, b.time, b.id)
    }

    /// Offers the commits of a successful deploy (`deploys[index]`, its commits
    /// `commits[start ..< deploys[index].commitEnd]`, one per sha).
    /// Commits in `shippedBefore` (a retention forgot the deploy that shipped them first) are
    /// passed over.
    mutating func add(
        deploy index: Int, commitsFrom start: Int, deploys: ChunkedArray<ServiceState.DeployRecord>,
        commits: ChunkedArray<ServiceState.CommitRecord>, shippedBefore: FingerprintTable<Int64>
    ) {
        let deploy = deploys[index]
        var values: [Int64] = []  // this deploy's new lead times
        for position in start..<Int(deploy.commitEnd) {
            let c = commits[position]
            guard shippedBefore.isEmpty || shippedBefore[c.sha] == nil else { continue }
            let offered = first.offer(position, deploy: index, in: commits) { held in
                Self.precedes(deploy, deploys[held])
            }
            guard let previous = offered else { continue }
            if let held = previous.deploy {
                let other = deploys[held]
                if other.time >= previous.commitTime {
                    remove(TimedSample(time: other.time, value: other.time - previous.commitTime, id: other.id))
                }
            }
            if deploy.time >= c.time { values.append(deploy.time - c.time) }
        }
        // Deploys mostly arrive in time order: the samples (one time and id, so in value order)
        // then go at the end, with no comparison of ids.
        values.sort()
        if samples.last.map({ $0.time < deploy.time }) ?? true {
            for v in values { samples.append(TimedSample(time: deploy.time, value: v, id: deploy.id)) }
        } else {
            for v in values { insert(TimedSample(time: deploy.time, value: v, id: deploy.id)) }
        }
    }

    private mutating func insert(_ sample: TimedSample) {
        let position = samples.partitionPoint { TimedSample.precedes(sample, $0) }
        noteChange(at: position)
        samples.insert(sample, at: position)
    }

    private mutating func remove(_ sample: TimedSample) {
        var i = samples.partitionPoint { $0.time >= sample.time }
        while i < samples.count && samples[i].time == sample.time {
            if samples[i].value == sample.value && samples[i].id.utf8.elementsEqual(sample.id.utf8) {
                noteChange(at: i)
                samples.remove(at: i)
                return
            }
            i += 1
        }
        preconditionFailure("a lead-time sample was lost")
    }
}
