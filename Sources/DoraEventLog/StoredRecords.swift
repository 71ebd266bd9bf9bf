import DoraEvents

/// The events one append stored, as the binary records it wrote (the content of the block's
/// records frame): what a live consumer of the log adds to its state without parsing JSON or
/// building an `Event` per event.
///
/// Invariant: `frame` is a records frame this process encoded, holding exactly `count`
/// records in batch order, so reading it cannot fail.
public struct StoredRecords: Sendable {
    /// The records frame's content: the encoding version, then per event its raw length and
    /// its binary record.
    let frame: [UInt8]
    public let count: Int

    /// The bytes the records hold in memory (their buffer's capacity): what a queue of them
    /// holds.
    public var byteCount: Int { frame.capacity }

    init(frame: [UInt8], count: Int) {
        self.frame = frame
        self.count = count
    }

    /// No events.
    public static var none: StoredRecords { StoredRecords(frame: [EventBinaryCodec.version], count: 0) }

    /// Calls `body` with each record, in batch order. A record is valid only during its call.
    public func forEach(_ body: (EventRecord) -> Void) {
        frame.withUnsafeBytes { raw in
            var reader = BinaryReader(raw, offset: 1)
            while !reader.isAtEnd {
                do {
                    _ = try reader.unsigned()
                    body(try EventRecord.read(from: &reader))
                } catch {
                    assertionFailure("a records frame this process encoded did not read: \(error)")
                    return
                }
            }
        }
    }

    /// The stored events, decoded.
    public var events: [Event] {
        var out: [Event] = []
        out.reserveCapacity(count)
        forEach { out.append(Event($0)) }
        return out
    }
}
