#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A temporary file with no name, for what a replay sets aside: records by partition
/// (`RecordSpill`), sorted samples once their service is analysed.
///
/// The file is removed from its directory the moment it is created, so it takes disk space
/// only while this object lives, and a crash leaves nothing behind. Appends are serialized;
/// any thread reads what was appended (`pread`). Invariant: `size` is the bytes appended.
public final class SpillFile: Sendable {
    /// The name the file had for the moment it had one (for messages).
    public let path: String
    private let descriptor: Int32
    /// The bytes appended; held while appending.
    private let end = Mutex<Int>(0)

    /// A new empty file in `directory`.
    /// - Throws: `EventLogError` (`.io`) when it cannot be created there (no such
    ///   directory, no permission).
    public init(directory: String) throws(EventLogError) {
        var template = Array((directory + "/doralog-spill-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard fd >= 0 else { throw PosixFile.errnoError("cannot create a temporary file", path) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        unlink(path)
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// The bytes appended so far.
    public var size: Int { end.withLock { $0 } }

    /// Appends `bytes`; returns the offset of their first byte.
    /// - Throws: `EventLogError` (`.io`) when the write fails (a full disk); what was appended
    ///   before stays readable, and the next append starts where this one did.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(EventLogError) -> Int {
        let outcome: (offset: Int, error: Int32?) = end.withLock { end in
            var done = 0
            while done < bytes.count {
                let n = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(end + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    return (end, errno)
                }
                done += n
            }
            end += bytes.count
            return (end - bytes.count, nil)
        }
        if let error = outcome.error { throw PosixFile.errnoError("cannot write (is --spill-dir's disk full?)", path, error) }
        return outcome.offset
    }

    /// Fills `buffer` from `offset`, which with the buffer's length must lie within what was
    /// appended.
    /// - Throws: `EventLogError` (`.io`) when the read fails or the file is shorter.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(EventLogError) {
        let done = try PosixFile.fill(buffer, from: descriptor, at: offset, path: path)
        guard done == buffer.count else {
            throw EventLogError(.io, "the spill file ends at byte \(offset + done), short of the \(buffer.count) bytes at \(offset)", file: path)
        }
    }
}
