@testable import DoraEvents
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

    /// Reads a varint at `start` of `bytes` with `read`: its value and end, or its error.
    private static func varint(
        _ bytes: [UInt8], at start: Int, _ read: (inout BinaryReader) throws(BinaryDecodingError) -> UInt64
    ) -> String {
        bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw, offset: start)
            do throws(BinaryDecodingError) {
                let value = try read(&reader)
                return "\(value) ends at \(reader.offset)"
            } catch {
                return error.description
            }
        }
    }

    @Test func theUncheckedVarintPathReadsWhatTheCheckedOneReadsAndFailsAsItFails() {
        // Every length of varint, values at the edges of each length, at every distance from
        // the end (the unchecked path needs ten bytes), and runs of continuation bytes that are
        // too long or cut short.
        var values: [UInt64] = [0, 1, 127, 128, 300, .max, .max - 1, 1 << 63]
        for bits in stride(from: 7, through: 63, by: 7) { values += [1 << UInt64(bits) - 1, 1 << UInt64(bits)] }
        var generator = SystemRandomNumberGenerator()
        values += (0..<200).map { _ in UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0...63, using: &generator) }
        var inputs: [[UInt8]] = values.map { value in
            var out: [UInt8] = []
            EventBinaryCodec.writeUnsigned(value, into: &out)
            return out
        }
        inputs += (9...12).map { [UInt8](repeating: 0xFF, count: $0) }
        inputs += (9...12).map { [UInt8](repeating: 0x80, count: $0) + [0x01] }
        for input in inputs {
            for padding in 0...11 {
                for start in [0, 3] {
                    let bytes = [UInt8](repeating: 0x55, count: start) + input + [UInt8](repeating: 0x80, count: padding)
                    let fast = Self.varint(bytes, at: start) { (r: inout BinaryReader) throws(BinaryDecodingError) in try r.multiByteUnsigned() }
                    let checked = Self.varint(bytes, at: start) { (r: inout BinaryReader) throws(BinaryDecodingError) in try r.checkedUnsigned() }
                    #expect(fast == checked, "\(bytes) from \(start)")
                }
            }
        }
    }

    @Test func bytesEqualAStringExactlyWhenTheyAreItsUTF8AtEveryLength() {
        // Both sides of the short-name loop and memcmp, a difference at every position, and
        // text that Swift's == equates but whose bytes differ.
        for length in 0...40 {
            let text = String((0..<length).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
            let utf8 = Array(text.utf8)
            utf8.withUnsafeBytes { #expect(EventRecord.equal($0, text)) }
            for i in 0..<length {
                var other = utf8
                other[i] ^= 0x20
                other.withUnsafeBytes { #expect(!EventRecord.equal($0, text), "\(length) at \(i)") }
            }
            (utf8 + [0x61]).withUnsafeBytes { #expect(!EventRecord.equal($0, text)) }
            if length > 0 { utf8.dropLast().withUnsafeBytes { #expect(!EventRecord.equal(UnsafeRawBufferPointer($0), text)) } }
        }
        Array("caf\u{e9}".utf8).withUnsafeBytes {
            #expect(EventRecord.equal($0, "caf\u{e9}") && !EventRecord.equal($0, "cafe\u{301}"))
        }
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
