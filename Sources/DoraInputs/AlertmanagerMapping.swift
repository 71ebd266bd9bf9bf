import DoraEvents

/// Alertmanager's webhook payload (version 4) to alert events (docs/inputs.md, "Alertmanager").
///
/// Each element of `alerts[]` is one alert episode, identified by Alertmanager's `fingerprint`
/// (its label set) and `startsAt` (when this episode began):
///
/// | doralog field | from |
/// |---|---|
/// | `alert_id` | `am-` + fingerprint + `-` + startsAt (in doralog's RFC 3339 form) |
/// | `service` | the first label of `labels.service` present (default `service`, `app`, `job`) |
/// | `environment` | the `labels.environment` label (default `environment`), else the default |
/// | `team` | the `labels.team` label (default `team`), when present |
/// | `severity` | the `labels.severity` label (default `severity`), else `critical` |
/// | `status` and `time` | `firing` at `startsAt`; for a resolved alert also `resolved` at `endsAt` |
/// | `id` | `alert_id` + `-firing` or `-resolved` |
///
/// A resolved alert maps to both its firing and its resolution, so that an alert that fired and
/// resolved between two notifications is still whole; redelivered, each id is a duplicate.
public struct AlertmanagerMapping: Sendable {
    /// Which labels name the fields.
    public struct Labels: Sendable, Equatable {
        /// Tried in order; the first present names the service.
        public var service = ["service", "app", "job"]
        public var severity = "severity"
        public var environment = "environment"
        public var team = "team"

        public init() {}
    }

    public var labels: Labels

    public init(labels: Labels = Labels()) {
        self.labels = labels
    }

    /// Maps one webhook body.
    /// - Throws: `InputError` when the body is not JSON or not a version 4 webhook payload.
    public func map(_ body: [UInt8]) throws(InputError) -> MappedPayload {
        let payload = try InputError.json(body)
        guard case .object = payload else { throw InputError("the body is not a JSON object (an Alertmanager webhook payload)") }
        if let version = payload["version"], version.string != "4" {
            throw InputError("webhook payload version \(Self.shown(version)) is not supported; Alertmanager sends version \"4\"")
        }
        guard case .array(let alerts)? = payload["alerts"] else {
            throw InputError("the payload has no \"alerts\" array: is this an Alertmanager webhook?")
        }
        var out = MappedPayload()
        for (index, alert) in alerts.enumerated() {
            do {
                out.events += try events(of: alert)
            } catch {
                out.rejections.append(ItemRejection(index: index, reason: error.message))
            }
        }
        return out
    }

    private func events(of alert: JSONValue) throws(InputError) -> [MappedEvent] {
        guard case .object = alert else { throw InputError("an alert is not an object") }
        guard case .object(let labelMembers)? = alert["labels"] else { throw InputError("the alert has no labels") }
        func label(_ name: String) -> String? {
            labelMembers.first { $0.0 == name }?.1.string.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let service = labels.service.lazy.compactMap(label).first else {
            throw InputError("no label names the service (looked for \(labels.service.joined(separator: ", ")))")
        }
        guard service.utf8.count <= 256 else { throw InputError("the service label is over 256 bytes") }
        guard let fingerprint = alert["fingerprint"]?.string, !fingerprint.isEmpty else {
            throw InputError("the alert has no fingerprint (Alertmanager 0.19 and later send one)")
        }
        guard let status = alert["status"]?.string, status == "firing" || status == "resolved" else {
            throw InputError("status must be \"firing\" or \"resolved\"")
        }
        guard let startsText = alert["startsAt"]?.string, let starts = Timestamp.parse(rfc3339: startsText) else {
            throw InputError("startsAt is not an RFC 3339 time")
        }
        let alertID = "am-\(fingerprint)-\(starts.rfc3339)"
        func event(_ state: String, at time: Timestamp) -> MappedEvent {
            var line = EventLine(id: "\(alertID)-\(state)", type: "alert", time: time, service: service)
            line.add("environment", label(labels.environment))
            line.add("team", label(labels.team))
            line.add("alert_id", alertID)
            line.add("status", state)
            line.add("severity", label(labels.severity))
            return MappedEvent(id: "\(alertID)-\(state)", service: service, json: line.json)
        }
        var out = [event("firing", at: starts)]
        if status == "resolved" {
            guard let endsText = alert["endsAt"]?.string, let ends = Timestamp.parse(rfc3339: endsText), ends.microseconds > 0 else {
                throw InputError("a resolved alert's endsAt is not an RFC 3339 time")
            }
            out.append(event("resolved", at: ends))
        }
        return out
    }

    private static func shown(_ value: JSONValue) -> String {
        value.string.map { "\"\($0)\"" } ?? value.typeName
    }
}
