#if canImport(Glibc)
import Glibc
#endif
public import DoraEventLog
public import DoraEvents
public import DoraMetrics

/// Replays one or more event logs into the metric engine and computes a report.
///
/// Several logs (one per `doralog ingest` process of a consumer group) are merged,
/// de-duplicated by id: the first log given wins. By default every block is read, which is what
/// the metric definitions require for linking, first deploys and teams. With a `margin`, only
/// the blocks whose time range overlaps `[from - margin, to + margin]` are read: faster, and
/// exact unless a link, a first deploy, an episode's end or a team claim lies farther out
/// (docs/metrics.md, "Period reports").
public struct Replay {
    public var configuration: MetricsConfiguration
    /// Read only blocks within this distance of the period (nil: read everything, exact).
    public var margin: Duration?
    /// The moment of the report: events dated more than a day after it are in the future, and
    /// the default period leaves them out.
    public var now = Timestamp.now()
    /// A service's team given its name and its events' team (a pipeline file's rules); nil:
    /// the events' team.
    public var teamOf: (@Sendable (_ service: String, _ fromEvents: String?) -> String?)?
    /// Also compute the report's figures per week or month (`Report.series`).
    public var series: SeriesInterval?
    /// Also compare the report's period with another (`Report.comparison`).
    public var comparison: ComparisonPeriod?
    /// Keep the pooled samples behind the report's totals and teams (`Report.samples`): the
    /// HTML page draws their distributions.
    public var keepingSamples = false
    /// List this many of the period's longest recoveries (`Report.longestRecoveries`).
    public var longestRecoveries = 0
    /// Compute the report's rollback readiness (`Report.readiness`) with this objective
    /// (microseconds; nil: leave it out).
    public var readinessObjective: Int64?
    /// `report` folds a log of more events than `partitionedAbove` in partitions of about this
    /// many events each (by service), so that it holds only one partition's services' states at
    /// a time; 0: never. docs/replay.md, "Partitions".
    public var eventsPerPartition = Replay.defaultEventsPerPartition
    /// The most events `report` folds in one pass (with `eventsPerPartition` as a floor).
    public var partitionedAbove = Replay.defaultPartitionedAbove
    /// Where a partitioned replay sets the partitions' records aside (files with no name, gone
    /// when the replay ends).
    public var spillDirectory = Replay.defaultSpillDirectory

    /// About 90 MB of services' state (about 85 bytes per stored event), and as fast as
    /// larger partitions or faster (bench/RESULTS.md, thirty-third session).
    public static let defaultEventsPerPartition = 1_000_000

    /// One pass over 10 million events peaks under 1 GiB (about 85 bytes per event) and is
    /// up to an eighth faster than partitions, which write and read the spill (bench/RESULTS.md,
    /// thirty-third session).
    public static let defaultPartitionedAbove = 10_000_000

    /// `$TMPDIR`, else `/tmp`.
    public static var defaultSpillDirectory: String {
        guard let tmp = getenv("TMPDIR"), tmp.pointee != 0 else { return "/tmp" }
        return String(cString: tmp)
    }

    public init(configuration: MetricsConfiguration = MetricsConfiguration(), margin: Duration? = nil) {
        self.configuration = configuration
        self.margin = margin
    }

    /// The outcome of a replay: the report, or why there is none.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The logs hold no event, and the period was not given in full.
        case emptyLog(directories: [String])
        /// Every event is dated after `cutoff` (the moment of the report plus a day), and `--to`
        /// was not given.
        case onlyFutureEvents(cutoff: Timestamp)
        /// The effective period's from is not before its to.
        case emptyPeriod(from: Timestamp, to: Timestamp)
        /// No event of known type is of the environment asked for; the logs have `available`.
        case unknownEnvironment(String, available: [String])
        case log(EventLogError)

