import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Listens on a fixed port of 127.0.0.1 and pipes every connection to another loopback port:
/// how `doralog broker --port` offers a known bootstrap address, since librdkafka 2.0.2's mock
/// cluster only listens on ports it picks itself.
///
/// Only bootstrapping goes through it: the cluster's metadata still names the mock brokers'
/// own ports, and clients connect there directly afterwards. Each connection is served by two
/// blocking copy loops on dispatch's global queue; fine for a development broker, not for
/// thousands of clients. It serves until the process exits (its accept loop holds it).
public final class BootstrapForwarder: Sendable {
    /// The port it listens on.
    public let port: UInt16
    private let listener: Int32
    private let targetPort: UInt16

    /// Starts listening on `127.0.0.1:port` and forwarding to `127.0.0.1:targetPort`.
    /// - Throws: `KafkaError` when the port cannot be bound (in use, or privileged).
    public init(port: UInt16, targetPort: UInt16) throws(KafkaError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Self.failure("cannot create a socket", port: port) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let error = Self.failure("cannot listen on 127.0.0.1:\(port)", port: port)
            close(fd)
            throw error
        }
        self.port = port
        self.listener = fd
        self.targetPort = targetPort
        DispatchQueue(label: "doralog.broker.forwarder").async { [self] in acceptLoop() }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return  // the listener was closed
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(targetPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard upstream >= 0, connected == 0 else {
                if upstream >= 0 { close(upstream) }
                close(client)
                continue
            }
            let closer = PairCloser(client, upstream)
            DispatchQueue.global().async { Self.copy(from: client, to: upstream, closer) }
            DispatchQueue.global().async { Self.copy(from: upstream, to: client, closer) }
        }
    }

    /// Copies until either side closes, then shuts both down; the second loop to end closes them.
    private static func copy(from source: Int32, to destination: Int32, _ closer: PairCloser) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        loop: while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var sent = 0
            while sent < n {
                let m = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + sent, n - sent) }
                if m < 0 && errno == EINTR { continue }
                if m <= 0 { break loop }
                sent += m
            }
        }
        closer.finished()
    }

    private static func loopback(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    private static func failure(_ what: String, port: UInt16) -> KafkaError {
        KafkaError(code: -1, message: "\(what): \(String(cString: strerror(errno))); choose another --port, or leave it out for a free one")
    }
}

/// Shuts both sockets of a forwarded connection down when one direction ends, and closes them
/// once both copy loops have returned.
private final class PairCloser: Sendable {
    private let a: Int32
    private let b: Int32
    private let ended = Mutex(0)

    init(_ a: Int32, _ b: Int32) {
        self.a = a
        self.b = b
    }

    func finished() {
        let last = ended.withLock { count in
            count += 1
            return count == 2
        }
        shutdown(a, Int32(SHUT_RDWR))
        shutdown(b, Int32(SHUT_RDWR))
        if last {
            close(a)
            close(b)
        }
    }
}
