/// The compact binary form of a decoded `Event`, stored beside its raw bytes so that replay
/// never parses JSON (format in docs/log-format.md, "Records frame").
///
/// Invariant: `decode(encode(e)) == e` for every valid event. Decoding never traps on bad
/// bytes: it throws `BinaryDecodingError` with the offset.
public enum EventBinaryCodec {
    /// The version of this encoding; a reader refuses a frame of a later one.
    public static let version: UInt8 = 1

    /// Appends the binary form of `event` to `out`.
    /// - Complexity: O(size of the event).
    public static func encode(_ event: Event, into out: inout [UInt8]) {
        var flags: UInt8 = 0
        if event.team != nil { flags |= 1 }
        if event.environment != Event.defaultEnvironment { flags |= 2 }
        if event.schemaVersion != 1 { flags |= 4 }
        let kind: UInt8
        switch event.details {
        case .deploy: kind = 0
        case .alert: kind = 1
        case .rollback: kind = 2
        case .unknown: kind = 3
        }
        out.append(kind)
        out.append(flags)
        writeSigned(event.time.microseconds, into: &out)
        writeString(event.id, into: &out)
        writeString(event.service, into: &out)
        if flags & 2 != 0 { writeString(event.environment, into: &out) }
        if let team = event.team { writeString(team, into: &out) }
        if flags & 4 != 0 { writeSigned(event.schemaVersion, into: &out) }
        switch event.details {
        case .deploy(let d):
            writeString(d.version, into: &out)
            out.append(d.status.rawValue | (d.unplanned ? 0x80 : 0))
            writeUnsigned(UInt64(d.commits.count), into: &out)
            for c in d.commits {
                writeString(c.sha, into: &out)
                writeSigned(c.time.microseconds, into: &out)
            }
        case .alert(let a):
            writeString(a.alertID, into: &out)
            out.append(a.status.rawValue | (a.deployID != nil ? 0x80 : 0))
            writeString(a.severity, into: &out)
            if let d = a.deployID { writeString(d, into: &out) }
        case .rollback(let r):
            writeString(r.rollbackID, into: &out)
            var b = r.status.rawValue | r.trigger.rawValue << 2
            if r.fromVersion != nil { b |= 0x10 }
            if r.toVersion != nil { b |= 0x20 }
            if r.deployID != nil { b |= 0x40 }
            out.append(b)
            if let v = r.fromVersion { writeString(v, into: &out) }
            if let v = r.toVersion { writeString(v, into: &out) }
            if let v = r.deployID { writeString(v, into: &out) }
        case .unknown(let type):
            writeString(type, into: &out)
        }
    }

    /// Decodes one event at `reader`'s position and moves past it.
    /// - Throws: `BinaryDecodingError` if the bytes are truncated or malformed.
    public static func decode(from reader: inout BinaryReader) throws(BinaryDecodingError) -> Event {
        Event(try EventRecord.read(from: &reader))
    }

    // MARK: - Primitives

    /// Appends an unsigned LEB128 varint.
    public static func writeUnsigned(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Appends a zigzag-encoded signed varint.
    public static func writeSigned(_ value: Int64, into out: inout [UInt8]) {
        writeUnsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63)), into: &out)
    }

    /// Appends a length-prefixed UTF-8 string.
    public static func writeString(_ value: String, into out: inout [UInt8]) {
        var s = value
        s.withUTF8 { bytes in
            writeUnsigned(UInt64(bytes.count), into: &out)
            out.append(contentsOf: bytes)
        }
    }
}

/// A malformed or truncated binary record: where, and what was found.
public struct BinaryDecodingError: Error, Sendable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }
    public var description: String { "malformed binary record at byte \(offset): \(message)" }
}

/// A bounds-checked cursor over bytes, for binary formats. Never reads past its end.
public struct BinaryReader {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset: Int

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    func error(_ what: String) -> BinaryDecodingError {
        BinaryDecodingError(offset: offset, message: "unexpected \(what)")
    }

    public mutating func byte() throws(BinaryDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw error("end of data") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func unsigned() throws(BinaryDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw error("varint longer than 10 bytes") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    public mutating func signed() throws(BinaryDecodingError) -> Int64 {
        let u = try unsigned()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    public mutating func string() throws(BinaryDecodingError) -> String {
        String(decoding: try lengthPrefixed(), as: UTF8.self)
    }

    /// The bytes of a length-prefixed string, in place.
    public mutating func lengthPrefixed() throws(BinaryDecodingError) -> UnsafeRawBufferPointer {
        let count = try unsigned()
        guard count <= UInt64(remaining) else { throw error("string length \(count) past the end") }
        let n = Int(count)
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
    }

    public mutating func bytes(_ count: Int) throws(BinaryDecodingError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw error("length \(count) past the end") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    public mutating func littleEndian<T: FixedWidthInteger>(_: T.Type) throws(BinaryDecodingError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw error("end of data") }
        var v: T = 0
        for i in 0..<size { v |= T(bytes[offset + i]) << (8 * i) }
        offset += size
        return v
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body with a typed error (the standard one rethrows untyped).
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUnsafeBytes { b in Result { () throws(E) in try body(b) } }
        return try result.get()
    }
}
