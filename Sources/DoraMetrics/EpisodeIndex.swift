import DoraEvents

/// One service's links and recovery episodes (metrics.md §1, §2.4) kept event by event for the
/// live run, with the SLO samples they give (`rollback_time`, `time_to_restore`,
/// `recovery_time`, `detect`, `decide`, `act`, `verify`) and how those changed since they were
/// last taken. A round then updates only the links and episodes its events can change
/// (`update`), instead of linking the service's whole history again and comparing every
/// sample: its cost follows the round's events, not the history (docs/run.md, "Rounds").
/// `report` and the backtests analyse from scratch (`ServiceState.analyze`) and never build
/// one; differential tests hold the two equal (`EpisodeIndexTests`).
///
/// What an event can change, and so what an update looks at:
/// - a rollback links to a deploy at or before its start, an incident to one at or before its
///   firing; so a new deploy at time t can take over only the rollbacks started and the
///   incidents fired at or after t, found by time in `rollbacks` and `incidents`;
/// - a rollback or alert with a new event is linked again;
/// - an incident passes over a deploy whose first linked rollback completed at or before its
///   firing: when that completion changes, the incidents fired within the attribution window
///   after the deploy are linked again;
/// - only the deploys that an item left or joined, or whose items changed, get their episode
///   derived again, and their samples' changes noted.
///
/// Layout, lean because a live run holds one per service: each link is kept with its item in
/// the lists by time, and nothing per deploy but its place in `order`; a deploy's items are
/// found by scanning those lists from its time to the latest time of an item linked to it
/// (`latestItem`), which for the usual episode spans hours.
///
/// Invariants, for the state it belongs to, once updated (`isUpdated`):
/// - `order` holds every successful deploy, in (time, id) order;
/// - `rollbacks` holds every started real rollback at its start, `incidents` every incident
///   (a fired alert of an incident severity) at its firing, each with the deploy `analyze`
///   links it to (-1: none);
/// - `latestItem` has a key exactly for the deploys something links to, with a time at or
///   after the latest of their items;
/// - deploy ids are unique in the service (the log stores each event id once), which the
///   links by `deploy_id` rely on (`deploy(withID:atOrBefore:)`).
struct EpisodeIndex: Sendable {
    /// The metrics it keeps.
    static let metrics: [DurationMetric] = [.rollbackTime, .timeToRestore, .recoveryTime, .detect, .decide, .act, .verify]

    /// Where `metric` is in `metrics` (-1: not there). Per-metric state is kept in arrays by
    /// it: a dictionary keyed by the metric hashes its name, for every sample noted.
    @inline(__always) static func slot(_ metric: DurationMetric) -> Int {
        switch metric {
        case .rollbackTime: 0
        case .timeToRestore: 1
        case .recoveryTime: 2
        case .detect: 3
        case .decide: 4
        case .act: 5
        case .verify: 6
        case .leadTime: -1
        }
    }

    /// An item, at its time, with the deploy it links to (an index into the service's
    /// deploys, or -1).
    struct Entry<Key: Equatable & Sendable>: Sendable {
        var time: Int64
        var key: Key
        var deploy: Int32
    }

    /// A rollback or alert as it was before the events since the last update: its sample, and
    /// its time in `rollbacks` or `incidents` (nil: not there).
    struct Before: Sendable {
        var sample: TimedSample?
        var listedAt: Int64?
    }

    /// The attribution window (microseconds) its incidents are linked with.
    let window: Int64
    /// The metrics of `metrics` whose samples' changes it keeps (those some SLO reads).
    let kept: Set<DurationMetric>
    /// Per slot of `metrics`, whether it is kept.
    private let keptSlots: [Bool]
    /// The successful deploys (indices into the service's `deploys`) in (time, id) order.
    private var order: [Int32] = []
    /// The started rollbacks by start time, the incidents (by alert position) by firing time.
    private var rollbacks: [Entry<String>] = []
    private var incidents: [Entry<Int32>] = []
    /// Per deploy something links to: the latest time of those items, or later.
    private var latestItem: [Int32: Int64] = [:]

