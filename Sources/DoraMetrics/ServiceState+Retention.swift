/// Forgetting what lies before a cutoff: the live run's bounded state (docs/run.md,
/// "Retention"). Each rule keeps whatever an evaluation at or after the cutoff can still read,
/// provided no episode spans the cutoff by more than the retention's slack; that condition is
/// the documented price of bounded memory.
extension ServiceState {
    /// This state without what happened entirely before `cutoff`:
    /// - deploys dated before it (their commits only as `shippedBefore`), failed deploys and
    ///   event times before it;
    /// - alert episodes whose every event is before it, once resolved (an open one stays);
    /// - rollbacks and drills whose every event is before it, once completed or failed, except
    ///   the few that rollback readiness still reads (`RollbackRetention`).
    /// `earliestEvent` (when the service was first seen) stays. Requires a consolidated state.
    /// - Parameter commitsSince: the commits of forgotten deploys dated at or after it are
    ///   remembered (`shippedBefore`), so that shipping one again gives no lead time; older
    ///   ones are forgotten too.
    func forgetting(before cutoff: Int64, commitsSince: Int64) -> ServiceState {
        precondition(parts.isEmpty, "consolidate before forgetting")
        var kept = ServiceState(name: name)
        kept.earliestEvent = earliestEvent
        kept.shippedBefore = shippedBefore.filter { _, t in t >= commitsSince }
        // Sized before they are filled (`roomToGrow`): the deploys and commits are the largest
        // part of a live run's state.
        var (keptDeploys, keptCommits, start) = (0, 0, 0)
        for d in deploys {
            if d.time >= cutoff { (keptDeploys, keptCommits) = (keptDeploys + 1, keptCommits + Int(d.commitEnd) - start) }
            start = Int(d.commitEnd)
        }
        kept.deploys.reserveCapacity(roomToGrow(keptDeploys))
        kept.commits.reserveCapacity(roomToGrow(keptCommits))
        start = 0
        var forgotten: [SortedFingerprintTable<Int64>.Entry] = []
        for d in deploys {
            defer { start = Int(d.commitEnd) }
            guard d.time >= cutoff else {
                if d.time >= commitsSince {
                    for c in commits[start..<Int(d.commitEnd)] { forgotten.append(.init(key: c.sha, value: d.time)) }
                }
                continue
            }
            kept.commits += commits[start..<Int(d.commitEnd)]
            var moved = d
            moved.commitEnd = Int32(kept.commits.count)
            kept.deploys.append(moved)
        }
        kept.shippedBefore.raiseValues(forgotten)
        kept.failedDeployTimes += failedDeployTimes.lazy.filter { $0 >= cutoff }
        kept.eventTimes += eventTimes.lazy.filter { $0 >= cutoff }
        kept.alerts = IDTable(capacity: roomToGrow(alerts.lazy.filter { !$0.1.isSettled(before: cutoff) }.count))
        for (id, alert) in alerts where !alert.isSettled(before: cutoff) {
            _ = kept.alerts.position(of: id, initial: alert)  // a new entry: the ids are unique
        }
        (kept.rollbacks, kept.forgottenSuccesses) = RollbackRetention.forgetting(rollbacks, before: cutoff)
        let (drills, forgottenDrills) = RollbackRetention.forgetting(self.drills, before: cutoff)
        kept.drills = drills
        kept.forgottenSuccesses += forgottenSuccesses + forgottenDrills
        if let leadTimes { kept.leadTimes = LeadTimeIndex(of: kept, forgetting: leadTimes, of: self, before: cutoff) }
        if var episodes {
            // Built again on what is kept, its changes measured from the samples as last taken
            // (a retention step happens once a day).
            episodes.update(in: self)
            kept.episodes = EpisodeIndex(of: kept, window: episodes.window, keeping: episodes.kept, taken: episodes.samplesAsTaken(in: self))
        }
        return kept
    }

