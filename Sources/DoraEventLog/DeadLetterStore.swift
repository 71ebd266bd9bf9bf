#if canImport(Glibc)
import Glibc
#endif
import DoraEvents

/// Where one input message came from: a file line, or a Kafka topic/partition/offset.
public enum MessageSource: Sendable, Hashable, CustomStringConvertible {
    case file(path: String, line: Int)
    case kafka(topic: String, partition: Int32, offset: Int64, key: [UInt8]?)

    public var description: String {
        switch self {
        case .file(let path, let line): return "\(path):\(line)"
        case .kafka(let topic, let partition, let offset, _): return "\(topic)/\(partition)@\(offset)"
        }
    }
}

/// The dead-letter store: every rejected message with its reason, source and exact bytes,
/// in `dead-letters.jsonl` beside the segments (one JSON object per line).
///
/// Invariants: append-only; a line is durable before the block of the same append is written;
/// a torn last line (a crash mid-write) is cut when the store is opened.
final class DeadLetterStore {
    static let fileName = "dead-letters.jsonl"
    private let file: PosixFile

    init(directory: String) throws(EventLogError) {
        let path = directory + "/" + Self.fileName
        file = try PosixFile.open(path, flags: O_RDWR | O_CREAT | O_APPEND)
        let size = try file.size
        if size > 0 {
            // Cut a torn last line: everything after the last newline. A line is at most the
            // base64 of 1 MiB plus its JSON (under 1.5 MiB), so the last 2 MiB hold its start.
            let tailStart = max(0, size - (2 << 20))
            let tail = try file.read(at: tailStart, count: size - tailStart)
            if tail.last != 0x0A {
                let keep = tail.lastIndex(of: 0x0A).map { tailStart + $0 + 1 } ?? (tailStart == 0 ? 0 : size)
                try file.truncate(to: keep)
                try file.sync()
            }
        }
    }

    /// Appends the dead-letter line of one rejection to `out`.
    static func appendLine(_ error: EventError, source: MessageSource, raw: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendLine(
            reason: error.code.rawValue, message: error.message, field: error.field, members: "", source: source, raw: raw,
            to: &out)
    }

    /// The reason of a message an input format could not map onto events (docs/inputs.md).
    static let unmappableReason = "unmappable_input"

    /// Appends the dead-letter line of a message its input format could not map.
    static func appendUnmappableLine(_ why: String, source: MessageSource, raw: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendLine(reason: unmappableReason, message: why, field: nil, members: "", source: source, raw: raw, to: &out)
    }

    /// The reason of a conflicting duplicate: not an invalid event, so not an `EventError`.
    static let conflictingDuplicateReason = "conflicting_duplicate"

    /// Appends the dead-letter line of a conflicting duplicate: its own source and bytes, and
    /// where the stored copy of its id is (`stored`; nil only if that cannot be found, which
    /// the line then says).
    static func appendConflictLine(_ conflict: PendingConflict, storedAt place: StoredPlace?, to out: inout [UInt8]) {
        var members = ",\"id\":" + JSONText.quoted(conflict.id) + ",\"stored\":"
        if let place {
            members += "{\"segment\":" + JSONText.quoted(LogFormat.segmentName(place.segment))
                + ",\"block_offset\":\(place.blockOffset),\"record\":\(place.record)}"
        } else {
            members += "null"
        }
        conflict.raw.withUnsafeBytes { raw in
            appendLine(
                reason: conflictingDuplicateReason,
                message: "an event with id \(JSONText.quoted(conflict.id)) is stored already with different content; "
                    + "the stored one is kept and this one is counted as a duplicate. Give a changed event a new id",
                field: "id", members: members, source: conflict.source, raw: raw, to: &out)
        }
    }

    private static func appendLine(
        reason: String, message: String, field: String?, members: String, source: MessageSource, raw: UnsafeRawBufferPointer,
        to out: inout [UInt8]
    ) {
        var line = "{\"reason\":" + JSONText.quoted(reason)
        line += ",\"message\":" + JSONText.quoted(message)
        if let field { line += ",\"field\":" + JSONText.quoted(field) }
        line += members
        switch source {
        case .file(let path, let lineNumber):
            line += ",\"source\":{\"file\":" + JSONText.quoted(path) + ",\"line\":\(lineNumber)}"
        case .kafka(let topic, let partition, let offset, let key):
            line += ",\"source\":{\"topic\":" + JSONText.quoted(topic) + ",\"partition\":\(partition),\"offset\":\(offset)"
            if let key { line += ",\"key_base64\":\"" + key.withUnsafeBytes { Base64.encode($0) } + "\"" }
            line += "}"
        }
        line += ",\"bytes\":\(raw.count),\"raw_base64\":\"" + Base64.encode(raw) + "\"}\n"
        out.append(contentsOf: line.utf8)
    }

    /// Writes and fsyncs dead-letter lines.
    func write(_ lines: [UInt8]) throws(EventLogError) {
        guard !lines.isEmpty else { return }
        try file.write(lines)
        try file.sync()
    }
}

/// A message whose id is stored already with other content, between the append that found it
/// and that append's commit, where its dead-letter line is written.
struct PendingConflict: Sendable {
    var fingerprint: IDFingerprint
    var id: String
    var source: MessageSource
    /// The message's bytes as received.
    var raw: [UInt8]
}

/// Where a stored event is: record `record` (from 0) of the block at byte `blockOffset` of
/// segment `segment`.
struct StoredPlace: Equatable, Sendable {
    var segment: UInt32
    var blockOffset: Int
    var record: Int

    /// The place of the segment's `ordinal`-th record, given the segment's blocks in order;
    /// nil when the blocks hold fewer records.
    init?(ordinal: UInt32, in blocks: [BlockLocation]) {
        var before = 0
        for block in blocks {
            if Int(ordinal) < before + block.recordCount {
                self.init(segment: block.segment, blockOffset: block.offset, record: Int(ordinal) - before)
                return
            }
            before += block.recordCount
        }
        return nil
    }

    init(segment: UInt32, blockOffset: Int, record: Int) {
        self.segment = segment
        self.blockOffset = blockOffset
        self.record = record
    }
}

/// Standard base64 (RFC 4648, with padding).
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for s in [18, 12, 6, 0] { out.append(alphabet[Int(v >> UInt32(s) & 63)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            var v = UInt32(bytes[i]) << 16
            if rest == 2 { v |= UInt32(bytes[i + 1]) << 8 }
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(rest == 2 ? alphabet[Int(v >> 6 & 63)] : 0x3D)
            out.append(0x3D)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
