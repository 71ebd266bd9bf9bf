#if canImport(Glibc)
import Glibc
#endif

/// What the ingest path needs to know of an event whose record it appended.
public struct RecordFacts: Sendable, Equatable {
    /// The fingerprint of the event's id: its de-duplication key.
    public var fingerprint: IDFingerprint
    /// The event time, in microseconds since the epoch.
    public var time: Int64
    /// Whether its `type` is one this version does not know.
    public var isUnknownType: Bool

    public init(fingerprint: IDFingerprint, time: Int64, isUnknownType: Bool) {
        self.fingerprint = fingerprint
        self.time = time
        self.isUnknownType = isUnknownType
    }
}

extension EventDecoder {
    /// Decodes and validates one message and appends its binary record to `records`: what
    /// `decode` and then `EventBinaryCodec.encode` do, with the same verdict, the same error
    /// and the same bytes, but without building an `Event`.
    ///
    /// Most messages are plain: every field this version reads is a string without escapes,
    /// `null`, or the boolean or integer its field asks for. Their record is written straight
    /// from the message's bytes. Any other message goes the way of `decode`, which also gives
    /// the exact error. `scratch` is working space, reused across calls.
    /// - Throws: `EventError`, as `decode` would.
    public static func appendRecord(
        of message: UnsafeRawBufferPointer, to records: inout [UInt8], scratch: inout [UInt8]
    ) throws(EventError) -> RecordFacts {
        guard message.count <= maximumMessageBytes else {
            throw EventError(.tooLarge, "message is \(message.count) bytes; the limit is \(maximumMessageBytes) (1 MiB)")
        }
        return try collect(message.assumingMemoryBound(to: UInt8.self)) { (fields, parser) throws(EventError) in
            scratch.removeAll(keepingCapacity: true)
            if let facts = try? appendPlainRecord(fields, parser, to: &records, commits: &scratch) { return facts }
            let event = try validate(fields, &parser)
            EventBinaryCodec.encode(event, into: &records)
            return RecordFacts(fingerprint: IDFingerprint(id: event.id), time: event.time.microseconds, isUnknownType: event.isUnknownType)
        }
    }

    /// Not a plain message: `validate` must decide.
    private struct NotPlain: Error {}

