#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A request to stop, from a signal handler's queue to the thread waiting on a child: a flag
/// and a pipe whose read end wakes that thread's `poll`.
///
/// Invariant: once triggered, stays triggered.
public final class Interruption: Sendable {
    private let flag = Atomic<Bool>(false)
    let readDescriptor: Int32
    private let writeDescriptor: Int32

    public init() throws(DrillError) {
        (readDescriptor, writeDescriptor) = try ChildProcess.makePipe()
        _ = fcntl(writeDescriptor, F_SETFL, O_NONBLOCK)
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    public var isTriggered: Bool { flag.load(ordering: .acquiring) }

    /// Waits `duration` unless interrupted first; returns whether it was.
    public func wait(for duration: Duration) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: duration)
        while !isTriggered {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { return false }
            var fds = [pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, ChildProcess.milliseconds(remaining, atMost: 1000))
        }
        return true
    }

    /// Marks the drill as interrupted and wakes the waiting thread. Safe from any thread.
    public func trigger() {
        flag.store(true, ordering: .releasing)
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }
}

/// How a child process ended.
public enum Termination: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
    /// Still running at the deadline: its process group was stopped.
    case timedOut
    /// The drill was interrupted: its process group was stopped.
    case interrupted
    /// It could not be started (no such program, not executable), with the reason.
    case notStarted(String)

    public var succeeded: Bool { self == .exited(0) }
}

/// Runs one command as a child process in a process group of its own, with standard output
/// and error merged into one pipe that the caller reads as it comes, until it exits, the
/// deadline passes or the drill is interrupted; then the whole group is stopped (SIGTERM, and
/// SIGKILL two seconds later), so nothing it started outlives the drill.
///
/// No shell is involved: `arguments[0]` is looked up on PATH. The child gets doralog's
/// environment plus `environment`, doralog's working directory, and standard input from
/// /dev/null. Signals doralog ignores are restored to their defaults in the child.
public enum ChildProcess {
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], deadline: ContinuousClock.Instant, interruption: Interruption, output: (UnsafeRawBufferPointer) -> Void
    ) throws(DrillError) -> Termination {
        let (readEnd, writeEnd) = try makePipe()
        defer { close(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, STDERR_FILENO)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGPIPE, SIGHUP] { sigaddset(&defaults, s) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var inherited: [String: String] = [:]
        var e = environ
        while let entry = e.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") { inherited[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
            e += 1
        }
        inherited.merge(environment) { _, new in new }
        let environmentStrings = inherited.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }

        var pid: pid_t = 0
        let status = withCStrings(arguments) { argv in
            withCStrings(environmentStrings) { envp in posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp) }
        }
        close(writeEnd)
        guard status == 0 else { return .notStarted("\(arguments[0]): \(String(cString: strerror(status)))") }
        return wait(for: pid, output: readEnd, deadline: deadline, interruption: interruption, forward: output)
    }

    private static func wait(
        for pid: pid_t, output: Int32, deadline: ContinuousClock.Instant, interruption: Interruption,
        forward: (UnsafeRawBufferPointer) -> Void
    ) -> Termination {
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        var outputOpen = true
        func drain() {
            guard outputOpen else { return }
            var poller = [pollfd(fd: output, events: Int16(POLLIN), revents: 0)]
            while outputOpen, poll(&poller, 1, 0) > 0 {
                let n = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
                if n > 0 {
                    buffer.withUnsafeBytes { forward(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                } else if n == 0 || errno != EINTR {
                    outputOpen = false
                }
            }
        }
        while true {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                drain()
                return termination(status)
            }
            if interruption.isTriggered { return stop(pid, drain: { drain() }, as: .interrupted) }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return stop(pid, drain: { drain() }, as: .timedOut) }
            let milliseconds = milliseconds(remaining, atMost: 100)
            var fds = [pollfd(fd: interruption.readDescriptor, events: Int16(POLLIN), revents: 0)]
            if outputOpen { fds.append(pollfd(fd: output, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), milliseconds)
            if outputOpen, fds.count > 1, fds[1].revents != 0 { drain() }
        }
    }

    /// Stops the child's process group: SIGTERM, then SIGKILL if it is still there two seconds later.
    private static func stop(_ pid: pid_t, drain: () -> Void, as result: Termination) -> Termination {
        kill(-pid, SIGTERM)
        let grace = ContinuousClock.now.advanced(by: .seconds(2))
        var status: Int32 = 0
        while ContinuousClock.now < grace {
            drain()
            if waitpid(pid, &status, WNOHANG) == pid {
                kill(-pid, SIGKILL)  // whatever else of its group is left
                return result
            }
            usleep(20_000)
        }
        kill(-pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return result
    }

    private static func termination(_ status: Int32) -> Termination {
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }

    /// A poll timeout: `d` rounded up to milliseconds, at most `limit`.
    static func milliseconds(_ d: Duration, atMost limit: Int32) -> Int32 {
        Int32(clamping: min(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000 + 1, Int64(limit)))
    }

    /// A pipe whose two ends are closed on exec (a child gets only what `dup2` gives it).
    static func makePipe() throws(DrillError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw DrillError(.system, "cannot make a pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// Calls `body` with a NULL-terminated array of C strings.
    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        let pointers = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        return body(pointers + [nil])
    }
}
