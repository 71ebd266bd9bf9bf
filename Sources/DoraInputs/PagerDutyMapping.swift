import Crypto
import DoraEvents

/// PagerDuty's v3 webhooks to alert events (docs/inputs.md, "PagerDuty"): an incident's
/// `incident.triggered` and `incident.reopened` fire, its `incident.resolved` resolves. Other
/// event types (acknowledged, annotated, priority updated, ...) say nothing about when an
/// incident began or ended: they are counted as ignored, not stored.
///
/// | doralog field | from the webhook's `event` |
/// |---|---|
/// | `id` | `pd-` + `event.id` (PagerDuty's id of this webhook event, kept on redelivery) |
/// | `alert_id` | `pd-` + `data.id` (the incident) |
/// | `time` | `occurred_at` |
/// | `service` | `data.service.summary` (the service's name), or `data.service.id` with `service_field: id` |
/// | `team` | the first of `data.teams[].summary`, when any |
/// | `severity` | `critical` for `urgency: high`, else the urgency (`low`) |
public struct PagerDutyMapping: Sendable {
    /// Which field of `data.service` names the service.
    public enum ServiceField: String, Sendable, CaseIterable {
        case summary, id
    }

    public var serviceField = ServiceField.summary

    public init() {}

    /// What one webhook body maps to: at most one event, or nothing for an ignored event type.
    /// - Throws: `InputError` for a body that is not a v3 incident webhook.
    public func map(_ body: [UInt8]) throws(InputError) -> MappedPayload {
        let value = try InputError.json(body)
        guard let event = value["event"], case .object = event else {
            throw InputError("no \"event\" object: is this a PagerDuty v3 webhook?")
        }
        guard let type = event["event_type"]?.string else { throw InputError("event.event_type is missing") }
        let status: String
        switch type {
        case "incident.triggered", "incident.reopened": status = "firing"
        case "incident.resolved": status = "resolved"
        default: return MappedPayload(ignored: 1)
        }
        guard let eventID = event["id"]?.string, !eventID.isEmpty else { throw InputError("event.id is missing") }
        guard let timeText = event["occurred_at"]?.string, let time = Timestamp.parse(rfc3339: timeText) else {
            throw InputError("event.occurred_at is not an RFC 3339 time")
        }
        guard let data = event["data"], let incident = data["id"]?.string, !incident.isEmpty else {
            throw InputError("event.data.id (the incident) is missing")
        }
        guard let service = data["service"]?[serviceField.rawValue]?.string, !service.isEmpty, service.utf8.count <= 256 else {
            throw InputError("event.data.service.\(serviceField.rawValue) names no service")
        }
        var team: String?
        if case .array(let teams)? = data["teams"] { team = teams.first?["summary"]?.string }
        let urgency = data["urgency"]?.string
        var line = EventLine(id: "pd-\(eventID)", type: "alert", time: time, service: service)
        line.add("team", team.flatMap { $0.isEmpty ? nil : $0 })
        line.add("alert_id", "pd-\(incident)")
        line.add("status", status)
        line.add("severity", urgency == nil || urgency == "high" ? "critical" : urgency)
        return MappedPayload(events: [MappedEvent(id: "pd-\(eventID)", service: service, json: line.json)])
    }

    /// Whether `header` (`X-PagerDuty-Signature`: comma-separated `v1=HEX` entries) holds the
    /// HMAC-SHA256 of `body` under `secret`. Entries of other versions are skipped; the
    /// comparison does not stop at the first differing byte.
    public static func signatureIsValid(header: String, body: [UInt8], secret: String) -> Bool {
        let expected = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        let hex = expected.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        var valid = false
        for entry in header.split(separator: ",") {
            let trimmed = entry.trimmingBlanks
            guard trimmed.hasPrefix("v1=") else { continue }
            if ConstantTime.equals(trimmed.dropFirst(3).lowercased().utf8, hex.utf8) { valid = true }
        }
        return valid
    }
}

extension Substring {
    fileprivate var trimmingBlanks: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
