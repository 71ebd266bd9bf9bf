#if canImport(Glibc)
import Glibc
#endif

/// One binary record read in place: an event's fields as byte ranges of the records frame,
/// valid only as long as that buffer. Replay reads most events only to keep a few of their
/// fields; this lets it skip building an `Event` and a string for every field.
///
/// Invariant: made only by `EventRecord.read`, which checks the whole record (including every
/// commit), so reading its fields cannot fail. `Event(record)` is the decoded event.
public struct EventRecord {
    public typealias Bytes = UnsafeRawBufferPointer

    public var time: Int64
    public var id: Bytes
    public var service: Bytes
    /// nil: the default environment.
    public var environment: Bytes?
    public var team: Bytes?
    public var schemaVersion: Int64
    public var details: Details

    /// The type-specific part, as `Event.Details`.
    public enum Details {
        case deploy(Deploy)
        case alert(Alert)
        case rollback(Rollback)
        case unknown(type: Bytes)
    }

    /// Whether its type is one this version does not know (the engine only counts it).
    public var isUnknownType: Bool {
        if case .unknown = details { return true }
        return false
    }

    public struct Deploy {
        public var version: Bytes
        public var status: Event.Deploy.Status
        public var unplanned: Bool
        public var commitCount: Int
        /// The commits, still encoded (sha, time) after one another (`appendCommit`).
        var commitBytes: Bytes
        /// Calls `body` with each commit's sha and time (microseconds), in record order.
        public func forEachCommit(_ body: (Bytes, Int64) -> Void) {
            var reader = BinaryReader(commitBytes)
            for _ in 0..<commitCount {
                // Checked by `read`: neither can fail.
                guard let sha = try? reader.lengthPrefixed(), let time = try? reader.signed() else { return }
                body(sha, time)
            }
        }
    }

    public struct Alert {
        public var alertID: Bytes
        public var status: Event.Alert.Status
        public var severity: Bytes
        public var deployID: Bytes?
    }

    public struct Rollback {
        public var rollbackID: Bytes
        public var status: Event.Rollback.Status
        public var trigger: Event.Rollback.Trigger
        public var fromVersion: Bytes?
        public var toVersion: Bytes?
        public var deployID: Bytes?
        /// A rehearsal (`Event.Rollback.isDrill`).
        public var isDrill: Bool = false
    }

    /// Reads one record at `reader`'s position and moves past it (format in
    /// docs/log-format.md, "Records frame").
    /// - Throws: `BinaryDecodingError` if the bytes are truncated or malformed.
    public static func read(from reader: inout BinaryReader) throws(BinaryDecodingError) -> EventRecord {
        let kind = try reader.byte()
        let flags = try reader.byte()
        let time = try reader.signed()
        let id = try reader.lengthPrefixed()
        let service = try reader.lengthPrefixed()
        let environment = flags & 2 != 0 ? try reader.lengthPrefixed() : nil
        let team = flags & 1 != 0 ? try reader.lengthPrefixed() : nil
        let schemaVersion: Int64 = flags & 4 != 0 ? try reader.signed() : 1
        let details: Details
        switch kind {
        case 0:
            let version = try reader.lengthPrefixed()
            let b = try reader.byte()
            guard let status = Event.Deploy.Status(rawValue: b & 0x7F) else { throw reader.error("deploy status \(b)") }
            let count = try reader.unsigned()
            guard count <= UInt64(reader.remaining) else { throw reader.error("commit count \(count)") }
            let start = reader.offset
            for _ in 0..<count {
                _ = try reader.lengthPrefixed()
                _ = try reader.signed()
            }
            details = .deploy(
                Deploy(
                    version: version, status: status, unplanned: b & 0x80 != 0, commitCount: Int(count),
                    commitBytes: Bytes(rebasing: reader.bytes[start..<reader.offset])))
        case 1:
            let alertID = try reader.lengthPrefixed()
            let b = try reader.byte()
            guard let status = Event.Alert.Status(rawValue: b & 0x7F) else { throw reader.error("alert status \(b)") }
            let severity = try reader.lengthPrefixed()
            let deployID = b & 0x80 != 0 ? try reader.lengthPrefixed() : nil
            details = .alert(Alert(alertID: alertID, status: status, severity: severity, deployID: deployID))
        case 2:
            let rollbackID = try reader.lengthPrefixed()
            let b = try reader.byte()
            guard let status = Event.Rollback.Status(rawValue: b & 0x3),
                let trigger = Event.Rollback.Trigger(rawValue: b >> 2 & 0x3)
            else { throw reader.error("rollback flags \(b)") }
            let from = b & 0x10 != 0 ? try reader.lengthPrefixed() : nil
            let to = b & 0x20 != 0 ? try reader.lengthPrefixed() : nil
            let deployID = b & 0x40 != 0 ? try reader.lengthPrefixed() : nil
            details = .rollback(
                Rollback(
                    rollbackID: rollbackID, status: status, trigger: trigger, fromVersion: from, toVersion: to, deployID: deployID,
                    isDrill: b & 0x80 != 0))
        case 3:
            details = .unknown(type: try reader.lengthPrefixed())
        default:
            throw reader.error("event kind \(kind)")
        }
        return EventRecord(
            time: time, id: id, service: service, environment: environment, team: team, schemaVersion: schemaVersion,
            details: details)
    }

