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
    /// the day of the earliest (latest) stored event.
    public func report(directories: [String], from: Timestamp?, to: Timestamp?) throws(Failure) -> Report {
        try reportAndEngine(directories: directories, from: from, to: to).report
    }

    /// `report`, also giving the engine it replayed into (every event read, for an SLO
    /// backtest to the period's end without a second replay).
    public func reportAndEngine(
        directories: [String], from: Timestamp?, to: Timestamp?
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
            if hasFuture { totals.duplicates += try Self.merge(readers, overlapping: nil, into: &engine) }
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
            if !hasFuture { totals.duplicates += try Self.merge(readers, overlapping: range, into: &engine) }
            if readers.count > 1 { totals.stored = engine.added }
            if !engine.hasEventsOfEnvironment && margin == nil && !engine.otherEnvironments.isEmpty {
                throw Failure.unknownEnvironment(
                    configuration.environment, available: engine.otherEnvironments.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            }
            // One analysis of each service serves the report, its comparison period and its
            // series' buckets.
            let buckets = series?.buckets(of: period) ?? []
            var reports = engine.reports(
                periods: [period] + (other.map { [$0] } ?? []) + buckets,
                log: (totals.stored, totals.duplicates, totals.rejected),
                ignored: readers.count == 1 ? totals.ignored : nil, teamOf: teamOf, keepingSamples: other != nil || keepingSamples,
                longestRecoveries: longestRecoveries, listingServices: 1)
            var report = reports.removeFirst()
            if other != nil { report.comparison = PeriodComparison.compare(report, with: reports.removeFirst()) }
            if !keepingSamples { report.samples = nil }
            if let series {
                report.series = ReportSeries(
                    interval: series, buckets: reports.map { ReportSeries.Bucket(period: $0.period, totals: $0.totals, teams: $0.teams) })
            }
            report.futureEvents = hasFuture ? engine.futureEvents : 0
            report.events.conflictingDuplicates = totals.conflictingDuplicates
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
