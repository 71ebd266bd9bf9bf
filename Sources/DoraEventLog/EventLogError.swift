/// Every failure of the event log, with the place it concerns and what to do about it.
///
/// `file` and `byteOffset` name the segment (or sidecar) and the block's first byte when the
/// problem is in the data; `message` says what is wrong and how to proceed.
public struct EventLogError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// An operating-system call failed (open, write, fsync, rename...).
        case io = "io"
        /// A block or header fails its checksum or does not parse.
        case corruptBlock = "corrupt_block"
        /// A segment's header is missing or of a format this version cannot read.
        case badSegment = "bad_segment"
        /// zstd refused to compress.
        case compression = "compression"
        /// A configuration value is out of range.
        case configuration = "configuration"
        /// The directory holds something that is not a doralog log.
        case notALog = "not_a_log"
    }

    public var code: Code
    public var message: String
    public var file: String?
    public var byteOffset: Int?

    public init(_ code: Code, _ message: String, file: String? = nil, byteOffset: Int? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.byteOffset = byteOffset
    }

    public var description: String {
        var place = ""
        if let file { place = file + (byteOffset.map { " at byte \($0)" } ?? "") + ": " }
        return place + message
    }

    /// `directory` exists but holds no segment file: it is not a log (or not yet one).
    static func noSegments(in directory: String) -> EventLogError {
        EventLogError(.notALog, "not a doralog event log (no segment files in \(directory))")
    }

    /// The same error, placed in a file (and byte offset) if it was not yet.
    func located(file: String, byteOffset: Int? = nil) -> EventLogError {
        var e = self
        if e.file == nil { e.file = file }
        if e.byteOffset == nil { e.byteOffset = byteOffset }
        return e
    }
}