    /// What arrived since the last update: new successful deploys; the rollbacks and alerts
    /// with new events, each as it was before the first of them; and what each deploy linked
    /// to those was, before they changed.
    private var newDeploys: [Int32] = []
    private var touchedRollbacks: [String: Before] = [:]
    private var touchedAlerts: [Int32: Before] = [:]
    private var linkedBefore: [Int32: ServiceState.Linked] = [:]

    /// Per slot of `metrics`, how its samples changed since they were last taken.
    private var changes = [UntakenChange](repeating: UntakenChange(), count: EpisodeIndex.metrics.count)
    /// The rollbacks whose outcome (`RollbackOutcome`) the updates since the last take may
    /// have changed; nil: any (the index was built since).
    private var outcomesChangedSinceTake: Set<String>? = nil
    /// What `outcomesChangedSinceTake` was at the last take (`takeChangedOutcomes`): the
    /// outcomes a round hands the rollback alerts.
    private(set) var changedOutcomes: Set<String>? = nil
    /// The failed rollbacks linked to no deploy: each completion of the service may clear them.
    private var unlinkedFailures: Set<String> = []

    /// Whether events arrived since the last update.
    var isUpdated: Bool { newDeploys.isEmpty && touchedRollbacks.isEmpty && touchedAlerts.isEmpty }

    /// How many items it holds (deploys, links, changes not yet taken).
    var retainedItems: Int {
        order.count + rollbacks.count + incidents.count + latestItem.count + unlinkedFailures.count
            + changes.reduce(0) { $0 + $1.count }
    }

    // MARK: Events, as the state takes them

    /// A successful deploy was added at `index` of the service's deploys.
    mutating func didAddDeploy(at index: Int) {
        newDeploys.append(Int32(index))
    }

    /// The rollback `id` of `state` is about to take an event.
    mutating func willChangeRollback(_ id: String, in state: ServiceState) {
        guard touchedRollbacks[id] == nil else { return }
        let before = state.rollbacks[id]
        let listedAt = before.flatMap { $0.hasStarted ? $0.startedTime : nil }
        touchedRollbacks[id] = Before(sample: before?.rollbackTimeSample(id: id), listedAt: listedAt)
        if let listedAt, let k = Self.find(id, at: listedAt, in: rollbacks) { remember(rollbacks[k].deploy, in: state) }
    }

    /// The alert at `position` of `state` is about to take an event.
    mutating func willChangeAlert(at position: Int, in state: ServiceState) {
        let key = Int32(position)
        guard touchedAlerts[key] == nil else { return }
        let before = state.alerts[position: position]
        let listedAt = before.isFiredIncident ? before.firingTime : nil
        touchedAlerts[key] = Before(sample: before.timeToRestoreSample(id: state.alerts.ids[position]), listedAt: listedAt)
        if let listedAt, let k = Self.find(key, at: listedAt, in: incidents) { remember(incidents[k].deploy, in: state) }
    }

    /// Keeps what links to `deploy` as it is now, before anything linked to it changes (once
    /// per update).
    private mutating func remember(_ deploy: Int32, in state: ServiceState) {
        guard deploy >= 0, linkedBefore[deploy] == nil else { return }
        linkedBefore[deploy] = derive(deploy, in: state).linked
    }

    // MARK: Reading

    /// The deploy (an index into `deploys`) that the rollback `id` (`r`) links to, if any.
    func deploy(ofRollback id: String, _ r: ServiceState.RollbackState) -> Int? {
        guard r.hasStarted, let k = Self.find(id, at: r.startedTime, in: rollbacks), rollbacks[k].deploy >= 0 else { return nil }
        return Int(rollbacks[k].deploy)
    }

