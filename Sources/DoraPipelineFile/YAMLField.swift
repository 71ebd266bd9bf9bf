import DoraMetrics
import Yams

/// One node of a pipeline file with its path, for reading values with precise errors.
///
/// Every accessor either returns a checked value or throws a `PipelineFileError` naming the
/// file, the node's line and column, the field path and what was expected.
struct YAMLField {
    let node: Node
    let path: String
    let file: String

    func error(_ message: String) -> PipelineFileError {
        PipelineFileError(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, field: path, message: message)
    }

    private func child(_ key: String, _ node: Node) -> YAMLField {
        YAMLField(node: node, path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    /// The members of a mapping; a key outside `known` is an error (a typo must not pass silently).
    func mapping(known: [String]) throws(PipelineFileError) -> [String: YAMLField] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of \(known.joined(separator: ", "))") }
        var out: [String: YAMLField] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { throw error("keys must be plain names") }
            let field = child(name, value)
            guard known.contains(name) else {
                throw YAMLField(node: key, path: field.path, file: file).error("unknown field; expected one of \(known.joined(separator: ", "))")
            }
            guard out[name] == nil else { throw YAMLField(node: key, path: field.path, file: file).error("given twice") }
            out[name] = field
        }
        return out
    }

    func sequence() throws(PipelineFileError) -> [YAMLField] {
        guard case .sequence(let items) = node else { throw error("expected a list") }
        return items.enumerated().map { YAMLField(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    func string() throws(PipelineFileError) -> String {
        guard let scalar = node.scalar, !scalar.string.isEmpty else { throw error("expected a non-empty text value") }
        return scalar.string
    }

    func strings() throws(PipelineFileError) -> [String] {
        var out: [String] = []
        for item in try sequence() { out.append(try item.string()) }
        return out
    }

    func int(_ range: ClosedRange<Int>) throws(PipelineFileError) -> Int {
        guard let text = node.scalar?.string, let value = Int(text), range.contains(value) else {
            throw error("expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func double(_ range: ClosedRange<Double>, excludingLower: Bool = false) throws(PipelineFileError) -> Double {
        guard let text = node.scalar?.string, let value = Double(text), range.contains(value),
            !(excludingLower && value == range.lowerBound)
        else {
            throw error("expected a number \(excludingLower ? "above" : "from") \(range.lowerBound) \(excludingLower ? "up " : "")to \(range.upperBound)")
        }
        return value
    }

    func bool() throws(PipelineFileError) -> Bool {
        switch node.scalar?.string {
        case "true": return true
        case "false": return false
        default: throw error("expected true or false")
        }
    }

    /// A positive duration such as `300s`, `5m`, `2h`, `1d`, in microseconds.
    func duration() throws(PipelineFileError) -> Int64 {
        guard let text = node.scalar?.string, let d = DurationText.parse(text), d.wholeMicroseconds > 0 else {
            throw error("expected a duration such as 300s, 5m, 2h or 1d")
        }
        return d.wholeMicroseconds
    }
}
