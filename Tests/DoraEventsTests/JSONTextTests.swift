@testable import DoraEvents
import Foundation
import Testing

@Suite struct JSONTextTests {
    /// `quoted` skips the scalar-by-scalar path when nothing needs escaping; on strings with
    /// and without escapes it gives exactly what that path gives, and valid JSON.
    @Test func quotingWithoutEscapesGivesWhatTheGeneralPathGives() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "Z", "0", " ", "é", "日本", "🙂", "\"", "\\", "\n", "\t", "\u{0}", "\u{1f}", "\u{7f}", "/", "\u{2028}"]
        var strings = ["", "checkout", "r-12", "tier=tier-1"]
        for _ in 0..<2_000 {
            strings.append((0..<Int.random(in: 0...12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined())
        }
        for s in strings {
            let quoted = JSONText.quoted(s)
            #expect(quoted == JSONText.escaped(s), "\(s.debugDescription)")
            let decoded = try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: .fragmentsAllowed) as? String
            #expect(decoded == s)
        }
    }
}
