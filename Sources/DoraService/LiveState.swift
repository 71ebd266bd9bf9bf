public import DoraEventLog
import DoraPipeline
public import DoraEvents
public import DoraMetrics
public import DoraSLO

/// The live view of `doralog run`: the metrics engine and the SLO evaluators over every stored
/// event, fed batch by batch as the consumer makes them durable.
///
/// Invariants: each stored event is added once (the log's own de-duplication decides); the
/// state is derived from the log, never the source of truth: a restart rebuilds it by replay.
/// Counts are exact; percentiles are exact too (the engine keeps every sample). With a
/// retention (docs/run.md, "Retention"), it forgets what happened entirely before the start of
/// the day `retention` before its latest stored event, so its memory follows the event rate
/// and the retention, not how long it has run; events dated before that are stored in the log
/// but not added here.
/// It runs on threads of its own (`AggregatorThreads`), at a lowered priority in `run`.
public actor LiveState {
    private nonisolated let threads: AggregatorThreads
    public nonisolated var unownedExecutor: UnownedSerialExecutor { threads.asUnownedSerialExecutor() }
    private var engine: MetricsEngine
    private var evaluation: SLOEvaluation
    /// Stored, duplicate and rejected counts (the log's, then each append's).
    private var totals: LogTotals
    /// A kind of transition: an alert kind and the state it entered.
    public struct Transition: Hashable, Sendable {
        public var kind: SLOAlert.Kind
        public var state: SLOAlert.State
    }

    /// Alerts emitted since start, per kind and state (for /metrics).
    public private(set) var alertsEmitted: [Transition: Int] = [:]
    public private(set) var isReady = false
    /// How far behind the wall clock window expiries are evaluated while caught up.
    private let wallClockLag: Int64
    /// The SLO clock (docs/slo.md, "The clock"): the latest stored event time (of those not in
    /// the future: a stray date in 2099 must not age every window out), and while ingestion is
    /// caught up, the wall clock minus the lag. It never goes back; expiries before it have
    /// been evaluated.
    public private(set) var clock: Int64 = .min
    /// How far back the state keeps events (microseconds); nil: the whole history.
    public nonisolated let retention: Int64?
    /// With a retention: the start of the retained history (a day's start), once the latest
    /// stored event has gone past it. Events before it are not added; the default period
    /// starts there.
    public private(set) var retainedFrom: Timestamp?
    /// Stored events dated before `retainedFrom` when they arrived: kept in the log, not here.
    public private(set) var eventsBeforeRetention = 0
    /// Of those, the events of unknown type (still counted as ignored).
    private var ignoredBeforeRetention = 0
    /// With a retention, the events of unknown type in the blocks the replay did not read.
    private var ignoredInUnreadBlocks = 0

    /// - Parameters:
    ///   - niceness: how much lower than the process's the priority of the state's threads is
    ///     (a nice value, 0 to 19): `run` lowers it so that ingestion goes first.
    ///   - wallClockLag: microseconds behind the wall clock that expiries are evaluated while
    ///     caught up (an event arriving that late is still evaluated at its own time).
    ///   - retention: how far back from the latest stored event events are kept (microseconds;
    ///     at least twice the longest SLO window, which the pipeline file checks); nil: all.
    public init(
        configuration: MetricsConfiguration, slos: [SLODefinition], readiness: [ReadinessObjective] = [], assignments: ServiceAssignments,
        niceness: Int32 = 0, wallClockLag: Int64 = 30_000_000, retention: Int64? = nil
    ) {
        precondition(retention.map { r in slos.allSatisfy { 2 * $0.window <= r } } ?? true, "a retention shorter than two windows")
        threads = AggregatorThreads(niceness: niceness)
        self.wallClockLag = wallClockLag
        self.retention = retention
        engine = MetricsEngine(configuration: configuration, futureCutoff: Self.futureCutoff())
        // Each round asks for the touched services' samples: they are kept as events arrive.
        engine.trackLeadTimes()
        let metrics = Set(slos.map(\.metric))
        // The links cost memory per item: kept only for SLOs that read them (every metric but
        // lead time; rollback time's alerts read the links too).
        if metrics.contains(where: { $0 != .leadTime }) { engine.trackEpisodes(keeping: metrics) }
        evaluation = SLOEvaluation(slos: slos, readiness: readiness, assignments: assignments)
        totals = LogTotals()
    }

    deinit { threads.stop() }

    /// Rebuilds the state from the log's history; the SLO state machines catch up silently
    /// (transitions of the past are not sent again). Then the state is ready.
    /// - Returns: the alerts firing as of the log (each one's latest firing transition), for
    ///   sinks that must assert them again after a restart.
    @discardableResult
    public func replay(_ reader: LogReader) throws(EventLogError) -> [SLOAlert] {
        do {  // the engine built in a local whose lifetime ends here, before the retention below
            var engine = self.engine
            // With a retention, only the blocks that reach into it, when the latest event says
            // where it starts; with events in the future only the events say it: all are read.
            var range: Range<Timestamp>? = nil
            if let retention, let latest = reader.blocks.lazy.filter({ $0.recordCount > 0 }).map(\.maxTime).max(), latest <= Self.futureCutoff() {
                let start = Self.retentionStart(latest: latest.microseconds, retention: retention)
                range = start..<Timestamp(microseconds: .max)
                try Self.rememberCommits(before: start, retention: retention, of: reader, in: &engine)
            }
            try Replay.add(reader.blocks(overlapping: range), of: reader, to: &engine)
            if range != nil { ignoredInUnreadBlocks = reader.totals.ignored - engine.ignored }
            engine.consolidate(releaseMemory: HeapTrim.releaseFreePages)
            _ = engine.takeTouchedServices()  // every service is evaluated below
            _ = engine.takeSampleChanges(only: nil)  // and from its samples as they are now
            self.engine = engine
        }
        // The replay's threads built the state in parts, freed as they were merged: give their
        // pages back before the evaluation allocates its windows (bench/RESULTS.md,
        // twenty-fourth session).
        HeapTrim.releaseFreePages()
        totals = reader.totals
        advanceClock(caughtUp: false)
        // The evaluation reads the replayed state with the samples before the retention's start
        // left out, as before any forgetting; then the state forgets that start, once nothing
        // else holds it. Forgetting replaces each service's state by a copy without its start:
        // with the replayed state still held (as it was, by a local copy kept for the
        // evaluation), every service's state was there twice (2.3 GiB at start-up with 100M
        // events stored).
        let start = movedRetentionStart()
        if let start { evaluation.forget(before: start.microseconds) }
        // Only what still fires is kept of the transitions (every one of the retention's, 27 MB
        // at the 100M stream's density), before the retention step below.
        let firing = SLOAlert.stillFiring(evaluation.evaluate(engine, end: clock, threads: .helpers(threads), engineChanges: [:]))
        if let start {
            // Along the way too: this step replaces the states the replay built, and their holes
            // raised it by about 165 MB instead of 55 (bench/RESULTS.md, twenty-sixth session).
            forgetState(before: start, releaseMemory: HeapTrim.releaseFreePages)
            HeapTrim.releaseFreePages()
        }
        isReady = true
        return firing
    }

    /// The commits that a run which had forgotten everything before `start` remembers
    /// (`forgetState`): those of the successful deploys in [start - retention, start). The
    /// blocks that reach past `start` are replayed in full, and forgetting their early events
    /// remembers those; the blocks wholly before it are read here for their deploys' commits
    /// only. Without this, a restart would take a commit shipped again after the start for
    /// shipped first, and count a lead time that the run before the restart did not.
    private static func rememberCommits(
        before start: Timestamp, retention: Int64, of reader: LogReader, in engine: inout MetricsEngine
    ) throws(EventLogError) {
        let since = start.advanced(byMicroseconds: -retention)
        let blocks = reader.blocks(overlapping: since..<start).filter { $0.maxTime < start }
        guard !blocks.isEmpty else { return }
        var part = engine.makeEmpty()
        part.rememberCommits(since: since)
        try Replay.fold(blocks, of: reader, into: &engine, parts: part) { $0.addForgotten($1) }
    }

    /// Adds the events that durable appends stored, with the appends' counts, and returns the
    /// SLO transitions they cause.
    /// - Parameters:
    ///   - caughtUp: ingestion had handed over everything it read, every partition at its end:
    ///     the clock may follow the wall clock.
    ///   - deferringRetention: return the transitions before the retention step that the
    ///     round may be due (`applyRetention`), which the caller runs once it has sent them.
    public func add(_ appends: [StoredRecords], summary: AppendSummary, caughtUp: Bool = false, deferringRetention: Bool = false) async -> [SLOAlert] {
        await applyRetention()
        let from = retainedFrom?.microseconds ?? .min
        for stored in appends {
            stored.forEach { record in
                if isRetained(record.time, from: from, unknownType: record.isUnknownType) {
                    engine.add(record)
                } else {
                    engine.addForgotten(record)
                }
            }
        }
        return await evaluate(summary: summary, caughtUp: caughtUp, deferringRetention: deferringRetention)
    }

    /// `add` for events held as values (tests, and producers that have them decoded already).
    public func add(_ events: [Event], summary: AppendSummary, caughtUp: Bool = false, deferringRetention: Bool = false) async -> [SLOAlert] {
        await applyRetention()
        let from = retainedFrom?.microseconds ?? .min
        for e in events {
            if isRetained(e.time.microseconds, from: from, unknownType: e.isUnknownType) {
                engine.add(e)
            } else {
                engine.addForgotten(e)
            }
        }
        return await evaluate(summary: summary, caughtUp: caughtUp, deferringRetention: deferringRetention)
    }

    /// Whether an event dated `time` joins the state (it is at or after the retention's start,
    /// `from`); an earlier one is counted, and only its commits are remembered.
    private func isRetained(_ time: Int64, from: Int64, unknownType: @autoclosure () -> Bool) -> Bool {
        if time >= from { return true }
        eventsBeforeRetention += 1
        if unknownType() { ignoredBeforeRetention += 1 }
        return false
    }

    /// Moves the clock on with no new event (the aggregator calls it a few times a second) and
    /// returns the transitions of the window expiries it passes: a breach resolves once its
    /// slow samples age out, even when no event comes.
    public func tick(caughtUp: Bool) async -> [SLOAlert] {
        await applyRetention()
        advanceClock(caughtUp: caughtUp)
        return count(evaluation.expire(before: clock))
    }

    /// The clock as of the stored events and, when caught up, the wall clock.
    private func advanceClock(caughtUp: Bool) {
        var t = engine.latestPresent?.microseconds ?? .min
        if caughtUp { t = max(t, Timestamp.now().microseconds - wallClockLag) }
        clock = max(clock, t)
    }

    /// Where the history kept for `retention` starts when the latest stored event is at
    /// `latest`: the start of the day `retention` before it (so the state forgets at most once
    /// a day).
    static func retentionStart(latest: Int64, retention: Int64) -> Timestamp {
        Timestamp(microseconds: latest - retention).startOfDay
    }

    /// With a retention, forgets what lies before its start once the latest stored event has
    /// moved the start on (after the round's evaluation, which the start never reaches into).
    /// The retention follows the latest stored event, not the clock: following the wall clock
    /// would forget a backfill of old events as it arrives. The clock is at or after that event,
    /// so no window evaluated at the clock reaches before the retention either.
    ///
    /// A step rebuilds every service's state (about half a second a day for 2,000 services at
    /// 90,000 events a day, bench/RESULTS.md), so `run` defers it past the round's transitions
    /// (`add(deferringRetention:)`) and calls it once they are sent: no alert waits for it.
    /// Every `add` and `tick` first runs a step still due, so the state goes through the same
    /// steps in the same order whether or not a caller defers.
    ///
    /// A step waits for the reports computing from the state as it was (`report`): it replaces
    /// every service's state, which a report's copy would otherwise keep alive beside the new
    /// one, twice the memory until the report ends. Reports asked for meanwhile wait for the
    /// step.
    public func applyRetention() async {
        guard movedRetentionStart() != nil else { return }
        await waitForReports()
        guard let start = movedRetentionStart() else { return }
        evaluation.forget(before: start.microseconds)
        forgetState(before: start)
        // What was forgotten is spread over the heap: give its pages back.
        HeapTrim.releaseFreePages()
    }

    /// With a retention, its start as of the latest stored event, when that is later than
    /// `retainedFrom`; nil otherwise.
    private func movedRetentionStart() -> Timestamp? {
        guard let retention, let latest = engine.latestPresent?.microseconds else { return nil }
        let start = Self.retentionStart(latest: latest, retention: retention)
        return retainedFrom.map({ start > $0 }) ?? true ? start : nil
    }

    /// The engine's part of `applyRetention`: it forgets what lies before `start`.
    private func forgetState(before start: Timestamp, releaseMemory: (() -> Void)? = nil) {
        guard let retention else { return }
        // A commit's deploys are remembered for another retention, so that shipping it again
        // within twice the retention gives no lead time, as in the whole history.
        engine.forget(
            before: start, commitsSince: start.advanced(byMicroseconds: -retention), releaseMemory: releaseMemory, threads: .helpers(threads))
        retainedFrom = start
    }

    /// How many items the state holds (the engine's and the SLO evaluation's): what a retention
    /// keeps bounded (tests).
    public var retainedItems: Int { engine.retainedItems + evaluation.retainedItems }

    /// A day after now: later events leave the live report's default period (docs/metrics.md).
    private static func futureCutoff() -> Timestamp {
        Timestamp.now().advanced(byMicroseconds: Timestamp.microsecondsPerDay)
    }

    /// Evaluates the SLOs of the services the added events named, and every scope's expiries
    /// before the clock.
    private func evaluate(summary: AppendSummary, caughtUp: Bool, deferringRetention: Bool) async -> [SLOAlert] {
        engine.raiseFutureCutoff(to: Self.futureCutoff())
        totals.stored += summary.stored
        totals.duplicates += summary.duplicates
        totals.conflictingDuplicates += summary.conflictingDuplicates
        totals.rejected += summary.rejected
        advanceClock(caughtUp: caughtUp)
        let touched = engine.takeTouchedServices()
        let changes = engine.takeSampleChanges(only: touched, threads: .helpers(threads))
        let alerts = count(evaluation.evaluate(engine, services: touched, end: clock, threads: .helpers(threads), engineChanges: changes))
        if !deferringRetention { await applyRetention() }
        return alerts
    }

    private func count(_ alerts: [SLOAlert]) -> [SLOAlert] {
        for a in alerts { alertsEmitted[Transition(kind: a.kind, state: a.state), default: 0] += 1 }
        return alerts
    }

    /// The report over `period` (default: the default period), as `doralog report` computes it
    /// from the same log (readiness against the pipeline's first readiness objective), with the
    /// services pooled by tier in `groups` (the live view's per-tier figures); nil when no
    /// event is stored and no period is given.
    ///
    /// The state is read on its executor and the report computed on the report thread, so a
    /// scrape of `/metrics` never holds up a round, and so an alert: over 10M events and 2,000
    /// services, one that read the whole state at once held the executor about 1.5 s
    /// (bench/RESULTS.md, thirty-second session). It reads the services a slice at a time
    /// (`reportSlices` hops, between rounds), as values that share their storage with the
    /// state, and analyses each slice before taking the next. The rounds going on meanwhile
    /// copy what they change of the slice in hand, and only of it: when the whole state was
    /// read at once, every service a round changed during the report's seconds was copied, and
    /// a scrape a minute raised a fed run's peak by up to 300 MB (bench/RESULTS.md,
    /// thirty-sixth session). So each service is reported as it was at one moment between
    /// rounds, and the counts of stored events as they were when the report began. A retention
    /// step, which changes every service, waits for the reports under way (`applyRetention`).
    /// - Parameter bucketBounds: also count each service's rollback and recovery times into
    ///   these buckets (microseconds), for `/metrics`.
    public nonisolated func report(period: Period? = nil, bucketBounds: [Int64]? = nil) async -> Report? {
        let source = await takeReportSource()
        guard let period = period ?? source.defaultPeriod else {
            await letGoOfReportSource()
            return nil
        }
        var parts = ReportSource.Parts(period: period, readinessObjective: source.readinessObjective)
        var taken = 0
        while true {
            let (slice, isLast) = await takeSlice(from: taken)
            taken += slice.count
            parts.append(await threads.report { source.parts(of: slice, period: period, bucketBounds: bucketBounds) })
            if isLast { break }
        }
        await letGoOfReportSource()
        return await threads.report { [parts] in source.report(from: parts) }
    }

    /// How many slices a report reads the services in (`report`): more hold less of the state
    /// at a time, and wait for more rounds.
    private(set) var reportSlices = 16

    /// Sets `reportSlices` (tests).
    func setReportSlices(_ slices: Int) {
        precondition(slices > 0, "a report reads its services in at least one slice")
        reportSlices = slices
    }

    /// The next slice of services from index `start` (`MetricsEngine.slice`), and whether it is
    /// the last: the one that reaches the services known now, and adds the rollbacks of the
    /// services that have some only in other environments.
    func takeSlice(from start: Int) -> (slice: ServiceSlice, isLast: Bool) {
        let count = engine.serviceCount
        let end = min(count, start + max(1, (count + reportSlices - 1) / reportSlices))
        let isLast = end == count
        return (engine.slice(min(start, end)..<end, withOthers: isLast), isLast)
    }

    /// Reports computing from a source they took (`takeReportSource`): a retention step waits
    /// for them.
    private(set) var reportsHolding = 0
    /// Whether a retention step waits for the reports (new ones then wait for the step), and
    /// who waits.
    private(set) var retentionWaiting = false
    private var stepsWaiting: [CheckedContinuation<Void, Never>] = []
    private var reportsWaiting: [CheckedContinuation<Void, Never>] = []

    /// What a report reads of the state but its services, which it then takes in slices
    /// (`takeSlice`); until it lets go (`letGoOfReportSource`), a retention step waits.
    func takeReportSource() async -> ReportSource {
        while retentionWaiting { await withCheckedContinuation { reportsWaiting.append($0) } }
        reportsHolding += 1
        return ReportSource(
            assembler: engine.makeEmpty(keepingServices: false), defaultPeriod: engine.defaultPeriod, totals: totals,
            ignored: ignoredEvents, assignments: evaluation.assignments,
            readinessObjective: evaluation.readiness.first?.maxAge ?? Readiness.defaultObjective)
    }

    func letGoOfReportSource() {
        reportsHolding -= 1
        guard reportsHolding == 0 else { return }
        let steps = stepsWaiting
        stepsWaiting = []
        for step in steps { step.resume() }
    }

    /// Returns once no report holds a source; reports asked for meanwhile wait for the caller's
    /// step, which must follow without a suspension.
    private func waitForReports() async {
        guard reportsHolding > 0 else { return }
        retentionWaiting = true
        await withCheckedContinuation { stepsWaiting.append($0) }
        retentionWaiting = false
        let waiting = reportsWaiting
        reportsWaiting = []
        for r in waiting { r.resume() }  // they run on this executor once the step is done
    }

    /// Runs `work` on the report thread, after the reports asked for before it (tests: to keep
    /// the thread busy while rounds go on).
    nonisolated func onReportThread(_ work: @escaping @Sendable () -> Void) async {
        await threads.report(work)
    }

    /// What a live report reads of the state when it begins (`takeReportSource`), and how it
    /// makes the report from its slices of services: each slice's parts (`parts(of:)`),
    /// gathered in `Parts`, then assembled (`report(from:)`) as a partitioned replay assembles
    /// its partitions'.
    struct ReportSource: Sendable {
        /// An engine that keeps no service, with the state's configuration: what assembles the
        /// parts.
        let assembler: MetricsEngine
        let defaultPeriod: Period?
        let totals: LogTotals
        /// Stored events of unknown type (`ignoredEvents`).
        let ignored: Int
        let assignments: ServiceAssignments
        let readinessObjective: Int64

        /// The slices' parts of one report.
        struct Parts: Sendable {
            var analyses: ServiceAnalyses
            var readiness: ReadinessParts

            init(analyses: ServiceAnalyses, readiness: ReadinessParts) {
                self.analyses = analyses
                self.readiness = readiness
            }

            /// No service's parts yet.
            init(period: Period, readinessObjective: Int64) {
                self.init(analyses: ServiceAnalyses(periods: [period]), readiness: ReadinessParts(period: period, objective: readinessObjective))
            }

            mutating func append(_ other: Parts) {
                analyses.append(contentsOf: other.analyses)
                readiness.append(contentsOf: other.readiness)
            }
        }

        /// The parts of `slice`'s services of the report over `period`.
        func parts(of slice: ServiceSlice, period: Period, bucketBounds: [Int64]?) -> Parts {
            let assignments = self.assignments
            let analyses = slice.analyse(
                periods: [period], bucketBounds: bucketBounds, teamOf: { assignments.team(of: $0, fromEvents: $1) })
            let readiness = slice.readinessParts(period: period, objective: readinessObjective, services: analyses.listedInFirstPeriod)
            return Parts(analyses: analyses, readiness: readiness)
        }

        /// The report from the parts of every service.
        func report(from parts: Parts) -> Report {
            let assignments = self.assignments
            var report = assembler.reports(
                from: parts.analyses, log: (totals.stored, totals.duplicates, totals.rejected), ignored: ignored,
                groupOf: { assignments.tier(of: $0) })[0]
            report.events.conflictingDuplicates = totals.conflictingDuplicates
            report.readiness = Readiness(period: parts.analyses.periods[0], objective: readinessObjective, parts: parts.readiness)
            return report
        }
    }

    /// The labels Alertmanager routes a service's alerts by: its team (the pipeline file's,
    /// else its events') and its tier.
    public func routing(of service: String) -> (team: String?, tier: String?) {
        let assignments = evaluation.assignments
        return (assignments.team(of: service, fromEvents: engine.team(of: service)), assignments.tier(of: service))
    }

    /// The period a report covers by default (the days of the stored events); nil when none is.
    public var defaultPeriod: Period? { engine.defaultPeriod }

    /// Stored events of unknown type: the engine's own count, since every stored event reaches
    /// it, except with a retention those the replay did not read or that came too late.
    private var ignoredEvents: Int { engine.ignored + ignoredBeforeRetention + ignoredInUnreadBlocks }

    /// The log's counts; `ignored` (stored events of unknown type) is counted as the events
    /// reach the live state (`ignoredEvents`).
    public var logTotals: LogTotals {
        var t = totals
        t.ignored = ignoredEvents
        return t
    }

    /// Every alert currently firing.
    public var firing: [SLOEvaluation.Firing] { evaluation.firing }
}
