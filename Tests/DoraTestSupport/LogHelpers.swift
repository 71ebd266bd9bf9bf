import DoraEventLog
import DoraEvents

/// Builders for batches and quick reads of a log, for tests.
public enum LogTesting {
    /// A batch of the given lines, sourced as lines of a file named `input.jsonl`.
    public static func batch(_ lines: [String], file: String = "input.jsonl", firstLine: Int = 1) -> MessageBatch {
        var batch = MessageBatch()
        for (i, line) in lines.enumerated() {
            batch.append(line, source: .file(path: file, line: firstLine + i))
        }
        return batch
    }

    /// Segments of 64 KiB: a few thousand events seal several.
    public static let smallSegments = LogConfiguration(segmentBytes: 64 << 10, zstdLevel: 3)

    /// Writes a new log in `directory` of 6,000 deploys in 60 batches (ids `b0-0` to `b59-99`)
    /// in `smallSegments`: several sealed segments, each with its sidecar.
    public static func writeSealedSegments(in directory: String) throws {
        let log = try EventLog(directory: directory, configuration: smallSegments)
        for b in 0..<60 { _ = try log.append(batch(deploys(100, prefix: "b\(b)"))) }
    }

    /// `count` valid, distinct deploy events (ids `prefix-0`...), an hour apart from `start`.
    public static func deploys(_ count: Int, prefix: String = "d", start: Int64 = 1_782_864_000_000_000) -> [String] {
        (0..<count).map { i in
            let t = Timestamp(microseconds: start + Int64(i) * 3_600_000_000).rfc3339
            return EventJSON.deploy("\(prefix)-\(i)", at: t, service: "svc-\(i % 7)", version: "v\(i)", commits: [("c\(i)", t)])
        }
    }

    /// Every stored event's id, in log order.
    public static func storedIDs(_ directory: String) throws -> [String] {
        var ids: [String] = []
        try LogReader(directory: directory).forEachEvent { ids.append($0.id) }
        return ids
    }
}