    /// The completions of the rollbacks linked to the deploy at `index`, and when its episode
    /// became healthy (nil: open, or none).
    func rollbackCompletions(ofDeploy index: Int, in state: ServiceState) -> (completions: [Int64], healthyAt: Int64?) {
        var completions: [Int64] = []
        let linked = derive(Int32(index), in: state) { _, r in
            if let done = r.completedTime { completions.append(done) }
        }.linked
        return (completions, linked.healthyAt)
    }

    /// The current samples of `metric` (one of `metrics`), in evaluation order.
    func samples(_ metric: DurationMetric, in state: ServiceState) -> [TimedSample] {
        samples(of: [metric], in: state)[metric] ?? []
    }

    /// The current samples of each of `wanted`, in evaluation order: each episode derived once
    /// for all of them.
    func samples(of wanted: Set<DurationMetric>, in state: ServiceState) -> [DurationMetric: [TimedSample]] {
        precondition(isUpdated, "update the episode index before reading its samples")
        let wants = Self.metrics.map(wanted.contains)
        var out = [[TimedSample]](repeating: [], count: Self.metrics.count)
        if wants[Self.slot(.rollbackTime)] {
            for (id, r) in state.rollbacks { if let s = r.rollbackTimeSample(id: id) { out[Self.slot(.rollbackTime)].append(s) } }
        }
        if wants[Self.slot(.timeToRestore)] {
            for (id, a) in state.alerts { if let s = a.timeToRestoreSample(id: id) { out[Self.slot(.timeToRestore)].append(s) } }
        }
        if !wanted.isDisjoint(with: [.recoveryTime, .detect, .decide, .act, .verify]) {
            // Every item folded into its deploy in one pass over the lists (deriving each deploy
            // on its own would scan the items between its own, once per deploy).
            var linked: [Int32: ServiceState.Linked] = [:]
            for e in rollbacks where e.deploy >= 0 {
                guard let r = state.rollbacks[e.key] else { continue }
                linked[e.deploy, default: ServiceState.Linked()].addRollback(started: r.startedTime, completed: r.completedTime)
            }
            for e in incidents where e.deploy >= 0 {
                let a = state.alerts[position: Int(e.key)]
                linked[e.deploy, default: ServiceState.Linked()].addIncident(ServiceState.Incident(firingTime: a.firingTime, resolvedTime: a.resolvedTime))
            }
            for (deploy, l) in linked {
                ServiceState.Episode(deploy: Int(deploy), linked: l).forEachTimedSample(of: state.deploys[Int(deploy)]) { m, s in
                    if wants[Self.slot(m)] { out[Self.slot(m)].append(s) }
                }
            }
        }
        var byMetric: [DurationMetric: [TimedSample]] = [:]
        for (k, metric) in Self.metrics.enumerated() where wants[k] { byMetric[metric] = TimedSample.sorted(out[k]) }
        return byMetric
    }

    /// The samples of `metric` (one it keeps) as they were when last taken.
    func samplesAsTaken(_ metric: DurationMetric, in state: ServiceState) -> [TimedSample] {
        changes[Self.slot(metric)].samplesAsTaken(current: samples(metric, in: state))
    }

    /// The samples of every metric it keeps as they were when last taken.
    func samplesAsTaken(in state: ServiceState) -> [DurationMetric: [TimedSample]] {
        var out = samples(of: kept, in: state)
        for (metric, current) in out { out[metric] = changes[Self.slot(metric)].samplesAsTaken(current: current) }
        return out
    }

    /// At least the number of samples of `metric` as last taken, in O(1).
    func samplesAsTakenBound(_ metric: DurationMetric, in state: ServiceState) -> Int {
        let current =
            switch metric {
            case .rollbackTime: state.rollbacks.count
            case .timeToRestore: state.alerts.count
            default: latestItem.count
            }
        return current + changes[Self.slot(metric)].removed.count
    }

