import DoraEvents

/// One service's lead-time samples (metrics.md §2.2), kept up to date deploy by deploy for the
/// live run, which would otherwise derive them again from every commit of the service's
/// history in each round. `report` derives them from scratch and never builds one.
///
/// Invariant: `samples` are exactly those a derivation from the same deploys gives, in
/// evaluation order (`TimedSample.sorted`): per commit sha, its first deploy by (time, id
/// bytes) holds it, with that deploy's commit time for it, unless the lead time is negative.
struct LeadTimeIndex: Sendable {
    private(set) var samples: [TimedSample] = []
    /// Per sha, its first deploy (an index into the service's deploys).
    private var first: FirstDeployMap

    /// The index of a service's history so far.
    init(of state: ServiceState) {
        let deploys = state.deploys
        first = state.firstDeploys { Self.precedes(deploys[$0], deploys[$1]) }
        // The samples in one sort, rather than one insertion per deploy.
        var all: [TimedSample] = []
        first.forEach(in: state.commits) { index, commitTime in
            let deploy = deploys[index]
            if deploy.time >= commitTime { all.append(TimedSample(time: deploy.time, value: deploy.time - commitTime, id: deploy.id)) }
        }
        samples = TimedSample.sorted(all)
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
        samples.insert(sample, at: samples.partitionPoint { TimedSample.precedes(sample, $0) })
    }

    private mutating func remove(_ sample: TimedSample) {
        var i = samples.partitionPoint { $0.time >= sample.time }
        while i < samples.count && samples[i].time == sample.time {
            if samples[i].value == sample.value && samples[i].id.utf8.elementsEqual(sample.id.utf8) {
                samples.remove(at: i)
                return
            }
            i += 1
        }
        preconditionFailure("a lead-time sample was lost")
    }
}
