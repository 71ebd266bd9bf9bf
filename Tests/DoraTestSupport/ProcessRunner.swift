import Foundation

/// Runs the built `doralog` executable, for tests of the command line and of crashes.
public enum Doralog {
    /// The `doralog` binary beside the test bundle (`swift build` builds it; `.ci/run` does).
    public static var executable: String {
        if let override = ProcessInfo.processInfo.environment["DORALOG_BINARY"] { return override }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var directory = bundle
        // The test runner may live inside a .xctest bundle; walk up to the build directory.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("doralog").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return bundle.appendingPathComponent("doralog").path
    }

    public static var isBuilt: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// The outcome of one run.
    public struct Result: Sendable {
        /// The exit status, or the signal's number when it was killed (`timedOut` says by whom).
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
        /// The run outlived its time limit and was killed with SIGKILL.
        public var timedOut = false
    }

    /// Runs `doralog` with `arguments` to completion, killing it after `timeLimit` so that a
    /// hang fails its test (status non-zero, `timedOut` set) instead of stalling the suite.
    public static func run(_ arguments: [String], input: String? = nil, timeLimit: Duration = .seconds(120)) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inputPipe = Pipe()
        if input != nil { process.standardInput = inputPipe }
        try process.run()
        let pid = process.processIdentifier
        let killed = Killed()
        let killer = DispatchWorkItem {
            killed.mark()
            kill(pid, SIGKILL)
        }
        let seconds = Double(timeLimit.components.seconds) + Double(timeLimit.components.attoseconds) / 1e18
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: killer)
        if let input {
            inputPipe.fileHandleForWriting.write(Data(input.utf8))
            try inputPipe.fileHandleForWriting.close()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        killer.cancel()
        return Result(
            status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
            standardError: String(decoding: errData, as: UTF8.self), timedOut: killed.isMarked)
    }

    /// Starts `doralog` without waiting; the caller kills or waits for it.
    public static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}

/// Whether the time-limit killer fired (set on a dispatch queue, read by the runner).
private final class Killed: @unchecked Sendable {
    private let lock = NSLock()
    private var marked = false
    func mark() { lock.withLock { marked = true } }
    var isMarked: Bool { lock.withLock { marked } }
}
