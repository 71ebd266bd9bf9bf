import DoraEvents

/// JSON lines of events for tests, with the defaults of docs/events.md's examples.
///
/// Each builder returns the event's JSON text; fields left nil are omitted.
public enum EventJSON {
    public static func deploy(
        _ id: String, at time: String, service: String = "checkout", environment: String? = nil, team: String? = nil,
        version: String = "v1", status: String? = nil, commits: [(String, String)] = [], unplanned: Bool? = nil,
        extra: String = ""
    ) -> String {
        var fields = common(id, "deploy", time, service, environment, team)
        fields.append("\"version\":\(JSONText.quoted(version))")
        if let status { fields.append("\"status\":\(JSONText.quoted(status))") }
        if !commits.isEmpty {
            let list = commits.map { "{\"sha\":\(JSONText.quoted($0.0)),\"time\":\(JSONText.quoted($0.1))}" }
            fields.append("\"commits\":[" + list.joined(separator: ",") + "]")
        }
        if let unplanned { fields.append("\"unplanned\":\(unplanned)") }
        return object(fields, extra)
    }

    public static func alert(
        _ id: String, at time: String, alertID: String, status: String, service: String = "checkout",
        environment: String? = nil, team: String? = nil, severity: String? = nil, deployID: String? = nil, extra: String = ""
    ) -> String {
        var fields = common(id, "alert", time, service, environment, team)
        fields.append("\"alert_id\":\(JSONText.quoted(alertID))")
        fields.append("\"status\":\(JSONText.quoted(status))")
        if let severity { fields.append("\"severity\":\(JSONText.quoted(severity))") }
        if let deployID { fields.append("\"deploy_id\":\(JSONText.quoted(deployID))") }
        return object(fields, extra)
    }

    public static func rollback(
        _ id: String, at time: String, rollbackID: String, status: String, service: String = "checkout",
        environment: String? = nil, team: String? = nil, from: String? = nil, to: String? = nil,
        trigger: String? = nil, deployID: String? = nil, exercise: String? = nil, extra: String = ""
    ) -> String {
        var fields = common(id, "rollback", time, service, environment, team)
        fields.append("\"rollback_id\":\(JSONText.quoted(rollbackID))")
        fields.append("\"status\":\(JSONText.quoted(status))")
        if let from { fields.append("\"from_version\":\(JSONText.quoted(from))") }
        if let to { fields.append("\"to_version\":\(JSONText.quoted(to))") }
        if let trigger { fields.append("\"trigger\":\(JSONText.quoted(trigger))") }
        if let deployID { fields.append("\"deploy_id\":\(JSONText.quoted(deployID))") }
        if let exercise { fields.append("\"exercise\":\(JSONText.quoted(exercise))") }
        return object(fields, extra)
    }

    /// Three rollbacks (started, completed) of `service` on July `day` at 08:00, 09:00 and
    /// 10:00, each `minutes` long: 10 breaches a 5-minute p95, 1 does not.
    public static func rollbacks(service: String = "checkout", day: Int, minutes: Int) -> [String] {
        (0..<3).flatMap { i -> [String] in
            let id = "\(service)-\(day)-\(i)"
            let hour = (i + 8 < 10 ? "0" : "") + String(8 + i)
            let end = (minutes < 10 ? "0" : "") + String(minutes)
            return [
                rollback(id + "-s", at: MetricsTesting.at("\(hour):00:00", day: day), rollbackID: id, status: "started",
                         service: service, from: "v2", to: "v1"),
                rollback(id + "-c", at: MetricsTesting.at("\(hour):\(end):00", day: day), rollbackID: id, status: "completed",
                         service: service),
            ]
        }
    }

    /// `count` rollbacks (started, completed) of `service`, the first started at `start` and
    /// each an hour after the previous, each `minutes` long, ids prefixed `name`: for live
    /// runs, whose windows follow the wall clock and must not have aged out yet.
    public static func rollbacks(
        service: String = "checkout", startingAt start: Timestamp, minutes: Int, count: Int = 3, name: String = "r"
    ) -> [String] {
        (0..<count).flatMap { i -> [String] in
            let id = "\(name)-\(i)"
            let began = start.advanced(byMicroseconds: Int64(i) * 3_600_000_000)
            let ended = began.advanced(byMicroseconds: Int64(minutes) * 60_000_000)
            return [
                rollback(id + "-s", at: began.rfc3339, rollbackID: id, status: "started", service: service, from: "v2", to: "v1"),
                rollback(id + "-c", at: ended.rfc3339, rollbackID: id, status: "completed", service: service),
            ]
        }
    }

    /// The five events of docs/events.md's example, in order.
    public static let specExample: [String] = [
        #"{"id":"d-1001","type":"deploy","time":"2026-07-01T10:00:00Z","service":"checkout","team":"payments","version":"v42","commits":[{"sha":"a1","time":"2026-06-30T15:00:00Z"}]}"#,
        #"{"id":"a-77-f","type":"alert","time":"2026-07-01T10:04:00Z","service":"checkout","alert_id":"a-77","status":"firing","severity":"critical"}"#,
        #"{"id":"r-9-s","type":"rollback","time":"2026-07-01T10:06:00Z","service":"checkout","rollback_id":"r-9","status":"started","from_version":"v42","to_version":"v41","trigger":"auto"}"#,
        #"{"id":"r-9-c","type":"rollback","time":"2026-07-01T10:08:30Z","service":"checkout","rollback_id":"r-9","status":"completed"}"#,
        #"{"id":"a-77-r","type":"alert","time":"2026-07-01T10:11:00Z","service":"checkout","alert_id":"a-77","status":"resolved"}"#,
    ]

    private static func common(_ id: String, _ type: String, _ time: String, _ service: String, _ environment: String?, _ team: String?) -> [String] {
        var fields = [
            "\"id\":\(JSONText.quoted(id))", "\"type\":\(JSONText.quoted(type))", "\"time\":\(JSONText.quoted(time))",
            "\"service\":\(JSONText.quoted(service))",
        ]
        if let environment { fields.append("\"environment\":\(JSONText.quoted(environment))") }
        if let team { fields.append("\"team\":\(JSONText.quoted(team))") }
        return fields
    }

    private static func object(_ fields: [String], _ extra: String) -> String {
        "{" + fields.joined(separator: ",") + (extra.isEmpty ? "" : "," + extra) + "}"
    }
}

/// Decodes a test's JSON line, trapping on failure (for inputs the test knows are valid).
public func event(_ json: String) -> Event {
    do {
        return try EventDecoder.decode(json)
    } catch {
        fatalError("test event does not decode: \(error): \(json)")
    }
}
