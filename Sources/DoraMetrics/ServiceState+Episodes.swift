import DoraEvents

/// Linking, recovery episodes and the period's samples of one service (docs/metrics.md §1-2).
extension ServiceState {
    /// One failed change's recovery episode.
    struct Episode {
        var deploy: Int  // position in the sorted deploys
        var detectedAt: Int64
        var rollbackStarted: Int64?
        var rollbackDone: Int64?
        var healthyAt: Int64?  // nil: open
        var hasRollback: Bool

        /// The episode of the deploy at `deploy` from what links to it (§2.4); `linked` must
        /// be a failed change.
        init(deploy: Int, linked l: Linked) {
            self.deploy = deploy
            detectedAt = min(l.firstStart ?? .max, l.firstFiring)
            rollbackStarted = l.firstStart
            rollbackDone = l.firstCompletion
            healthyAt = l.healthyAt
            hasRollback = l.firstStart != nil
        }

        /// Its SLO samples (slo.md, "Samples"), each with its metric, dated when it became
        /// healthy, for `deployRecord` (the deploy at `deploy`); none while it is open.
        func forEachTimedSample(of deployRecord: DeployRecord, _ body: (DurationMetric, TimedSample) -> Void) {
            guard let healthy = healthyAt else { return }
            let (t, id) = (deployRecord.time, deployRecord.id)
            body(.recoveryTime, TimedSample(time: healthy, value: healthy - t, id: id))
            body(.detect, TimedSample(time: healthy, value: detectedAt - t, id: id))
            guard hasRollback, let started = rollbackStarted, let done = rollbackDone else { return }
            body(.decide, TimedSample(time: healthy, value: started - detectedAt, id: id))
            body(.act, TimedSample(time: healthy, value: done - started, id: id))
            body(.verify, TimedSample(time: healthy, value: healthy - done, id: id))
        }
    }

    /// What linking finds for one service, independent of any period.
    struct Analysis {
        /// Successful deploys in (time, id) order.
        var deploys: [DeployRecord]
        /// `position[i]`: where `ServiceState.deploys[i]` is in `deploys`.
        var position: [Int]
        var episodes: [Episode]
        /// Per sorted deploy: is it inside another closed episode's [detected, healthy]
        /// (empty unless the analysis was asked to find rework).
        var reworkByTiming: [Bool]
        /// Per episode: does another deploy fall inside its [detected, healthy] (empty unless
        /// the analysis was asked to find rework).
        var rollForward: [Bool]
        /// Every incident (incident-severity alert episode with a firing event).
        var incidents: [Incident]
        /// Per rollback, in the iteration order of `ServiceState.rollbacks` (which analysing
        /// leaves as it is), its deploy's position in `deploys`, or -1 when it links to none;
        /// filled only when asked for (the rollback alerts need it, the report does not). An
        /// array rather than a table by id: a live round asks for it for every touched service,
        /// and no rollback id is hashed (bench/RESULTS.md, thirty-first session).
        var rollbackDeploys: [Int] = []
        /// Per linked incident's alert id, its deploy's position; filled only when asked for
        /// (the report's list of its longest recoveries needs it).
        var incidentDeploys: [String: Int] = [:]
    }

    /// What the metrics use of an incident (an alert state also holds strings).
    struct Incident {
        var firingTime: Int64
        var resolvedTime: Int64?
        /// Its alert id, kept only when the analysis records links (for `report --explain`).
        var alertID: String? = nil
    }

    /// Where one item of a period's samples comes from: what `samples(of:)` reports to an
    /// observer as it counts it, so an explanation lists exactly what the number was made of.
    enum SampleOrigin {
        /// A successful deploy of the period (a position in the analysis' deploys).
        case deploy(Int, failedChange: Bool, rework: Bool)
        /// A commit first shipped by a deploy of the period; a negative lead is an anomaly.
        case leadTime(deploy: Int, sha: ShortFingerprint, commitTime: Int64, lead: Int64)
        /// A recovery episode of the period (an index into the analysis' episodes); its
        /// durations, nil while open.
        case episode(Int, recovery: Int64?, detect: Int64?, decide: Int64?, act: Int64?, verify: Int64?)
        /// An incident fired in the period (an index into the analysis' incidents).
        case incident(Int, timeToRestore: Int64?)
        /// A rollback of the period; its duration when it started and completed.
        case rollback(String, duration: Int64?)
    }

