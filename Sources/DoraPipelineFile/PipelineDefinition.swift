public import DoraInputs
public import DoraMetrics
public import DoraSLO

/// Everything a pipeline file configures for `doralog run` (pipelines/README.md), validated.
///
/// Invariants: every field was checked against its allowed values where read; paths are as
/// written (relative ones resolve against the working directory); `kafka.brokers` is
/// `embedded` exactly when `embedded` is set.
public struct PipelineDefinition: Sendable {
    /// The Kafka source: a consumer group over topics, with any librdkafka property.
    public struct KafkaSource: Sendable {
        /// `HOST:PORT,...`, or `embedded` for a broker started by `doralog run` itself.
        public var brokers: String
        public var topics: [String]
        public var group: String
        public var properties: [(String, String)] = []
        /// How long `doralog run` waits at start-up for a broker to answer before it fails.
        /// Default 30 s.
        public var connectTimeout: Duration = .seconds(30)
        /// What the messages are: doralog's events, CDEvents (as CloudEvents), or either
        /// (CDEvents when a message looks like a CloudEvent or a CDEvent). Default doralog.
        public var format: MessageFormat = .doralog
    }

    /// The shape of the source's messages (`source.kafka.format`).
    public enum MessageFormat: String, Sendable, CaseIterable {
        case doralog, cdevents, auto
    }

    /// The embedded broker of a demo: its partitions, and a JSONL file produced to it at start.
    public struct EmbeddedBroker: Sendable {
        public var partitions: Int32 = 6
        public var feed: String?
    }

    /// Where and how the event log is written.
    public struct LogSettings: Sendable {
        public var directory: String
        public var segmentMiB = 64
        public var zstdLevel = 3
    }

    /// Where alerts go (each transition goes to every configured sink), and how far behind the
    /// wall clock the live run evaluates window expiries.
    public struct AlertSinks: Sendable {
        /// JSON lines on standard output.
        public var stdout = true
        /// A Kafka topic on the source's brokers.
        public var kafkaTopic: String?
        /// The Alertmanager v2 API base URL (`http://host:9093`).
        public var alertmanager: String?
        /// Alerts waiting for Alertmanager beyond this are dropped, logged and counted.
        public var queueLimit = 10_000
        /// How often firing alerts are re-sent to Alertmanager; each is valid five times that.
        /// Default 1 min.
        public var resendInterval: Duration = .seconds(60)
        /// While caught up with its partitions, the live run evaluates window expiries up to
        /// the wall clock minus this, so that an event arriving this long after its time is
        /// still evaluated at its own time. Default 30 s.
        public var wallClockLag: Duration = .seconds(30)
    }

    /// One HTTP input of `doralog run` (docs/inputs.md): served at `POST /v1/KIND` on the
    /// endpoint, its events produced to the source's first topic.
    public struct Input: Sendable {
        public enum Kind: String, Sendable, CaseIterable {
            /// doralog's own events, JSON lines.
            case events
            /// Alertmanager's webhook (version 4).
            case alertmanager
            /// CDEvents over the CloudEvents HTTP binding: structured, binary and batch modes.
            case cdevents
            /// PagerDuty's v3 webhooks, signed.
            case pagerduty
            /// Flagger's event webhook.
            case flagger
            /// Argo Rollouts notifications with doralog's template.
            case argoRollouts = "argo-rollouts"

            static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
        }

        public var kind: Kind
        /// The environment variable holding the bearer token requests must carry (the token is
        /// never written in the file); nil: none is asked for, which only a loopback
        /// `http.listen` allows.
        public var tokenVariable: String?
        /// The environment variable holding the secret a signed input's senders sign with
        /// (PagerDuty's `X-PagerDuty-Signature`); required for `pagerduty`.
        public var secretVariable: String?
        /// PagerDuty: which field of `data.service` names the service.
        public var pagerDutyServiceField = PagerDutyMapping.ServiceField.summary
        /// Larger bodies are refused (413). Default 4 MiB.
        public var maxBodyBytes = 4 << 20
        /// Requests mapping to more events are refused (413). Default 10,000.
        public var maxEvents = 10_000
        public var alertmanagerLabels = AlertmanagerMapping.Labels()
        /// CDEvents: map a failed `pipelinerun.finished` naming its service to a failed deploy.
        public var failedPipelinesAreFailedDeploys = false

