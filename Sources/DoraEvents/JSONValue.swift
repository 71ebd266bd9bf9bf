/// A parsed JSON value, as the event decoder needs it.
///
/// Numbers keep only what validation asks of them (is it an integer, and its value when it
/// fits in `Int64`); objects keep their members in document order, names already known to be
/// unique.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// `integer` is set when the number has neither a fraction nor an exponent and fits Int64.
    case number(integer: Int64?, isIntegerSyntax: Bool)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a, x), .number(b, y)): return a == b && x == y
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The name of this value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

extension JSONValue {
    /// Parses one JSON document strictly (UTF-8, no repeated member names, nothing after it):
    /// the parser the event decoder uses, for the payloads of other tools.
    /// - Throws: `EventError` (`.invalidJSON` or `.invalidUTF8`) with the byte offset.
    public static func parse(_ bytes: [UInt8]) throws(EventError) -> JSONValue {
        let result: Result<JSONValue, StrictJSONParser.Failure> = bytes.withUnsafeBufferPointer { buffer in
            var parser = StrictJSONParser(buffer)
            return Result { () throws(StrictJSONParser.Failure) in try parser.parseDocument() }
        }
        switch result {
        case .success(let value): return value
        case .failure(let f) where f.isUTF8: throw EventError(.invalidUTF8, "invalid UTF-8 at byte \(f.offset)")
        case .failure(let f) where f.duplicateName != nil:
            throw EventError(.duplicateMember, "an object repeats the member name \"\(f.duplicateName!)\" (byte \(f.offset))")
        case .failure(let f): throw EventError(.invalidJSON, "not valid JSON at byte \(f.offset): \(f.message)")
        }
    }

    /// The member `name` of an object; nil for another value or a missing member.
    public subscript(_ name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == name }?.1
    }

    /// The string, if this is one.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

extension JSONValue {
    /// Where the value of the top-level member `name` of the JSON object in `bytes` lies, and
    /// when that value is an array, where each of its elements lies: the exact bytes a sender
    /// sent, for a dead letter. nil when `bytes` is not an object or has no such member.
    public static func rawMember(_ name: String, in bytes: [UInt8]) -> (value: Range<Int>, elements: [Range<Int>]?)? {
        bytes.withUnsafeBufferPointer { buffer -> (value: Range<Int>, elements: [Range<Int>]?)? in
            var p = StrictJSONParser(buffer)
            do throws(StrictJSONParser.Failure) {
                guard try !p.beginObject() else { return nil }
                repeat {
                    let span = try p.parseMemberNameSpan()
                    guard p.string(of: span) == name else {
                        try p.skipValue()
                        continue
                    }
                    let start = p.position
                    var elements: [Range<Int>]?
                    if p.peekByte == 0x5B {
                        var list: [Range<Int>] = []
                        if try !p.beginArray() {
                            repeat {
                                let from = p.position
                                try p.skipValue()
                                list.append(from..<p.position)
                            } while try p.arraySeparator()
                        }
                        elements = list
                    } else {
                        try p.skipValue()
                    }
                    return (start..<p.position, elements)
                } while try p.memberSeparator()
            } catch {
                return nil
            }
            return nil
        }
    }
}
