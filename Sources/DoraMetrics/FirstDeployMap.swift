import DoraEvents

/// Per commit sha (by fingerprint), the deploy that first ships it, as an index into the
/// service's deploys, and its commit time there (a `FingerprintTable`, growing as shas
/// arrive). `report` builds one per analysis; the live run's `LeadTimeIndex` keeps one up to
/// date. Iterated in slot order, which the same offers always give.
struct FirstDeployMap: Sendable {
    private struct First: Sendable {
        var deploy: Int32
        var commitTime: Int64
    }

    private var table: FingerprintTable<First>

    /// A map that holds `capacity` shas without growing.
    init(capacity: Int = 0) {
        table = FingerprintTable(capacity: capacity)
    }

    /// Offers `deploy` for `sha`; it is kept if the sha is new or `precedes(held deploy)`.
    /// Returns nil if nothing changed, else what was held before (`deploy` nil: nothing).
    @discardableResult
    mutating func offer(
        _ sha: IDFingerprint, deploy: Int, commitTime: Int64, precedes: (_ held: Int) -> Bool
    ) -> (deploy: Int?, commitTime: Int64)? {
        let offered = First(deploy: Int32(deploy), commitTime: commitTime)
        return table.withValue(forKey: sha, inserting: offered) { held, isNew in
            guard !isNew else { return (nil, 0) }
            guard precedes(Int(held.deploy)) else { return nil }
            defer { held = offered }
            return (Int(held.deploy), held.commitTime)
        }
    }

    /// Calls `body` with each sha's first deploy and commit time.
    func forEach(_ body: (_ deploy: Int, _ commitTime: Int64) -> Void) {
        table.forEach { _, first in body(Int(first.deploy), first.commitTime) }
    }

    /// `forEach`, also giving each sha's fingerprint.
    func forEachWithSHA(_ body: (_ deploy: Int, _ commitTime: Int64, _ sha: IDFingerprint) -> Void) {
        table.forEach { sha, first in body(Int(first.deploy), first.commitTime, sha) }
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