    /// How many deploys, commits, alert episodes, rollbacks and event times it holds: what a
    /// retention bounds (for tests that memory stays flat).
    var retainedItems: Int {
        deploys.count + commits.count + failedDeployTimes.count + alerts.count + rollbacks.count + drills.count + eventTimes.count
            + (leadTimes?.retainedItems ?? 0) + (episodes?.retainedItems ?? 0) + shippedBefore.count
    }
}

extension ServiceState.AlertState {
    /// Every event before `cutoff`, and nothing left to happen: resolved, or never fired.
    func isSettled(before cutoff: Int64) -> Bool {
        let latest = max(firingID != nil ? firingTime : .min, latestFiringTime, resolvedTimes.latest ?? .min)
        return latest < cutoff && (firingID == nil || resolvedTime != nil)
    }
}

extension ServiceState.RollbackState {
    /// Every event before `cutoff`, and completed or failed (one in progress may still end).
    func isSettled(before cutoff: Int64) -> Bool {
        let latest = max(earliestTime, hasStarted ? startedTime : .min, completedTimes.latest ?? .min, failed ? failedTime : .min)
        return latest < cutoff && (completedTime != nil || failed)
    }
}

/// Which settled rollbacks a retention may forget. Rollback readiness reads a service's whole
/// rollback history: its latest exercise, its latest success, the failures after that success
/// (the `RollbackFailed` alert) and how many successes there were. So of the rollbacks settled
/// before the cutoff, these stay: the latest exercise, the latest success and every failure
/// after it; the others are forgotten and only their successes are counted. Kept per
/// environment and per kind (real, drill), that is a superset of what the service's merged
/// history needs, so readiness computed after the cutoff is the same.
enum RollbackRetention {
    /// The rollbacks to keep, and how many successes (completions) the forgotten ones had.
    static func forgetting(
        _ rollbacks: [String: ServiceState.RollbackState], before cutoff: Int64
    ) -> (kept: [String: ServiceState.RollbackState], forgottenSuccesses: Int) {
        var settled: [(id: String, state: ServiceState.RollbackState)] = []
        var kept: [String: ServiceState.RollbackState] = [:]
        for (id, r) in rollbacks {
            if r.isSettled(before: cutoff) { settled.append((id, r)) } else { kept[id] = r }
        }
        guard !settled.isEmpty else { return (kept, 0) }
        // The latest success and the latest exercise, each by time and then id bytes (ties keep
        // both: the merged history decides between them).
        let lastSuccess = settled.lazy.compactMap(\.state.completedTime).max() ?? .min
        let lastExercise = settled.lazy.map { $0.state.completedTime ?? $0.state.failedTime }.max()!
        var forgotten = 0
        for (id, r) in settled {
            let at = r.completedTime ?? r.failedTime
            if at == lastExercise || r.completedTime == lastSuccess || (r.failed && r.failedTime >= lastSuccess) {
                kept[id] = r
            } else if r.completedTime != nil {
                forgotten += 1
            }
        }
        return (kept, forgotten)
    }
}

extension ServiceExercises {
    /// `ServiceState.forgetting(before:)` for the rollbacks of the other environments.
    func forgetting(before cutoff: Int64) -> ServiceExercises {
        var kept = ServiceExercises()
        kept.forgottenSuccesses = forgottenSuccesses
        for (name, e) in environments {
            let (real, realForgotten) = RollbackRetention.forgetting(e.real, before: cutoff)
            let (drills, drillsForgotten) = RollbackRetention.forgetting(e.drills, before: cutoff)
            kept.forgottenSuccesses += realForgotten + drillsForgotten
            if !real.isEmpty || !drills.isEmpty { kept.environments[name] = Environment(real: real, drills: drills) }
        }
        return kept
    }

    var retainedItems: Int { environments.values.reduce(0) { $0 + $1.real.count + $1.drills.count } }
}