        public init(kind: Kind) {
            self.kind = kind
        }
    }

    /// The file it was read from.
    public var file: String
    public var kafka: KafkaSource
    public var embedded: EmbeddedBroker?
    public var log: LogSettings
    public var metrics = MetricsConfiguration()
    public var assignments = ServiceAssignments()
    public var slos: [SLODefinition] = []
    /// The `metric: rollback_exercised` entries of `slos` in the file.
    public var readiness: [ReadinessObjective] = []
    public var alerts = AlertSinks()
    /// `HOST:PORT` of the HTTP endpoint (`/metrics`, `/report.json`, `/healthz`, `/readyz`); nil: none.
    public var listen: String?
    /// The HTTP inputs, each kind at most once.
    public var inputs: [Input] = []
    /// `live.retention`: how far before its clock `doralog run`'s live state keeps events
    /// (docs/run.md, "Retention"); nil: the whole history.
    public var retention: Duration?
    /// How the HTTP endpoint serves: timeouts and TLS.
    public var http = HTTPSettings()

    /// The endpoint's connection settings (`http:` in the file).
    public struct HTTPSettings: Sendable {
        /// A connection idle this long is closed. Default 60 s.
        public var idleTimeout: Duration = .seconds(60)
        /// A request body not received within this is answered 408. Default 30 s.
        public var readTimeout: Duration = .seconds(30)
        /// PEM files of the certificate chain and private key: serve HTTPS. nil: plain HTTP.
        public var tls: (certificate: String, key: String)?

        public init() {}
    }
}

extension PipelineDefinition {
    /// What SLO evaluation needs of a pipeline file (an offline backtest needs nothing else):
    /// the metric settings, the services' tiers and teams, and the SLOs.
    public struct Evaluation: Sendable {
        /// The file it was read from.
        public var file: String
        public var metrics = MetricsConfiguration()
        public var assignments = ServiceAssignments()
        public var slos: [SLODefinition] = []
        /// The `metric: rollback_exercised` entries of `slos` in the file.
        public var readiness: [ReadinessObjective] = []

        public init(file: String) {
            self.file = file
        }

        /// One warning per `select` of a tier or team that names none the pipeline knows:
        /// tiers come from the file's `services`, teams from there and from `eventTeams` (the
        /// teams the log's events name). Such an SLO selects nothing, which is rarely meant.
        public func selectionWarnings(eventTeams: Set<String>) -> [String] {
            let tiers = Set(assignments.rules.compactMap(\.tier))
            let teams = eventTeams.union(assignments.rules.compactMap(\.team))
            func listed(_ names: Set<String>) -> String { names.isEmpty ? "none" : names.sorted().joined(separator: ", ") }
            return slos.enumerated().compactMap { i, slo in
                switch slo.selection {
                case .tier(let tier) where !tiers.contains(tier):
                    return "\(file): slos[\(i)] (\(slo.name)): select.tier '\(tier)' is no tier of the file's services (tiers: \(listed(tiers))); the SLO selects nothing"
                case .team(let team) where !teams.contains(team):
                    return "\(file): slos[\(i)] (\(slo.name)): select.team '\(team)' is no team of the file's services or of the log's events (teams: \(listed(teams))); the SLO selects nothing"
                default:
                    return nil
                }
            }
        }
    }

    /// The part of the definition that SLO evaluation reads.
    public var evaluation: Evaluation {
        var e = Evaluation(file: file)
        e.metrics = metrics
        e.assignments = assignments
        e.slos = slos
        e.readiness = readiness
        return e
    }
}
