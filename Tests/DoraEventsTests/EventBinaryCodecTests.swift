import DoraEvents
import DoraTestSupport
import Testing

@Suite struct EventBinaryCodecTests {
    static let samples: [String] = EventJSON.specExample + [
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
}
