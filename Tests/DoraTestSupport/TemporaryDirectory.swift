#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Runs `body` with a fresh temporary directory, removed afterwards (kept when
/// `DORALOG_KEEP_TEST_FILES` is set, for inspection).
public func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let path = makeTemporaryDirectory()
    defer { removeTemporaryDirectory(path) }
    return try body(path)
}

/// Async variant of `withTemporaryDirectory`.
public func withTemporaryDirectory<R>(_ body: (String) async throws -> R) async throws -> R {
    let path = makeTemporaryDirectory()
    defer { removeTemporaryDirectory(path) }
    return try await body(path)
}

private func makeTemporaryDirectory() -> String {
    var template = Array((NSTemporaryDirectory() + "/doralog-test-XXXXXX").utf8CString)
    return template.withUnsafeMutableBufferPointer { buffer -> String in
        guard let p = mkdtemp(buffer.baseAddress!) else { fatalError("mkdtemp failed: \(errno)") }
        return String(cString: p)
    }
}

private func removeTemporaryDirectory(_ path: String) {
    if ProcessInfo.processInfo.environment["DORALOG_KEEP_TEST_FILES"] == nil {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Small file helpers for tests.
public enum TestFiles {
    public static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    public static func read(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    public static func size(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    }

    public static func truncate(_ path: String, to length: Int) {
        precondition(Glibc.truncate(path, off_t(length)) == 0, "truncate \(path) failed")
    }

    /// Copies a directory tree.
    public static func copyDirectory(_ from: String, to: String) throws {
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    public static func list(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }
}
