import DoraEvents

/// doralog's own events over HTTP (`POST /v1/events`): a body of JSON lines, each forwarded as
/// it is. The consumer validates them like any message, so a bad line lands in the dead-letter
/// store with its reason, exactly as from `doralog produce`.
///
/// Framing is the file input's (docs/events.md): lines end at LF with an optional CR, blank
/// lines are skipped, a byte-order mark at the very start is dropped.
public enum NativeEvents {
    /// One line and the service it names, when it decodes (its Kafka key); nil otherwise.
    public struct Line: Sendable, Equatable {
        public var bytes: [UInt8]
        public var service: String?

        public init(bytes: [UInt8], service: String?) {
            self.bytes = bytes
            self.service = service
        }
    }

    public static func lines(_ body: [UInt8]) -> [Line] {
        var start = body.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var out: [Line] = []
        while start < body.count {
            var end = body[start...].firstIndex(of: 0x0A) ?? body.count
            let next = end + 1
            if end > start && body[end - 1] == 0x0D { end -= 1 }
            let line = Array(body[start..<end])
            if line.contains(where: { $0 != 0x20 && $0 != 0x09 }) {
                out.append(Line(bytes: line, service: (try? EventDecoder.decode(line))?.service))
            }
            start = next
        }
        return out
    }
}
