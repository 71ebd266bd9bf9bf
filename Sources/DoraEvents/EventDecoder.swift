/// Turns one message's bytes into a validated `Event`, or says exactly why not.
///
/// The order of checks is fixed (size, JSON syntax, object, required common fields, type
/// fields) so the same bad message always gets the same reason. Unknown members are
/// validated as JSON and skipped; the caller keeps the raw bytes, so nothing is lost.
public enum EventDecoder {
    /// The largest message accepted, in bytes (without the line end).
    public static let maximumMessageBytes = 1 << 20

    /// Decodes and validates one message.
    /// - Throws: `EventError` naming the class of the problem and the field at fault.
    /// - Complexity: O(n) in the message's length.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(EventError) -> Event {
        guard bytes.count <= maximumMessageBytes else {
            throw EventError(.tooLarge, "message is \(bytes.count) bytes; the limit is \(maximumMessageBytes) (1 MiB)")
        }
        return try collect(bytes.assumingMemoryBound(to: UInt8.self)) { (fields, parser) throws(EventError) in
            try validate(fields, &parser)
        }
    }

    /// Decodes and validates one message held in an array.
    public static func decode(_ bytes: [UInt8]) throws(EventError) -> Event {
        let result: Result<Event, EventError> = bytes.withUnsafeBytes { raw in
            Result { () throws(EventError) in try decode(raw) }
        }
        return try result.get()
    }

    /// Decodes and validates one message held in a string.
    public static func decode(_ text: String) throws(EventError) -> Event {
        try decode(Array(text.utf8))
    }

    // MARK: - Collecting the members this version knows

    private static let notAnObjectMessage = "not an object"

    /// A known member's value: a string still in the input (most of them), or parsed JSON.
    enum Raw {
        case string(StrictJSONParser.Span)
        case value(JSONValue)
        /// A `commits` array, parsed straight from the input.
        case commits([CommitEntry])
    }

    /// One element of a `commits` array.
    enum CommitEntry {
        case object(sha: Raw?, time: Raw?)
        case other(JSONValue)
    }

    /// Parses a `commits` array (the parser is at its `[`), checking JSON syntax and repeated
    /// names as the generic parser would; what the members mean is checked later.
    private static func parseCommits(_ parser: inout StrictJSONParser) throws(StrictJSONParser.Failure) -> [CommitEntry] {
        var entries: [CommitEntry] = []
        if try parser.beginArray() { return entries }
        repeat {
            guard parser.peekByte == 0x7B else {
                entries.append(.other(try parser.parseValue()))
                continue
            }
            var sha: Raw?
            var time: Raw?
            if try !parser.beginObject() {
                var unknownNames: [String] = []
                repeat {
                    let nameOffset = parser.position
                    let name = try parser.parseMemberNameSpan()
                    let isSha = parser.span(name, equals: "sha")
                    let isTime = !isSha && parser.span(name, equals: "time")
                    let decoded = name.hasEscapes ? parser.string(of: name) : nil
                    if isSha || isTime || decoded == "sha" || decoded == "time" {
                        let key = isSha || decoded == "sha" ? "sha" : "time"
                        guard (key == "sha" ? sha : time) == nil else {
                            throw StrictJSONParser.Failure(message: "repeated member", offset: nameOffset, duplicateName: key)
                        }
                        let value: Raw = parser.peekByte == 0x22 ? .string(try parser.scanString()) : .value(try parser.parseValue())
                        if key == "sha" { sha = value } else { time = value }
                    } else {
                        let unknown = decoded ?? parser.string(of: name)
                        guard !unknownNames.contains(unknown) else {
                            throw StrictJSONParser.Failure(message: "repeated member", offset: nameOffset, duplicateName: unknown)
                        }
                        unknownNames.append(unknown)
                        try parser.skipValue()
                    }
                } while try parser.memberSeparator()
            }
            entries.append(.object(sha: sha, time: time))
        } while try parser.arraySeparator()
        return entries
    }

    /// The member names schema v1 knows, in slot order.
    private static let knownNames: [StaticString] = [
        "id", "type", "time", "service", "environment", "team", "schema_version", "version", "status", "commits",
        "unplanned", "alert_id", "severity", "deploy_id", "rollback_id", "from_version", "to_version", "trigger",
        "exercise",
    ]
    enum Slot {
        static let id = 0, type = 1, time = 2, service = 3, environment = 4, team = 5, schemaVersion = 6
        static let version = 7, status = 8, commits = 9, unplanned = 10, alertID = 11, severity = 12
        static let deployID = 13, rollbackID = 14, fromVersion = 15, toVersion = 16, trigger = 17
        static let exercise = 18
    }

    /// The slot of a member name, or nil for a name schema v1 does not know.
    /// - Parameters:
    ///   - table: `nameTable`, and `names`, `knownNames`: passed in, read once per message (each
    ///     read of a static is a call that checks it was initialized).
    private static func slot(
        of span: StrictJSONParser.Span, in parser: borrowing StrictJSONParser, table: [Int8], names: [StaticString]
    ) -> Int? {
        if span.hasEscapes { return nil }  // names with escapes are matched as strings by the caller
        var bucket = nameBucket(parser.bytes(of: span))
        while true {
            let i = table[bucket]
            if i < 0 { return nil }
            if parser.span(span, equals: names[Int(i)]) { return Int(i) }
            bucket = (bucket + 1) & (nameTableSize - 1)
        }
    }

    /// `knownNames` hashed by length and first two bytes, with linear probing: a member name
    /// costs one comparison with the one name it can be, not one per name of the same length
    /// (each message has about ten members). -1: an empty bucket.
    private static let nameTable: [Int8] = {
        precondition(knownNames.count <= 32 && knownNames.count < nameTableSize, "slots are bits of a UInt32 and buckets of the table")
        var table = [Int8](repeating: -1, count: nameTableSize)
        for (i, name) in knownNames.enumerated() {
            var bucket = nameBucket(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            while table[bucket] >= 0 { bucket = (bucket + 1) & (nameTableSize - 1) }
            table[bucket] = Int8(i)
        }
        return table
    }()

    private static let nameTableSize = 64

    /// The bucket a name's UTF-8 bytes hash to: by its length and first two bytes.
    @inline(__always) private static func nameBucket(_ name: some RandomAccessCollection<UInt8>) -> Int {
        var bytes = name.makeIterator()
        let (first, second) = (bytes.next() ?? 0, bytes.next() ?? 0)
        return (name.count &* 5 &+ Int(first) &* 2 &+ Int(second)) & (nameTableSize - 1)
    }

    /// Parses a message and collects the members schema v1 knows (checking JSON syntax and
    /// repeated names), then hands them to `body`, which validates them.
    static func collect<R>(
        _ buffer: UnsafeBufferPointer<UInt8>, _ body: (Fields, inout StrictJSONParser) throws(EventError) -> R
    ) throws(EventError) -> R {
        // The slots live on the stack: no allocation per message.
        try withUnsafeTemporaryAllocation(of: Raw?.self, capacity: knownNames.count) { (fields) throws(EventError) -> R in
            fields.initialize(repeating: nil)
            // Only the slots holding parsed JSON or commits own memory; the others (absent, or
            // a span of the input) hold no reference and need no destruction, which would be a
            // call per slot and message (3 % of an ingest).
            var owning: UInt32 = 0
            defer {
                var bits = owning
                while bits != 0 {
                    (fields.baseAddress! + bits.trailingZeroBitCount).deinitialize(count: 1)
                    bits &= bits - 1
                }
            }
            return try collect(buffer, into: fields, owning: &owning, body)
        }
    }

    /// A message's known members, by slot (nil: absent).
    typealias Fields = UnsafeMutableBufferPointer<Raw?>

    /// - Parameter owning: gets a bit set for each slot given a value that owns memory.
    private static func collect<R>(
        _ buffer: UnsafeBufferPointer<UInt8>, into fields: Fields, owning: inout UInt32,
        _ body: (Fields, inout StrictJSONParser) throws(EventError) -> R
    ) throws(EventError) -> R {
        var parser = StrictJSONParser(buffer)
        do throws(StrictJSONParser.Failure) {
            parser.skipWhitespace()
            guard !parser.isAtEnd else {
                throw StrictJSONParser.Failure(message: "empty message", offset: 0)
            }
            if buffer[parser.position] != 0x7B {
                // Valid JSON that is not an object is "not an object"; anything else is invalid JSON.
                _ = try parser.parseDocument()
                throw StrictJSONParser.Failure(message: notAnObjectMessage, offset: 0)
            }
            if try !parser.beginObject() {
                var unknownNames: [String] = []
                var assigned: UInt32 = 0  // the slots given a value
                let (table, names) = (nameTable, knownNames)
                repeat {
                    let nameOffset = parser.position
                    let nameSpan = try parser.parseMemberNameSpan()
                    var slot = slot(of: nameSpan, in: parser, table: table, names: names)
                    var name: String? = nil
                    if nameSpan.hasEscapes {
                        let decoded = parser.string(of: nameSpan)
                        name = decoded
                        slot = knownNames.firstIndex { $0.description == decoded }
                    }
                    if let slot {
                        guard assigned & 1 << slot == 0 else {
                            throw StrictJSONParser.Failure(
                                message: "repeated member", offset: nameOffset, duplicateName: knownNames[slot].description)
                        }
                        assigned |= 1 << slot
                        // The slot holds nil, which owns nothing: initialized over, not assigned
                        // (an assignment destroys the old value, a call per member).
                        let target = fields.baseAddress! + slot
                        if parser.peekByte == 0x22 {
                            target.initialize(to: .string(try parser.scanString()))
                        } else if slot == Slot.commits && parser.peekByte == 0x5B {
                            target.initialize(to: .commits(try parseCommits(&parser)))
                            owning |= 1 << slot
                        } else {
                            target.initialize(to: .value(try parser.parseValue()))
                            owning |= 1 << slot
                        }
                    } else {
                        let unknown = name ?? parser.string(of: nameSpan)
                        guard !unknownNames.contains(unknown) else {
                            throw StrictJSONParser.Failure(message: "repeated member", offset: nameOffset, duplicateName: unknown)
                        }
                        unknownNames.append(unknown)
                        try parser.skipValue()
                    }
                } while try parser.memberSeparator()
            }
            parser.skipWhitespace()
            guard parser.isAtEnd else {
                throw StrictJSONParser.Failure(message: "unexpected bytes after the JSON object", offset: parser.position)
            }
        } catch let failure {
            if failure.isUTF8 {
                throw EventError(.invalidUTF8, "invalid UTF-8 at byte \(failure.offset); messages must be UTF-8")
            }
            if let name = failure.duplicateName {
                throw EventError(.duplicateMember, field: name, "an object repeats the member name \"\(name)\" (byte \(failure.offset))")
            }
            if failure.message == notAnObjectMessage {
                throw EventError(.notAnObject, "the message is JSON but not an object; send one JSON object per message")
            }
            throw EventError(.invalidJSON, "not valid JSON at byte \(failure.offset): \(failure.message)")
        }
        return try body(fields, &parser)
    }

    // MARK: - Validation

    static func validate(_ f: Fields, _ p: inout StrictJSONParser) throws(EventError) -> Event {
        let id = try requiredString(f[Slot.id], "id", &p, maxBytes: 256)
        let type = try requiredString(f[Slot.type], "type", &p)
        let time = try requiredTime(f[Slot.time], "time", &p)
        let service = try requiredString(f[Slot.service], "service", &p, maxBytes: 256)
        let environment = try optionalString(f[Slot.environment], "environment", &p) ?? Event.defaultEnvironment
        let team = try optionalString(f[Slot.team], "team", &p)
        var schemaVersion: Int64 = 1
        switch f[Slot.schemaVersion] {
        case nil, .value(.null)?: break
        case .value(.number(let integer?, true))?: schemaVersion = integer
        case let other?: throw wrongType("schema_version", "an integer", other, &p)
        }
        let details: Event.Details
        switch type {
        case "deploy":
            let version = try requiredString(f[Slot.version], "version", &p)
            let status = try optionalEnum(f[Slot.status], "status", [("succeeded" as StaticString, Event.Deploy.Status.succeeded), ("failed" as StaticString, .failed)], &p) ?? .succeeded
            let commits = try commitList(f[Slot.commits], &p)
            var unplanned = false
            switch f[Slot.unplanned] {
            case nil, .value(.null)?: break
            case .value(.bool(let b))?: unplanned = b
            case let other?: throw wrongType("unplanned", "a boolean", other, &p)
            }
            details = .deploy(Event.Deploy(version: version, status: status, commits: commits, unplanned: unplanned))
        case "alert":
            let alertID = try requiredString(f[Slot.alertID], "alert_id", &p)
            let status = try requiredEnum(f[Slot.status], "status", [("firing" as StaticString, Event.Alert.Status.firing), ("resolved" as StaticString, .resolved)], &p)
            let severity = try optionalString(f[Slot.severity], "severity", &p) ?? "critical"
            let deployID = try optionalString(f[Slot.deployID], "deploy_id", &p)
            details = .alert(Event.Alert(alertID: alertID, status: status, severity: severity, deployID: deployID))
        case "rollback":
            let rollbackID = try requiredString(f[Slot.rollbackID], "rollback_id", &p)
            let status = try requiredEnum(
                f[Slot.status], "status", [("started" as StaticString, Event.Rollback.Status.started), ("completed" as StaticString, .completed), ("failed" as StaticString, .failed)], &p)
            let fromVersion: String? =
                status == .started
                ? try requiredString(f[Slot.fromVersion], "from_version", &p, context: " on a started rollback")
                : try optionalString(f[Slot.fromVersion], "from_version", &p)
            let toVersion = try optionalString(f[Slot.toVersion], "to_version", &p)
            let trigger = try optionalEnum(f[Slot.trigger], "trigger", [("auto" as StaticString, Event.Rollback.Trigger.auto), ("manual" as StaticString, .manual)], &p) ?? .manual
            let deployID = try optionalString(f[Slot.deployID], "deploy_id", &p)
            // Only rollbacks read `exercise`; on other types it is an ignored member.
            let isDrill = try optionalEnum(f[Slot.exercise], "exercise", [("drill" as StaticString, true)], &p) ?? false
            details = .rollback(
                Event.Rollback(
                    rollbackID: rollbackID, status: status, fromVersion: fromVersion, toVersion: toVersion,
                    trigger: trigger, deployID: deployID, isDrill: isDrill))
        default:
            details = .unknown(type: type)
        }
        return Event(
            id: id, time: time, service: service, environment: environment, team: team,
            schemaVersion: schemaVersion, details: details)
    }

    private static func wrongType(_ field: String, _ expected: String, _ raw: Raw, _ p: inout StrictJSONParser) -> EventError {
        switch raw {
        case .string(let span): return wrongType(field, expected, .string(p.string(of: span)))
        case .value(let v): return wrongType(field, expected, v)
        case .commits: return wrongType(field, expected, .array([]))
        }
    }

    private static func requiredString(
        _ raw: Raw?, _ field: String, _ p: inout StrictJSONParser, maxBytes: Int? = nil, context: String = ""
    ) throws(EventError) -> String {
        switch raw {
        case .string(let span)?:
            return try requiredString(.string(p.string(of: span)), field, maxBytes: maxBytes, context: context)
        case .value(let v)?:
            return try requiredString(v, field, maxBytes: maxBytes, context: context)
        case .commits?:
            return try requiredString(.array([]), field, maxBytes: maxBytes, context: context)
        case nil:
            return try requiredString(nil, field, maxBytes: maxBytes, context: context)
        }
    }

    private static func optionalString(_ raw: Raw?, _ field: String, _ p: inout StrictJSONParser) throws(EventError) -> String? {
        switch raw {
        case .string(let span)?: return p.string(of: span)
        case .value(let v)?: return try optionalString(v, field)
        case .commits?: return try optionalString(.array([]), field)
        case nil: return nil
        }
    }

    private static func requiredTime(_ raw: Raw?, _ field: String, _ p: inout StrictJSONParser) throws(EventError) -> Timestamp {
        if case .string(let span)? = raw, !span.hasEscapes {
            if let time = Timestamp.parse(rfc3339: p.bytes(of: span)) { return time }
        }
        switch raw {
        case .string(let span)?: return try requiredTime(.string(p.string(of: span)), field)
        case .value(let v)?: return try requiredTime(v, field)
        case .commits?: return try requiredTime(.array([]), field)
        case nil: return try requiredTime(nil, field)
        }
    }

    private static func requiredEnum<T>(_ raw: Raw?, _ field: String, _ cases: [(StaticString, T)], _ p: inout StrictJSONParser) throws(EventError) -> T {
        guard let result = try optionalEnum(raw, field, cases, &p) else {
            throw EventError(.missingField, field: field, "required field \"\(field)\" is missing")
        }
        return result
    }

    private static func optionalEnum<T>(_ raw: Raw?, _ field: String, _ cases: [(StaticString, T)], _ p: inout StrictJSONParser) throws(EventError) -> T? {
        if case .string(let span)? = raw {
            for (name, result) in cases where p.span(span, equals: name) { return result }
        }
        let stringCases = cases.map { ($0.0.description, $0.1) }
        switch raw {
        case .string(let span)?: return try optionalEnum(.string(p.string(of: span)), field, stringCases)
        case .value(let v)?: return try optionalEnum(v, field, stringCases)
        case .commits?: return try optionalEnum(.array([]), field, stringCases)
        case nil: return nil
        }
    }

    private static func commitList(_ raw: Raw?, _ p: inout StrictJSONParser) throws(EventError) -> [Event.Commit] {
        switch raw {
        case .string(let span)?: return try commitList(.string(p.string(of: span)))
        case .value(let v)?: return try commitList(v)
        case .commits(let entries)?:
            var commits: [Event.Commit] = []
            commits.reserveCapacity(entries.count)
            for (index, entry) in entries.enumerated() {
                switch entry {
                case .other(let v):
                    throw wrongType("commits[\(index)]", "an object {\"sha\", \"time\"}", v)
                case .object(.string(let shaSpan)?, .string(let timeSpan)?)
                where !shaSpan.hasEscapes && !timeSpan.hasEscapes && shaSpan.end > shaSpan.start:
                    // The common, valid case: no field names built.
                    if let time = Timestamp.parse(rfc3339: p.bytes(of: timeSpan)) {
                        commits.append(Event.Commit(sha: p.string(of: shaSpan), time: time))
                        continue
                    }
                    commits.append(
                        Event.Commit(
                            sha: p.string(of: shaSpan),
                            time: try requiredTime(.string(timeSpan), "commits[\(index)].time", &p)))
                case .object(let sha, let time):
                    commits.append(
                        Event.Commit(
                            sha: try requiredString(sha, "commits[\(index)].sha", &p),
                            time: try requiredTime(time, "commits[\(index)].time", &p)))
                }
            }
            return commits
        case nil: return []
        }
    }

    private static func wrongType(_ field: String, _ expected: String, _ value: JSONValue) -> EventError {
        EventError(.wrongType, field: field, "field \"\(field)\" must be \(expected), not \(describe(value))")
    }

    private static func describe(_ value: JSONValue) -> String {
        if case .string(let s) = value {
            let shown = s.utf8.count > 40 ? String(s.prefix(40)) + "..." : s
            return "the string \"\(shown)\""
        }
        if case .number(_, let isInteger) = value, !isInteger { return "a number with a fraction or exponent" }
        return "a JSON \(value.typeName)"
    }

    private static func requiredString(
        _ value: JSONValue?, _ field: String, maxBytes: Int? = nil, context: String = ""
    ) throws(EventError) -> String {
        switch value {
        case nil, .null?:
            throw EventError(.missingField, field: field, "required field \"\(field)\" is missing\(context)")
        case .string(let s)?:
            guard !s.isEmpty else {
                throw EventError(.emptyString, field: field, "required field \"\(field)\" is an empty string\(context)")
            }
            if let maxBytes, s.utf8.count > maxBytes {
                throw EventError(.tooLong, field: field, "field \"\(field)\" is \(s.utf8.count) bytes; the limit is \(maxBytes)")
            }
            return s
        case let other?:
            throw wrongType(field, "a string", other)
        }
    }

    private static func optionalString(_ value: JSONValue?, _ field: String) throws(EventError) -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let other?: throw wrongType(field, "a string", other)
        }
    }

    private static func requiredTime(_ value: JSONValue?, _ field: String) throws(EventError) -> Timestamp {
        let text = try requiredString(value, field)
        guard let time = Timestamp.parse(rfc3339: text) else {
            throw EventError(
                .invalidTime, field: field,
                "field \"\(field)\" is not an RFC 3339 time with a zone (like 2026-07-01T12:00:00Z): \"\(text.prefix(64))\"")
        }
        return time
    }

    private static func requiredEnum<T>(_ value: JSONValue?, _ field: String, _ cases: [(String, T)]) throws(EventError) -> T {
        guard let result = try optionalEnum(value, field, cases) else {
            throw EventError(.missingField, field: field, "required field \"\(field)\" is missing")
        }
        return result
    }

    private static func optionalEnum<T>(_ value: JSONValue?, _ field: String, _ cases: [(String, T)]) throws(EventError) -> T? {
        guard let text = try optionalString(value, field) else { return nil }
        for (name, result) in cases where name == text { return result }
        let allowed = cases.map { "\"\($0.0)\"" }.joined(separator: ", ")
        throw wrongType(field, "one of \(allowed)", .string(text))
    }

    private static func commitList(_ value: JSONValue?) throws(EventError) -> [Event.Commit] {
        switch value {
        case nil, .null?:
            return []
        case .array(let items)?:
            var commits: [Event.Commit] = []
            commits.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                guard case .object(let members) = item else {
                    throw wrongType("commits[\(index)]", "an object {\"sha\", \"time\"}", item)
                }
                var sha: JSONValue?
                var time: JSONValue?
                for (name, member) in members {
                    if name == "sha" { sha = member } else if name == "time" { time = member }
                }
                commits.append(
                    Event.Commit(
                        sha: try requiredString(sha, "commits[\(index)].sha"),
                        time: try requiredTime(time, "commits[\(index)].time")))
            }
            return commits
        case let other?:
            throw wrongType("commits", "an array", other)
        }
    }
}
