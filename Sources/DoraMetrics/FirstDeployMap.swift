import DoraEvents

/// Per commit sha (by its `ShortFingerprint`), the deploy that first ships it: that deploy's
/// index in the service's deploys, and the position in the service's `commits` of that
/// deploy's record of the sha (which holds the fingerprint and the commit time there).
/// `report` builds one per analysis; the live run's `LeadTimeIndex` keeps one up to date.
///
/// A hash table placed as `FingerprintTable` places its keys (open addressing, linear probing
/// from the fingerprint's low bits, sized by `SlotSizing`), so the same offers give the same
/// slot order, which `forEach` follows. A slot does not hold the key: only the
/// fingerprint's low 32 bits, which place it and rule out nearly every other key, and the
/// commit position, where the whole fingerprint is read to confirm a match. That is 12 bytes a
/// slot instead of 24: this map is the largest part of the live run's lead-time state.
///
/// Invariant: every held position is that of a record in the `commits` passed to every call,
/// which only grow at their end while the map lives (a state that rebuilds its commits builds
/// a new map).
struct FirstDeployMap: Sendable {
    private struct Slot: Sendable {
        /// The fingerprint's low 32 bits.
        var tag: UInt32
        var deploy: Int32
        /// The commit record's position + 1; 0: the slot is empty.
        var entry: UInt32
    }

    typealias Commits = ChunkedArray<ServiceState.CommitRecord>

    private var slots: [Slot]
    private(set) var count = 0

    /// A map that holds `capacity` shas without growing.
    init(capacity: Int = 0) {
        slots = SlotSizing.zeroed(SlotSizing.count(forCapacity: capacity))
    }

    /// Offers the deploy `deploy` for the sha of `commits[position]`; it is kept if the sha is
    /// new or `precedes(held deploy)`. Returns nil if nothing changed, else what was held
    /// before (`deploy` nil: nothing), with its commit time.
    @discardableResult
    mutating func offer(
        _ position: Int, deploy: Int, in commits: Commits, precedes: (_ held: Int) -> Bool
    ) -> (deploy: Int?, commitTime: Int64)? {
        precondition(position < Int(UInt32.max) && deploy <= Int(Int32.max), "a service's commits or deploys exceed 32-bit positions")
        if SlotSizing.isFull(count: count, slots: slots.count) { grow() }
        let sha = commits[position].sha
        let offered = Slot(tag: UInt32(truncatingIfNeeded: sha.bits), deploy: Int32(deploy), entry: UInt32(position + 1))
        let (i, found) = slot(of: sha, in: commits)
        guard found else {
            slots[i] = offered
            count += 1
            return (nil, 0)
        }
        let held = slots[i]
        guard precedes(Int(held.deploy)) else { return nil }
        slots[i] = offered
        return (Int(held.deploy), commits[Int(held.entry) - 1].time)
    }

    /// Whether `sha` has a first deploy here.
    func contains(_ sha: ShortFingerprint, in commits: Commits) -> Bool {
        !slots.isEmpty && slot(of: sha, in: commits).found
    }

    /// The first deploy of `sha` and the sha's commit time there; nil if it has none here.
    func first(of sha: ShortFingerprint, in commits: Commits) -> (deploy: Int, commitTime: Int64)? {
        guard !slots.isEmpty else { return nil }
        let (i, found) = slot(of: sha, in: commits)
        return found ? (Int(slots[i].deploy), commits[Int(slots[i].entry) - 1].time) : nil
    }

    /// The slot that holds `sha`, or else the empty slot where it goes. Requires slots.
    private func slot(of sha: ShortFingerprint, in commits: Commits) -> (index: Int, found: Bool) {
        slots.withUnsafeBufferPointer { s in
            let tag = UInt32(truncatingIfNeeded: sha.bits)
            var i = SlotSizing.home(tag, slots: s.count)
            while s[i].entry != 0 {
                if s[i].tag == tag && commits[Int(s[i].entry) - 1].sha == sha { return (i, true) }
                i = SlotSizing.next(i, slots: s.count)
            }
            return (i, false)
        }
    }

    /// Calls `body` with each sha's first deploy and commit time, in slot order.
    func forEach(in commits: Commits, _ body: (_ deploy: Int, _ commitTime: Int64) -> Void) {
        for slot in slots where slot.entry != 0 { body(Int(slot.deploy), commits[Int(slot.entry) - 1].time) }
    }

