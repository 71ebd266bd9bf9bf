public import DoraEvents

/// The settings metric computation depends on (docs/metrics.md), with its defaults.
public struct MetricsConfiguration: Sendable, Equatable {
    /// Metrics are computed for one environment at a time. Default `production`.
    public var environment: String = Event.defaultEnvironment
    /// Alert severities that count as incidents. Default `["critical"]`.
    public var incidentSeverities: Set<String> = ["critical"]
    /// How long after a deploy an incident is attributed to it. Default 24 h.
    public var attributionWindow: Duration = .seconds(86_400)

    public init(
        environment: String = Event.defaultEnvironment, incidentSeverities: Set<String> = ["critical"],
        attributionWindow: Duration = .seconds(86_400)
    ) {
        self.environment = environment
        self.incidentSeverities = incidentSeverities
        self.attributionWindow = attributionWindow
    }

    /// The attribution window in whole microseconds.
    public var attributionWindowMicroseconds: Int64 { attributionWindow.wholeMicroseconds }
}

/// The half-open period `[from, to)` of a report, in UTC.
///
/// Invariant: `from < to`.
public struct Period: Sendable, Equatable {
    public var from: Timestamp
    public var to: Timestamp

    public init(from: Timestamp, to: Timestamp) {
        precondition(from < to, "a period's from (\(from)) must be before its to (\(to))")
        self.from = from
        self.to = to
    }

    public func contains(_ t: Int64) -> Bool {
        t >= from.microseconds && t < to.microseconds
    }

    public var microseconds: Int64 { to.microseconds - from.microseconds }

    /// Period days = (to - from) / 86400 s, possibly fractional.
    public var days: Double { Double(microseconds) / Double(Timestamp.microsecondsPerDay) }

    /// The default period of docs/metrics.md §4: from the start of the day of the earliest
    /// stored event to the start of the day after the latest.
    public static func covering(earliest: Timestamp, latest: Timestamp) -> Period {
        Period(from: earliest.startOfDay, to: latest.startOfDay.advanced(byMicroseconds: Timestamp.microsecondsPerDay))
    }
}

extension Duration {
    /// This duration in whole microseconds (truncated), as event times count.
    public var wholeMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
