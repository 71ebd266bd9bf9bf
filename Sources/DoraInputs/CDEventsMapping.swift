import DoraEvents

/// CDEvents (v0.4.x and v0.5.x), carried as CloudEvents, to doralog's events (docs/inputs.md,
/// "CDEvents"). A CDEvent is a JSON object with `context` (its id, source, type, timestamp)
/// and `subject`; it arrives as a CloudEvent's `data` (structured mode: the JSON envelope has
/// `specversion`), as the whole body or message value (binary mode: the CloudEvent attributes
/// are headers), or in a batch (a JSON array of structured CloudEvents).
///
/// | CDEvent | doralog |
/// |---|---|
/// | `service.deployed`, `service.upgraded` | `deploy`: service = subject id, environment = `environment.id`, version = `artifactId`, commits from `customData.commits` |
/// | `service.rolledback` | `rollback` `completed` at the timestamp (`to_version` = `artifactId`); with `customData.startedAt`, also `started` then (`from_version` = `customData.fromVersion`, else `unknown`) |
/// | `incident.detected`, `incident.reported` | `alert` `firing`: alert id = subject id, service = `service.id` |
/// | `incident.resolved` | `alert` `resolved` |
/// | `pipelinerun.finished` with outcome `failure`, when asked | `deploy` `failed` of `customData.service` |
/// | any other type | stored as an event of unknown type `cdevents.TYPE` (kept, counted, ignored by metrics) |
///
/// Ids: `cde:` + the CDEvent's `source` + `#` + its `id` (the CloudEvents identity), plus
/// `-started` / `-completed` for the two events of a rollback; a redelivery is a duplicate.
public struct CDEventsMapping: Sendable {
    /// Map a failed `pipelinerun.finished` that names its service (`customData.service`) to a
    /// failed deploy. Default off: a pipeline run is often not a deploy.
    public var failedPipelinesAreFailedDeploys = false

    public init() {}

    /// Whether `value` looks like a CloudEvent (it has `specversion`) or a bare CDEvent (it has
    /// `context` and `subject`): what `format: auto` asks of a Kafka message.
    public static func looksLikeOne(_ value: JSONValue) -> Bool {
        value["specversion"] != nil || (value["context"] != nil && value["subject"] != nil)
    }

    /// One body or message: a structured CloudEvent, or a bare CDEvent (binary mode's data).
    /// - Throws: `InputError` when it is not JSON or not a CDEvent; the reason is one line.
    public func map(_ body: [UInt8]) throws(InputError) -> [MappedEvent] {
        let value = try InputError.json(body)
        return try map(value)
    }

    /// A batch (`application/cloudevents-batch+json`): each element maps on its own.
    /// - Throws: `InputError` when the body is not a JSON array.
    public func mapBatch(_ body: [UInt8]) throws(InputError) -> MappedPayload {
        let value = try InputError.json(body)
        guard case .array(let items) = value else { throw InputError("a CloudEvents batch is a JSON array") }
        var out = MappedPayload()
        for (index, item) in items.enumerated() {
            do {
                out.events += try map(item)
            } catch {
                out.rejections.append(ItemRejection(index: index, reason: error.message))
            }
        }
        return out
    }

