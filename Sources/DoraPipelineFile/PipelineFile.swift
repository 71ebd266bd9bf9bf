import DoraInputs
import DoraMetrics
import DoraSLO
import Foundation
import Yams

/// Reads and validates pipeline files (YAML; pipelines/README.md describes every field).
public enum PipelineFile {
    /// Reads the file at `path`, for `doralog run` (`source` and `log` are required).
    /// - Throws: `PipelineFileError` naming the file, line, column and field of the first problem.
    public static func load(_ path: String) throws(PipelineFileError) -> PipelineDefinition {
        try parse(try read(path), file: path)
    }

    /// Reads the file at `path` for an offline SLO backtest: `source` and `log` may be left out
    /// (they are still checked when present).
    public static func loadEvaluation(_ path: String) throws(PipelineFileError) -> PipelineDefinition.Evaluation {
        let root = try compose(try read(path), file: path)
        return try evaluation(root.mapping(known: topLevelFields), root: root, checkingSource: true)
    }

    /// Parses pipeline YAML; `file` names it in errors.
    public static func parse(_ yaml: String, file: String) throws(PipelineFileError) -> PipelineDefinition {
        try definition(try compose(yaml, file: file))
    }

    private static func read(_ path: String) throws(PipelineFileError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineFileError(file: path, message: "cannot read the file (does it exist?)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func compose(_ yaml: String, file: String) throws(PipelineFileError) -> YAMLField {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw PipelineFileError(file: file, message: "the file is empty; see pipelines/README.md")
            }
            root = node
        } catch let error as PipelineFileError {
            throw error
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw PipelineFileError(file: file, message: "not YAML: \(error)")
        }
        return YAMLField(node: root, path: "", file: file)
    }

    private static func syntaxError(_ error: YamlError, file: String) -> PipelineFileError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return PipelineFileError(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)")
        default:
            return PipelineFileError(file: file, message: "not valid YAML: \(error)")
        }
    }

    private static let topLevelFields = [
        "source", "log", "environment", "incident_severities", "attribution_window", "services", "slos", "alerts", "http",
        "inputs", "live",
    ]

    private static func definition(_ root: YAMLField) throws(PipelineFileError) -> PipelineDefinition {
        let top = try root.mapping(known: topLevelFields)
        guard let sourceField = top["source"] else { throw root.error("`source` is required (the Kafka source)") }
        guard let logField = top["log"] else { throw root.error("`log` is required (at least `directory`)") }
        let (kafka, embedded) = try source(sourceField)
        var d = PipelineDefinition(file: root.file, kafka: kafka, embedded: embedded, log: try log(logField))
        let evaluation = try self.evaluation(top, root: root, checkingSource: false)
        d.metrics = evaluation.metrics
        d.assignments = evaluation.assignments
        d.slos = evaluation.slos
        d.readiness = evaluation.readiness
        if let f = top["alerts"] { d.alerts = try alerts(f) }
        if let f = top["http"] {
            let http = try f.mapping(known: ["listen", "idle_timeout", "read_timeout", "tls"])
            if let t = http["idle_timeout"] { d.http.idleTimeout = .microseconds(try t.duration()) }
            if let t = http["read_timeout"] { d.http.readTimeout = .microseconds(try t.duration()) }
            if let t = http["tls"] {
                let tls = try t.mapping(known: ["certificate", "key"])
                guard let certificate = tls["certificate"], let key = tls["key"] else {
                    throw t.error("`certificate` and `key` (PEM files) are required")
                }
                d.http.tls = (try certificate.string(), try key.string())
            }
            if let listen = http["listen"] {
                let text = try listen.string()
                guard let port = text.split(separator: ":").last.flatMap({ UInt16($0) }), text.contains(":"), port > 0 else {
                    throw listen.error("expected HOST:PORT, such as 127.0.0.1:9464")
                }
                d.listen = text
            }
        }
        if let f = top["live"] {
            let live = try f.mapping(known: ["retention"])
            if let r = live["retention"] {
                let retention = try r.duration()
                let longest = d.slos.map(\.window).max() ?? 0
                let day: Int64 = 86_400_000_000
                guard retention >= day, retention >= 2 * longest else {
                    throw r.error(
                        "the retention must be at least 1d and at least twice the longest SLO window "
                            + "(\(2 * longest / 1_000_000)s here), so that no window reaches before it")
                }
                d.retention = .microseconds(retention)
            }
        }
        if let f = top["inputs"] {
            for item in try f.sequence() {
                let input = try self.input(item)
                if d.inputs.contains(where: { $0.kind == input.kind }) { throw item.error("input \(input.kind.rawValue) is given twice") }
                d.inputs.append(input)
            }
            if !d.inputs.isEmpty && d.listen == nil {
                throw f.error("inputs are served on the HTTP endpoint: set http.listen (such as 127.0.0.1:9464)")
            }
        }
        return d
    }

    /// The fields SLO evaluation reads; with `checkingSource`, `source` and `log` are validated
    /// when present (a backtest does not need them).
    private static func evaluation(
        _ top: [String: YAMLField], root: YAMLField, checkingSource: Bool
    ) throws(PipelineFileError) -> PipelineDefinition.Evaluation {
        if checkingSource {
            if let f = top["source"] { _ = try source(f) }
            if let f = top["log"] { _ = try log(f) }
        }
        var e = PipelineDefinition.Evaluation(file: root.file)
        if let f = top["environment"] { e.metrics.environment = try f.string() }
        if let f = top["incident_severities"] { e.metrics.incidentSeverities = Set(try f.strings()) }
        if let f = top["attribution_window"] { e.metrics.attributionWindow = .microseconds(try f.duration()) }
        if let f = top["services"] { e.assignments = try services(f) }
        if let f = top["slos"] {
            for item in try f.sequence() {
                let name: String
                if let objective = try readinessObjective(item) {
                    name = objective.name
                    if e.slos.contains(where: { $0.name == name }) || e.readiness.contains(where: { $0.name == name }) {
                        throw item.error("SLO name \(name) is used twice")
                    }
                    e.readiness.append(objective)
                } else {
                    let slo = try self.slo(item)
                    name = slo.name
                    if e.slos.contains(where: { $0.name == name }) || e.readiness.contains(where: { $0.name == name }) {
                        throw item.error("SLO name \(name) is used twice")
                    }
                    e.slos.append(slo)
                }
            }
        }
        return e
    }

    private static func source(_ field: YAMLField) throws(PipelineFileError) -> (PipelineDefinition.KafkaSource, PipelineDefinition.EmbeddedBroker?) {
        let source = try field.mapping(known: ["kafka", "embedded"])
        guard let kafkaField = source["kafka"] else { throw field.error("`kafka` is required") }
        let k = try kafkaField.mapping(known: ["brokers", "topics", "group", "properties", "connect_timeout", "format"])
        guard let brokers = k["brokers"], let topics = k["topics"], let group = k["group"] else {
            throw kafkaField.error("`brokers`, `topics` and `group` are required")
        }
        var kafka = PipelineDefinition.KafkaSource(brokers: try brokers.string(), topics: try topics.strings(), group: try group.string())
        if kafka.topics.isEmpty { throw topics.error("at least one topic") }
        if let t = k["connect_timeout"] { kafka.connectTimeout = .microseconds(try t.duration()) }
        if let f = k["format"] {
            guard let format = PipelineDefinition.MessageFormat(rawValue: try f.string()) else {
                throw f.error("expected one of \(PipelineDefinition.MessageFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kafka.format = format
        }
        if let p = k["properties"] {
            guard case .mapping(let mapping) = p.node else { throw p.error("expected a mapping of librdkafka properties") }
            for (key, value) in mapping {
                guard let name = key.scalar?.string, let text = value.scalar?.string else {
                    throw p.error("each property is `name: value` (librdkafka's CONFIGURATION.md)")
                }
                kafka.properties.append((name, text))
            }
        }
        var embedded: PipelineDefinition.EmbeddedBroker?
        if let e = source["embedded"] {
            guard kafka.brokers == "embedded" else { throw e.error("`embedded` needs `kafka.brokers: embedded`") }
            let fields = try e.mapping(known: ["partitions", "feed"])
            var broker = PipelineDefinition.EmbeddedBroker()
            if let f = fields["partitions"] { broker.partitions = Int32(try f.int(1...1024)) }
            if let f = fields["feed"] { broker.feed = try f.string() }
            embedded = broker
        } else if kafka.brokers == "embedded" {
            embedded = PipelineDefinition.EmbeddedBroker()
        }
        return (kafka, embedded)
    }

    private static func log(_ field: YAMLField) throws(PipelineFileError) -> PipelineDefinition.LogSettings {
        let l = try field.mapping(known: ["directory", "segment_size_mib", "zstd_level"])
        guard let directory = l["directory"] else { throw field.error("`directory` is required") }
        var settings = PipelineDefinition.LogSettings(directory: try directory.string())
        if let f = l["segment_size_mib"] { settings.segmentMiB = try f.int(1...4096) }
        if let f = l["zstd_level"] { settings.zstdLevel = try f.int(1...19) }
        return settings
    }

    private static func services(_ field: YAMLField) throws(PipelineFileError) -> ServiceAssignments {
        var rules: [ServiceAssignments.Rule] = []
        for item in try field.sequence() {
            let r = try item.mapping(known: ["match", "tier", "team"])
            guard let match = r["match"] else { throw item.error("`match` (a service name or glob such as checkout-*) is required") }
            var rule = ServiceAssignments.Rule(pattern: try match.string())
            if let f = r["tier"] { rule.tier = try f.string() }
            if let f = r["team"] { rule.team = try f.string() }
            if rule.tier == nil && rule.team == nil { throw item.error("give a `tier`, a `team` or both") }
            rules.append(rule)
        }
        return ServiceAssignments(rules)
    }

    /// An SLO entry with `metric: rollback_exercised`, as a readiness objective; nil for any
    /// other metric.
    private static func readinessObjective(_ field: YAMLField) throws(PipelineFileError) -> ReadinessObjective? {
        guard case .mapping(let mapping) = field.node,
            mapping.contains(where: { $0.key.scalar?.string == "metric" && $0.value.scalar?.string == ReadinessObjective.metricName })
        else { return nil }
        let s = try field.mapping(known: ["name", "metric", "select", "objective", "rollback_failed"])
        guard let name = s["name"], let objective = s["objective"] else { throw field.error("`name`, `metric` and `objective` are required") }
        var r = ReadinessObjective(name: try name.string(), maxAge: try objective.duration())
        if let f = s["select"] { r.selection = try selection(f) }
        if let f = s["rollback_failed"] { r.alertsOnFailure = try f.bool() }
        return r
    }

    private static func slo(_ field: YAMLField) throws(PipelineFileError) -> SLODefinition {
        let s = try field.mapping(known: [
            "name", "metric", "select", "per", "percentile", "objective", "window", "min_samples", "regression",
        ])
        guard let name = s["name"], let metric = s["metric"], let objective = s["objective"] else {
            throw field.error("`name`, `metric` and `objective` are required")
        }
        let metricName = try metric.string()
        guard let m = DurationMetric(rawValue: metricName) else {
            throw metric.error(
                "unknown metric; expected one of \((DurationMetric.allCases.map(\.rawValue) + [ReadinessObjective.metricName]).joined(separator: ", "))")
        }
        var slo = SLODefinition(name: try name.string(), metric: m, objective: try objective.duration())
        if let f = s["select"] { slo.selection = try selection(f) }
        if let f = s["per"] {
            guard let per = SLODefinition.Aggregation(rawValue: try f.string()) else { throw f.error("expected service or group") }
            slo.per = per
        }
        if let f = s["percentile"] {
            let value = try f.double(50...99.9)
            let tenths = (value * 10).rounded()
            guard abs(value * 10 - tenths) < 1e-9 else { throw f.error("at most one decimal (99.9)") }
            slo.percentileTenths = Int(tenths)
        }
        if let f = s["window"] { slo.window = try f.duration() }
        if let f = s["min_samples"] { slo.minSamples = try f.int(1...1_000_000) }
        if let f = s["regression"] {
            if f.node.scalar != nil {
                slo.regression = try f.bool() ? SLODefinition.Regression() : nil
            } else {
                let r = try f.mapping(known: ["significance", "min_increase"])
                var regression = SLODefinition.Regression()
                if let g = r["significance"] { regression.significance = try g.double(0...0.5, excludingLower: true) }
                if let g = r["min_increase"] { regression.minIncrease = try g.double(0...100) }
                slo.regression = regression
            }
        }
        return slo
    }

    private static func selection(_ field: YAMLField) throws(PipelineFileError) -> SLODefinition.Selection {
        let s = try field.mapping(known: ["service", "team", "tier"])
        guard s.count == 1, let (key, value) = s.first else { throw field.error("give exactly one of service, team or tier") }
        switch key {
        case "service":
            if value.node.scalar != nil { return .services([try value.string()]) }
            return .services(try value.strings())
        case "team": return .team(try value.string())
        default: return .tier(try value.string())
        }
    }

    private static func input(_ field: YAMLField) throws(PipelineFileError) -> PipelineDefinition.Input {
        let i = try field.mapping(known: [
            "kind", "token_env", "secret_env", "max_body_bytes", "max_events", "labels", "failed_pipelines_are_failed_deploys", "service_field",
        ])
        guard let kindField = i["kind"] else { throw field.error("`kind` is required (\(PipelineDefinition.Input.Kind.names))") }
        guard let kind = PipelineDefinition.Input.Kind(rawValue: try kindField.string()) else {
            throw kindField.error("unknown input kind; expected one of \(PipelineDefinition.Input.Kind.names)")
        }
        var input = PipelineDefinition.Input(kind: kind)
        if let f = i["token_env"] { input.tokenVariable = try f.string() }
        if let f = i["secret_env"] {
            guard kind == .pagerduty else { throw f.error("`secret_env` applies to signed inputs (pagerduty); use token_env") }
            input.secretVariable = try f.string()
        }
        if kind == .pagerduty && input.secretVariable == nil {
            throw field.error("the pagerduty input needs `secret_env`: the environment variable holding the webhook subscription's signing secret")
        }
        if let f = i["service_field"] {
            guard kind == .pagerduty else { throw f.error("`service_field` applies to the pagerduty input only") }
            guard let v = PagerDutyMapping.ServiceField(rawValue: try f.string()) else { throw f.error("expected summary or id") }
            input.pagerDutyServiceField = v
        }
        if let f = i["max_body_bytes"] { input.maxBodyBytes = try f.int(1...(64 << 20)) }
        if let f = i["max_events"] { input.maxEvents = try f.int(1...1_000_000) }
        if let f = i["failed_pipelines_are_failed_deploys"] {
            guard kind == .cdevents else { throw f.error("applies to the cdevents input only") }
            input.failedPipelinesAreFailedDeploys = try f.bool()
        }
        if let f = i["labels"] {
            guard kind == .alertmanager else { throw f.error("`labels` applies to the alertmanager input only") }
            let l = try f.mapping(known: ["service", "severity", "environment", "team"])
            if let g = l["service"] { input.alertmanagerLabels.service = g.node.scalar != nil ? [try g.string()] : try g.strings() }
            if let g = l["severity"] { input.alertmanagerLabels.severity = try g.string() }
            if let g = l["environment"] { input.alertmanagerLabels.environment = try g.string() }
            if let g = l["team"] { input.alertmanagerLabels.team = try g.string() }
            if input.alertmanagerLabels.service.isEmpty { throw f.error("labels.service needs at least one label name") }
        }
        return input
    }

    private static func alerts(_ field: YAMLField) throws(PipelineFileError) -> PipelineDefinition.AlertSinks {
        let a = try field.mapping(known: ["stdout", "kafka", "alertmanager", "wall_clock_lag"])
        var sinks = PipelineDefinition.AlertSinks()
        if let f = a["stdout"] { sinks.stdout = try f.bool() }
        if let f = a["wall_clock_lag"] { sinks.wallClockLag = .microseconds(try f.duration()) }
        if let f = a["kafka"] {
            let k = try f.mapping(known: ["topic"])
            guard let topic = k["topic"] else { throw f.error("`topic` is required") }
            sinks.kafkaTopic = try topic.string()
        }
        if let f = a["alertmanager"] {
            let m = try f.mapping(known: ["url", "queue_limit", "resend_interval"])
            guard let url = m["url"] else { throw f.error("`url` is required (such as http://127.0.0.1:9093)") }
            let text = try url.string()
            guard text.hasPrefix("http://") || text.hasPrefix("https://") else { throw url.error("expected an http:// or https:// URL") }
            sinks.alertmanager = text
            if let q = m["queue_limit"] { sinks.queueLimit = try q.int(1...1_000_000) }
            if let r = m["resend_interval"] { sinks.resendInterval = .microseconds(try r.duration()) }
        }
        return sinks
    }
}