    /// The rollbacks and incidents linked to one deploy, folded as they are linked: all its
    /// episode needs (§2.4).
    struct Linked: Equatable, Sendable {
        /// The earliest start and the earliest completion of its rollbacks (nil: none).
        var firstStart: Int64?
        var firstCompletion: Int64?
        /// The earliest firing and the latest resolution of its incidents.
        var firstFiring: Int64 = .max
        var lastResolution: Int64 = .min
        /// One of its incidents has not resolved.
        var incidentOpen = false
        /// Something is linked to it: it is a failed change.
        var isFailedChange = false

        mutating func addRollback(started: Int64, completed: Int64?) {
            isFailedChange = true
            firstStart = min(firstStart ?? started, started)
            if let completed { firstCompletion = min(firstCompletion ?? completed, completed) }
        }

        mutating func addIncident(_ i: Incident) {
            isFailedChange = true
            firstFiring = min(firstFiring, i.firingTime)
            if let resolved = i.resolvedTime { lastResolution = max(lastResolution, resolved) } else { incidentOpen = true }
        }

        /// Healthy once the first rollback completed (if any was linked) and every incident
        /// resolved; nil while open.
        var healthyAt: Int64? {
            if incidentOpen || (firstStart != nil && firstCompletion == nil) { return nil }
            return max(lastResolution, firstCompletion ?? .min)
        }
    }