    /// Makes the rollbacks whose outcome changed since the last take `changedOutcomes`, and
    /// starts counting again.
    mutating func takeChangedOutcomes() {
        changedOutcomes = outcomesChangedSinceTake
        outcomesChangedSinceTake = []
    }

    /// How the samples of `metric` changed since they were last taken (nil: not at all); they
    /// count as taken from now on.
    mutating func takeChange(_ metric: DurationMetric) -> SampleChange? {
        changes[Self.slot(metric)].take()
    }

    // MARK: Building and updating

    /// The index of a service's history so far. What changed is measured from `taken`, the
    /// samples of each metric as last taken; without it, every sample is new.
    init(of state: ServiceState, window: Int64, keeping kept: Set<DurationMetric>, taken: [DurationMetric: [TimedSample]]? = nil) {
        self.window = window
        self.kept = kept.intersection(Self.metrics)
        keptSlots = Self.metrics.map(kept.contains)
        // Every item linked at once, as `analyze` does: rollbacks first, then the incidents,
        // which look at the first completion of each deploy's rollbacks (a retention step
        // builds every service's index again, so this is not `update`'s item by item).
        order = state.deployOrder().order.map { Int32($0) }
        // Sized exactly: a live run holds one per service (lists grown by doubling held up to
        // twice their entries).
        rollbacks.reserveCapacity(state.rollbacks.values.lazy.filter(\.hasStarted).count)
        incidents.reserveCapacity(state.alerts.lazy.filter(\.1.isFiredIncident).count)
        var firstCompletion: [Int32: Int64] = [:]
        for (id, r) in state.rollbacks {
            let deploy = r.hasStarted ? linkRollback(r, state: state) ?? -1 : -1
            if r.hasStarted { rollbacks.append(Entry(time: r.startedTime, key: id, deploy: deploy)) }
            if r.failed && deploy < 0 { unlinkedFailures.insert(id) }
            if deploy >= 0, let done = r.completedTime { firstCompletion[deploy] = min(firstCompletion[deploy] ?? .max, done) }
        }
        rollbacks.sort { $0.time < $1.time }
        for position in 0..<state.alerts.count {
            let a = state.alerts[position: position]
            guard a.isFiredIncident else { continue }
            let deploy = linkIncident(a, state: state) { firstCompletion[$0] } ?? -1
            incidents.append(Entry(time: a.firingTime, key: Int32(position), deploy: deploy))
        }
        incidents.sort { $0.time < $1.time }
        for e in rollbacks where e.deploy >= 0 { noteItem(at: e.time, of: e.deploy) }
        for e in incidents where e.deploy >= 0 { noteItem(at: e.time, of: e.deploy) }
        for (metric, current) in samples(of: self.kept, in: state) {
            let change = UntakenChange(from: taken?[metric], to: current)
            changes[Self.slot(metric)] = change
        }
    }

