import DoraEvents

/// Argo Rollouts notifications to doralog's events (docs/inputs.md, "Argo Rollouts"). Argo's
/// webhook bodies are templates: docs/inputs.md ships the one this mapping reads,
/// `{"rollout", "namespace", "uid", "revision", "event", "time", ...}`, sent on the triggers
/// `on-rollout-completed`, `on-rollout-aborted` and `on-rollout-updated`.
///
/// - `completed`: a `deploy` of the revision (version = `version` when the template sends one,
///   else `revision`);
/// - `aborted`: an automatic `rollback` (an abort sends the traffic back to the stable version):
///   `completed` at `time`, and `started` at `started_at` when the template sends it. With no
///   `started_at` the rollback has no start (counted as completed, without a duration);
/// - `updated` and anything else: ignored (a new revision is not a deploy until it completes).
///
/// `service` is `service` when sent, else the rollout's name. Ids: `argo:NAMESPACE/ROLLOUT#UID-
/// REVISION-` plus `deploy`, `rollback-started` or `rollback-completed`.
public struct ArgoRolloutsMapping: Sendable {
    public init() {}

    public func map(_ body: [UInt8]) throws(InputError) -> MappedPayload {
        let value = try InputError.json(body)
        guard let rollout = value["rollout"]?.string, !rollout.isEmpty, let event = value["event"]?.string else {
            throw InputError("not the doralog notification template: it needs rollout and event (docs/inputs.md)")
        }
        guard event == "completed" || event == "aborted" else { return MappedPayload(ignored: 1) }
        let namespace = value["namespace"]?.string ?? ""
        let uid = value["uid"]?.string ?? ""
        guard let revision = value["revision"]?.string, !revision.isEmpty else { throw InputError("revision is missing") }
        guard let timeText = value["time"]?.string, let time = Timestamp.parse(rfc3339: timeText) else {
            throw InputError("time is not an RFC 3339 time")
        }
        let service = value["service"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? rollout
        guard service.utf8.count <= 256 else { throw InputError("the service is over 256 bytes") }
        let base = "argo:\(namespace)/\(rollout)#\(uid)-\(revision)"
        guard base.utf8.count <= 230 else { throw InputError("namespace, rollout, uid and revision are too long for an event id") }
        let environment = value["environment"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        let version = value["version"]?.string ?? revision
        func line(_ suffix: String, _ type: String, at t: Timestamp) -> EventLine {
            var l = EventLine(id: "\(base)-\(suffix)", type: type, time: t, service: service)
            l.add("environment", environment)
            return l
        }
        if event == "completed" {
            var l = line("deploy", "deploy", at: time)
            l.add("version", version)
            return MappedPayload(events: [MappedEvent(id: "\(base)-deploy", service: service, json: l.json)])
        }
        var out: [MappedEvent] = []
        if let startedText = value["started_at"]?.string {
            guard let started = Timestamp.parse(rfc3339: startedText) else { throw InputError("started_at is not an RFC 3339 time") }
            var s = line("rollback-started", "rollback", at: started)
            s.add("rollback_id", base)
            s.add("status", "started")
            s.add("from_version", version)
            s.add("to_version", value["stable_version"]?.string)
            s.add("trigger", "auto")
            out.append(MappedEvent(id: "\(base)-rollback-started", service: service, json: s.json))
        }
        var c = line("rollback-completed", "rollback", at: time)
        c.add("rollback_id", base)
        c.add("status", "completed")
        out.append(MappedEvent(id: "\(base)-rollback-completed", service: service, json: c.json))
        return MappedPayload(events: out)
    }
}
