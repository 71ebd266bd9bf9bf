/// A failure of a pipeline step (reading input, writing the log), with where it happened.
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The input could not be read.
        case input
        /// The event log refused or failed an operation.
        case log
    }

    public var code: Code
    public var message: String
    /// The file, directory or topic concerned.
    public var location: String?

    public init(_ code: Code, _ message: String, location: String? = nil) {
        self.code = code
        self.message = message
        self.location = location
    }

    public var description: String {
        (location.map { $0 + ": " } ?? "") + message
    }
}