    /// Brings the links, the episodes and the changes of the samples up to date with the events
    /// that arrived since the last update (see the type's comment for what each can change).
    mutating func update(in state: ServiceState) {
        guard !isUpdated else { return }
        let deploys = state.deploys
        var outcomes = Set(touchedRollbacks.keys)
        @inline(__always) func time(_ i: Int32) -> Int64 { deploys[Int(i)].time }

        // New deploys into the order; the earliest of them bounds what they can take over.
        let earliestNew = newDeploys.lazy.map(time).min() ?? .max
        func precedes(_ a: Int32, _ b: Int32) -> Bool { DoraMetrics.precedes(time(a), deploys[Int(a)].id, time(b), deploys[Int(b)].id) }
        if newDeploys.count <= Self.insertedOneByOne {
            for i in newDeploys { order.insert(i, at: order.partitionPoint { precedes(i, $0) }) }
        } else {
            order += newDeploys
            order.sort(by: precedes)
        }
        newDeploys = []

        // Rollbacks: those with events, and those a new deploy may take over. Each deploy they
        // leave or join is remembered first, as it was.
        var moves: [(key: String, from: Int64?, to: Entry<String>?)] = []
        var relinked = Set<String>()
        for (id, b) in touchedRollbacks {
            relinked.insert(id)
            let r = state.rollbacks[id]
            let from = b.listedAt.flatMap { Self.find(id, at: $0, in: rollbacks) }.map { rollbacks[$0].deploy } ?? -1
            moves.append((id, b.listedAt, r.flatMap { r in r.hasStarted ? Entry(time: r.startedTime, key: id, deploy: from) : nil }))
        }
        if earliestNew < .max {
            for e in rollbacks[rollbacks.partitionPoint { $0.time >= earliestNew }...] where !relinked.contains(e.key) {
                moves.append((e.key, e.time, e))
            }
        }
        for k in moves.indices {
            guard var moved = moves[k].to else { continue }
            let old = moved.deploy
            moved.deploy = linkRollback(state.rollbacks[moved.key]!, state: state) ?? -1
            if moved.deploy != old || moves[k].from != moved.time {
                remember(old, in: state)
                remember(moved.deploy, in: state)
            }
            moves[k].to = moved
        }
        for (key, _, to) in moves {
            if let to, to.deploy >= 0 { noteItem(at: to.time, of: to.deploy) }
            outcomes.insert(key)
            if state.rollbacks[key]?.failed == true && (to?.deploy ?? -1) < 0 {
                unlinkedFailures.insert(key)
            } else {
                unlinkedFailures.remove(key)
            }
        }
        // A completion may clear any unlinked failure.
        if !touchedRollbacks.isEmpty { outcomes.formUnion(unlinkedFailures) }
        Self.move(moves, in: &rollbacks)

        // Incidents: those with events, those a new deploy may take over, and those fired
        // within the window after a deploy whose first rollback completion changed (whether
        // they pass over it).
        var incidentMoves: [(key: Int32, from: Int64?, to: Entry<Int32>?)] = []
        var relinkedIncidents = Set<Int32>()
        func relinkIncident(_ e: Entry<Int32>) {
            guard relinkedIncidents.insert(e.key).inserted else { return }
            incidentMoves.append((e.key, e.time, e))
        }
        for (p, b) in touchedAlerts {
            relinkedIncidents.insert(p)
            let a = state.alerts[position: Int(p)]
            let from = b.listedAt.flatMap { Self.find(p, at: $0, in: incidents) }.map { incidents[$0].deploy } ?? -1
            incidentMoves.append((p, b.listedAt, a.isFiredIncident ? Entry(time: a.firingTime, key: p, deploy: from) : nil))
        }
        if earliestNew < .max {
            for e in incidents[incidents.partitionPoint { $0.time >= earliestNew }...] { relinkIncident(e) }
        }
        // The first completions as the incidents will see them, per deploy asked about.
        var firstCompletion: [Int32: Int64?] = [:]
        func completion(_ p: Int32) -> Int64? {
            if let known = firstCompletion[p] { return known }
            let c = derive(p, in: state).linked.firstCompletion
            firstCompletion[p] = c
            return c
        }
        for (p, old) in linkedBefore where completion(p) != old.firstCompletion {
            var k = incidents.partitionPoint { $0.time >= time(p) }
            while k < incidents.count && incidents[k].time <= time(p) &+ window {
                relinkIncident(incidents[k])
                k += 1
            }
        }
        for k in incidentMoves.indices {
            guard var moved = incidentMoves[k].to else { continue }
            let old = moved.deploy
            moved.deploy = linkIncident(state.alerts[position: Int(moved.key)], state: state, completion: completion) ?? -1
            if moved.deploy != old || incidentMoves[k].from != moved.time {
                remember(old, in: state)
                remember(moved.deploy, in: state)
            }
            incidentMoves[k].to = moved
        }
        for (_, _, to) in incidentMoves { if let to, to.deploy >= 0 { noteItem(at: to.time, of: to.deploy) } }
        Self.move(incidentMoves, in: &incidents)

        // The changed deploys' episodes, derived again, and their samples' changes; the
        // failures of the rollbacks linked to them may clear at another time.
        for (p, old) in linkedBefore {
            let (linked, latest) = derive(p, in: state) { id, r in if r.failed { outcomes.insert(id) } }
            if linked.isFailedChange { latestItem[p] = latest } else { latestItem[p] = nil }
            guard linked != old else { continue }
            let deploy = deploys[Int(p)]
            if old.isFailedChange {
                ServiceState.Episode(deploy: Int(p), linked: old).forEachTimedSample(of: deploy) { m, s in note(s, nil, of: m) }
            }
            if linked.isFailedChange {
                ServiceState.Episode(deploy: Int(p), linked: linked).forEachTimedSample(of: deploy) { m, s in note(nil, s, of: m) }
            }
        }
        linkedBefore = [:]
        outcomesChangedSinceTake?.formUnion(outcomes)

        // The samples of the rollbacks and alerts with events.
        for (id, b) in touchedRollbacks { note(b.sample, state.rollbacks[id]?.rollbackTimeSample(id: id), of: .rollbackTime) }
        for (p, b) in touchedAlerts {
            note(b.sample, state.alerts[position: Int(p)].timeToRestoreSample(id: state.alerts.ids[Int(p)]), of: .timeToRestore)
        }
        touchedRollbacks = [:]
        touchedAlerts = [:]
    }

