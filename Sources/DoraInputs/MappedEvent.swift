import DoraEvents

/// One event a foreign payload maps to: a line of doralog's own schema (docs/events.md),
/// with its id and its service (the Kafka key).
///
/// Invariant: `json` is one JSON object whose `id` is `id` and whose `service` is `service`.
public struct MappedEvent: Sendable, Equatable {
    public var id: String
    public var service: String
    public var json: String

    public init(id: String, service: String, json: String) {
        self.id = id
        self.service = service
        self.json = json
    }
}

/// One item of a payload that could not be mapped: its index in the payload (nil for the
/// payload as a whole) and why, in one line.
public struct ItemRejection: Sendable, Equatable {
    public var index: Int?
    public var reason: String

    public init(index: Int?, reason: String) {
        self.index = index
        self.reason = reason
    }
}

/// What a payload maps to: the events of its good items, its bad items with their reasons,
/// and how many of its items say nothing doralog measures (an acknowledgement, a progress step).
public struct MappedPayload: Sendable, Equatable {
    public var events: [MappedEvent] = []
    public var rejections: [ItemRejection] = []
    public var ignored = 0

    public init(events: [MappedEvent] = [], ignored: Int = 0) {
        self.events = events
        self.ignored = ignored
    }
}

/// A payload that cannot be taken at all (not JSON, not the tool's shape): the answer is a 4xx
/// with this one-line reason, and nothing of it is stored.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    /// A body parsed as JSON (strictly, as events are), or the error every input gives for one
    /// that is not.
    static func json(_ body: [UInt8]) throws(InputError) -> JSONValue {
        do {
            return try JSONValue.parse(body)
        } catch {
            throw InputError("the body is not JSON: \(error.message)")
        }
    }
}

/// Comparison of secrets (tokens, signatures) that does not stop at the first differing byte,
/// so its time says nothing about how much of a guess was right.
public enum ConstantTime {
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let x = Array(a)
        let y = Array(b)
        var difference = x.count ^ y.count
        for i in 0..<max(x.count, y.count) {
            difference |= Int((i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0))
        }
        return difference == 0
    }
}
