import DoraEvents
import DoraGenerator
import DoraTestSupport
import Testing

/// `EventDecoder.appendRecord` (the ingest path) must give exactly what `decode` followed by
/// `EventBinaryCodec.encode` gives: the same verdict, the same error, the same bytes.
@Suite struct RecordPathTests {
    /// The record path's outcome for `bytes`, and the outcome of decoding and encoding.
    static func outcomes(_ bytes: [UInt8]) -> (record: Result<([UInt8], RecordFacts), EventError>, event: Result<([UInt8], RecordFacts), EventError>) {
        var scratch: [UInt8] = [9, 9]  // stale working space must not matter
        let record = bytes.withUnsafeBytes { raw in
            Result { () throws(EventError) in
                var out: [UInt8] = [7]  // appends after what is there
                let facts = try EventDecoder.appendRecord(of: raw, to: &out, scratch: &scratch)
                return (Array(out.dropFirst()), facts)
            }
        }
        let event = Result { () throws(EventError) in
            let e = try EventDecoder.decode(bytes)
            var out: [UInt8] = []
            EventBinaryCodec.encode(e, into: &out)
            var unknown = false
            if case .unknown = e.details { unknown = true }
            return (out, RecordFacts(fingerprint: IDFingerprint(id: e.id), time: e.time.microseconds, isUnknownType: unknown))
        }
        return (record, event)
    }

    static func expectSame(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let (record, event) = outcomes(Array(text.utf8))
        switch (record, event) {
        case (.success(let a), .success(let b)):
            #expect(a.0 == b.0, "record bytes differ for \(text)", sourceLocation: sourceLocation)
            #expect(a.1 == b.1, "facts differ for \(text)", sourceLocation: sourceLocation)
        case (.failure(let a), .failure(let b)):
            #expect(a == b, "errors differ for \(text)", sourceLocation: sourceLocation)
        default:
            Issue.record("verdicts differ for \(text): \(record) against \(event)", sourceLocation: sourceLocation)
        }
    }

    @Test func generatedStreamsGiveTheSameRecordsAndRejections() {
        var configuration = GeneratorConfiguration()
        configuration.seed = 5
        configuration.events = 20_000
        configuration.services = 9
        var accepted = 0
        for line in EventGenerator(configuration: configuration).lines() {
            Self.expectSame(line)
            if (try? EventDecoder.decode(line)) != nil { accepted += 1 }
        }
        #expect(accepted > 19_000)
    }

    /// Each line leaves the plain path somewhere (escapes, nulls, odd types, defaults), or
    /// is rejected at a different check.
    static let edgeCases: [String] = [
        #"{"id":"a\u0062","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#,
        #"{"id":"a","type":"depl\u006fy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":null,"unplanned":null,"team":null,"environment":null,"schema_version":null,"status":null}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":[{"sha":"x\ty","time":"2026-06-30T00:00:00Z"}]}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":[{"sha":"x\\y","time":"2026-06-30T00:00:00Z"}]}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":[{"sha":"","time":"2026-06-30T00:00:00Z"}]}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":[{"sha":"x"}]}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":[{"time":"2026-06-30T00:00:00Z","sha":"x","sha2":1}]}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":[3]}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":"x"}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","commits":[{"sha":"x","time":"yesterday"}]}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","unplanned":"yes"}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","status":"rolled"}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","schema_version":2.5}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","schema_version":-7,"team":"","environment":""}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"","status":"failed"}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","environment":"production"}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","environment":"producti\u006fn"}"#,
        #"{"id":"","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#,
        #"{"type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#,
        #"{"id":7,"type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"}"#,
        #"{"id":"a","type":"alert","time":"2026-07-01T00:00:00+02:00","service":"s","alert_id":"x","status":"firing"}"#,
        #"{"id":"a","type":"alert","time":"2026-07-01T00:00:00Z","service":"s","alert_id":"x","status":"firing","severity":null,"deploy_id":null}"#,
        #"{"id":"a","type":"alert","time":"2026-07-01T00:00:00Z","service":"s","alert_id":"x","status":"firing","severity":"","deploy_id":"d"}"#,
        #"{"id":"a","type":"alert","time":"2026-07-01T00:00:00Z","service":"s","alert_id":"x"}"#,
        #"{"id":"a","type":"alert","time":"2026-07-01T00:00:00Z","service":"s","alert_id":"x","status":null}"#,
        #"{"id":"a","type":"alert","time":"2026-07-01T00:00:00Z","service":"s","alert_id":"x","status":"fir\u0069ng"}"#,
        #"{"id":"a","type":"alert","time":"2026-07-01T00:00:00Z","service":"s","alert_id":"x","status":"firing","severity":5}"#,
        #"{"id":"a","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"started","from_version":"v2","to_version":"v1","trigger":"auto","deploy_id":"d"}"#,
        #"{"id":"a","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"started"}"#,
        #"{"id":"a","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"started","from_version":""}"#,
        #"{"id":"a","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"completed","from_version":"","trigger":null}"#,
        #"{"id":"a","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"failed","trigger":"robot"}"#,
        #"{"id":"a","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"started","from_version":"v2","exercise":"drill"}"#,
        #"{"id":"a","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"completed","exercise":null}"#,
        #"{"id":"a","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"completed","exercise":"dr\u0069ll"}"#,
        #"{"id":"a","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"completed","exercise":"real"}"#,
        #"{"id":"a","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"completed","exercise":true}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","exercise":"anything"}"#,
        #"{"id":"a","type":"note","time":"2026-07-01T00:00:00Z","service":"s","version":5,"status":[1]}"#,
        #"{"id":"a","type":"","time":"2026-07-01T00:00:00Z","service":"s"}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","x":1,"x":2}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v","\u0069d":"b"}"#,
        #"{"id":"a","type":"deploy","time":"2026-07-01T00:00:00Z","service":"s","version":"v"} x"#,
        #"[1]"#,
    ] + [String(repeating: "a", count: 256), String(repeating: "a", count: 257)].map {
        #"{"id":"\#($0)","type":"deploy","time":"2026-07-01T00:00:00Z","service":"\#($0)","version":"v"}"#
    }

    @Test(arguments: edgeCases)
    func messagesOffThePlainPathGiveTheSameOutcome(json: String) {
        Self.expectSame(json)
    }

    @Test func anEscapedStringIsStoredDecodedInTheRecord() throws {
        let (record, _) = Self.outcomes(Array(Self.edgeCases[0].utf8))
        let (bytes, facts) = try record.get()
        #expect(facts.fingerprint == IDFingerprint(id: "ab"))
        let id = try bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            return EventRecord.string(try EventRecord.read(from: &reader).id)
        }
        #expect(id == "ab")
    }
}