    /// An item at `t` links to `deploy`: its scan reaches that far.
    private mutating func noteItem(at t: Int64, of deploy: Int32) {
        latestItem[deploy] = max(latestItem[deploy] ?? .min, t)
    }

    /// Notes a sample that went from `old` to `new`.
    private mutating func note(_ old: TimedSample?, _ new: TimedSample?, of metric: DurationMetric) {
        guard old != new, keptSlots[Self.slot(metric)] else { return }
        if let old { changes[Self.slot(metric)].note(old, gone: true) }
        if let new { changes[Self.slot(metric)].note(new, gone: false) }
    }

    /// What links to the deploy `p` in the lists, folded (`analyze`'s `Linked`, from the
    /// items' states in `state`), and the latest time of those items. Every item linked to a
    /// deploy is at or after it, and at or before `latestItem`.
    /// - Parameter visit: told of each rollback linked to `p`.
    private func derive(
        _ p: Int32, in state: ServiceState, visit: ((String, ServiceState.RollbackState) -> Void)? = nil
    ) -> (linked: ServiceState.Linked, latest: Int64) {
        var linked = ServiceState.Linked()
        guard p >= 0, let last = latestItem[p] else { return (linked, .min) }
        let from = state.deploys[Int(p)].time
        var latest = Int64.min
        // Rollbacks first, as `analyze` links them (the fold does not depend on the order).
        var k = rollbacks.partitionPoint { $0.time >= from }
        while k < rollbacks.count && rollbacks[k].time <= last {
            if rollbacks[k].deploy == p, let r = state.rollbacks[rollbacks[k].key] {
                linked.addRollback(started: r.startedTime, completed: r.completedTime)
                visit?(rollbacks[k].key, r)
                latest = rollbacks[k].time
            }
            k += 1
        }
        k = incidents.partitionPoint { $0.time >= from }
        while k < incidents.count && incidents[k].time <= last {
            if incidents[k].deploy == p {
                let a = state.alerts[position: Int(incidents[k].key)]
                linked.addIncident(ServiceState.Incident(firingTime: a.firingTime, resolvedTime: a.resolvedTime))
                latest = max(latest, incidents[k].time)
            }
            k += 1
        }
        return (linked, latest)
    }

