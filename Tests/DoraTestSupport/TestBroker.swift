import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `doralog broker` as a child process, and free loopback ports, for tests.
public enum TestBroker {
    /// Starts `doralog broker` (4 partitions unless `extra` says otherwise) and reads its
    /// bootstrap address from its first line of output.
    public static func start(_ extra: [String] = [], partitions: Int = 4) throws -> (Process, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Doralog.executable)
        process.arguments = ["broker", "--partitions", "\(partitions)"] + extra
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        return (process, String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A loopback port that was free a moment ago, for a server a test starts.
    ///
    /// It is taken below the kernel's ephemeral range (`ip_local_port_range`), where no
    /// process that binds port 0 (a mock broker, a client's outgoing connection) is handed
    /// it between this call and the server's bind; an ephemeral port from port 0 was, and a
    /// test's server then found its address in use. Successive calls in one test process
    /// step through the range from a random start, so two tests never get the same port.
    public static func freePort() -> UInt16 {
        let (first, end) = portRange
        for _ in 0..<(end - first) {
            let port = UInt16(first + nextPortOffset.add(1) % (end - first))
            if isBindable(port) { return port }
        }
        preconditionFailure("no free loopback port in \(first)..<\(end)")
    }

    /// Ports below the ephemeral range: [first, end).
    private static let portRange: (Int, Int) = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let low = text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
        return (max(1024, low - 12_000), low)
    }()

    private static let nextPortOffset = PortCounter(start: Int.random(in: 0..<10_000))

    private static func isBindable(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return bindLoopback(fd, port: port)
    }

    /// A loopback TCP listener that never answers: the kernel completes the connections (its
    /// backlog) and nothing reads them, so a client waits for its first reply for ever (a
    /// broker that hangs). Close the descriptor to stop it.
    public static func silentListener() -> (fd: Int32, port: UInt16) {
        let port = freePort()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(bindLoopback(fd, port: port) && listen(fd, 16) == 0, "cannot listen on 127.0.0.1:\(port)")
        return (fd, port)
    }

    private static func bindLoopback(_ fd: Int32, port: UInt16) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// A counter shared by the tests of one process.
private final class PortCounter: Sendable {
    private let value: Mutex<Int>

    init(start: Int) {
        value = Mutex(start)
    }

    /// Adds `n` and returns the value before.
    func add(_ n: Int) -> Int {
        value.withLock { v in
            defer { v += n }
            return v
        }
    }
}
