import DoraEvents

/// An item an HTTP input could not map, carried to the dead-letter store through the
/// pipeline's topic (the log has one writer, the consumer group): a message
/// `{"doralog.rejected_item/v1": {"input", "request", "item", "reason"}, "item": ITEM}` whose
/// `item` is the item's bytes as the sender sent them. The consumer recognises it, of any
/// source format, and stores the item as a dead letter with reason `unmappable_input`, the
/// message saying which input, request and item it was and why.
public enum RejectedItem {
    static let marker = "doralog.rejected_item/v1"

    /// The message for item `index` of request `request` to input `input`; `raw` its bytes.
    public static func message(input: String, request: String, index: Int, reason: String, raw: ArraySlice<UInt8>) -> [UInt8] {
        let head = "{\"\(marker)\":{\"input\":\(JSONText.quoted(input)),\"request\":\(JSONText.quoted(request)),"
            + "\"item\":\(index),\"reason\":\(JSONText.quoted(reason))},\"item\":"
        return Array(head.utf8) + raw + [UInt8(ascii: "}")]
    }

    /// The dead letter a message stands for: its one-line reason and the item's bytes; nil for
    /// any other message (checked by its first bytes, so other messages cost next to nothing).
    public static func deadLetter(of message: [UInt8]) -> (reason: String, item: ArraySlice<UInt8>)? {
        let prefix = Array("{\"\(marker)\"".utf8)
        guard message.starts(with: prefix), let value = try? JSONValue.parse(message), let meta = value[marker],
            let item = JSONValue.rawMember("item", in: message)?.value
        else { return nil }
        let input = meta["input"]?.string ?? "?"
        let request = meta["request"]?.string ?? "?"
        var index = "?"
        if case .number(let i?, _)? = meta["item"] { index = String(i) }
        let why = meta["reason"]?.string ?? "not mapped"
        return ("input \(input), request \(request), item \(index): \(why)", message[item])
    }
}
