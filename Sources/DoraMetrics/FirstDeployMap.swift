import DoraEvents

/// Per commit sha (by fingerprint), the deploy that first ships it, as an index into the
/// service's deploys, and its commit time there: open addressing on the fingerprint's own bits
/// (already uniform), with no re-hashing, growing as shas arrive. `report` builds one per
/// analysis; the live run's `LeadTimeIndex` keeps one up to date.
struct FirstDeployMap: Sendable {
    private struct Slot: Sendable {
        var sha: IDFingerprint
        var deploy: Int32  // -1: empty
        var commitTime: Int64
    }

    private var slots: [Slot]
    private var count = 0

    /// A map that holds `capacity` shas without growing.
    init(capacity: Int = 0) {
        var size = 16
        while size * 5 / 8 < capacity { size *= 2 }
        slots = Self.empty(size)
    }

    private static func empty(_ size: Int) -> [Slot] {
        Array(repeating: Slot(sha: IDFingerprint(high: 0, low: 0), deploy: -1, commitTime: 0), count: size)
    }

    /// Offers `deploy` for `sha`; it is kept if the sha is new or `precedes(held deploy)`.
    /// Returns nil if nothing changed, else what was held before (`deploy` nil: nothing).
    @discardableResult
    mutating func offer(
        _ sha: IDFingerprint, deploy: Int, commitTime: Int64, precedes: (_ held: Int) -> Bool
    ) -> (deploy: Int?, commitTime: Int64)? {
        if (count + 1) * 8 > slots.count * 5 { grow() }
        let mask = slots.count - 1
        let offered = slots.withUnsafeMutableBufferPointer { s -> (deploy: Int?, commitTime: Int64)?? in
            var i = Int(truncatingIfNeeded: sha.low) & mask
            while s[i].deploy >= 0 {
                if s[i].sha == sha {
                    guard precedes(Int(s[i].deploy)) else { return .some(nil) }
                    let previous = (deploy: Optional(Int(s[i].deploy)), commitTime: s[i].commitTime)
                    s[i].deploy = Int32(deploy)
                    s[i].commitTime = commitTime
                    return previous
                }
                i = (i + 1) & mask
            }
            s[i] = Slot(sha: sha, deploy: Int32(deploy), commitTime: commitTime)
            return nil  // a new sha
        }
        guard let offered else {
            count += 1
            return (nil, 0)
        }
        return offered
    }

    /// Calls `body` with each sha's first deploy and commit time.
    func forEach(_ body: (_ deploy: Int, _ commitTime: Int64) -> Void) {
        for slot in slots where slot.deploy >= 0 { body(Int(slot.deploy), slot.commitTime) }
    }

    /// `forEach`, also giving each sha's fingerprint.
    func forEachWithSHA(_ body: (_ deploy: Int, _ commitTime: Int64, _ sha: IDFingerprint) -> Void) {
        for slot in slots where slot.deploy >= 0 { body(Int(slot.deploy), slot.commitTime, slot.sha) }
    }

    private mutating func grow() {
        let old = slots
        slots = Self.empty(old.count * 2)
        let mask = slots.count - 1
        for slot in old where slot.deploy >= 0 {
            var i = Int(truncatingIfNeeded: slot.sha.low) & mask
            while slots[i].deploy >= 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }
}

extension ServiceState {
    /// Per commit sha, the successful deploy (index into `deploys`) that ships it first by
    /// `precedes` (metrics.md §2.2), with its commit time there; a commit that a deploy forgot
    /// by a retention shipped (`shippedBefore`) has none.
    func firstDeploys(by precedes: (_ a: Int, _ b: Int) -> Bool) -> FirstDeployMap {
        var map = FirstDeployMap(capacity: commits.count)
        var start = 0
        for (i, d) in deploys.enumerated() {
            for c in commits[start..<Int(d.commitEnd)] where shippedBefore.isEmpty || shippedBefore[c.sha] == nil {
                map.offer(c.sha, deploy: i, commitTime: c.time) { precedes(i, $0) }
            }
            start = Int(d.commitEnd)
        }
        return map
    }
}
