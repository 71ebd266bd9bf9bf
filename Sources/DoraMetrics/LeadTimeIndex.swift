import DoraEvents

/// One service's lead times (metrics.md §2.2) kept deploy by deploy for the live run: which
/// deploy ships each commit sha first, and how the samples changed since they were last
/// taken (`takeChange`), so that the SLO evaluation is given a round's changes instead of
/// deriving every service's samples again from its whole history, or keeping a copy of them
/// to compare with. `report` derives them from scratch and never builds one.
///
/// It does not hold the samples themselves: they follow from the first deploys in one pass
/// (`samples(in:)`), and are asked for only when a window is rebuilt or for the live report.
/// Holding them doubled the lead-time state of a live run (bench/RESULTS.md, twenty-fourth
/// session).
///
/// Invariants, for the state it belongs to:
/// - `first` holds, per sha not in `shippedBefore`, its first deploy by (time, id bytes);
/// - `change` is how the current samples differ from those last taken (`UntakenChange`).
struct LeadTimeIndex: Sendable {
    /// Per sha, its first deploy (an index into the service's deploys).
    private var first: FirstDeployMap
    /// How the samples changed since the last take.
    private var change = UntakenChange()

    /// The index of a service's history so far. What changed is measured from `taken`, the
    /// samples as last taken (in evaluation order); nil: none was ever taken, so every sample
    /// is new.
    init(of state: ServiceState, taken: [TimedSample]? = nil) {
        let (order, position) = state.deployOrder()
        first = state.firstDeploys(room: roomToGrow(state.commits.count)) { position[$0] < position[$1] }
        let samples = first.leadTimeSamples(in: state.commits, position: position) { state.deploys[order[$0]] }
        change = UntakenChange(from: taken, to: samples)
    }

    /// The index of `kept`, which is `state` without what lies before `cutoff`
    /// (`ServiceState.forgetting`), from `state`'s index `old`. What changed is measured from
    /// `old`'s samples as last taken without those before the cutoff, as a rebuild with
    /// `init(of:taken:)` would measure it, but without deriving either list of samples (a
    /// retention step does this for every service):
    /// - a sha whose first deploy is kept is shipped first by that same deploy in `kept` (no
    ///   earlier deploy ships it there either), so its sample is unchanged and none is removed;
    /// - a sha shipped first by a forgotten deploy, or no longer remembered as shipped before
    ///   (`shippedBefore`), may now be shipped first by a kept deploy: those samples are new.
    /// The differential test of the index (`LeadTimeIndexTests`) holds it to the rebuild.
    init(of kept: ServiceState, forgetting old: LeadTimeIndex, of state: ServiceState, before cutoff: Int64) {
        let position = kept.deployOrder().position
        first = kept.firstDeploys(room: roomToGrow(kept.commits.count)) { position[$0] < position[$1] }
        change = old.change.dropping(before: cutoff)
        var shipped: [TimedSample] = []
        func offer(_ sha: ShortFingerprint) {
            guard let (i, commitTime) = first.first(of: sha, in: kept.commits) else { return }
            let d = kept.deploys[i]
            if d.time >= commitTime { shipped.append(TimedSample(time: d.time, value: d.time - commitTime, id: d.id)) }
        }
        var start = 0
        for (i, d) in state.deploys.enumerated() {
            defer { start = Int(d.commitEnd) }
            guard d.time < cutoff else { continue }
            for c in state.commits[start..<Int(d.commitEnd)] where old.first.first(of: c.sha, in: state.commits)?.deploy == i {
                offer(c.sha)
            }
        }
        state.shippedBefore.forEachKey(notIn: kept.shippedBefore, offer)
        for sample in TimedSample.sorted(shipped) { change.note(sample, gone: false) }
    }

    /// The current samples, in evaluation order, derived from the first deploys (`report`'s
    /// derivation without building the map again).
    /// - Complexity: O(d log d + c) for the state's d deploys and c first-shipped commits.
    func samples(in state: ServiceState) -> [TimedSample] {
        let (order, position) = state.deployOrder()
        return first.leadTimeSamples(in: state.commits, position: position) { state.deploys[order[$0]] }
    }

    /// The samples as they were when last taken.
    func samplesAsTaken(in state: ServiceState) -> [TimedSample] {
        change.samplesAsTaken(current: samples(in: state))
    }

    /// At least the number of samples as last taken: each first-shipped sha gives at most one
    /// current sample, and those taken differ from the current ones by the change.
    var samplesAsTakenBound: Int { first.count + change.removed.count }

    /// How many items it holds: its first deploys and the changes not yet taken.
    var retainedItems: Int { first.count + change.count }

    /// How the samples changed since they were last taken (nil: not at all); they count as
    /// taken from now on.
    mutating func takeChange() -> SampleChange? {
        change.take()
    }

    /// Whether a deploy of the index ships `sha` (first): only then does remembering it as
    /// shipped before (`shippedBefore`) change the samples.
    func shipsFirst(_ sha: ShortFingerprint, in commits: ChunkedArray<ServiceState.CommitRecord>) -> Bool {
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
        commits: ChunkedArray<ServiceState.CommitRecord>, shippedBefore: SortedFingerprintTable<Int64>
    ) {
        let deploy = deploys[index]
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
                    change.note(TimedSample(time: other.time, value: other.time - previous.commitTime, id: other.id), gone: true)
                }
            }
            if deploy.time >= c.time { change.note(TimedSample(time: deploy.time, value: deploy.time - c.time, id: deploy.id), gone: false) }
        }
    }
}
