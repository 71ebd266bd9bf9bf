#if canImport(Glibc)
import Glibc
#endif

/// A strict RFC 8259 parser over UTF-8 bytes, written for the ingest hot path.
///
/// Invariants: it accepts exactly RFC 8259 JSON texts (no NaN/Infinity, no comments, no
/// trailing commas, no leading zeros, no raw control characters in strings, valid UTF-8 only,
/// surrogate escapes paired) and additionally rejects any object that repeats a member name
/// (after unescaping). Nesting deeper than `maximumDepth` is rejected rather than risking the
/// stack. It never traps on any input.
struct StrictJSONParser: ~Copyable {
    /// Nesting beyond this depth is rejected (RFC 8259 section 9 allows a limit).
    static let maximumDepth = 256

    struct Failure: Error {
        var message: String
        var offset: Int
        var isUTF8: Bool = false
        var duplicateName: String? = nil
    }

    private let base: UnsafePointer<UInt8>
    private let end: Int
    private(set) var position: Int = 0
    private var depth = 0
    /// Scratch buffer for strings with escapes, reused across calls.
    private var scratch: [UInt8] = []

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        // An empty buffer may have no base address; with `end == 0` it is never read.
        self.base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
        self.end = buffer.count
    }

    // MARK: - Cursor

    @inline(__always) private func peek() -> UInt8? {
        position < end ? base[position] : nil
    }

    @inline(__always) mutating func skipWhitespace() {
        while position < end {
            let b = base[position]
            if b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D { position += 1 } else { return }
        }
    }

    var isAtEnd: Bool { position >= end }

    private func fail(_ message: String) -> Failure {
        Failure(message: message, offset: position)
    }

    private func describeByte() -> String {
        guard let b = peek() else { return "end of input" }
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(String(b, radix: 16, uppercase: true))"
    }

    // MARK: - Documents

    /// Parses a whole text that must be one value, with only whitespace around it.
    mutating func parseDocument() throws(Failure) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard isAtEnd else { throw fail("unexpected \(describeByte()) after the JSON value") }
        return value
    }

    /// Begins an object: consumes `{` and reports whether it was empty (then `}` is consumed).
    mutating func beginObject() throws(Failure) -> Bool {
        skipWhitespace()
        guard peek() == 0x7B else { throw fail("expected '{'") }
        position += 1
        skipWhitespace()
        if peek() == 0x7D { position += 1; return true }
        return false
    }

    // MARK: - Values

    mutating func parseValue() throws(Failure) -> JSONValue {
        guard let b = peek() else { throw fail("unexpected end of input, expected a value") }
        switch b {
        case 0x22: return .string(try parseString())
        case 0x7B: return try parseObject()
        case 0x5B: return try parseArray()
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6E: try literal("null"); return .null
        case 0x2D, 0x30...0x39: return try parseNumber()
        default: throw fail("unexpected \(describeByte()), expected a value")
        }
    }

    /// Validates a value without building it (nested objects are still checked for
    /// repeated names).
    mutating func skipValue() throws(Failure) {
        guard let b = peek() else { throw fail("unexpected end of input, expected a value") }
        switch b {
        case 0x22: _ = try scanString()
        case 0x7B, 0x5B: _ = try parseValue()
        case 0x74: try literal("true")
        case 0x66: try literal("false")
        case 0x6E: try literal("null")
        case 0x2D, 0x30...0x39: _ = try parseNumber()
        default: throw fail("unexpected \(describeByte()), expected a value")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard end - position >= count else { throw fail("invalid literal") }
        let w = word.utf8Start
        for i in 0..<count where base[position + i] != w[i] { throw fail("invalid literal") }
        position += count
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        if depth > Self.maximumDepth { throw fail("nesting deeper than \(Self.maximumDepth) levels") }
    }

    private mutating func parseArray() throws(Failure) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek() == 0x5D { position += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard let b = peek() else { throw fail("unterminated array") }
            position += 1
            if b == 0x2C { continue }
            if b == 0x5D { return .array(items) }
            position -= 1
            throw fail("expected ',' or ']' in array, found \(describeByte())")
        }
    }

    private mutating func parseObject() throws(Failure) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var members: [(String, JSONValue)] = []
        skipWhitespace()
        if peek() == 0x7D { position += 1; return .object(members) }
        var names = Set<String>()
        while true {
            let name = try parseMemberName()
            if members.count < 8 {
                if members.contains(where: { $0.0 == name }) { throw duplicate(name) }
            } else {
                if names.isEmpty { names = Set(members.map(\.0)) }
                if names.contains(name) { throw duplicate(name) }
            }
            if members.count >= 8 { names.insert(name) }
            skipWhitespace()
            let value = try parseValue()
            members.append((name, value))
            guard try memberSeparator() else { return .object(members) }
        }
    }

    private func duplicate(_ name: String) -> Failure {
        var f = fail("object repeats the member name \"\(name)\"")
        f.duplicateName = name
        return f
    }

    /// Reads `"name"` and the `:` after it.
    mutating func parseMemberName() throws(Failure) -> String {
        skipWhitespace()
        guard peek() == 0x22 else { throw fail("expected a member name in quotes, found \(describeByte())") }
        let name = try parseString()
        skipWhitespace()
        guard peek() == 0x3A else { throw fail("expected ':' after member name") }
        position += 1
        skipWhitespace()
        return name
    }

    /// Reads `"name"` and the `:` after it, returning where the name lies.
    mutating func parseMemberNameSpan() throws(Failure) -> Span {
        skipWhitespace()
        guard peek() == 0x22 else { throw fail("expected a member name in quotes, found \(describeByte())") }
        let name = try scanString()
        skipWhitespace()
        guard peek() == 0x3A else { throw fail("expected ':' after member name") }
        position += 1
        skipWhitespace()
        return name
    }

    /// The next byte, if any.
    var peekByte: UInt8? { peek() }

    /// Begins an array: consumes `[` and reports whether it was empty (then `]` is consumed).
    mutating func beginArray() throws(Failure) -> Bool {
        skipWhitespace()
        guard peek() == 0x5B else { throw fail("expected '['") }
        position += 1
        skipWhitespace()
        if peek() == 0x5D { position += 1; return true }
        return false
    }

    /// After an array element: consumes `,` (true: another element follows) or `]` (false).
    mutating func arraySeparator() throws(Failure) -> Bool {
        skipWhitespace()
        guard let b = peek() else { throw fail("unterminated array") }
        if b == 0x2C { position += 1; skipWhitespace(); return true }
        if b == 0x5D { position += 1; return false }
        throw fail("expected ',' or ']' in array, found \(describeByte())")
    }

    /// After a member value: consumes `,` (true: another member follows) or `}` (false).
    mutating func memberSeparator() throws(Failure) -> Bool {
        skipWhitespace()
        guard let b = peek() else { throw fail("unterminated object") }
        if b == 0x2C { position += 1; return true }
        if b == 0x7D { position += 1; return false }
        throw fail("expected ',' or '}' in object, found \(describeByte())")
    }

    private mutating func parseNumber() throws(Failure) -> JSONValue {
        let start = position
        var negative = false
        if peek() == 0x2D { negative = true; position += 1 }
        guard let first = peek(), first >= 0x30, first <= 0x39 else { throw fail("invalid number") }
        var magnitude: UInt64 = 0
        var overflow = false
        if first == 0x30 {
            position += 1
            if let b = peek(), b >= 0x30, b <= 0x39 { throw fail("number with a leading zero") }
        } else {
            while let b = peek(), b >= 0x30, b <= 0x39 {
                let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(UInt64(b - 0x30))
                overflow = overflow || o1 || o2
                magnitude = m2
                position += 1
            }
        }
        var isInteger = true
        if peek() == 0x2E {
            isInteger = false
            position += 1
            guard let b = peek(), b >= 0x30, b <= 0x39 else { throw fail("number needs digits after '.'") }
            while let b = peek(), b >= 0x30, b <= 0x39 { position += 1 }
        }
        if let e = peek(), e == 0x65 || e == 0x45 {
            isInteger = false
            position += 1
            if let s = peek(), s == 0x2B || s == 0x2D { position += 1 }
            guard let b = peek(), b >= 0x30, b <= 0x39 else { throw fail("number needs digits in its exponent") }
            while let b = peek(), b >= 0x30, b <= 0x39 { position += 1 }
        }
        _ = start
        guard isInteger, !overflow else { return .number(integer: nil, isIntegerSyntax: isInteger) }
        if negative {
            if magnitude <= UInt64(Int64.max) { return .number(integer: -Int64(magnitude), isIntegerSyntax: true) }
            if magnitude == UInt64(Int64.max) + 1 { return .number(integer: Int64.min, isIntegerSyntax: true) }
            return .number(integer: nil, isIntegerSyntax: true)
        }
        return .number(integer: magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil, isIntegerSyntax: true)
    }

    // MARK: - Strings

    /// A validated string literal's content: bytes `start..<end` of the input, with escapes
    /// still in place when `hasEscapes`.
    struct Span {
        var start: Int
        var end: Int
        var hasEscapes: Bool
    }

    /// Validates a string starting at its opening quote and returns where its content lies.
    mutating func scanString() throws(Failure) -> Span {
        position += 1
        let start = position
        var escaped = false
        while position < end {
            // Eight plain bytes at a time (most of a message is string content); the first byte
            // that needs a look (quote, backslash, control, non-ASCII) is handled one by one.
            while end &- position >= 8 {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
                let flagged = Self.bytesNeedingALook(word)
                if flagged != 0 {
                    position &+= flagged.trailingZeroBitCount >> 3
                    break
                }
                position &+= 8
            }
            guard position < end else { break }
            let b = base[position]
            if b == 0x22 {
                let span = Span(start: start, end: position, hasEscapes: escaped)
                position += 1
                return span
            }
            if b == 0x5C {
                escaped = true
                let saved = scratch.count
                try decodeEscape()
                scratch.removeSubrange(saved...)
            } else if b < 0x20 {
                throw fail("raw control character in string (escape it)")
            } else if b < 0x80 {
                position += 1
            } else {
                try validateUTF8Sequence()
            }
        }
        throw fail("unterminated string")
    }

    /// The high bit of each byte of `word` (eight bytes of a string, the first in the low byte)
    /// that is a quote, a backslash, a control character or not ASCII. Exact for the lowest
    /// flagged byte, which is all the caller uses: a borrow can only flag bytes above a
    /// flagged one.
    @inline(__always) static func bytesNeedingALook(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func zeroBytes(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let control = (word &- ones &* 0x20) & ~word & highs  // bytes below 0x20
        return control | zeroBytes(word ^ (ones &* 0x22)) | zeroBytes(word ^ (ones &* 0x5C)) | (word & highs)
    }

    /// The bytes of a span without escapes.
    func bytes(of span: Span) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + span.start, count: span.end - span.start)
    }

    /// Whether an escape-free span holds exactly `literal`.
    func span(_ span: Span, equals literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard !span.hasEscapes, span.end - span.start == n else { return false }
        return memcmp(base + span.start, literal.utf8Start, n) == 0
    }

    /// The string a span denotes (escapes decoded).
    mutating func string(of span: Span) -> String {
        if !span.hasEscapes {
            return String(decoding: UnsafeBufferPointer(start: base + span.start, count: span.end - span.start), as: UTF8.self)
        }
        let saved = position
        position = span.start - 1
        // The span was validated already: this cannot fail.
        let value = (try? parseString()) ?? ""
        position = saved
        return value
    }

    /// Parses a string starting at its opening quote.
    mutating func parseString() throws(Failure) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes. Validate UTF-8 while scanning.
        while position < end {
            let b = base[position]
            if b == 0x22 {
                let s = String(decoding: UnsafeBufferPointer(start: base + start, count: position - start), as: UTF8.self)
                position += 1
                return s
            }
            if b == 0x5C { break }
            if b < 0x20 { throw fail("raw control character in string (escape it)") }
            if b < 0x80 { position += 1 } else { try validateUTF8Sequence() }
        }
        guard position < end else { throw fail("unterminated string") }
        // Slow path: copy what was scanned, then decode escapes.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: base + start, count: position - start))
        while position < end {
            let b = base[position]
            if b == 0x22 {
                position += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if b == 0x5C {
                try decodeEscape()
            } else if b < 0x20 {
                throw fail("raw control character in string (escape it)")
            } else if b < 0x80 {
                scratch.append(b)
                position += 1
            } else {
                let s = position
                try validateUTF8Sequence()
                scratch.append(contentsOf: UnsafeBufferPointer(start: base + s, count: position - s))
            }
        }
        throw fail("unterminated string")
    }

    private mutating func decodeEscape() throws(Failure) {
        position += 1  // backslash
        guard let e = peek() else { throw fail("unterminated escape") }
        position += 1
        switch e {
        case 0x22: scratch.append(0x22)
        case 0x5C: scratch.append(0x5C)
        case 0x2F: scratch.append(0x2F)
        case 0x62: scratch.append(0x08)
        case 0x66: scratch.append(0x0C)
        case 0x6E: scratch.append(0x0A)
        case 0x72: scratch.append(0x0D)
        case 0x74: scratch.append(0x09)
        case 0x75:
            var scalar = try hex4()
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                guard end - position >= 6, base[position] == 0x5C, base[position + 1] == 0x75 else {
                    throw fail("unpaired UTF-16 surrogate escape")
                }
                position += 2
                let low = try hex4()
                guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("unpaired UTF-16 surrogate escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw fail("unpaired UTF-16 surrogate escape")
            }
            appendUTF8(scalar)
        default:
            position -= 1
            throw fail("invalid escape \\\(describeByte())")
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard end - position >= 4 else { throw fail("\\u escape needs four hex digits") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = base[position]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw fail("\\u escape needs four hex digits")
            }
            v = v << 4 | d
            position += 1
        }
        return v
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Validates one multi-byte UTF-8 sequence at `position` (Unicode Table 3-7) and steps over it.
    private mutating func validateUTF8Sequence() throws(Failure) {
        let b0 = base[position]
        var f = fail("invalid UTF-8")
        f.isUTF8 = true
        @inline(__always) func cont(_ i: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            position + i < end && base[position + i] >= lo && base[position + i] <= hi
        }
        switch b0 {
        case 0xC2...0xDF:
            guard cont(1) else { throw f }
            position += 2
        case 0xE0:
            guard cont(1, 0xA0, 0xBF), cont(2) else { throw f }
            position += 3
        case 0xE1...0xEC, 0xEE...0xEF:
            guard cont(1), cont(2) else { throw f }
            position += 3
        case 0xED:
            guard cont(1, 0x80, 0x9F), cont(2) else { throw f }
            position += 3
        case 0xF0:
            guard cont(1, 0x90, 0xBF), cont(2), cont(3) else { throw f }
            position += 4
        case 0xF1...0xF3:
            guard cont(1), cont(2), cont(3) else { throw f }
            position += 4
        case 0xF4:
            guard cont(1, 0x80, 0x8F), cont(2), cont(3) else { throw f }
            position += 4
        default:
            throw f
        }
    }
}
