import DoraEvents
import DoraInputs
import Testing

/// Alertmanager's webhook (version 4) to alert events: real-shaped payloads, as Alertmanager
/// 0.25 sends them (extra fields included).
@Suite struct AlertmanagerMappingTests {
    static func payload(_ alerts: String, version: String = "\"4\"") -> [UInt8] {
        Array("""
            {"receiver":"doralog","status":"firing","alerts":[\(alerts)],"groupLabels":{"alertname":"HighErrorRate"},
             "commonLabels":{"alertname":"HighErrorRate"},"commonAnnotations":{},"externalURL":"http://am:9093",
             "version":\(version),"groupKey":"{}:{alertname=\\"HighErrorRate\\"}","truncatedAlerts":0}
            """.utf8)
    }

    static let firing = """
        {"status":"firing","labels":{"alertname":"HighErrorRate","service":"checkout","severity":"critical","team":"payments"},
         "annotations":{"summary":"5xx above 5%"},"startsAt":"2026-07-01T10:04:00.123456789Z","endsAt":"0001-01-01T00:00:00Z",
         "generatorURL":"http://prometheus/graph","fingerprint":"c0ffee12"}
        """

    static let resolved = """
        {"status":"resolved","labels":{"alertname":"HighErrorRate","job":"cart","environment":"staging"},
         "annotations":{},"startsAt":"2026-07-01T10:04:00Z","endsAt":"2026-07-01T10:11:00+02:00",
         "generatorURL":"","fingerprint":"beef"}
        """

    @Test func aFiringAlertIsAFiringEventKeyedByFingerprintAndStart() throws {
        let mapped = try AlertmanagerMapping().map(Self.payload(Self.firing))
        #expect(mapped.rejections.isEmpty)
        try #require(mapped.events.count == 1)
        let e = try EventDecoder.decode(mapped.events[0].json)
        #expect(e.id == "am-c0ffee12-2026-07-01T10:04:00.123456Z-firing" && mapped.events[0].id == e.id)
        #expect(e.service == "checkout" && mapped.events[0].service == "checkout" && e.team == "payments" && e.environment == "production")
        #expect(e.time == Timestamp.parse(rfc3339: "2026-07-01T10:04:00.123456Z"))
        #expect(e.details == .alert(Event.Alert(alertID: "am-c0ffee12-2026-07-01T10:04:00.123456Z", status: .firing, severity: "critical")))
    }

    @Test func aResolvedAlertIsItsFiringAndItsResolutionAndFallsBackToTheJobLabel() throws {
        let mapped = try AlertmanagerMapping().map(Self.payload(Self.resolved))
        let events = try mapped.events.map { try EventDecoder.decode($0.json) }
        #expect(events.map(\.id) == ["am-beef-2026-07-01T10:04:00Z-firing", "am-beef-2026-07-01T10:04:00Z-resolved"])
        #expect(events.allSatisfy { $0.service == "cart" && $0.environment == "staging" && $0.team == nil })
        #expect(events[1].time == Timestamp.parse(rfc3339: "2026-07-01T08:11:00Z"), "endsAt, in UTC")
        guard case .alert(let a) = events[1].details else { Issue.record("not an alert"); return }
        #expect(a.status == .resolved && a.alertID == "am-beef-2026-07-01T10:04:00Z" && a.severity == "critical")
    }

    @Test func theSameAlertDeliveredAgainMapsToTheSameIDs() throws {
        let once = try AlertmanagerMapping().map(Self.payload(Self.firing + "," + Self.resolved))
        let again = try AlertmanagerMapping().map(Self.payload(Self.resolved + "," + Self.firing))
        #expect(Set(once.events.map(\.json)) == Set(again.events.map(\.json)))
    }

    @Test func whichLabelsNameTheFieldsIsConfigurable() throws {
        var labels = AlertmanagerMapping.Labels()
        labels.service = ["alertname"]
        labels.severity = "priority"
        let alert = #"{"status":"firing","labels":{"alertname":"Disk","priority":"P1"},"startsAt":"2026-07-01T10:00:00Z","fingerprint":"f"}"#
        let e = try EventDecoder.decode(try AlertmanagerMapping(labels: labels).map(Self.payload(alert)).events[0].json)
        #expect(e.service == "Disk")
        guard case .alert(let a) = e.details else { Issue.record("not an alert"); return }
        #expect(a.severity == "P1")
    }

    @Test func badAlertsAreRejectedOneByOneWithTheirIndexAndReasonAndTheGoodOnesKept() throws {
        let bad = [
            #"{"status":"firing","labels":{"alertname":"X"},"startsAt":"2026-07-01T10:00:00Z","fingerprint":"a"}"#,
            #"{"status":"firing","labels":{"service":"s"},"startsAt":"yesterday","fingerprint":"b"}"#,
            #"{"status":"firing","labels":{"service":"s"},"startsAt":"2026-07-01T10:00:00Z"}"#,
            #"{"status":"pending","labels":{"service":"s"},"startsAt":"2026-07-01T10:00:00Z","fingerprint":"c"}"#,
            #"{"status":"resolved","labels":{"service":"s"},"startsAt":"2026-07-01T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"d"}"#,
            #""just a string""#,
        ]
        let mapped = try AlertmanagerMapping().map(Self.payload(([Self.firing] + bad).joined(separator: ",")))
        #expect(mapped.events.count == 1)
        #expect(mapped.rejections.map(\.index) == [1, 2, 3, 4, 5, 6])
        #expect(mapped.rejections[0].reason == "no label names the service (looked for service, app, job)")
        #expect(mapped.rejections[1].reason.contains("startsAt"))
        #expect(mapped.rejections[2].reason.contains("fingerprint"))
        #expect(mapped.rejections[3].reason.contains("status"))
        #expect(mapped.rejections[4].reason.contains("endsAt"))
    }

    @Test(arguments: [
        ("not json", "not JSON"),
        (#"[1]"#, "not a JSON object"),
        (#"{"version":"4"}"#, "no \"alerts\" array"),
        (#"{"version":"3","alerts":[]}"#, "version \"3\" is not supported"),
    ])
    func aBodyThatIsNoWebhookIsRefusedWhole(body: String, message: String) {
        #expect {
            _ = try AlertmanagerMapping().map(Array(body.utf8))
        } throws: { error in
            (error as? InputError)?.message.contains(message) == true
        }
    }
}

@Suite struct NativeEventsTests {
    @Test func linesAreForwardedAsTheyAreWithTheServiceTheyName() {
        let body = Array("\u{FEFF}{\"id\":\"a\",\"type\":\"deploy\",\"time\":\"2026-07-01T00:00:00Z\",\"service\":\"s\",\"version\":\"v\"}\r\n \t\nnot json\n".utf8)
        let lines = NativeEvents.lines(body)
        #expect(lines.count == 2)
        #expect(lines[0].service == "s" && lines[0].bytes.first == UInt8(ascii: "{") && lines[0].bytes.last == UInt8(ascii: "}"))
        #expect(lines[1] == NativeEvents.Line(bytes: Array("not json".utf8), service: nil))
    }
}
