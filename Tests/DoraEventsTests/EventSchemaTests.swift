import DoraEvents
import DoraGenerator
import DoraTestSupport
import Foundation
import Testing

/// `docs/event.schema.json`, as producers use it (through `scripts/validate-events.py` and the
/// `jsonschema` package), agrees with the decoder: it accepts what doralog stores and rejects
/// each bad-input class that docs/events.md lists, except the limits the doc names.
@Suite struct EventSchemaTests {
    /// The validator's verdict for each line (true: valid), in order.
    func verdicts(_ lines: [[UInt8]]) throws -> [Bool] {
        try withTemporaryDirectory { dir in
            let file = dir + "/events.jsonl"
            _ = FileManager.default.createFile(atPath: file, contents: Data(lines.joined(separator: [0x0A]) + [0x0A]))
            let result = try Repository.run("python3", [Repository.path("scripts/validate-events.py"), "--verdicts", file])
            #expect(result.status == 0, "the validator ran: \(result.standardError)")
            let answers = result.standardOutput.split(separator: "\n")
            #expect(answers.count == lines.count, "one verdict per line: \(result.standardError)")
            return answers.map { $0 == "ok" }
        }
    }

    static func isBlank(_ line: [UInt8]) -> Bool { line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }

    @Test func theSchemaAcceptsExactlyWhatTheDecoderAcceptsInTheSamplesAndAGeneratedStream() throws {
        let sample = try TestFiles.read(Repository.path("sample-events/events.jsonl"))
        var lines = sample.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        var configuration = GeneratorConfiguration()
        configuration.events = 20_000
        configuration.seed = 11
        configuration.malformedRate = 0.02
        EventGenerator(configuration: configuration).generate { chunk in
            lines += chunk.split(separator: 0x0A).map(Array.init)
        }
        lines.removeAll(where: Self.isBlank)
        let schema = try verdicts(lines)
        var disagreements: [String] = []
        var rejected = 0
        for (line, valid) in zip(lines, schema) {
            let decoded = (try? EventDecoder.decode(line)) != nil
            if !decoded { rejected += 1 }
            if decoded != valid { disagreements.append("schema \(valid ? "accepts" : "rejects"): \(String(decoding: line.prefix(200), as: UTF8.self))") }
        }
        #expect(rejected > 100, "the streams hold malformed lines of every kind the generator makes")
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.prefix(3))")
    }

    /// One message of each rejection class, as the decoder classifies it.
    static let badInputs: [(EventError.Code, String)] = [
        (.tooLarge, #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1","pad":""# + String(repeating: "a", count: 1 << 20) + #""}"#),
        (.invalidJSON, #"{"id":"x","type":"deploy""#),
        (.invalidJSON, #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1","score":NaN}"#),
        (.duplicateMember, #"{"id":"x","id":"y","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1"}"#),
        (.notAnObject, #"["not","an","object"]"#),
        (.missingField, #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00Z","version":"1"}"#),
        (.missingField, #"{"id":"x","type":null,"time":"2026-07-01T10:00:00Z","service":"s","version":"1"}"#),
        (.missingField, #"{"id":"x","type":"rollback","time":"2026-07-01T10:00:00Z","service":"s","rollback_id":"r","status":"started"}"#),
        (.missingField, #"{"id":"x","type":"alert","time":"2026-07-01T10:00:00Z","service":"s","status":"firing"}"#),
        (.wrongType, #"{"id":7,"type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1"}"#),
        (.wrongType, #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1","status":"done"}"#),
        (.wrongType, #"{"id":"x","type":"rollback","time":"2026-07-01T10:00:00Z","service":"s","rollback_id":"r","status":"completed","trigger":"robot"}"#),
        (.wrongType, #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1","unplanned":"yes"}"#),
        (.missingField, #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1","commits":[{"sha":"a"}]}"#),
        (.wrongType, #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1","commits":["a"]}"#),
        (.wrongType, #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1","schema_version":"2"}"#),
        (.invalidTime, #"{"id":"x","type":"deploy","time":"2026-07-01 10:00:00","service":"s","version":"1"}"#),
        (.invalidTime, #"{"id":"x","type":"deploy","time":"2026-07-01T24:00:00Z","service":"s","version":"1"}"#),
        (.invalidTime, #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00","service":"s","version":"1"}"#),
        (.invalidTime, #"{"id":"x","type":"deploy","time":"0000-07-01T10:00:00Z","service":"s","version":"1"}"#),
        (.emptyString, #"{"id":"","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1"}"#),
        (.emptyString, #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":""}"#),
        (.tooLong, #"{"id":""# + String(repeating: "i", count: 257) + #"","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1"}"#),
    ]

    @Test func eachBadInputClassIsRejectedByTheDecoderAndTheSchema() throws {
        var lines = Self.badInputs.map { Array($0.1.utf8) }
        lines.append([0x7B, 0x22, 0x69, 0xFF, 0x22, 0x3A, 0x31, 0x7D])  // {"i\xFF":1}
        let codes = Self.badInputs.map(\.0) + [.invalidUTF8]
        #expect(Set(codes) == Set(EventError.Code.allCases), "every class has a case")
        let schema = try verdicts(lines)
        for (i, (line, code)) in zip(lines, codes).enumerated() {
            #expect(throws: EventError.self) { _ = try EventDecoder.decode(line) }
            do {
                _ = try EventDecoder.decode(line)
            } catch {
                #expect(error.code == code, "case \(i): \(error)")
            }
            #expect(schema[i] == false, "case \(i) (\(code.rawValue)) passes the schema")
        }
    }

    @Test func unknownTypesUnknownFieldsNullsAndNewerVersionsAreValid() throws {
        let lines = EventJSON.specExample + [
            #"{"id":"x","type":"incident_note","time":"2026-07-01t10:00:00.25z","service":"s","note":"n"}"#,
            #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00+05:30","service":"s","version":"1","environment":null,"team":"","status":null,"commits":null,"unplanned":null,"schema_version":2,"extra":{"a":[1,2]}}"#,
            #"{"id":"x","type":"rollback","time":"2026-07-01T10:00:00Z","service":"s","rollback_id":"r","status":"failed","from_version":null,"trigger":null,"deploy_id":null}"#,
            #"{"id":"x","type":"alert","time":"2026-07-01T10:00:00Z","service":"s","alert_id":"a","status":"resolved","severity":"","deploy_id":"d"}"#,
        ]
        let schema = try verdicts(lines.map { Array($0.utf8) })
        for (line, valid) in zip(lines, schema) {
            #expect((try? EventDecoder.decode(line)) != nil, "\(line)")
            #expect(valid, "the schema rejects \(line)")
        }
    }

    /// The limits docs/events.md states for the schema: a JSON Schema counts characters, not
    /// bytes, and knows no calendar; the decoder rejects these, the schema lets them through.
    @Test func theSchemasStatedLimitsAreWhatTheDocSays() throws {
        let lines = [
            #"{"id":""# + String(repeating: "é", count: 200) + #"","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1"}"#,
            #"{"id":"x","type":"deploy","time":"2026-02-30T10:00:00Z","service":"s","version":"1"}"#,
            #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1","schema_version":2.0}"#,
            #"{"id":"x","type":"deploy","time":"2026-07-01T10:00:00Z","service":"s","version":"1","note":"\ud800"}"#,
        ]
        let schema = try verdicts(lines.map { Array($0.utf8) })
        for (line, valid) in zip(lines, schema) {
            #expect((try? EventDecoder.decode(line)) == nil, "the decoder rejects \(line.prefix(80))")
            #expect(valid, "the schema is stricter than docs/events.md says for \(line.prefix(80))")
        }
    }
}
