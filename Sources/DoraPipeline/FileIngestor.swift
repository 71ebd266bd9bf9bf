#if canImport(Glibc)
import Glibc
#endif
public import DoraEventLog
import DoraEvents

/// Appends the events of a JSONL file (or standard input) to an event log.
///
/// The framing rules of docs/events.md: a byte-order mark at the very start is dropped; a line
/// ends at LF, with an optional CR before it; a line of only spaces and tabs is skipped (not a
/// message, not counted). Lines are read in large chunks and appended in batches bounded by
/// `batchBytes` and `batchMessages`, each batch one durable append. A line over the size limit
/// is never held whole in memory: its first bytes go to the dead-letter store.
public struct FileIngestor {
    /// Batches close at this many message bytes. Default 4 MiB.
    public var batchBytes = 4 << 20
    /// Batches close at this many messages. Default 16384.
    public var batchMessages = 16_384
    /// Called after every append with the running totals.
    public var progress: (AppendSummary) -> Void = { _ in }

    public init() {}

    /// Reads `path` (`-` for standard input) to its end and appends every line to `log`.
    /// - Returns: what happened to the lines: read = stored + duplicates + rejected.
    /// - Throws: `PipelineError` if the file cannot be read, or the log's error on I/O failure.
    public func ingest(path: String, into log: EventLog) throws(PipelineError) -> AppendSummary {
        let fd: Int32
        if path == "-" {
            fd = STDIN_FILENO
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw PipelineError(.input, "cannot open input: \(String(cString: strerror(errno)))", location: path)
            }
        }
        defer { if fd != STDIN_FILENO { close(fd) } }
        let sourceName = path == "-" ? "stdin" : path
        var status = stat()
        if fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG {
            // Events are rarely under 160 bytes a line; at most the 100M ids the index is built for.
            do {
                try log.reserveCapacity(forNewIDs: min(Int(status.st_size) / 160, 100_000_000))
            } catch {
                throw PipelineError(.log, error.description, location: log.directory)
            }
        }

        var summary = AppendSummary()
        var batch = MessageBatch()
        let appender = PipelinedAppender(log: log)
        let chunkSize = 8 << 20
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var carry: [UInt8] = []  // an unfinished line from the previous chunk
        var carriedBytes = 0  // its real length, when it grew past the limit
        var lineNumber = 0
        var atStart = true
        let limit = EventDecoder.maximumMessageBytes

        func flush(final: Bool = false) throws(PipelineError) {
            do {
                if !batch.isEmpty, let done = try appender.submit(batch) { summary += done }
                if final, let done = try appender.flush() { summary += done }
            } catch {
                throw PipelineError(.log, error.description, location: log.directory)
            }
            batch.removeAll()
            progress(summary)
        }

        func emit(_ line: UnsafeRawBufferPointer, realLength: Int) throws(PipelineError) {
            lineNumber += 1
            var line = line
            var length = realLength
            if atStart {
                atStart = false
                if line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
                    line = UnsafeRawBufferPointer(rebasing: line[3...])
                    length -= 3
                }
            }
            if length == line.count, line.last == 0x0D {
                line = UnsafeRawBufferPointer(rebasing: line[..<(line.count - 1)])
                length -= 1
            }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) && length == line.count { return }
            let source = MessageSource.file(path: sourceName, line: lineNumber)
            if length > limit {
                batch.appendOversized(prefix: UnsafeRawBufferPointer(rebasing: line[..<min(line.count, limit)]), totalBytes: length, source: source)
            } else {
                batch.append(line, source: source)
            }
            if batch.count >= batchMessages || batch.byteCount >= batchBytes { try flush() }
        }

        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunkSize) }
            if n < 0 {
                if errno == EINTR { continue }
                throw PipelineError(.input, "read failed: \(String(cString: strerror(errno)))", location: sourceName)
            }
            if n == 0 { break }
            var failure: PipelineError?
            buffer.withUnsafeBytes { chunk in
                var start = 0
                while start < n, failure == nil {
                    guard let nl = memchr(chunk.baseAddress! + start, 0x0A, n - start) else {
                        // No line end in the rest of the chunk: carry it (capped past the limit).
                        let rest = UnsafeRawBufferPointer(rebasing: chunk[start..<n])
                        carriedBytes += rest.count
                        if carry.count <= limit { carry.append(contentsOf: rest.prefix(limit + 1 - carry.count)) }
                        return
                    }
                    let end = chunk.baseAddress!.distance(to: UnsafeRawPointer(nl))
                    do throws(PipelineError) {
                        if carriedBytes > 0 {
                            let rest = UnsafeRawBufferPointer(rebasing: chunk[start..<end])
                            if carry.count <= limit { carry.append(contentsOf: rest.prefix(limit + 1 - carry.count)) }
                            let real = carriedBytes + rest.count
                            let carried = carry
                            carry.removeAll(keepingCapacity: true)
                            carriedBytes = 0
                            try carried.withBytes { (b) throws(PipelineError) in try emit(b, realLength: real) }
                        } else {
                            try emit(UnsafeRawBufferPointer(rebasing: chunk[start..<end]), realLength: end - start)
                        }
                    } catch {
                        failure = error
                    }
                    start = end + 1
                }
            }
            if let failure { throw failure }
        }
        if carriedBytes > 0 {
            let carried = carry
            try carried.withBytes { (b) throws(PipelineError) in try emit(b, realLength: carriedBytes) }
        }
        try flush(final: true)
        return summary
    }
}
