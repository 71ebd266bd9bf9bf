#if canImport(Glibc)
import Glibc
#endif

/// Reads a JSONL file (or stdin) line by line, skipping blank lines and a leading BOM.
public enum LineReader {
    /// Calls `body` with each line (without its line end); a missing file throws `PipelineError`.
    public static func forEachLine(path: String, _ body: ([UInt8]) throws -> Void) throws {
        let fd = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PipelineError(.input, "cannot open: \(String(cString: strerror(errno)))", location: path) }
        defer { if fd != STDIN_FILENO { close(fd) } }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var first = true
        func emit(_ line: ArraySlice<UInt8>) throws {
            var l = line
            if first {
                first = false
                if l.starts(with: [0xEF, 0xBB, 0xBF]) { l = l.dropFirst(3) }
            }
            if l.last == 0x0D { l = l.dropLast() }
            if l.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            try body(Array(l))
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            pending += buffer[0..<n]
            var start = pending.startIndex
            while let nl = pending[start...].firstIndex(of: 0x0A) {
                try emit(pending[start..<nl])
                start = nl + 1
            }
            pending.removeSubrange(..<start)
        }
        if !pending.isEmpty { try emit(pending[...]) }
    }
}
