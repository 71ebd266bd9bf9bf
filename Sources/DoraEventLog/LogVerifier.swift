#if canImport(Glibc)
import Glibc
#endif
import DoraEvents

/// A full check of a log: every block's checksum, every record, every invariant.
///
/// Checks, per segment: the header and its number; every block's checksum, header fields,
/// records (count, time range) and raw frame (lengths, and each raw message re-parsed gives
/// the stored record); the sidecar index when present. Across the log: contiguous segment
/// numbers, and no id stored twice. It reports each damaged block and goes on past it.
public enum LogVerifier {
    /// One thing found wrong, placed in a file and byte offset where possible.
    public struct Problem: Sendable, CustomStringConvertible {
        public var file: String
        public var byteOffset: Int?
        public var message: String
        public var description: String {
            file + (byteOffset.map { " at byte \($0)" } ?? "") + ": " + message
        }
    }

    /// What `verify` found.
    public struct Report: Sendable {
        public var segments = 0
        public var blocks = 0
        public var events = 0
        public var problems: [Problem] = []
        public var isClean: Bool { problems.isEmpty }
    }

    /// Verifies the log in `directory`. `progress` is called with bytes checked so far.
    /// - Throws: `EventLogError` only when the directory cannot be read at all, or holds no
    ///   segment file (it is not a log).
    public static func verify(directory: String, progress: (Int, Int) -> Void = { _, _ in }) throws(EventLogError) -> Report {
        guard PosixFile.exists(directory) else {
            throw EventLogError(.notALog, "no such directory", file: directory)
        }
        var report = Report()
        let names = try PosixFile.list(directory)
        let numbers = names.compactMap(LogFormat.segmentNumber(fromName:)).sorted()
        guard !numbers.isEmpty else { throw .noSegments(in: directory) }
        for (i, n) in numbers.enumerated() where i > 0 && n != numbers[i - 1] + 1 {
            report.problems.append(Problem(file: directory, byteOffset: nil, message: "segments \(numbers[i - 1] + 1)...\(n - 1) are missing"))
        }
        var totalBytes = 0
        for n in numbers {
            totalBytes += (try? PosixFile.open(directory + "/" + LogFormat.segmentName(n), flags: O_RDONLY).size) ?? 0
        }
        var doneBytes = 0
        var fingerprints: [IDFingerprint] = []
        let decompressor = ZstdDecompressor()
        var scratch: [UInt8] = []
        for (i, number) in numbers.enumerated() {
            let path = directory + "/" + LogFormat.segmentName(number)
            report.segments += 1
            let scanner: SegmentScanner
            do {
                scanner = try SegmentScanner(path: path)
            } catch {
                report.problems.append(Problem(file: path, byteOffset: 0, message: error.message))
                continue
            }
            if scanner.segmentNumber != number {
                report.problems.append(Problem(file: path, byteOffset: 0, message: "header names segment \(scanner.segmentNumber)"))
            }
            var blocks: [BlockLocation] = []
            var segmentIDs: [(IDFingerprint, StoredCopy)] = []
            var offset = LogFormat.segmentHeaderBytes
            while offset < scanner.fileSize {
                do {
                    let block = try scanner.readBlock(at: offset)
                    try check(block, decompressor: decompressor, scratch: &scratch) { event, content in
                        segmentIDs.append((IDFingerprint(id: event.id), StoredCopy(content: content, ordinal: UInt32(segmentIDs.count))))
                    }
                    blocks.append(block.location(segment: number))
                    report.blocks += 1
                    report.events += Int(block.header.recordCount)
                    offset += block.header.totalBytes
                } catch {
                    let next = scanner.nextIntactBlock(after: offset)
                    var message = error.message
                    if next == nil && i == numbers.count - 1 {
                        message += " (a torn tail: the next open for writing cuts it)"
                    }
                    report.problems.append(Problem(file: path, byteOffset: error.byteOffset ?? offset, message: message))
                    guard let next else { break }
                    offset = next
                }
                progress(doneBytes + offset, totalBytes)
            }
            doneBytes += scanner.fileSize
            // The sidecar of a sealed segment, when present, must agree with the segment.
            let indexPath = directory + "/" + LogFormat.indexName(number)
            if i < numbers.count - 1, PosixFile.exists(indexPath) {
                if let index = SegmentIndexFile.load(path: indexPath, segmentNumber: number, segmentBytes: scanner.fileSize) {
                    let sorted = segmentIDs.sorted { $0.0 < $1.0 }
                    // A sidecar of the older layout has neither copies nor conflict counts.
                    let expectedBlocks = index.copiesOffset != nil ? blocks : blocks.map { var b = $0; b.conflictingDuplicates = 0; return b }
                    if index.blocks != expectedBlocks || index.fingerprintCount != sorted.count
                        || !Self.run(at: indexPath, index: index, equals: sorted)
                    {
                        report.problems.append(Problem(file: indexPath, byteOffset: nil, message: "index disagrees with its segment (delete it: the next open rebuilds it)"))
                    }
                } else {
                    report.problems.append(Problem(file: indexPath, byteOffset: nil, message: "index is damaged or stale (delete it: the next open rebuilds it)"))
                }
            }
            fingerprints += segmentIDs.map(\.0)
        }
        fingerprints.sort()
        var duplicates = 0
        for i in fingerprints.indices.dropFirst() where fingerprints[i] == fingerprints[i - 1] { duplicates += 1 }
        if duplicates > 0 {
            report.problems.append(Problem(file: directory, byteOffset: nil, message: "\(duplicates) event ids are stored more than once"))
        }
        return report
    }

    /// Whether the sidecar at `path` lists exactly `sorted`'s fingerprints, with their copies
    /// when its layout has them; false when it cannot be read.
    static func run(at path: String, index: SegmentIndexFile, equals sorted: [(IDFingerprint, StoredCopy)]) -> Bool {
        guard let run = try? FingerprintRun(path: path, index: index), run.count == sorted.count else { return false }
        var i = 0
        var agrees = true
        do {
            try run.forEachMember { fingerprint, copy in
                agrees = agrees && fingerprint == sorted[i].0 && (copy == nil || copy == sorted[i].1)
                i += 1
            }
        } catch {
            return false
        }
        return agrees
    }

    /// Checks one block's records against its header and its raw frame.
    static func check(
        _ block: CheckedBlock, decompressor: ZstdDecompressor, scratch: inout [UInt8], _ seen: (Event, _ content: UInt64) -> Void
    ) throws(EventLogError) {
        let fail = { (message: String) in EventLogError(.corruptBlock, message, file: block.path, byteOffset: block.offset) }
        var unknownTypes = 0
        try block.forEachRecordWithRawAndEncodedBytes(using: decompressor, scratch: &scratch) { (event, raw, encoded) throws(EventLogError) in
            seen(event, ContentFingerprint.of(record: encoded))
            if event.isUnknownType { unknownTypes += 1 }
            if event.time.microseconds < block.header.minTime || event.time.microseconds > block.header.maxTime {
                throw fail("event \(event.id) lies outside the block's time range")
            }
            let reparsed = Array(raw).withUnsafeBytes { try? EventDecoder.decode($0) }
            if reparsed != event {
                throw fail("event \(event.id): its raw bytes do not decode to the stored record")
            }
        }
        guard unknownTypes == Int(block.header.unknownTypes) else {
            throw fail("header counts \(block.header.unknownTypes) events of unknown type, the records hold \(unknownTypes)")
        }
    }
}
