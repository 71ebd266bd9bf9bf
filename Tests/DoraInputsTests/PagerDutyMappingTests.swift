import DoraEvents
import DoraInputs
import Testing

/// PagerDuty v3 webhooks: real-shaped incident events, and their signatures.
@Suite struct PagerDutyMappingTests {
    static func webhook(_ type: String, id: String = "01DEN3E6QYZ0QY5AQ4N6SR2DN5", at: String = "2026-07-01T10:04:00.169Z", urgency: String = "high") -> [UInt8] {
        Array(#"""
            {"event":{"id":"\#(id)","event_type":"\#(type)","resource_type":"incident","occurred_at":"\#(at)",
             "agent":{"html_url":"https://acme.pagerduty.com/users/PLH1HKV","id":"PLH1HKV","self":"https://api.pagerduty.com/users/PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},
             "client":null,
             "data":{"id":"PGR0VU2","type":"incident","self":"https://api.pagerduty.com/incidents/PGR0VU2","html_url":"https://acme.pagerduty.com/incidents/PGR0VU2",
              "number":2,"status":"triggered","incident_key":"d3640fbd41094207a1c11e58e46b1662","created_at":"2026-07-01T10:04:00Z","title":"5xx on checkout",
              "service":{"html_url":"https://acme.pagerduty.com/services/PF9KMXH","id":"PF9KMXH","self":"https://api.pagerduty.com/services/PF9KMXH","summary":"checkout","type":"service_reference"},
              "assignees":[],"escalation_policy":{"id":"PRGZNZK","summary":"Default","type":"escalation_policy_reference"},
              "teams":[{"id":"PFCVPS0","summary":"payments","type":"team_reference"}],"priority":null,"urgency":"\#(urgency)","conference_bridge":null,"resolve_reason":null}}}
            """#.utf8)
    }

    @Test func aTriggeredIncidentFiresAndItsResolutionResolves() throws {
        let fired = try PagerDutyMapping().map(Self.webhook("incident.triggered"))
        let e = try EventDecoder.decode(try #require(fired.events.first).json)
        #expect(fired.ignored == 0 && e.id == "pd-01DEN3E6QYZ0QY5AQ4N6SR2DN5" && e.service == "checkout" && e.team == "payments")
        #expect(e.time == Timestamp.parse(rfc3339: "2026-07-01T10:04:00.169Z"))
        #expect(e.details == .alert(Event.Alert(alertID: "pd-PGR0VU2", status: .firing, severity: "critical")))
        let resolved = try PagerDutyMapping().map(Self.webhook("incident.resolved", id: "01DEN3E6R0", at: "2026-07-01T10:11:00Z", urgency: "low"))
        let r = try EventDecoder.decode(try #require(resolved.events.first).json)
        #expect(r.details == .alert(Event.Alert(alertID: "pd-PGR0VU2", status: .resolved, severity: "low")))
        var byID = PagerDutyMapping()
        byID.serviceField = .id
        #expect(try EventDecoder.decode(byID.map(Self.webhook("incident.reopened")).events[0].json).service == "PF9KMXH")
    }

    @Test func otherEventTypesAreIgnoredNotStored() throws {
        for type in ["incident.acknowledged", "incident.annotated", "incident.priority_updated", "service.updated"] {
            let mapped = try PagerDutyMapping().map(Self.webhook(type))
            #expect(mapped.events.isEmpty && mapped.ignored == 1, "\(type)")
        }
    }

    @Test(arguments: [
        (#"{"messages":[]}"#, "no \"event\" object"),
        (#"{"event":{"event_type":"incident.triggered","id":"e","occurred_at":"soon","data":{"id":"P"}}}"#, "occurred_at"),
        (#"{"event":{"event_type":"incident.triggered","id":"e","occurred_at":"2026-07-01T00:00:00Z","data":{"id":"P","service":{}}}}"#, "names no service"),
    ])
    func aWebhookThatIsNoIncidentEventIsRefused(body: String, message: String) {
        #expect {
            _ = try PagerDutyMapping().map(Array(body.utf8))
        } throws: { error in
            (error as? InputError)?.message.contains(message) == true
        }
    }

    /// Computed apart: `hmac.new(b"s3cret", b'{"a":1}', hashlib.sha256).hexdigest()` in Python.
    static let expected = "5910e62016ef5034272c926c27071992a465c2335cecf41851bda071577f4f6d"

    @Test func theSignatureIsTheBodysHMACSHA256AnyV1EntryMayCarryIt() {
        let body = Array(#"{"a":1}"#.utf8)
        let good = Self.expected
        #expect(PagerDutyMapping.signatureIsValid(header: "v1=\(good)", body: body, secret: "s3cret"))
        #expect(PagerDutyMapping.signatureIsValid(header: "v1=\(String(repeating: "0", count: 64)), v1=\(good.uppercased())", body: body, secret: "s3cret"))
        #expect(!PagerDutyMapping.signatureIsValid(header: "v1=\(good)", body: body, secret: "other"))
        #expect(!PagerDutyMapping.signatureIsValid(header: "v1=\(good)", body: Array(#"{"a":2}"#.utf8), secret: "s3cret"))
        #expect(!PagerDutyMapping.signatureIsValid(header: "v2=\(good)", body: body, secret: "s3cret"))
        #expect(!PagerDutyMapping.signatureIsValid(header: "", body: body, secret: "s3cret"))
    }
}