    /// A parsed CloudEvent or CDEvent.
    public func map(_ value: JSONValue) throws(InputError) -> [MappedEvent] {
        var cdevent = value
        if let specversion = value["specversion"] {
            guard specversion.string == "1.0" else { throw InputError("CloudEvents specversion must be \"1.0\"") }
            if value["data_base64"] != nil { throw InputError("data_base64 is not supported: send the CDEvent as JSON data") }
            guard let data = value["data"] else { throw InputError("the CloudEvent has no data (the CDEvent)") }
            cdevent = data
        }
        guard case .object = cdevent, let context = cdevent["context"], let subject = cdevent["subject"] else {
            throw InputError("not a CDEvent: it needs \"context\" and \"subject\"")
        }
        guard let id = context["id"]?.string, !id.isEmpty, let source = context["source"]?.string, !source.isEmpty else {
            throw InputError("context.id and context.source are required")
        }
        guard let fullType = context["type"]?.string, fullType.hasPrefix("dev.cdevents.") else {
            throw InputError("context.type is not a CDEvents type (dev.cdevents.SUBJECT.PREDICATE.VERSION)")
        }
        guard let timeText = context["timestamp"]?.string, let time = Timestamp.parse(rfc3339: timeText) else {
            throw InputError("context.timestamp is not an RFC 3339 time")
        }
        let base = "cde:\(source)#\(id)"
        guard base.utf8.count <= 240 else { throw InputError("context.source and context.id together are over 240 bytes: too long for an event id") }
        // dev.cdevents.service.deployed.0.2.0 -> service.deployed
        let parts = fullType.dropFirst("dev.cdevents.".count).split(separator: ".")
        let kind = parts.count >= 2 ? "\(parts[0]).\(parts[1])" : String(fullType)
        guard let subjectID = subject["id"]?.string, !subjectID.isEmpty else { throw InputError("subject.id is required") }
        let content = subject["content"] ?? .object([])
        let custom = cdevent["customData"] ?? .null
        let environment = content["environment"]?["id"]?.string

        func line(_ id: String, _ type: String, _ service: String, at t: Timestamp) throws(InputError) -> EventLine {
            guard !service.isEmpty, service.utf8.count <= 256 else { throw InputError("the service must be 1 to 256 bytes") }
            var l = EventLine(id: id, type: type, time: t, service: service)
            l.add("environment", environment)
            return l
        }
        func event(_ l: EventLine, _ id: String, _ service: String) -> MappedEvent {
            MappedEvent(id: id, service: service, json: l.json)
        }

        switch kind {
        case "service.deployed", "service.upgraded":
            guard let artifact = content["artifactId"]?.string, !artifact.isEmpty else { throw InputError("subject.content.artifactId is required") }
            var l = try line(base, "deploy", subjectID, at: time)
            l.add("version", artifact)
            l.addRaw("commits", try Self.commits(custom["commits"]))
            return [event(l, base, subjectID)]
        case "service.rolledback":
            let artifact = content["artifactId"]?.string
            let startedText = custom["startedAt"]?.string
            var out: [MappedEvent] = []
            if let startedText {
                guard let started = Timestamp.parse(rfc3339: startedText) else { throw InputError("customData.startedAt is not an RFC 3339 time") }
                var s = try line(base + "-started", "rollback", subjectID, at: started)
                s.add("rollback_id", base)
                s.add("status", "started")
                s.add("from_version", custom["fromVersion"]?.string ?? "unknown")
                s.add("to_version", artifact)
                s.add("trigger", custom["trigger"]?.string == "auto" ? "auto" : "manual")
                s.add("deploy_id", custom["deployId"]?.string)
                out.append(event(s, base + "-started", subjectID))
            }
            var c = try line(base + "-completed", "rollback", subjectID, at: time)
            c.add("rollback_id", base)
            c.add("status", "completed")
            c.add("to_version", artifact)
            out.append(event(c, base + "-completed", subjectID))
            return out
        case "incident.detected", "incident.reported", "incident.resolved":
            guard let service = content["service"]?["id"]?.string, !service.isEmpty else {
                throw InputError("the incident names no service (subject.content.service.id)")
            }
            var l = try line(base, "alert", service, at: time)
            l.add("alert_id", "cde-incident:\(subjectID)")
            l.add("status", kind == "incident.resolved" ? "resolved" : "firing")
            l.add("severity", custom["severity"]?.string)
            return [event(l, base, service)]
        case "pipelinerun.finished" where failedPipelinesAreFailedDeploys && content["outcome"]?.string == "failure":
            guard let service = custom["service"]?.string, !service.isEmpty else {
                throw InputError("a failed pipeline run maps to a failed deploy only with customData.service")
            }
            var l = try line(base, "deploy", service, at: time)
            l.add("version", custom["version"]?.string ?? subjectID)
            l.add("status", "failed")
            return [event(l, base, service)]
        default:
            let service = content["service"]?["id"]?.string ?? subjectID
            let l = try line(base, "cdevents.\(kind)", service, at: time)
            return [event(l, base, service)]
        }
    }

    /// `customData.commits` (`[{"sha", "time"}]`) as the JSON of doralog's `commits`; nil when absent.
    private static func commits(_ value: JSONValue?) throws(InputError) -> String? {
        guard let value, value != .null else { return nil }
        guard case .array(let items) = value else { throw InputError("customData.commits must be an array of {sha, time}") }
        var out: [String] = []
        for item in items {
            guard let sha = item["sha"]?.string, !sha.isEmpty, let timeText = item["time"]?.string,
                let time = Timestamp.parse(rfc3339: timeText)
            else { throw InputError("each of customData.commits needs a sha and an RFC 3339 time") }
            out.append("{\"sha\":\(JSONText.quoted(sha)),\"time\":\(JSONText.quoted(time.rfc3339))}")
        }
        return "[" + out.joined(separator: ",") + "]"
    }
}
