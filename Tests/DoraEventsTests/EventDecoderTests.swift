import DoraEvents
import DoraTestSupport
import Testing

@Suite struct EventDecoderTests {
    static let base = #"{"id":"e1","type":"deploy","time":"2026-07-01T10:00:00Z","service":"checkout","version":"v1"}"#

    func rejection(_ json: String) -> EventError? {
        do {
            _ = try EventDecoder.decode(json)
            return nil
        } catch {
            return error
        }
    }

    func rejection(bytes: [UInt8]) -> EventError? {
        do {
            _ = try EventDecoder.decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func theSpecExamplesDecodeWithTheirFields() throws {
        let events = EventJSON.specExample.map(event)
        #expect(events.map(\.id) == ["d-1001", "a-77-f", "r-9-s", "r-9-c", "a-77-r"])
        guard case .deploy(let d) = events[0].details else { Issue.record("not a deploy"); return }
        #expect(d.version == "v42" && d.status == .succeeded && !d.unplanned)
        #expect(d.commits == [Event.Commit(sha: "a1", time: Timestamp.parse(rfc3339: "2026-06-30T15:00:00Z")!)])
        #expect(events[0].team == "payments" && events[0].environment == "production")
        guard case .rollback(let r) = events[2].details else { Issue.record("not a rollback"); return }
        #expect(r.trigger == .auto && r.fromVersion == "v42" && r.toVersion == "v41" && r.status == .started)
        guard case .alert(let a) = events[1].details else { Issue.record("not an alert"); return }
        #expect(a.severity == "critical" && a.status == .firing && a.deployID == nil)
    }

    @Test func defaultsFillOmittedOptionalFields() throws {
        let e = event(EventJSON.alert("a", at: "2026-07-01T00:00:00Z", alertID: "x", status: "firing"))
        guard case .alert(let a) = e.details else { Issue.record("not an alert"); return }
        #expect(a.severity == "critical")
        #expect(e.environment == "production" && e.team == nil && e.schemaVersion == 1)
        let r = event(EventJSON.rollback("r", at: "2026-07-01T00:00:00Z", rollbackID: "x", status: "completed"))
        guard case .rollback(let rb) = r.details else { Issue.record("not a rollback"); return }
        #expect(rb.trigger == .manual && rb.fromVersion == nil)
    }

    @Test func nullOptionalFieldsAreAbsentAndEmptyOptionalStringsAreKept() {
        let e = event(#"{"id":"e","type":"alert","time":"2026-07-01T00:00:00Z","service":"s","alert_id":"a","status":"firing","severity":null,"team":"","environment":null,"deploy_id":null}"#)
        #expect(e.team == "" && e.environment == "production")
        guard case .alert(let a) = e.details else { Issue.record("not an alert"); return }
        #expect(a.severity == "critical" && a.deployID == nil)
    }

    @Test func unknownFieldsAndHigherSchemaVersionsAreTolerated() {
        let e = event(#"{"x":{"nested":[1,2,{"a":null}]},"id":"e","schema_version":7,"type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","y":-0.5e+3}"#)
        #expect(e.schemaVersion == 7 && e.id == "e")
    }

    @Test func anUnknownTypeIsStoredNotRejected() {
        let e = event(#"{"id":"n1","type":"incident_note","time":"2026-07-01T00:00:00Z","service":"s"}"#)
        #expect(e.details == .unknown(type: "incident_note"))
    }

    @Test func escapesAreDecodedInEveryString() {
        let e = event(#"{"id":"a\u00e9\"\\\/\n\ud83d\ude00","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s\u0000","version":"v"}"#)
        #expect(e.id == "aé\"\\/\n😀")
        #expect(e.service == "s\u{0}")
    }

    @Test func escapedMemberNamesAreRecognised() {
        let e = event(#"{"\u0069d":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#)
        #expect(e.id == "e")
        #expect(rejection(#"{"id":"e","\u0069d":"f","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#)?.code == .duplicateMember)
    }

    // MARK: - Every class of bad input, with its reason

    @Test(arguments: [
        ("not json at all", EventError.Code.invalidJSON),
        (#"{"id":"e","type":"deploy",}"#, .invalidJSON),
        (#"{"id":"e" "type":"deploy"}"#, .invalidJSON),
        (#"{"id":NaN}"#, .invalidJSON),
        (#"{"id":Infinity}"#, .invalidJSON),
        (#"{"id":-Infinity}"#, .invalidJSON),
        (#"{"id":01}"#, .invalidJSON),
        (#"{"id":1.}"#, .invalidJSON),
        (#"{"id":.5}"#, .invalidJSON),
        (#"{"id":1e}"#, .invalidJSON),
        (#"{"id":'e'}"#, .invalidJSON),
        (#"{"id":"e\x"}"#, .invalidJSON),
        (#"{"id":"\ud800"}"#, .invalidJSON),
        (#"{"id":"\udc00\ud800"}"#, .invalidJSON),
        (#"{"id":"\ud800\u0041"}"#, .invalidJSON),
        (#"{"id":"\u12"}"#, .invalidJSON),
        (#"{"id":tru}"#, .invalidJSON),
        (#"{"id":"e"} {}"#, .invalidJSON),
        (#"{"id":"e""#, .invalidJSON),
        ("{\"id\":\"a\tb\"}", .invalidJSON),
        ("", .invalidJSON),
        ("[1,2]", .notAnObject),
        ("\"just a string\"", .notAnObject),
        ("42", .notAnObject),
        ("null", .notAnObject),
        (#"{"id":"a","id":"b"}"#, .duplicateMember),
        (#"{"x":{"k":1,"k":2},"id":"e"}"#, .duplicateMember),
        (#"{"x":1,"x":2}"#, .duplicateMember),
        (#"{"type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#, .missingField),
        (#"{"id":null,"type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#, .missingField),
        (#"{"id":"e","time":"2026-07-01T00:00:00Z","service":"s"}"#, .missingField),
        (#"{"id":"e","type":"deploy","service":"s","version":"v"}"#, .missingField),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","version":"v"}"#, .missingField),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s"}"#, .missingField),
        (#"{"id":"e","type":"alert","time":"2026-07-01T00:00:00Z","service":"s","status":"firing"}"#, .missingField),
        (#"{"id":"e","type":"alert","time":"2026-07-01T00:00:00Z","service":"s","alert_id":"a"}"#, .missingField),
        (#"{"id":"e","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"started"}"#, .missingField),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":[{"time":"2026-07-01T00:00:00Z"}]}"#, .missingField),
        (#"{"id":7,"type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#, .wrongType),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":["s"],"version":"v"}"#, .wrongType),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","status":"ok"}"#, .wrongType),
        (#"{"id":"e","type":"alert","time":"2026-07-01T00:00:00Z","service":"s","alert_id":"a","status":"Firing"}"#, .wrongType),
        (#"{"id":"e","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"completed","trigger":"robot"}"#, .wrongType),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","schema_version":1.0}"#, .wrongType),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","schema_version":1e0}"#, .wrongType),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","unplanned":"yes"}"#, .wrongType),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":{"sha":"a"}}"#, .wrongType),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":["a1"]}"#, .wrongType),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","team":5}"#, .wrongType),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00","service":"s","version":"v"}"#, .invalidTime),
        (#"{"id":"e","type":"deploy","time":"yesterday","service":"s","version":"v"}"#, .invalidTime),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":[{"sha":"a","time":"soon"}]}"#, .invalidTime),
        (#"{"id":"","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#, .emptyString),
        (#"{"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"","version":"v"}"#, .emptyString),
        (#"{"id":"e","type":"","time":"2026-07-01T00:00:00Z","service":"s"}"#, .emptyString),
    ])
    func badInputIsRejectedWithItsReason(json: String, code: EventError.Code) {
        let error = rejection(json)
        #expect(error?.code == code, "\(json) -> \(String(describing: error))")
        #expect(error?.message.isEmpty == false)
    }

    @Test func anIDOverTwoHundredFiftySixBytesIsRejected() {
        let long = String(repeating: "é", count: 129)  // 258 bytes
        #expect(rejection(EventJSON.deploy(long, at: "2026-07-01T00:00:00Z"))?.code == .tooLong)
        let fits = String(repeating: "x", count: 256)
        #expect(rejection(EventJSON.deploy(fits, at: "2026-07-01T00:00:00Z")) == nil)
    }

    @Test(arguments: [
        [0xFF] as [UInt8], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
        [0xEF, 0xBB, 0xBF],
    ])
    func invalidUTF8InsideAStringIsRejected(bad: [UInt8]) {
        let prefix = Array(#"{"id":"e"#.utf8)
        let suffix = Array(#"","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#.utf8)
        let code = rejection(bytes: prefix + bad + suffix)?.code
        if bad == [0xEF, 0xBB, 0xBF] {
            #expect(code == nil, "a BOM inside a string is a valid character")
        } else {
            #expect(code == .invalidUTF8)
        }
    }

    @Test func aByteOrderMarkOutsideAStringMakesTheMessageInvalid() {
        #expect(rejection(bytes: [0xEF, 0xBB, 0xBF] + Array(Self.base.utf8))?.code == .invalidJSON)
    }

    @Test func aMessageOverOneMebibyteIsRejectedAsTooLarge() {
        let padding = String(repeating: "x", count: 1 << 20)
        #expect(rejection(#"{"pad":"\#(padding)","id":"e"}"#)?.code == .tooLarge)
    }

    @Test func deepNestingIsRejectedWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(rejection(#"{"x":\#(deep)}"#)?.code == .invalidJSON)
        let ok = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(rejection(#"{"x":\#(ok),"id":"e","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#) == nil)
    }

    @Test func fromVersionIsOptionalOnAnythingButAStartedRollback() {
        #expect(rejection(EventJSON.rollback("r", at: "2026-07-01T00:00:00Z", rollbackID: "x", status: "failed")) == nil)
        #expect(rejection(EventJSON.rollback("r", at: "2026-07-01T00:00:00Z", rollbackID: "x", status: "started", from: "v2")) == nil)
    }

    @Test func aRollbackMarkedAsADrillIsOneAndOnlyDrillOrNullMayMarkIt() throws {
        let at = "2026-07-01T00:00:00Z"
        let drill = try EventDecoder.decode(EventJSON.rollback("r", at: at, rollbackID: "x", status: "completed", exercise: "drill"))
        guard case .rollback(let r) = drill.details else { Issue.record("not a rollback"); return }
        #expect(r.isDrill)
        let real = try EventDecoder.decode(EventJSON.rollback("r", at: at, rollbackID: "x", status: "completed", extra: #""exercise":null"#))
        guard case .rollback(let plain) = real.details else { Issue.record("not a rollback"); return }
        #expect(!plain.isDrill)
        let wrong = rejection(EventJSON.rollback("r", at: at, rollbackID: "x", status: "completed", exercise: "game-day"))
        #expect(wrong?.code == .wrongType && wrong?.field == "exercise")
        // Other types do not read it.
        #expect(rejection(EventJSON.deploy("d", at: at, extra: #""exercise":"drill""#)) == nil)
    }

    @Test func validationComesBeforeAnyFieldMeaningSoSyntaxErrorsWin() {
        // A repeated name deep inside an unknown field is reported even though "service" is missing.
        #expect(rejection(#"{"id":"e","type":"deploy","x":{"a":1,"a":2}}"#)?.code == .duplicateMember)
    }
}