    /// Links rollbacks and incidents to deploys and builds the recovery episodes (§1, §2.4).
    /// - Parameters:
    ///   - recordingRollbackLinks: also say which deploy each rollback links to.
    ///   - recordingIncidentLinks: also say which deploy each incident links to.
    ///   - findingRework: also find the deploys inside another's episode (§2.7) and the
    ///     episodes ended by a roll-forward; the SLO samples, which a live round asks for every
    ///     touched service, need neither.
    func analyze(
        configuration: MetricsConfiguration, recordingRollbackLinks: Bool = false, recordingIncidentLinks: Bool = false,
        findingRework: Bool = true
    ) -> Analysis {
        // Deploys in (time, id) order; `position[i]` is where deploy i went.
        let (order, position) = deployOrder()
        let sorted = order.map { deploys[$0] }
        let times = sorted.map(\.time)

        /// The position of the last deploy with time <= t, if any.
        func lastDeploy(atOrBefore t: Int64) -> Int? {
            let after = times.partitionPoint { $0 > t }
            return after == 0 ? nil : after - 1
        }

        // Explicit links name a deploy by id (only successful deploys of this service count).
        var byID = PositionMap(capacity: 0)
        if alerts.values.contains(where: { $0.deployID != nil }) || rollbacks.values.contains(where: { $0.deployID != nil }) {
            byID = PositionMap(capacity: sorted.count)
            for (p, d) in sorted.enumerated() { byID.updateValue(p, forKey: IDFingerprint(id: d.id)) }
        }
        func explicit(_ id: String?, atOrBefore t: Int64) -> Int? {
            guard let id, let p = byID[IDFingerprint(id: id)], times[p] <= t else { return nil }
            return p
        }
        // Per version, its latest deploy; per deploy, the previous one of its version.
        var latestOfVersion = PositionMap(capacity: sorted.count)
        var previousOfVersion = [Int](repeating: -1, count: sorted.count)
        for (p, d) in sorted.enumerated() {
            if let q = latestOfVersion.updateValue(p, forKey: d.version.fingerprint) { previousOfVersion[p] = q }
        }

        // §1 Linking, each rollback and incident folded into its deploy's `Linked` as it is
        // linked (copies of their states would retain their strings, in every live round).
        // Rollbacks first: whether a deploy is still live at an incident depends on them.
        var linked = [Linked](repeating: Linked(), count: sorted.count)
        var rollbackDeploys = recordingRollbackLinks ? [Int](repeating: -1, count: rollbacks.count) : []
        for (k, r) in rollbacks.values.enumerated() where r.hasStarted {
            var target = explicit(r.deployID, atOrBefore: r.startedTime)
            if target == nil, let version = r.fromVersion, var p = latestOfVersion[ShortFingerprint(id: version).fingerprint] {
                while p >= 0 && times[p] > r.startedTime { p = previousOfVersion[p] }
                if p >= 0 { target = p }
            }
            if let target {
                linked[target].addRollback(started: r.startedTime, completed: r.completedTime)
                if recordingRollbackLinks { rollbackDeploys[k] = target }
            }
        }
        let window = configuration.attributionWindowMicroseconds
        var incidents: [Incident] = []
        var incidentDeploys: [String: Int] = [:]
        for (alertID, a) in alerts where a.isFiredIncident {
            let incident = Incident(firingTime: a.firingTime, resolvedTime: a.resolvedTime, alertID: recordingIncidentLinks ? alertID : nil)
            incidents.append(incident)
            var target = explicit(a.deployID, atOrBefore: a.firingTime)
            if target == nil, var p = lastDeploy(atOrBefore: a.firingTime) {
                // The latest deploy still live at the firing: one whose linked rollback completed
                // at or before it is no longer running and takes no later incident (v1.1).
                while p >= 0 && a.firingTime - times[p] <= window {
                    if let done = linked[p].firstCompletion, done <= a.firingTime {
                        p -= 1
                        continue
                    }
                    target = p
                    break
                }
            }
            if let target {
                linked[target].addIncident(incident)
                if recordingIncidentLinks { incidentDeploys[alertID] = target }
            }
        }

        // §2.4 Recovery episodes, one per failed change.
        var episodes: [Episode] = []
        for p in sorted.indices where linked[p].isFailedChange { episodes.append(Episode(deploy: p, linked: linked[p])) }

        // §2.7 Rework by timing: another deploy inside a closed episode's [detected, healthy].
        var rework = [Bool](repeating: false, count: findingRework ? sorted.count : 0)
        var rollForward = [Bool](repeating: false, count: findingRework ? episodes.count : 0)
        if findingRework {
            for (k, e) in episodes.enumerated() {
                guard let healthy = e.healthyAt else { continue }
                var p = lastDeploy(atOrBefore: e.detectedAt - 1).map { $0 + 1 } ?? 0
                while p < sorted.count && times[p] <= healthy {
                    if p != e.deploy {
                        rework[p] = true
                        rollForward[k] = true
                    }
                    p += 1
                }
            }
        }
        return Analysis(
            deploys: sorted, position: position, episodes: episodes, reworkByTiming: rework, rollForward: rollForward,
            incidents: incidents, rollbackDeploys: rollbackDeploys, incidentDeploys: incidentDeploys)
    }

    /// The rollbacks that `a` (analysed with `recordingRollbackLinks`) links to a deploy: each
    /// one's id and its deploy's position in `a.deploys`.
    func linkedRollbacks(of a: Analysis) -> [(id: String, deploy: Int)] {
        zip(rollbacks.keys, a.rollbackDeploys).compactMap { id, p in p >= 0 ? (id, p) : nil }
    }

    /// The service's samples for `period` (§2), from its analysis.
    func samples(in period: Period, configuration: MetricsConfiguration) -> MetricSamples {
        samples(in: [period], configuration: configuration)[0]
    }

    /// The service's samples for each of `periods` (§2), from one analysis: linking and
    /// episodes do not depend on the period, so several periods (a report's weekly series, a
    /// comparison period) cost one analysis and one cheap pass each.
    func samples(in periods: [Period], configuration: MetricsConfiguration) -> [MetricSamples] {
        samples(in: periods, configuration: configuration, longestRecoveries: 0).samples
    }

    /// `samples(in:configuration:)`, and the `longestRecoveries` closed recovery episodes of
    /// the first period with the longest recovery times, from the same analysis.
    func samples(
        in periods: [Period], configuration: MetricsConfiguration, longestRecoveries: Int
    ) -> (samples: [MetricSamples], longest: [EpisodeDetail]) {
        let a = analyze(configuration: configuration, recordingRollbackLinks: longestRecoveries > 0, recordingIncidentLinks: longestRecoveries > 0)
        let firsts = firstDeploys { a.position[$0] < a.position[$1] }
        let perPeriod = samples(of: a, firstDeploys: firsts, in: periods)
        guard longestRecoveries > 0, let period = periods.first else { return (perPeriod, []) }
        return (perPeriod, longest(longestRecoveries, of: a, in: period))
    }

