import DoraEvents
import DoraTestSupport
import Testing

@Suite struct EventBinaryCodecTests {
    static let samples: [String] = EventJSON.specExample + [
        #"{"id":"dr","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"started","from_version":"v2","to_version":"v1","trigger":"auto","deploy_id":"d","exercise":"drill"}"#,
        #"{"id":"x","type":"deploy","time":"1969-12-31T23:59:59.999999Z","service":"s","environment":"staging","team":"","schema_version":-3,"version":"v","status":"failed","unplanned":true}"#,
        #"{"id":"y","type":"alert","time":"2026-07-01T00:00:00Z","service":"s","alert_id":"a","status":"resolved","severity":"","deploy_id":""}"#,
        #"{"id":"z","type":"rollback","time":"2026-07-01T00:00:00Z","service":"s","rollback_id":"r","status":"failed","to_version":"v0","trigger":"auto","deploy_id":"d"}"#,
        #"{"id":"n","type":"note","time":"9999-12-31T23:59:59Z","service":"s\u0000x"}"#,
    ]

    @Test(arguments: samples)
    func everyEventRoundTripsThroughItsBinaryForm(json: String) throws {
        let original = event(json)
        var bytes: [UInt8] = []
        EventBinaryCodec.encode(original, into: &bytes)
        let decoded = try bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            let e = try EventBinaryCodec.decode(from: &reader)
            #expect(reader.isAtEnd)
            return e
        }
        #expect(decoded == original)
    }

    @Test func truncatedOrGarbledBytesThrowInsteadOfTrapping() {
        var bytes: [UInt8] = []
        EventBinaryCodec.encode(event(EventJSON.specExample[0]), into: &bytes)
        for cut in 0..<bytes.count {
            let prefix = Array(bytes[..<cut])
            prefix.withUnsafeBytes { raw in
                var reader = BinaryReader(raw)
                #expect(throws: BinaryDecodingError.self) { _ = try EventBinaryCodec.decode(from: &reader) }
            }
        }
        for kind: UInt8 in [4, 200] {
            var garbled = bytes
            garbled[0] = kind
            garbled.withUnsafeBytes { raw in
                var reader = BinaryReader(raw)
                #expect(throws: BinaryDecodingError.self) { _ = try EventBinaryCodec.decode(from: &reader) }
            }
        }
    }

    @Test func aRecordReadInPlaceGivesEachFieldAsItsBytes() throws {
        let original = event(Self.samples[Self.samples.count - 4])  // staging, empty team, failed deploy
        var bytes: [UInt8] = []
        EventBinaryCodec.encode(original, into: &bytes)
        try bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            let record = try EventRecord.read(from: &reader)
            #expect(reader.isAtEnd)
            #expect(EventRecord.string(record.id) == "x" && EventRecord.string(record.service) == "s")
            #expect(record.isEnvironment("staging") && !record.isEnvironment("production") && !record.isEnvironment("stagin"))
            #expect(record.team.map { $0.isEmpty } == true)
            #expect(record.time == original.time.microseconds && record.schemaVersion == -3)
            guard case .deploy(let d) = record.details else {
                Issue.record("not a deploy")
                return
            }
            #expect(d.status == .failed && d.unplanned && EventRecord.equal(d.version, "v") && d.commitCount == 0)
        }
        var withCommits: [UInt8] = []
        let spec = event(EventJSON.specExample[0])
        EventBinaryCodec.encode(spec, into: &withCommits)
        try withCommits.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            let record = try EventRecord.read(from: &reader)
            #expect(record.isEnvironment(spec.environment))
            guard case .deploy(let d) = record.details, case .deploy(let expected) = spec.details else {
                Issue.record("not a deploy")
                return
            }
            var commits: [Event.Commit] = []
            d.forEachCommit { sha, time in commits.append(Event.Commit(sha: EventRecord.string(sha), time: Timestamp(microseconds: time))) }
            #expect(commits == expected.commits && !commits.isEmpty)
        }
    }
}
