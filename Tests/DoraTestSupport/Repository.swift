import Foundation

/// The repository the tests run from: its root, its files, and external tools run on them
/// (`python3`, `promtool`), for tests of the docs, schemas and dashboards it ships.
public enum Repository {
    /// The repository's root directory (two levels above this file).
    public static let root: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `relative` under the root.
    public static func path(_ relative: String) -> String { root + "/" + relative }

    /// Every file git tracks, plus the untracked ones it does not ignore (paths relative to
    /// the root): what a clone of the repository holds.
    public static func files() throws -> [String] {
        let result = try run("/usr/bin/git", ["-C", root, "ls-files", "--cached", "--others", "--exclude-standard"])
        guard result.status == 0 else { throw ToolError(description: "git ls-files failed: \(result.standardError)") }
        return result.standardOutput.split(separator: "\n").map(String.init)
    }

    /// What a tool printed and how it ended.
    public struct Outcome: Sendable {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
    }

    public struct ToolError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `executable` (found on PATH when not absolute) to completion; standard input is
    /// empty. Output is read while the tool runs, so a large one cannot block it.
    public static func run(_ executable: String, _ arguments: [String]) throws -> Outcome {
        let process = Process()
        if executable.hasPrefix("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let errors = ErrorReader(err.fileHandleForReading)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
            standardError: String(decoding: errors.wait(), as: UTF8.self))
    }

    /// Whether `name` is an executable on PATH.
    public static func hasTool(_ name: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(name)")
        }
    }
}

/// Reads a pipe to its end on a thread of its own.
private final class ErrorReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    init(_ handle: FileHandle) {
        Thread {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }.start()
    }

    /// The whole output, once the pipe is closed. `data` is written before the signal and read after it.
    func wait() -> Data {
        done.wait()
        return data
    }
}