    /// The position in `order` of the last deploy at or before `t`, or -1.
    private func lastPosition(atOrBefore t: Int64, _ deploys: ChunkedArray<ServiceState.DeployRecord>) -> Int {
        order.partitionPoint { deploys[Int($0)].time > t } - 1
    }

    /// The deploy named by `deploy_id` if it is at or before `t` (metrics.md §1: an explicit
    /// link). Deploy ids are unique in a service's events (each is an event id), so the deploy
    /// is found by walking back from `t`: explicit links name a recent deploy, and the walk is
    /// short; one that names no deploy of the service walks them all.
    private func deploy(withID id: String, atOrBefore t: Int64, _ deploys: ChunkedArray<ServiceState.DeployRecord>) -> Int32? {
        var k = lastPosition(atOrBefore: t, deploys)
        while k >= 0 {
            if deploys[Int(order[k])].id.utf8.elementsEqual(id.utf8) { return order[k] }
            k -= 1
        }
        return nil
    }

    /// `analyze`'s link of a started rollback: its `deploy_id`, else the latest deploy of its
    /// `from_version` at or before its start (found by walking back from its start: the
    /// version rolled back is the one deployed last, in all but unusual streams).
    private func linkRollback(_ r: ServiceState.RollbackState, state: ServiceState) -> Int32? {
        let deploys = state.deploys
        if let id = r.deployID, let p = deploy(withID: id, atOrBefore: r.startedTime, deploys) { return p }
        guard let version = r.fromVersion else { return nil }
        let v = ShortFingerprint(id: version)
        var k = lastPosition(atOrBefore: r.startedTime, deploys)
        while k >= 0 {
            if deploys[Int(order[k])].version == v { return order[k] }
            k -= 1
        }
        return nil
    }

    /// `analyze`'s link of an incident: its `deploy_id`, else the latest deploy within the
    /// attribution window before its firing that is still live (its first linked rollback,
    /// per `completion`, did not complete at or before the firing).
    private func linkIncident(_ a: ServiceState.AlertState, state: ServiceState, completion: (Int32) -> Int64?) -> Int32? {
        let deploys = state.deploys
        let f = a.firingTime
        if let id = a.deployID, let p = deploy(withID: id, atOrBefore: f, deploys) { return p }
        var k = lastPosition(atOrBefore: f, deploys)
        while k >= 0 && f - deploys[Int(order[k])].time <= window {
            if let done = completion(order[k]), done <= f {
                k -= 1
                continue
            }
            return order[k]
        }
        return nil
    }

    /// Where the item `key` listed at `t` is in `list`.
    private static func find<Key>(_ key: Key, at t: Int64, in list: [Entry<Key>]) -> Int? {
        var k = list.partitionPoint { $0.time >= t }
        while k < list.count && list[k].time == t {
            if list[k].key == key { return k }
            k += 1
        }
        return nil
    }

    /// Up to how many entries a list takes one by one (each an insertion); more are merged in
    /// by sorting the list again (a start-up or a backfill brings them by the thousand).
    private static let insertedOneByOne = 64

    /// Moves each key of `moves` in `list` (sorted by time) from its time there (nil: it is not
    /// there) to its new entry (nil: it leaves).
    private static func move<Key: Hashable>(_ moves: [(key: Key, from: Int64?, to: Entry<Key>?)], in list: inout [Entry<Key>]) {
        guard moves.count > insertedOneByOne else {
            for (key, from, to) in moves {
                if let from, let k = find(key, at: from, in: list) { list.remove(at: k) }
                if let to { list.insert(to, at: list.partitionPoint { $0.time > to.time }) }
            }
            return
        }
        let gone = Set(moves.lazy.filter { $0.from != nil }.map(\.key))
        if !gone.isEmpty { list.removeAll { gone.contains($0.key) } }
        list += moves.compactMap(\.to)
        list.sort { $0.time < $1.time }
    }
}