    /// `forEach`, also giving each sha's fingerprint.
    func forEachWithSHA(in commits: Commits, _ body: (_ deploy: Int, _ commitTime: Int64, _ sha: ShortFingerprint) -> Void) {
        for slot in slots where slot.entry != 0 {
            let commit = commits[Int(slot.entry) - 1]
            body(Int(slot.deploy), commit.time, commit.sha)
        }
    }

    /// Doubles the slots (or makes the first 16), placing every entry again in slot order.
    private mutating func grow() {
        let old = slots
        slots = SlotSizing.zeroed(SlotSizing.grown(old.count))
        slots.withUnsafeMutableBufferPointer { s in
            for slot in old where slot.entry != 0 {
                var i = SlotSizing.home(slot.tag, slots: s.count)
                while s[i].entry != 0 { i = SlotSizing.next(i, slots: s.count) }
                s[i] = slot
            }
        }
    }
}

extension FirstDeployMap {
    /// The lead-time samples of the shas it holds (the first deploy's time minus the sha's
    /// commit time there; none where that is negative), in evaluation order
    /// (`TimedSample.sorted`). With the deploys in deploy order (`position[i]`: where deploy i
    /// goes; `deploy(p)`: the deploy at p) that order is by position, then value, since a
    /// deploy's samples share its time and id: a counting sort by position, then each
    /// deploy's few values sorted in place. No sample is compared with another (that compared
    /// their ids: most of a live retention step, bench/RESULTS.md, twenty-third session).
    func leadTimeSamples(
        in commits: Commits, position: [Int], deploy: (_ position: Int) -> ServiceState.DeployRecord
    ) -> [TimedSample] {
        var starts = [Int](repeating: 0, count: position.count + 1)
        forEach(in: commits) { i, commitTime in
            let p = position[i]
            if deploy(p).time >= commitTime { starts[p + 1] += 1 }
        }
        for p in position.indices { starts[p + 1] += starts[p] }
        var values = [Int64](repeating: 0, count: starts[position.count])
        var next = starts
        forEach(in: commits) { i, commitTime in
            let p = position[i]
            let time = deploy(p).time
            guard time >= commitTime else { return }
            values[next[p]] = time - commitTime
            next[p] += 1
        }
        var out: [TimedSample] = []
        out.reserveCapacity(values.count)
        for p in position.indices where starts[p + 1] > starts[p] {
            values[starts[p]..<starts[p + 1]].sort()
            let d = deploy(p)
            for v in values[starts[p]..<starts[p + 1]] { out.append(TimedSample(time: d.time, value: v, id: d.id)) }
        }
        return out
    }
}

extension ServiceState {
    /// Its deploys in deploy order (time, then id bytes): the deploy indices in that order, and
    /// where each deploy went (`position[i]` for `deploys[i]`). Sorted by time alone, ids
    /// compared only on ties: most comparisons touch no string.
    func deployOrder() -> (order: [Int], position: [Int]) {
        var keyed = deploys.indices.map { (time: deploys[$0].time, index: Int32($0)) }
        keyed.sort { $0.time != $1.time ? $0.time < $1.time : deploys[Int($0.index)].id.utf8.lexicographicallyPrecedes(deploys[Int($1.index)].id.utf8) }
        let order = keyed.map { Int($0.index) }
        var position = [Int](repeating: 0, count: deploys.count)
        for (p, i) in order.enumerated() { position[i] = p }
        return (order, position)
    }

    /// Per commit sha, the successful deploy (index into `deploys`) that ships it first by
    /// `precedes` (metrics.md §2.2), with its commit time there; a commit that a deploy forgot
    /// by a retention shipped (`shippedBefore`) has none.
    /// - Parameter room: the shas it holds without growing, at least the commits' count (a
    ///   live index passes `roomToGrow` of it: an exactly sized map would double at the first
    ///   new sha after every retention step).
    func firstDeploys(room: Int = 0, by precedes: (_ a: Int, _ b: Int) -> Bool) -> FirstDeployMap {
        var map = FirstDeployMap(capacity: max(room, commits.count))
        var start = 0
        for (i, d) in deploys.enumerated() {
            for position in start..<Int(d.commitEnd) where shippedBefore.isEmpty || shippedBefore[commits[position].sha] == nil {
                map.offer(position, deploy: i, in: commits) { precedes(i, $0) }
            }
            start = Int(d.commitEnd)
        }
        return map
    }
}
