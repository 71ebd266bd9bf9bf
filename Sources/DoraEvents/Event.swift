/// One validated event of docs/events.md (schema v1).
///
/// Invariants: `id` and `service` are 1...256 bytes of UTF-8; required strings are non-empty;
/// `environment` is filled with its default (`production`); `time` is truncated to whole
/// microseconds. Unknown fields are not modelled here: the raw bytes kept in the log hold them.
public struct Event: Hashable, Sendable {
    /// Globally unique id and idempotency key.
    public var id: String
    /// When it happened (event time), not when it arrived.
    public var time: Timestamp
    public var service: String
    public var environment: String
    /// The owning team, when the event names one (may be empty: "names no team").
    public var team: String?
    public var schemaVersion: Int64
    /// What happened, with the fields of its type.
    public var details: Details

    public init(
        id: String, time: Timestamp, service: String, environment: String = Event.defaultEnvironment,
        team: String? = nil, schemaVersion: Int64 = 1, details: Details
    ) {
        self.id = id
        self.time = time
        self.service = service
        self.environment = environment
        self.team = team
        self.schemaVersion = schemaVersion
        self.details = details
    }

    public static let defaultEnvironment = "production"

    /// Whether its type is one this version does not know (stored, then only counted), as
    /// `EventRecord.isUnknownType` says of a record read in place.
    public var isUnknownType: Bool {
        if case .unknown = details { return true }
        return false
    }

    /// The `type` field as written on the wire.
    public var type: String {
        switch details {
        case .deploy: return "deploy"
        case .alert: return "alert"
        case .rollback: return "rollback"
        case .unknown(let type): return type
        }
    }

    /// The type-specific part of an event.
    public enum Details: Hashable, Sendable {
        case deploy(Deploy)
        case alert(Alert)
        case rollback(Rollback)
        /// A `type` this version does not understand: stored, counted, ignored by metrics.
        case unknown(type: String)
    }

    /// A version went live (or failed to).
    public struct Deploy: Hashable, Sendable {
        public enum Status: UInt8, Sendable { case succeeded = 0, failed = 1 }
        public var version: String
        public var status: Status
        public var commits: [Commit]
        /// A hotfix made to fix an incident: rework.
        public var unplanned: Bool

        public init(version: String, status: Status = .succeeded, commits: [Commit] = [], unplanned: Bool = false) {
            self.version = version
            self.status = status
            self.commits = commits
            self.unplanned = unplanned
        }
    }

    /// One change a deploy shipped, with its commit time (lead time).
    public struct Commit: Hashable, Sendable {
        public var sha: String
        public var time: Timestamp
        public init(sha: String, time: Timestamp) {
            self.sha = sha
            self.time = time
        }
    }

    /// An incident-grade alert fired or resolved.
    public struct Alert: Hashable, Sendable {
        public enum Status: UInt8, Sendable { case firing = 0, resolved = 1 }
        public var alertID: String
        public var status: Status
        public var severity: String
        public var deployID: String?

        public init(alertID: String, status: Status, severity: String = "critical", deployID: String? = nil) {
            self.alertID = alertID
            self.status = status
            self.severity = severity
            self.deployID = deployID
        }
    }

    /// A rollback started, completed or failed.
    public struct Rollback: Hashable, Sendable {
        public enum Status: UInt8, Sendable { case started = 0, completed = 1, failed = 2 }
        public enum Trigger: UInt8, Sendable { case manual = 0, auto = 1 }
        public var rollbackID: String
        public var status: Status
        /// Required on `started`.
        public var fromVersion: String?
        public var toVersion: String?
        public var trigger: Trigger
        public var deployID: String?
        /// A rehearsal (`"exercise": "drill"`), not a real rollback: it never counts in the DORA
        /// metrics, recovery episodes or rollback-time SLOs, only in rollback readiness.
        public var isDrill: Bool

        public init(
            rollbackID: String, status: Status, fromVersion: String? = nil, toVersion: String? = nil,
            trigger: Trigger = .manual, deployID: String? = nil, isDrill: Bool = false
        ) {
            self.rollbackID = rollbackID
            self.status = status
            self.fromVersion = fromVersion
            self.toVersion = toVersion
            self.trigger = trigger
            self.deployID = deployID
            self.isDrill = isDrill
        }
    }
}