        public var description: String {
            switch self {
            case .emptyLog(let directories):
                return "the log \(directories.joined(separator: ", ")) is empty (no events stored yet); "
                    + "give both --from and --to to report on an empty period"
            case .onlyFutureEvents(let cutoff):
                return "every event of the log is dated after \(cutoff.rfc3339) (a day from now); give --to to report on them"
            case .unknownEnvironment(let name, let available):
                return "the log has no events of environment '\(name)'; "
                    + (available.isEmpty ? "it has no events of known type" : "it has: \(available.joined(separator: ", "))")
                    + " (--environment)"
            case .emptyPeriod(let from, let to): return "the period is empty: from \(from) is not before to \(to)"
            case .log(let e): return e.description
            }
        }
    }

    /// Replays `directories` and reports on the period [from, to); a missing bound defaults to
    /// the day of the earliest (latest) stored event. A single log of more events than
    /// `partitionedAbove` is folded in partitions.
    public func report(directories: [String], from: Timestamp?, to: Timestamp?) throws(Failure) -> Report {
        try replay(directories: directories, from: from, to: to, partitioning: true).report
    }

    /// `report`, also giving the engine it replayed into (every event read, for an SLO
    /// backtest to the period's end without a second replay). It never partitions: the engine
    /// holds every service's state.
    public func reportAndEngine(
        directories: [String], from: Timestamp?, to: Timestamp?
    ) throws(Failure) -> (report: Report, engine: MetricsEngine) {
        try replay(directories: directories, from: from, to: to, partitioning: false)
    }

    private func replay(
        directories: [String], from: Timestamp?, to: Timestamp?, partitioning: Bool
    ) throws(Failure) -> (report: Report, engine: MetricsEngine) {
        // The default end leaves out events more than a day after the report's moment.
        let cutoff = now.advanced(byMicroseconds: Timestamp.microsecondsPerDay)
        var engine = MetricsEngine(configuration: configuration, futureCutoff: to == nil ? cutoff : nil)
        var totals = LogTotals()
        do {
            let readers = try directories.map { (d) throws(EventLogError) in try LogReader(directory: d) }
            // The default period comes from the block headers: no decoding needed for it...
            let allBlocks = readers.flatMap(\.blocks).filter { $0.recordCount > 0 }
            let earliest = allBlocks.map(\.minTime).min()
            let latest = allBlocks.map(\.maxTime).max()
            // ...unless some event lies in the future: then only the events say which is the
            // latest before the cutoff, and the whole log is read first.
            let hasFuture = to == nil && latest.map { $0 > cutoff } == true
            var spill: RecordSpill?
            if hasFuture {
                let (dropped, spilled) = try load(readers, overlapping: nil, into: &engine, partitioning: partitioning)
                (totals.duplicates, spill) = (totals.duplicates + dropped, spilled)
            }
            let defaultTo = hasFuture ? engine.defaultPeriod?.to : latest.map { $0.startOfDay.advanced(byMicroseconds: Timestamp.microsecondsPerDay) }
            guard let periodFrom = from ?? earliest?.startOfDay, let periodTo = to ?? defaultTo else {
                throw hasFuture ? Failure.onlyFutureEvents(cutoff: cutoff) : Failure.emptyLog(directories: directories)
            }
            guard periodFrom < periodTo else { throw Failure.emptyPeriod(from: periodFrom, to: periodTo) }
            let period = Period(from: periodFrom, to: periodTo)
            let other = comparison?.resolved(for: period)
            var range: Range<Timestamp>? = nil
            if let margin {
                let m = margin.wholeMicroseconds
                let lookback = max(m, configuration.attributionWindowMicroseconds)
                let start = min(periodFrom, other?.from ?? periodFrom)
                let end = max(periodTo, other?.to ?? periodTo)
                range = start.advanced(byMicroseconds: -lookback)..<end.advanced(byMicroseconds: m)
            }
            for reader in readers {
                totals.stored += reader.totals.stored
                totals.duplicates += reader.totals.duplicates
                totals.conflictingDuplicates += reader.totals.conflictingDuplicates
                totals.rejected += reader.totals.rejected
                totals.ignored += reader.totals.ignored
            }
            if !hasFuture {
                let (dropped, spilled) = try load(readers, overlapping: range, into: &engine, partitioning: partitioning)
                (totals.duplicates, spill) = (totals.duplicates + dropped, spilled)
            }
            if readers.count > 1 { totals.stored = engine.added }
            if !engine.hasEventsOfEnvironment && margin == nil && !engine.otherEnvironments.isEmpty {
                throw Failure.unknownEnvironment(
                    configuration.environment, available: engine.otherEnvironments.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            }
            // One analysis of each service serves the report, its comparison period and its
            // series' buckets.
            let buckets = series?.buckets(of: period) ?? []
            let periods = [period] + (other.map { [$0] } ?? []) + buckets
            var analyses = ServiceAnalyses(periods: periods)
            var readiness = readinessObjective.map { ReadinessParts(period: period, objective: $0) }
            // A partitioned replay sets each partition's samples aside once it is analysed.
            let samples = try spill.map { (s) throws(EventLogError) in try SampleSpill(directory: s.directory) }
            let analyse = { (engine: MetricsEngine) in
                var part = engine.analyse(periods: periods, teamOf: teamOf, longestRecoveries: longestRecoveries, listingServices: 1)
                if let objective = readinessObjective {
                    readiness!.append(contentsOf: engine.readinessParts(period: period, objective: objective, services: part.listedInFirstPeriod))
                }
                if let samples { part.storeSamples(in: samples) }
                analyses.append(contentsOf: part)
            }
            if let spill {
                // One partition's services at a time: its engine is gone before the next is folded.
                for p in 0..<spill.partitions { analyse(try Self.fold(partition: p, of: spill, like: engine)) }
            } else {
                analyse(engine)
            }
            var reports = engine.reports(
                from: analyses, log: (totals.stored, totals.duplicates, totals.rejected),
                ignored: readers.count == 1 ? totals.ignored : nil, keepingSamples: other != nil || keepingSamples,
                longestRecoveries: longestRecoveries)
            var report = reports.removeFirst()
            if let readiness { report.readiness = Readiness(period: period, objective: readiness.objective, parts: readiness) }
            if other != nil { report.comparison = PeriodComparison.compare(report, with: reports.removeFirst()) }
            if !keepingSamples { report.samples = nil }
            if let series {
                report.series = ReportSeries(
                    interval: series, buckets: reports.map { ReportSeries.Bucket(period: $0.period, totals: $0.totals, teams: $0.teams) })
            }
            report.futureEvents = hasFuture ? engine.futureEvents : 0
            report.events.conflictingDuplicates = totals.conflictingDuplicates
            // Every statistic has read its samples back by now, but the page's distributions
            // (`Report.samples`), which the renderer reads later.
            try samples?.check()
            return (report, engine)
        } catch let error as Failure {
            throw error
        } catch let error as EventLogError {
            throw .log(error)
        } catch {
            throw .log(EventLogError(.io, "\(error)"))
        }
    }

    /// Replays every event of `directories` (merged, de-duplicated by id) into an engine, for
    /// SLO backtests.
    public func engine(directories: [String]) throws(Failure) -> MetricsEngine {
        var engine = MetricsEngine(configuration: configuration)
        do {
            let readers = try directories.map { (d) throws(EventLogError) in try LogReader(directory: d) }
            _ = try Self.merge(readers, overlapping: nil, into: &engine)
        } catch {
            throw .log(error)
        }
        return engine
    }

    /// Adds the events of `blocks` of one log to `engine`. A log holds no id twice, so its
    /// blocks are folded on both cores, into one engine each, and the engines merged.
    public static func add(_ blocks: [BlockLocation], of reader: LogReader, to engine: inout MetricsEngine) throws(EventLogError) {
        try fold(blocks, of: reader, into: &engine, parts: engine.makeEmpty()) { $0.add($1) }
    }

    /// Folds the events of `blocks` of one log into copies of `part` (one per core), with
    /// `add`, and merges those into `engine`: `add`'s effect on each event must not depend on
    /// the order of events.
    public static func fold(
        _ blocks: [BlockLocation], of reader: LogReader, into engine: inout MetricsEngine, parts part: MetricsEngine,
        _ add: @escaping @Sendable (inout MetricsEngine, EventRecord) -> Void
    ) throws(EventLogError) {
        var parts = try reader.fold(blocks, into: [part, part], add)
        // Popped, not iterated: a part still held by the array would share its storage with
        // the merged engine, and the merge would copy it instead of taking it over.
        while let part = parts.popLast() { engine.merge(part) }
    }

    /// Adds the events of `readers` within `range` to `engine`, as `merge` does. With
    /// `partitioning`, a single log of more than `partitionedAbove` events is read into a spill
    /// instead: `engine` becomes one that keeps no service, and each service's events are set
    /// aside in its partition. Returns how many copies of an id were dropped, and the spill.
    private func load(
        _ readers: [LogReader], overlapping range: Range<Timestamp>?, into engine: inout MetricsEngine, partitioning: Bool
    ) throws(EventLogError) -> (duplicates: Int, spill: RecordSpill?) {
        let blocks = readers.count == 1 ? readers[0].blocks(overlapping: range) : []
        let events = blocks.reduce(0) { $0 + $1.recordCount }
        guard partitioning, readers.count == 1, eventsPerPartition > 0, events > max(partitionedAbove, eventsPerPartition) else {
            return (try Self.merge(readers, overlapping: range, into: &engine), nil)
        }
        let spill = RecordSpill(partitions: (events + eventsPerPartition - 1) / eventsPerPartition, directory: spillDirectory)
        let counting = engine.makeEmpty(keepingServices: false)
        let writers = try spill.writers(2)
        var parts = try readers[0].foldEncoded(blocks, into: zip([counting, counting], writers).map { $0 }) { part, record, encoded in
            part.0.add(record)
            part.1.add(record, encoded: encoded)
        }
        try spill.finish(parts.map(\.1))
        engine = counting
        while let part = parts.popLast() { engine.merge(part.0) }
        return (0, spill)
    }

    /// The engine of the services of one partition of `spill`, folded on both cores; `like`
    /// gives its configuration and cutoff.
    private static func fold(partition p: Int, of spill: RecordSpill, like engine: MetricsEngine) throws(EventLogError) -> MetricsEngine {
        let empty = engine.makeEmpty(keepingServices: true)
        var parts = try spill.fold(partition: p, into: [empty, empty]) { $0.add($1) }
        var folded = empty
        while let part = parts.popLast() { folded.merge(part) }
        return folded
    }

    /// Adds the events of `readers` within `range` to `engine`; across several logs the first
    /// stored copy of an id wins. Returns how many later copies were dropped.
    private static func merge(
        _ readers: [LogReader], overlapping range: Range<Timestamp>?, into engine: inout MetricsEngine
    ) throws(EventLogError) -> Int {
        if readers.count == 1 {
            try add(readers[0].blocks(overlapping: range), of: readers[0], to: &engine)
            return 0
        }
        var seen = Set<String>()
        var dropped = 0
        for reader in readers {
            try reader.forEachEvent(overlapping: range) { event in
                if seen.insert(event.id).inserted { engine.add(event) } else { dropped += 1 }
            }
        }
        return dropped
    }
}
