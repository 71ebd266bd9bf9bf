import DoraEvents

/// Flagger's event webhook (every canary event, posted as `{"name", "namespace", "phase",
/// "checksum", "metadata": {"eventMessage", "eventType", "timestamp", ...}}`) to doralog's
/// events (docs/inputs.md, "Flagger"):
///
/// - a promotion (phase `Succeeded`) is a `deploy` of the canary's revision;
/// - a failed canary is an automatic `rollback`: `started` at the event that says it rolls
///   back (`Rolling back ...`), `completed` at the event of phase `Failed`;
/// - every other event (progressing, waiting, initialising, ...) is ignored.
///
/// The canary's revision is its `checksum`. `service` is the webhook's `service` metadata key,
/// else the canary's name; `environment` the `environment` key, else the default; the deploy's
/// `version` the `version` key, else the checksum. Ids: `flagger:NAMESPACE/NAME#CHECKSUM-`
/// plus `deploy`, `rollback-started` or `rollback-completed`: Flagger repeats events of a phase,
/// and each repeat is a duplicate.
public struct FlaggerMapping: Sendable {
    public init() {}

    public func map(_ body: [UInt8]) throws(InputError) -> MappedPayload {
        let value = try InputError.json(body)
        guard let name = value["name"]?.string, !name.isEmpty, let namespace = value["namespace"]?.string,
            let phase = value["phase"]?.string
        else { throw InputError("not a Flagger event: it needs name, namespace and phase") }
        guard let checksum = value["checksum"]?.string, !checksum.isEmpty else { throw InputError("the event has no checksum (Flagger 1.x sends one)") }
        let metadata = value["metadata"] ?? .object([])
        guard let stamp = metadata["timestamp"]?.string, let ms = Int64(stamp) else {
            throw InputError("metadata.timestamp (Unix milliseconds) is missing")
        }
        let time = Timestamp(microseconds: ms * 1000)
        let message = metadata["eventMessage"]?.string ?? ""
        let service = metadata["service"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? name
        guard service.utf8.count <= 256 else { throw InputError("the service is over 256 bytes") }
        let base = "flagger:\(namespace)/\(name)#\(checksum)"
        guard base.utf8.count <= 230 else { throw InputError("namespace, name and checksum are too long for an event id") }
        func line(_ suffix: String, _ type: String) -> EventLine {
            var l = EventLine(id: "\(base)-\(suffix)", type: type, time: time, service: service)
            l.add("environment", metadata["environment"]?.string.flatMap { $0.isEmpty ? nil : $0 })
            return l
        }
        if phase == "Succeeded" {
            var l = line("deploy", "deploy")
            l.add("version", metadata["version"]?.string ?? checksum)
            return MappedPayload(events: [MappedEvent(id: "\(base)-deploy", service: service, json: l.json)])
        }
        if message.hasPrefix("Rolling back") {
            var l = line("rollback-started", "rollback")
            l.add("rollback_id", base)
            l.add("status", "started")
            l.add("from_version", metadata["version"]?.string ?? checksum)
            l.add("trigger", "auto")
            return MappedPayload(events: [MappedEvent(id: "\(base)-rollback-started", service: service, json: l.json)])
        }
        if phase == "Failed" {
            var l = line("rollback-completed", "rollback")
            l.add("rollback_id", base)
            l.add("status", "completed")
            return MappedPayload(events: [MappedEvent(id: "\(base)-rollback-completed", service: service, json: l.json)])
        }
        return MappedPayload(ignored: 1)
    }
}
