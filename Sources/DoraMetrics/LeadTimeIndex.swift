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
/// - the samples as last taken are the current samples without `added` and with `removed`:
///   both in evaluation order (`TimedSample.precedes`), no sample in both, and every one of
///   `removed` among the samples as last taken.
struct LeadTimeIndex: Sendable {
    /// Per sha, its first deploy (an index into the service's deploys).
    private var first: FirstDeployMap
    /// The samples gone since the last take.
    private var removed: [TimedSample] = []
    /// The samples new since the last take.
    private var added: [TimedSample] = []

    /// The index of a service's history so far. What changed is measured from `taken`, the
    /// samples as last taken (in evaluation order); nil: none was ever taken, so every sample
    /// is new.
    init(of state: ServiceState, taken: [TimedSample]? = nil) {
        let (order, position) = state.deployOrder()
        first = state.firstDeploys { position[$0] < position[$1] }
        let samples = first.leadTimeSamples(in: state.commits, position: position) { state.deploys[order[$0]] }
        if let taken { (removed, added) = Self.difference(from: taken, to: samples) } else { added = samples }
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
        first = kept.firstDeploys { position[$0] < position[$1] }
        removed = Array(old.removed[old.removed.partitionPoint { $0.time >= cutoff }...])
        added = Array(old.added[old.added.partitionPoint { $0.time >= cutoff }...])
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
        for sample in TimedSample.sorted(shipped) { note(sample, gone: false) }
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
        let current = samples(in: state)
        guard !removed.isEmpty || !added.isEmpty else { return current }
        let withoutAdded = Self.difference(from: added, to: current).added  // every one of `added` is current
        return Self.merged(withoutAdded, removed)
    }

    /// At least the number of samples as last taken: each first-shipped sha gives at most one
    /// current sample, and those taken differ from the current ones by `removed` and `added`.
    var samplesAsTakenBound: Int { first.count + removed.count }

    /// How many items it holds: its first deploys and the changes not yet taken.
    var retainedItems: Int { first.count + removed.count + added.count }

    /// How the samples changed since they were last taken (nil: not at all); they count as
    /// taken from now on.
    mutating func takeChange() -> SampleChange? {
        defer { (removed, added) = ([], []) }
        return SampleChange(removed: removed, added: added)
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
                    note(TimedSample(time: other.time, value: other.time - previous.commitTime, id: other.id), gone: true)
                }
            }
            if deploy.time >= c.time { note(TimedSample(time: deploy.time, value: deploy.time - c.time, id: deploy.id), gone: false) }
        }
    }

    /// Records that `sample` is gone (or new): it cancels the same sample new (or gone) since
    /// the last take, else joins the samples gone (new).
    private mutating func note(_ sample: TimedSample, gone: Bool) {
        if let i = Self.position(of: sample, in: gone ? added : removed) {
            if gone { added.remove(at: i) } else { removed.remove(at: i) }
            return
        }
        // Deploys mostly arrive in time order: the sample then goes at the end.
        if gone {
            removed.insert(sample, at: removed.partitionPoint { TimedSample.precedes(sample, $0) })
        } else {
            added.insert(sample, at: added.partitionPoint { TimedSample.precedes(sample, $0) })
        }
    }

    /// Where `sample` is in `samples` (in evaluation order), its id compared as bytes.
    private static func position(of sample: TimedSample, in samples: [TimedSample]) -> Int? {
        var i = samples.partitionPoint { !TimedSample.precedes($0, sample) }
        while i < samples.count && !TimedSample.precedes(sample, samples[i]) {
            if samples[i].time == sample.time && samples[i].value == sample.value && samples[i].id.utf8.elementsEqual(sample.id.utf8) {
                return i
            }
            i += 1
        }
        return nil
    }

    /// What `new` lacks of `old` and what it has more, both in evaluation order (multisets:
    /// a sample twice in one and once in the other counts once).
    static func difference(from old: [TimedSample], to new: [TimedSample]) -> (removed: [TimedSample], added: [TimedSample]) {
        var (removed, added): ([TimedSample], [TimedSample]) = ([], [])
        var (i, j) = (0, 0)
        while i < old.count || j < new.count {
            if j == new.count || (i < old.count && TimedSample.precedes(old[i], new[j])) {
                removed.append(old[i])
                i += 1
            } else if i == old.count || TimedSample.precedes(new[j], old[i]) {
                added.append(new[j])
                j += 1
            } else {  // neither precedes: the same sample
                (i, j) = (i + 1, j + 1)
            }
        }
        return (removed, added)
    }

    /// `a` and `b` (each in evaluation order) merged into one list in that order.
    private static func merged(_ a: [TimedSample], _ b: [TimedSample]) -> [TimedSample] {
        var out: [TimedSample] = []
        out.reserveCapacity(a.count + b.count)
        var (i, j) = (0, 0)
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && !TimedSample.precedes(b[j], a[i])) {
                out.append(a[i])
                i += 1
            } else {
                out.append(b[j])
                j += 1
            }
        }
        return out
    }
}
