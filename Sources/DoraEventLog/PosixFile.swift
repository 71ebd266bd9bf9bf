#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DoraEvents

/// An open file descriptor with the few calls the log needs; closes itself.
///
/// Not `Sendable`: owned by one log writer or reader. Every call throws `EventLogError` with
/// the path and errno text.
final class PosixFile {
    let path: String
    let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(EventLogError) -> PosixFile {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw errnoError("cannot open", path) }
        return PosixFile(path: path, descriptor: fd)
    }

    static func errnoError(_ what: String, _ path: String, _ code: Int32 = errno) -> EventLogError {
        // A log holds one descriptor per sealed segment (docs/log-format.md, "Id index").
        let hint = code == EMFILE ? "; raise the limit of open files (`ulimit -n`)" : ""
        return EventLogError(.io, "\(what): \(String(cString: strerror(code)))\(hint)", file: path)
    }

    var size: Int {
        get throws(EventLogError) {
            var st = stat()
            guard fstat(descriptor, &st) == 0 else { throw Self.errnoError("cannot stat", path) }
            return Int(st.st_size)
        }
    }

    /// Writes all of `bytes` at the current position (O_APPEND files: at the end).
    func write(_ bytes: UnsafeRawBufferPointer) throws(EventLogError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.errnoError("write failed", path)
            }
            done += n
        }
    }

    func write(_ bytes: [UInt8]) throws(EventLogError) {
        try bytes.withBytes { (b) throws(EventLogError) in try write(b) }
    }

    /// Reads exactly `count` bytes at `offset` into a new array (fewer at end of file).
    func read(at offset: Int, count: Int) throws(EventLogError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let done = try out.withMutableBytes { (b) throws(EventLogError) in try fill(b, at: offset) }
        if done < count { out.removeLast(count - done) }
        return out
    }

    /// Fills all of `buffer` from `offset`.
    /// - Throws: `EventLogError` (`.io`) when the read fails or the file ends first.
    func readExactly(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(EventLogError) {
        let done = try fill(buffer, at: offset)
        guard done == buffer.count else {
            throw EventLogError(.io, "the file ends at byte \(offset + done), short of the \(buffer.count) bytes expected at \(offset)", file: path)
        }
    }

    /// Reads into `buffer` from `offset` until it is full or the file ends; returns the bytes read.
    private func fill(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(EventLogError) -> Int {
        try Self.fill(buffer, from: descriptor, at: offset, path: path)
    }

    /// `fill` for a descriptor that no `PosixFile` owns (a `SpillFile`'s, read on any thread).
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, from descriptor: Int32, at offset: Int, path: String) throws(EventLogError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.errnoError("read failed", path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Takes an exclusive `flock` on the file, waiting up to `patience` for it; false when
    /// another holder keeps it that long.
    ///
    /// Why wait at all: a `flock` belongs to the open file description, and a child that
    /// another thread of this process is spawning holds a copy of every descriptor until its
    /// `exec` closes them (`O_CLOEXEC` closes them only then). A log closed and opened again
    /// in one process can so find its own lock held for the few milliseconds the child takes
    /// to reach `exec` on a loaded machine. A real second writer holds it for good.
    func lockExclusively(patience: Duration = .seconds(2)) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: patience)
        while true {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
            guard errno == EWOULDBLOCK || errno == EINTR, clock.now < deadline else { return false }
            usleep(10_000)
        }
    }

    func sync() throws(EventLogError) {
        guard fsync(descriptor) == 0 else { throw Self.errnoError("fsync failed", path) }
    }

    func truncate(to length: Int) throws(EventLogError) {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw Self.errnoError("cannot truncate", path) }
    }

    func seekToEnd() throws(EventLogError) {
        guard lseek(descriptor, 0, SEEK_END) >= 0 else { throw Self.errnoError("cannot seek", path) }
    }

    /// fsyncs a directory, so that a file created or renamed in it survives a crash.
    static func syncDirectory(_ path: String) throws(EventLogError) {
        let dir = try PosixFile.open(path, flags: O_RDONLY | O_DIRECTORY)
        try dir.sync()
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Creates a directory and its parents if missing.
    static func makeDirectory(_ path: String) throws(EventLogError) {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            if mkdir(built, 0o755) != 0 && errno != EEXIST {
                throw errnoError("cannot create directory", built)
            }
        }
    }

    /// The names in a directory.
    static func list(_ path: String) throws(EventLogError) -> [String] {
        guard let dir = opendir(path) else { throw errnoError("cannot list directory", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Replaces `path` atomically with what `write` writes to a temporary file, piece by
    /// piece: write, fsync, rename, fsync the directory. Returns what `write` returns.
    static func writeAtomically<Value>(
        to path: String, directory: String, _ write: (PosixFile) throws(EventLogError) -> Value
    ) throws(EventLogError) -> Value {
        let temporary = path + ".tmp"
        let result: Value
        do {
            let file = try PosixFile.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
            result = try write(file)
            try file.sync()
        }
        guard rename(temporary, path) == 0 else { throw errnoError("cannot rename into place", path) }
        try syncDirectory(directory)
        return result
    }

    static func remove(_ path: String) {
        unlink(path)
    }
}
