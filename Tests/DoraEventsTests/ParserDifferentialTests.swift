import DoraEvents
import Foundation
import Testing

/// The hand-written parser against Foundation's JSONSerialization on many mutated inputs.
@Suite struct ParserDifferentialTests {
    static let seeds = [
        #"{"id":"d-1","type":"deploy","time":"2026-07-01T10:00:00Z","service":"checkout","team":"payments","version":"v42","commits":[{"sha":"a1","time":"2026-06-30T15:00:00Z"}],"unplanned":false,"x":[1,-2.5e3,true,null,{"k":"\u00e9"}]}"#,
        #"{"id":"a-1","type":"alert","time":"2026-07-01T10:04:00.5+02:00","service":"s","alert_id":"a","status":"firing","severity":"critical","deploy_id":"d-1"}"#,
        #"{"id":"r-1","type":"rollback","time":"2026-07-01T10:06:00Z","service":"s","rollback_id":"r","status":"started","from_version":"v2","schema_version":2}"#,
    ]

    /// Whether our decoder judged the bytes to be valid JSON (any semantic outcome).
    func oursIsJSON(_ bytes: [UInt8]) -> Bool? {
        do {
            _ = try EventDecoder.decode(bytes)
            return true
        } catch {
            switch error.code {
            case .invalidJSON, .invalidUTF8: return false
            case .duplicateMember, .tooLarge: return nil  // Foundation has no opinion on these
            default: return true
            }
        }
    }

    static func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        let significant = bytes.filter { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
        return zip(significant, significant.dropFirst()).contains { $0 == 0x2C && ($1 == 0x7D || $1 == 0x5D) }
    }

    func foundationIsJSON(_ bytes: [UInt8]) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
    }

    @Test func parsersAgreeOnValidityOfTwentyThousandMutations() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let alphabet = Array(#"{}[]":,\-+.0123456789eEtrufalsn ua"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xFF, 0x09, 0x0A]
        var disagreements: [String] = []
        for i in 0..<20_000 {
            var bytes = Array(Self.seeds[i % Self.seeds.count].utf8)
            for _ in 0..<(1 + next() % 3) {
                let position = next() % (bytes.count + 1)
                switch next() % 3 {
                case 0: if position < bytes.count { bytes.remove(at: position) }
                case 1: bytes.insert(alphabet[next() % alphabet.count], at: position)
                default: if position < bytes.count { bytes[position] = alphabet[next() % alphabet.count] }
                }
            }
            guard let ours = oursIsJSON(bytes) else { continue }
            let theirs = foundationIsJSON(bytes)
            // Foundation accepts trailing commas (`[1,]`, `{"a":1,}`), which RFC 8259 does not.
            if !ours && theirs && Self.hasTrailingComma(bytes) { continue }
            if ours != theirs && disagreements.count < 10 {
                disagreements.append("ours=\(ours) foundation=\(theirs): \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
    }

    /// Strings are scanned eight bytes at a time: a byte that needs a look, at any place in or
    /// across those eight, is judged as Foundation judges it, and a valid string reads back.
    @Test func everyKindOfByteInAStringIsJudgedAsFoundationJudgesItAtEveryPlace() throws {
        let kinds: [(name: String, bytes: [UInt8])] = [
            ("quote", [0x22]), ("escape", Array(#"\n"#.utf8)), ("unicode escape", Array(#"\u00e9"#.utf8)),
            ("control", [0x01]), ("last control", [0x1F]), ("space", [0x20]), ("delete", [0x7F]), ("two-byte UTF-8", [0xC3, 0xA9]), ("three-byte UTF-8", [0xE2, 0x82, 0xAC]),
            ("four-byte UTF-8", [0xF0, 0x9F, 0x98, 0x80]), ("stray continuation", [0x80]), ("invalid byte", [0xFF]),
            ("cut sequence", [0xE2, 0x82]), ("overlong", [0xC0, 0xAF]), ("surrogate", [0xED, 0xA0, 0x80]),
        ]
        var disagreements: [String] = []
        for kind in kinds {
            for place in 0..<20 {
                let service = Array(repeating: UInt8(ascii: "s"), count: place) + kind.bytes + Array(repeating: UInt8(ascii: "t"), count: 20 - place)
                let bytes = Array(#"{"id":"d-1","type":"deploy","time":"2026-07-01T10:00:00Z","service":""#.utf8) + service
                    + Array(#"","version":"v1"}"#.utf8)
                let theirs = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
                let ours = try? EventDecoder.decode(bytes)
                if (ours == nil) != (theirs == nil) || ours?.service != theirs?["service"] as? String {
                    disagreements.append("\(kind.name) at \(place): ours \(ours?.service.debugDescription ?? "rejected"), foundation's \((theirs?["service"] as? String).debugDescription)")
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
    }
}
