/// What went wrong with a drill that is not the drill's own outcome (a failed rollback is an
/// outcome, recorded as an event): bad usage, a child that cannot be started, the events that
/// could not be recorded.
public struct DrillError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable {
        /// A bad option or command line; nothing was run.
        case usage
        /// The operating system refused something (a pipe, a spawn, a signal).
        case system
        /// The drill's events could not be recorded (Kafka or the log).
        case emit
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
