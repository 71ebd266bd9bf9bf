/// How one service's samples of one metric changed since an SLO evaluation last took them: the
/// bookkeeping of the indexes that keep samples as events arrive for the live run
/// (`LeadTimeIndex`, `EpisodeIndex`), so that a round hands the windows its changes instead of
/// every sample.
///
/// Invariant: the samples as last taken are the current samples without `added` and with
/// `removed`; both lists are in evaluation order (`TimedSample.precedes`), no sample is in
/// both, and every one of `removed` is among the samples as last taken.
struct UntakenChange: Sendable {
    private(set) var removed: [TimedSample] = []
    private(set) var added: [TimedSample] = []

    /// No change.
    init() {}

    /// The change from `taken` (the samples as last taken) to `current`, both in evaluation
    /// order; with `taken` nil (never taken), every current sample is new.
    init(from taken: [TimedSample]?, to current: [TimedSample]) {
        if let taken { (removed, added) = Self.difference(from: taken, to: current) } else { added = current }
    }

    /// This change without its samples dated before `cutoff`.
    func dropping(before cutoff: Int64) -> UntakenChange {
        var kept = UntakenChange()
        kept.removed = Array(removed[removed.partitionPoint { $0.time >= cutoff }...])
        kept.added = Array(added[added.partitionPoint { $0.time >= cutoff }...])
        return kept
    }

    var isEmpty: Bool { removed.isEmpty && added.isEmpty }
    var count: Int { removed.count + added.count }

    /// Records that `sample` is gone (or new): it cancels the same sample new (or gone) since
    /// the last take, else joins the samples gone (new).
    mutating func note(_ sample: TimedSample, gone: Bool) {
        if let i = Self.position(of: sample, in: gone ? added : removed) {
            if gone { added.remove(at: i) } else { removed.remove(at: i) }
            return
        }
        // Samples mostly arrive in time order: the sample then goes at the end.
        if gone {
            removed.insert(sample, at: removed.partitionPoint { TimedSample.precedes(sample, $0) })
        } else {
            added.insert(sample, at: added.partitionPoint { TimedSample.precedes(sample, $0) })
        }
    }

    /// The change, which counts as taken from now on (nil: none).
    mutating func take() -> SampleChange? {
        defer { (removed, added) = ([], []) }
        return SampleChange(removed: removed, added: added)
    }

    /// The samples as last taken, given the `current` ones (in evaluation order).
    func samplesAsTaken(current: [TimedSample]) -> [TimedSample] {
        guard !isEmpty else { return current }
        let withoutAdded = Self.difference(from: added, to: current).added  // every one of `added` is current
        return Self.merged(withoutAdded, removed)
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