    /// The `count` closed episodes of deploys in `period` with the longest recovery times
    /// (ties by deploy time, then id), with the ids of what they link.
    private func longest(_ count: Int, of a: Analysis, in period: Period) -> [EpisodeDetail] {
        let closed = a.episodes.filter { $0.healthyAt != nil && period.contains(a.deploys[$0.deploy].time) }
        let chosen = closed.sorted { x, y in
            let (rx, ry) = (x.healthyAt! - a.deploys[x.deploy].time, y.healthyAt! - a.deploys[y.deploy].time)
            return rx != ry ? rx > ry : precedes(a.deploys[x.deploy].time, a.deploys[x.deploy].id, a.deploys[y.deploy].time, a.deploys[y.deploy].id)
        }.prefix(count)
        guard !chosen.isEmpty else { return [] }
        var rollbacksOf: [Int: [(Int64, String)]] = [:]
        for (id, p) in linkedRollbacks(of: a) { rollbacksOf[p, default: []].append((rollbacks[id]!.startedTime, id)) }
        var alertsOf: [Int: [(Int64, String)]] = [:]
        for (id, p) in a.incidentDeploys { alertsOf[p, default: []].append((alerts[id]!.firingTime, id)) }
        func ordered(_ items: [(Int64, String)]?) -> [String] {
            (items ?? []).sorted { precedes($0.0, $0.1, $1.0, $1.1) }.map(\.1)
        }
        return chosen.map { e in
            let d = a.deploys[e.deploy]
            let healthy = e.healthyAt!
            var detail = EpisodeDetail(
                service: name, deployID: d.id, deployTime: Timestamp(microseconds: d.time), recovery: healthy - d.time,
                detect: e.detectedAt - d.time, rollbackIDs: ordered(rollbacksOf[e.deploy]), alertIDs: ordered(alertsOf[e.deploy]))
            if e.hasRollback, let started = e.rollbackStarted, let done = e.rollbackDone {
                detail.decide = started - e.detectedAt
                detail.act = done - started
                detail.verify = healthy - done
            }
            return detail
        }
    }