    /// The record of a plain message, appended to `records`; `commits` is empty working space.
    /// Each check mirrors one of `validate`, accepting only what it accepts, and gives up
    /// (throws `NotPlain`, appending nothing) wherever `validate` would need to decode a
    /// string, throw, or look closer.
    private static func appendPlainRecord(
        _ f: Fields, _ p: borrowing StrictJSONParser, to records: inout [UInt8], commits: inout [UInt8]
    ) throws(NotPlain) -> RecordFacts {
        typealias Bytes = EventRecord.Bytes
        func optional(_ slot: Int) throws(NotPlain) -> Bytes? {
            switch f[slot] {
            case nil, .value(.null)?: return nil
            case .string(let span)? where !span.hasEscapes: return p.bytes(of: span)
            default: throw NotPlain()
            }
        }
        func required(_ slot: Int, maxBytes: Int = .max) throws(NotPlain) -> Bytes {
            guard case .string(let span)? = f[slot], !span.hasEscapes, span.end > span.start, span.end - span.start <= maxBytes
            else { throw NotPlain() }
            return p.bytes(of: span)
        }
        func time(_ raw: Raw?) throws(NotPlain) -> Int64 {
            guard case .string(let span)? = raw, !span.hasEscapes, let t = Timestamp.parse(rfc3339: p.bytes(of: span))
            else { throw NotPlain() }
            return t.microseconds
        }
        func oneOf<T>(_ slot: Int, _ cases: [(StaticString, T)], default value: T?) throws(NotPlain) -> T {
            if f[slot] == nil, let value { return value }
            if case .value(.null)? = f[slot], let value { return value }
            guard case .string(let span)? = f[slot] else { throw NotPlain() }
            for (name, result) in cases where p.span(span, equals: name) { return result }
            throw NotPlain()
        }

        let id = try required(Slot.id, maxBytes: 256)
        let type = try required(Slot.type)
        let eventTime = try time(f[Slot.time])
        let service = try required(Slot.service, maxBytes: 256)
        var environment = try optional(Slot.environment)
        if let e = environment, equals(e, "production") { environment = nil }  // Event.defaultEnvironment
        let team = try optional(Slot.team)
        var schemaVersion: Int64 = 1
        switch f[Slot.schemaVersion] {
        case nil, .value(.null)?: break
        case .value(.number(let integer?, true))?: schemaVersion = integer
        default: throw NotPlain()
        }

        func finish(_ details: EventRecord.Details) -> RecordFacts {
            EventRecord(
                time: eventTime, id: id, service: service, environment: environment, team: team, schemaVersion: schemaVersion,
                details: details
            ).write(into: &records)
            var isUnknownType = false
            if case .unknown = details { isUnknownType = true }
            return RecordFacts(fingerprint: IDFingerprint(bytes: id), time: eventTime, isUnknownType: isUnknownType)
        }

        switch type.count {
        case 6 where equals(type, "deploy"):
            let version = try required(Slot.version)
            let status = try oneOf(Slot.status, [("succeeded" as StaticString, Event.Deploy.Status.succeeded), ("failed", .failed)], default: .succeeded)
            var count = 0
            switch f[Slot.commits] {
            case nil, .value(.null)?: break
            case .commits(let entries)?:
                for entry in entries {
                    guard case .object(.string(let sha)?, let commitTime) = entry, !sha.hasEscapes, sha.end > sha.start else {
                        throw NotPlain()
                    }
                    EventRecord.appendCommit(sha: p.bytes(of: sha), time: try time(commitTime), to: &commits)
                    count += 1
                }
            default: throw NotPlain()
            }
            var unplanned = false
            switch f[Slot.unplanned] {
            case nil, .value(.null)?: break
            case .value(.bool(let b))?: unplanned = b
            default: throw NotPlain()
            }
            return commits.withUnsafeBytes { commitBytes in
                finish(.deploy(EventRecord.Deploy(version: version, status: status, unplanned: unplanned, commitCount: count, commitBytes: commitBytes)))
            }
        case 5 where equals(type, "alert"):
            let alertID = try required(Slot.alertID)
            let status = try oneOf(Slot.status, [("firing" as StaticString, Event.Alert.Status.firing), ("resolved", .resolved)], default: nil)
            let severity = try optional(Slot.severity) ?? Self.critical
            let deployID = try optional(Slot.deployID)
            return finish(.alert(EventRecord.Alert(alertID: alertID, status: status, severity: severity, deployID: deployID)))
        case 8 where equals(type, "rollback"):
            let rollbackID = try required(Slot.rollbackID)
            let status = try oneOf(
                Slot.status, [("started" as StaticString, Event.Rollback.Status.started), ("completed", .completed), ("failed", .failed)], default: nil)
            let fromVersion = status == .started ? try required(Slot.fromVersion) : try optional(Slot.fromVersion)
            let toVersion = try optional(Slot.toVersion)
            let trigger = try oneOf(Slot.trigger, [("auto" as StaticString, Event.Rollback.Trigger.auto), ("manual", .manual)], default: .manual)
            let deployID = try optional(Slot.deployID)
            let isDrill = try oneOf(Slot.exercise, [("drill" as StaticString, true)], default: false)
            return finish(
                .rollback(
                    EventRecord.Rollback(
                        rollbackID: rollbackID, status: status, trigger: trigger, fromVersion: fromVersion, toVersion: toVersion,
                        deployID: deployID, isDrill: isDrill)))
        default:
            return finish(.unknown(type: type))
        }
    }

    /// Whether `bytes` are exactly `literal`'s UTF-8.
    @inline(__always) private static func equals(_ bytes: EventRecord.Bytes, _ literal: StaticString) -> Bool {
        bytes.count == literal.utf8CodeUnitCount && memcmp(bytes.baseAddress!, literal.utf8Start, bytes.count) == 0
    }

    /// The default severity's bytes (static: they outlive every record that points at them).
    private static var critical: EventRecord.Bytes {
        let text: StaticString = "critical"
        return EventRecord.Bytes(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }
}
