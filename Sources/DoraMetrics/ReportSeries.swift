import DoraEvents

/// A report's figures over time: the same metrics as the report's totals and teams, per
/// calendar bucket (ISO week or month, UTC) of its period.
///
/// Invariant: the buckets are in time order, do not overlap, and together are exactly the
/// report's period (the first and last are cut at the period's bounds, so their rates are per
/// day of the part they cover).
public struct ReportSeries: Sendable, Equatable {
    public var interval: SeriesInterval
    public var buckets: [Bucket]

    /// One bucket: its period, and the report of that period's totals and teams, computed by
    /// the same code as a report of that period.
    public struct Bucket: Sendable, Equatable {
        public var period: Period
        public var totals: Metrics
        public var teams: [TeamReport]

        public init(period: Period, totals: Metrics, teams: [TeamReport]) {
            self.period = period
            self.totals = totals
            self.teams = teams
        }
    }

    public init(interval: SeriesInterval, buckets: [Bucket]) {
        self.interval = interval
        self.buckets = buckets
    }
}

/// The calendar bucket of a series, in UTC.
public enum SeriesInterval: String, Sendable, CaseIterable {
    /// ISO weeks: Monday 00:00 to the next Monday 00:00.
    case week
    /// Calendar months: the 1st 00:00 to the next 1st 00:00.
    case month

    /// The buckets of `period`: each calendar bucket that overlaps it, cut at its bounds.
    public func buckets(of period: Period) -> [Period] {
        var out: [Period] = []
        var start = period.from
        while start < period.to {
            let end = min(next(after: start), period.to)
            out.append(Period(from: start, to: end))
            start = end
        }
        return out
    }

    /// The start of the calendar bucket after the one holding `t`.
    func next(after t: Timestamp) -> Timestamp {
        let day = Timestamp.microsecondsPerDay
        let dayIndex = Int(Timestamp.floorDiv(t.microseconds, day))
        switch self {
        case .week:
            // 1970-01-01 was a Thursday: weekday 0 is Monday.
            let weekday = ((dayIndex + 3) % 7 + 7) % 7
            return Timestamp(microseconds: Int64(dayIndex - weekday + 7) * day)
        case .month:
            let (year, month, _) = Timestamp.civilFromDays(dayIndex)
            let first = month == 12
                ? Timestamp.daysFromCivil(year: year + 1, month: 1, day: 1)
                : Timestamp.daysFromCivil(year: year, month: month + 1, day: 1)
            return Timestamp(microseconds: Int64(first) * day)
        }
    }
}
