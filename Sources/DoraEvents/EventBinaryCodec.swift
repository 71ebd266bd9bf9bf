/// The compact binary form of a decoded `Event`, stored beside its raw bytes so that replay
/// never parses JSON (format in docs/log-format.md, "Records frame").
///
/// Invariant: `decode(encode(e)) == e` for every valid event. Decoding never traps on bad
/// bytes: it throws `BinaryDecodingError` with the offset.
public enum EventBinaryCodec {
    /// The version of this encoding; a reader refuses a frame of a later one. Version 2 added
    /// the drill flag (bit 7 of a rollback's flags byte), which version 1 frames never set: a
    /// reader of version 1 would have counted drills as real rollbacks.
    public static let version: UInt8 = 2

    /// Appends the binary form of `event` to `out` (the layout is `EventRecord.write`'s).
    /// - Complexity: O(size of the event).
    public static func encode(_ event: Event, into out: inout [UInt8]) {
        // The event's strings, back to back, so that one record can point at them all.
        var text: [UInt8] = []
        func keep(_ s: String?) -> Range<Int>? {
            guard let s else { return nil }
            let start = text.count
            text.append(contentsOf: s.utf8)
            return start..<text.count
        }
        let id = keep(event.id)
        let service = keep(event.service)
        let environment = event.environment == Event.defaultEnvironment ? nil : keep(event.environment)
        let team = keep(event.team)
        var commits: [UInt8] = []
        let parts: [Range<Int>?]  // the type's strings, in the order `details` takes them below
        switch event.details {
        case .deploy(let d):
            parts = [keep(d.version)]
            for c in d.commits {
                var sha = c.sha
                sha.withUTF8 { EventRecord.appendCommit(sha: UnsafeRawBufferPointer($0), time: c.time.microseconds, to: &commits) }
            }
        case .alert(let a): parts = [keep(a.alertID), keep(a.severity), keep(a.deployID)]
        case .rollback(let r): parts = [keep(r.rollbackID), keep(r.fromVersion), keep(r.toVersion), keep(r.deployID)]
        case .unknown(let type): parts = [keep(type)]
        }
        text.withUnsafeBytes { all in
            commits.withUnsafeBytes { commitBytes in
                func b(_ r: Range<Int>?) -> EventRecord.Bytes? { r.map { EventRecord.Bytes(rebasing: all[$0]) } }
                let details: EventRecord.Details
                switch event.details {
                case .deploy(let d):
                    details = .deploy(
                        EventRecord.Deploy(
                            version: b(parts[0])!, status: d.status, unplanned: d.unplanned, commitCount: d.commits.count,
                            commitBytes: commitBytes))
                case .alert(let a):
                    details = .alert(EventRecord.Alert(alertID: b(parts[0])!, status: a.status, severity: b(parts[1])!, deployID: b(parts[2])))
                case .rollback(let r):
                    details = .rollback(
                        EventRecord.Rollback(
                            rollbackID: b(parts[0])!, status: r.status, trigger: r.trigger, fromVersion: b(parts[1]),
                            toVersion: b(parts[2]), deployID: b(parts[3]), isDrill: r.isDrill))
                case .unknown:
                    details = .unknown(type: b(parts[0])!)
                }
                EventRecord(
                    time: event.time.microseconds, id: b(id)!, service: b(service)!, environment: b(environment), team: b(team),
                    schemaVersion: event.schemaVersion, details: details
                ).write(into: &out)
            }
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

    /// Appends length-prefixed bytes (a string's UTF-8).
    public static func writeBytes(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        writeUnsigned(UInt64(bytes.count), into: &out)
        out.append(contentsOf: bytes)
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

    @inline(__always)
    public mutating func byte() throws(BinaryDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw error("end of data") }
        defer { offset += 1 }
        return bytes[offset]
    }

    @inline(__always)
    public mutating func unsigned() throws(BinaryDecodingError) -> UInt64 {
        // Most varints (lengths, flags, counts) are one byte: read those without the loop.
        if offset < bytes.count, bytes[offset] < 0x80 {
            defer { offset += 1 }
            return UInt64(bytes[offset])
        }
        return try multiByteUnsigned()
    }

    /// A varint of two bytes or more (a time is eight). Where the longest varint (ten bytes)
    /// fits in what remains, its bytes are read with no check per byte; near the end, or for a
    /// malformed one, `checkedUnsigned` reads it, so errors are the same either way (a test
    /// holds the two equal).
    @inline(never)
    mutating func multiByteUnsigned() throws(BinaryDecodingError) -> UInt64 {
        guard bytes.count - offset >= 10 else { return try checkedUnsigned() }
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var i = offset
        while shift < 64 {
            let b = bytes[i]
            i += 1
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 {
                offset = i
                return result
            }
            shift += 7
        }
        return try checkedUnsigned()  // ten bytes with no end: the checked reader says why
    }

    /// Reads a varint a byte at a time, each byte checked.
    mutating func checkedUnsigned() throws(BinaryDecodingError) -> UInt64 {
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

    @inline(__always)
    public mutating func signed() throws(BinaryDecodingError) -> Int64 {
        let u = try unsigned()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// The bytes of a length-prefixed string, in place.
    @inline(__always)
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

    /// `withUnsafeMutableBytes` for a body with a typed error.
    public mutating func withMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUnsafeMutableBytes { b in Result { () throws(E) in try body(b) } }
        return try result.get()
    }
}
