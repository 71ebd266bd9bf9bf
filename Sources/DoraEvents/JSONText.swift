/// Writing JSON text: string quoting and number formatting, deterministic byte for byte.
public enum JSONText {
    /// `value` as a JSON string literal, escaping `"`, `\` and control characters.
    public static func quoted(_ value: String) -> String {
        // Most strings need no escape: then only the quotes are added, without appending
        // scalar by scalar (a backtest prints 100k alerts). A test holds it to `escaped`.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            return "\"" + value + "\""
        }
        return escaped(value)
    }

    /// `quoted`, written out scalar by scalar: the general path.
    static func escaped(_ value: String) -> String {
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let h = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }

    /// A finite number in JSON: integers without a fraction (`7`), others in Swift's
    /// shortest round-trip form (`0.25`, `1e-07`); non-finite values become `null`.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value)) + ".0"
        }
        return "\(value)"
    }
}
