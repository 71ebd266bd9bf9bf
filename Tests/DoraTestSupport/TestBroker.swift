import Foundation
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

    /// A loopback port that was free a moment ago.
    public static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(fd, p, length) == 0 ? getsockname(fd, p, &length) : -1
            }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}
