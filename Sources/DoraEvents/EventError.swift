/// Why one input message was rejected (docs/events.md, "Bad input").
///
/// Each rejection names its class (`code`, stable, for counting and scripts), the field when
/// one is at fault, and a message saying what is wrong and what a producer should send.
public struct EventError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of a rejection; the raw value is what the dead-letter store records.
    public enum Code: String, Sendable, CaseIterable {
        case tooLarge = "too_large"
        case invalidUTF8 = "invalid_utf8"
        case invalidJSON = "invalid_json"
        case duplicateMember = "duplicate_member"
        case notAnObject = "not_an_object"
        case missingField = "missing_field"
        case wrongType = "wrong_type"
        case invalidTime = "invalid_time"
        case emptyString = "empty_string"
        case tooLong = "too_long"
    }

    public var code: Code
    /// The offending field, as a path (`commits[2].time`), when one is at fault.
    public var field: String?
    public var message: String

    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String {
        "\(code.rawValue): \(message)"
    }
}
