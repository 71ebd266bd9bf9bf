/// A pipeline file that cannot be used, with where: file, line and column, and the field's
/// path (`slos[1].objective`), and what is expected there.
public struct PipelineFileError: Error, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when unknown (a file that cannot be read).
    public var line: Int
    public var column: Int
    /// The field's path from the top of the file; empty for the whole file.
    public var field: String
    public var message: String

    public init(file: String, line: Int = 0, column: Int = 0, field: String = "", message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    public var description: String {
        let place = line > 0 ? "\(file):\(line):\(column)" : file
        return "\(place): " + (field.isEmpty ? "" : "\(field): ") + message
    }
}
