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
    private var first = FirstDeploys()

    init() {}

    /// The index of a service's history so far (its deploys in the order they were added).
    init(deploys: ChunkedArray<ServiceState.DeployRecord>, commits: ChunkedArray<ServiceState.CommitRecord>) {
        var start = 0
        for (index, deploy) in deploys.enumerated() {
            for c in commits[start..<Int(deploy.commitEnd)] {
                _ = first.offer(c.sha, deploy: Int32(index), commitTime: c.time) { held in
                    Self.precedes(deploy, deploys[Int(held)])
                }
            }
            start = Int(deploy.commitEnd)
        }
        // The samples in one sort, rather than one insertion per deploy.
        var all: [TimedSample] = []
        first.forEach { index, commitTime in
            let deploy = deploys[Int(index)]
            if deploy.time >= commitTime { all.append(TimedSample(time: deploy.time, value: deploy.time - commitTime, id: deploy.id)) }
        }
        samples = TimedSample.sorted(all)
    }

    /// Deploy order: time, then id bytes.
    private static func precedes(_ a: ServiceState.DeployRecord, _ b: ServiceState.DeployRecord) -> Bool {
        DoraMetrics.precedes(a.time, a.id, b.time, b.id)
    }

    /// Offers the commits of a successful deploy (`deploys[index]`, its commits
    /// `commits[start ..< deploys[index].commitEnd]`, one per sha).
    mutating func add(
        deploy index: Int, commitsFrom start: Int, deploys: ChunkedArray<ServiceState.DeployRecord>,
        commits: ChunkedArray<ServiceState.CommitRecord>
    ) {
        let deploy = deploys[index]
        var values: [Int64] = []  // this deploy's new lead times
        for c in commits[start..<Int(deploy.commitEnd)] {
            let offered = first.offer(c.sha, deploy: Int32(index), commitTime: c.time) { held in
                Self.precedes(deploy, deploys[Int(held)])
            }
            guard let previous = offered else { continue }
            if let held = previous.deploy {
                let other = deploys[Int(held)]
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
        samples.insert(sample, at: firstIndex { TimedSample.precedes(sample, $0) })
    }

    private mutating func remove(_ sample: TimedSample) {
        var i = firstIndex { $0.time >= sample.time }
        while i < samples.count && samples[i].time == sample.time {
            if samples[i].value == sample.value && samples[i].id.utf8.elementsEqual(sample.id.utf8) {
                samples.remove(at: i)
                return
            }
            i += 1
        }
        preconditionFailure("a lead-time sample was lost")
    }

    /// The first index whose sample satisfies `accept` (monotone over `samples`).
    private func firstIndex(where accept: (TimedSample) -> Bool) -> Int {
        var (lo, hi) = (0, samples.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if accept(samples[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

/// Per commit sha (by fingerprint), the deploy that first ships it and its commit time there:
/// open addressing on the fingerprint's own bits, growing as shas arrive.
private struct FirstDeploys: Sendable {
    private struct Slot: Sendable {
        var sha: IDFingerprint
        var deploy: Int32  // -1: empty
        var commitTime: Int64
    }

    private var slots = [Slot](repeating: Slot(sha: IDFingerprint(high: 0, low: 0), deploy: -1, commitTime: 0), count: 16)
    private var count = 0

    /// Offers `deploy` for `sha`; it is kept if the sha is new or `precedes(held deploy)`.
    /// Returns nil if nothing changed, else what was held before (`deploy` nil: nothing).
    mutating func offer(
        _ sha: IDFingerprint, deploy: Int32, commitTime: Int64, precedes: (Int32) -> Bool
    ) -> (deploy: Int32?, commitTime: Int64)? {
        if (count + 1) * 8 > slots.count * 5 { grow() }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: sha.low) & mask
        while slots[i].deploy >= 0 {
            if slots[i].sha == sha {
                guard precedes(slots[i].deploy) else { return nil }
                let previous = (deploy: Optional(slots[i].deploy), commitTime: slots[i].commitTime)
                slots[i].deploy = deploy
                slots[i].commitTime = commitTime
                return previous
            }
            i = (i + 1) & mask
        }
        slots[i] = Slot(sha: sha, deploy: deploy, commitTime: commitTime)
        count += 1
        return (nil, 0)
    }

    /// Calls `body` with each sha's first deploy and commit time.
    func forEach(_ body: (Int32, Int64) -> Void) {
        for slot in slots where slot.deploy >= 0 { body(slot.deploy, slot.commitTime) }
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(sha: IDFingerprint(high: 0, low: 0), deploy: -1, commitTime: 0), count: old.count * 2)
        let mask = slots.count - 1
        for slot in old where slot.deploy >= 0 {
            var i = Int(truncatingIfNeeded: slot.sha.low) & mask
            while slots[i].deploy >= 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }
}