    /// Appends this record in its binary form: the inverse of `read`, and the one place that
    /// writes the layout (docs/log-format.md, "Records frame").
    public func write(into out: inout [UInt8]) {
        typealias Codec = EventBinaryCodec
        var flags: UInt8 = 0
        if team != nil { flags |= 1 }
        if environment != nil { flags |= 2 }
        if schemaVersion != 1 { flags |= 4 }
        switch details {
        case .deploy: out.append(0)
        case .alert: out.append(1)
        case .rollback: out.append(2)
        case .unknown: out.append(3)
        }
        out.append(flags)
        Codec.writeSigned(time, into: &out)
        Codec.writeBytes(id, into: &out)
        Codec.writeBytes(service, into: &out)
        if let environment { Codec.writeBytes(environment, into: &out) }
        if let team { Codec.writeBytes(team, into: &out) }
        if schemaVersion != 1 { Codec.writeSigned(schemaVersion, into: &out) }
        switch details {
        case .deploy(let d):
            Codec.writeBytes(d.version, into: &out)
            out.append(d.status.rawValue | (d.unplanned ? 0x80 : 0))
            Codec.writeUnsigned(UInt64(d.commitCount), into: &out)
            out.append(contentsOf: d.commitBytes)
        case .alert(let a):
            Codec.writeBytes(a.alertID, into: &out)
            out.append(a.status.rawValue | (a.deployID != nil ? 0x80 : 0))
            Codec.writeBytes(a.severity, into: &out)
            if let d = a.deployID { Codec.writeBytes(d, into: &out) }
        case .rollback(let r):
            Codec.writeBytes(r.rollbackID, into: &out)
            var b = r.status.rawValue | r.trigger.rawValue << 2
            if r.fromVersion != nil { b |= 0x10 }
            if r.toVersion != nil { b |= 0x20 }
            if r.deployID != nil { b |= 0x40 }
            if r.isDrill { b |= 0x80 }
            out.append(b)
            if let v = r.fromVersion { Codec.writeBytes(v, into: &out) }
            if let v = r.toVersion { Codec.writeBytes(v, into: &out) }
            if let v = r.deployID { Codec.writeBytes(v, into: &out) }
        case .unknown(let type):
            Codec.writeBytes(type, into: &out)
        }
    }

    /// Appends one commit in the form `Deploy.commitBytes` holds: what a writer of a deploy
    /// record gathers before `write`.
    public static func appendCommit(sha: Bytes, time: Int64, to commitBytes: inout [UInt8]) {
        EventBinaryCodec.writeBytes(sha, into: &commitBytes)
        EventBinaryCodec.writeSigned(time, into: &commitBytes)
    }

    /// Whether the environment is `name` (the default when the record names none).
    public func isEnvironment(_ name: String) -> Bool {
        guard let environment else { return name == Event.defaultEnvironment }
        return Self.equal(environment, name)
    }

    /// Whether `bytes` are the UTF-8 of `string`.
    public static func equal(_ bytes: Bytes, _ string: String) -> Bool {
        var s = string
        return s.withUTF8 { utf8 in
            guard utf8.count == bytes.count else { return false }
            // Service names and ids are short, and a replay compares one or two per event:
            // up to this length a loop costs less than the call to `memcmp`.
            if bytes.count <= 24 {
                for i in 0..<bytes.count where utf8[i] != bytes[i] { return false }
                return true
            }
            return memcmp(utf8.baseAddress!, bytes.baseAddress!, bytes.count) == 0
        }
    }

    /// `bytes` as a string (records hold valid UTF-8).
    public static func string(_ bytes: Bytes) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}

extension Event {
    /// The event a record holds.
    public init(_ r: EventRecord) {
        let s = EventRecord.string
        let details: Details
        switch r.details {
        case .deploy(let d):
            var commits: [Commit] = []
            commits.reserveCapacity(d.commitCount)
            d.forEachCommit { sha, time in commits.append(Commit(sha: s(sha), time: Timestamp(microseconds: time))) }
            details = .deploy(Deploy(version: s(d.version), status: d.status, commits: commits, unplanned: d.unplanned))
        case .alert(let a):
            details = .alert(Alert(alertID: s(a.alertID), status: a.status, severity: s(a.severity), deployID: a.deployID.map(s)))
        case .rollback(let b):
            details = .rollback(
                Rollback(
                    rollbackID: s(b.rollbackID), status: b.status, fromVersion: b.fromVersion.map(s), toVersion: b.toVersion.map(s),
                    trigger: b.trigger, deployID: b.deployID.map(s), isDrill: b.isDrill))
        case .unknown(let type):
            details = .unknown(type: s(type))
        }
        self.init(
            id: s(r.id), time: Timestamp(microseconds: r.time), service: s(r.service),
            environment: r.environment.map(s) ?? Event.defaultEnvironment, team: r.team.map(s), schemaVersion: r.schemaVersion,
            details: details)
    }
}