    /// The samples of each of `periods`, given the service's analysis and its first deploy per
    /// sha: every item is looked at once, and counted into each period that holds its time (a
    /// report's series buckets lie inside its period; a comparison period may lie anywhere).
    /// - Parameter origin: told of every item of the first period as it is counted
    ///   (`report --explain`).
    func samples(
        of a: Analysis, firstDeploys: FirstDeployMap, in periods: [Period], origin: ((SampleOrigin) -> Void)? = nil
    ) -> [MetricSamples] {
        let sorted = a.deploys
        let position = a.position
        let episodes = a.episodes
        let rework = a.reworkByTiming
        let rollForward = a.rollForward
        let incidents = a.incidents
        var outs = [MetricSamples](repeating: MetricSamples(), count: periods.count)
        /// Counts an item of time `t` into every period that holds it.
        func count(_ t: Int64, _ body: (inout MetricSamples) -> Void) {
            for i in periods.indices where periods[i].contains(t) { body(&outs[i]) }
        }
        let first = periods.first
        /// Tells `origin` of an item of time `t` if the first period holds it.
        func tell(_ t: Int64, _ what: @autoclosure () -> SampleOrigin) {
            if let origin, first?.contains(t) == true { origin(what()) }
        }

        // §2.1, 2.3, 2.7 Deploys of the period.
        var isFailedChange = [Bool](repeating: false, count: sorted.count)
        for e in episodes { isFailedChange[e.deploy] = true }
        for (p, d) in sorted.enumerated() {
            let isRework = d.unplanned || rework[p]
            count(d.time) { out in
                out.deployments += 1
                if isFailedChange[p] { out.failedChanges += 1 }
                if isRework { out.rework += 1 }
            }
            tell(d.time, .deploy(p, failedChange: isFailedChange[p], rework: isRework))
        }
        for t in failedDeployTimes { count(t) { $0.failedDeployments += 1 } }

        // §2.2 Lead time: each sha's first deploy (by time, id), if that deploy is in the period.
        firstDeploys.forEachWithSHA(in: commits) { i, commitTime, sha in
            let p = position[i]
            let lead = sorted[p].time - commitTime
            count(sorted[p].time) { out in
                if lead < 0 { out.anomalies += 1 } else { out.leadTimes.append(lead) }
            }
            tell(sorted[p].time, .leadTime(deploy: p, sha: sha, commitTime: commitTime, lead: lead))
        }

        // §2.4 Episodes of the period's deploys.
        for (k, e) in episodes.enumerated() {
            let impact = sorted[e.deploy].time
            guard let healthy = e.healthyAt else {
                count(impact) { $0.recoveryOpen += 1 }
                tell(impact, .episode(k, recovery: nil, detect: nil, decide: nil, act: nil, verify: nil))
                continue
            }
            let detect = e.detectedAt - impact
            if e.hasRollback, let started = e.rollbackStarted, let done = e.rollbackDone {
                count(impact) { out in
                    out.recovery.append(healthy - impact)
                    out.detect.append(detect)
                    out.decide.append(started - e.detectedAt)
                    out.act.append(done - started)
                    out.verify.append(healthy - done)
                    out.modeRollback += 1
                }
                tell(impact, .episode(k, recovery: healthy - impact, detect: detect, decide: started - e.detectedAt,
                                      act: done - started, verify: healthy - done))
            } else {
                count(impact) { out in
                    out.recovery.append(healthy - impact)
                    out.detect.append(detect)
                    if rollForward[k] { out.modeRollForward += 1 } else { out.modeOther += 1 }
                }
                tell(impact, .episode(k, recovery: healthy - impact, detect: detect, decide: nil, act: nil, verify: nil))
            }
        }

        // Data quality: alert ids that recur after resolving (any severity), by first firing,
        // and alerts resolved only before they fired.
        for (alertID, a) in alerts where a.firingID != nil {
            let skew = a.resolvedTime == nil ? a.resolvedTimes.earliest : nil
            count(a.firingTime) { out in
                if a.firesAgainAfterResolving { out.recurringAlerts += 1 }
                if let resolved = skew {
                    out.clockSkew.append(ClockSkew(kind: .alertResolvedBeforeFiring, service: name, id: alertID, earlierBy: a.firingTime - resolved))
                }
            }
        }

        // §2.5 Time to restore: every incident, by its firing time.
        for (k, i) in incidents.enumerated() {
            let restore = i.resolvedTime.map { $0 - i.firingTime }
            count(i.firingTime) { out in
                if let restore { out.timeToRestore.append(restore) } else { out.timeToRestoreOpen += 1 }
            }
            tell(i.firingTime, .incident(k, timeToRestore: restore))
        }

        // §2.6 Rollbacks, by their start (an incomplete one: by its earliest event).
        for (rollbackID, r) in rollbacks {
            let completed = r.completedTime
            let duration = r.hasStarted ? completed.map { $0 - r.startedTime } : nil
            let skew = r.hasStarted && completed == nil ? r.completedTimes.earliest : nil
            count(r.periodTime) { out in
                if r.hasStarted {
                    out.rollbacksStarted += 1
                    if r.trigger == .auto { out.rollbacksAuto += 1 } else { out.rollbacksManual += 1 }
                    if let duration {
                        out.rollbackDurations.append(duration)
                        if r.trigger == .auto {
                            out.autoRollbackDurations.append(duration)
                        } else {
                            out.manualRollbackDurations.append(duration)
                        }
                    } else if let early = skew {
                        out.clockSkew.append(
                            ClockSkew(kind: .rollbackCompletedBeforeStart, service: name, id: rollbackID, earlierBy: r.startedTime - early))
                    }
                }
                if completed != nil { out.rollbacksCompleted += 1 }
                if r.failed { out.rollbacksFailed += 1 }
            }
            tell(r.periodTime, .rollback(rollbackID, duration: duration))
        }
        return outs
    }
}
