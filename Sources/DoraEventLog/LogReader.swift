#if canImport(Glibc)
import Glibc
#endif
public import DoraEvents

/// Reads a log for replay, without locking it: a writer may be appending meanwhile.
///
/// Invariants: every block read is checked against its checksum, and a damaged block throws
/// (segment and byte offset), never skipped. A torn tail of the newest segment (an append in
/// flight, or a crash the writer has not yet recovered) is the end of the log for the reader.
/// `@unchecked Sendable` only so that its decode worker may read blocks: the worker is the
/// sole user of the segment files while a replay runs, and the owner waits for it.
public final class LogReader: @unchecked Sendable {
    public let directory: String
    /// Every block, in log order.
    public private(set) var blocks: [BlockLocation] = []
    /// Counts over the whole log, from the block headers.
    public private(set) var totals = LogTotals()
    private var scanners: [UInt32: SegmentScanner] = [:]
    private let decompressor = ZstdDecompressor()

    /// Opens the log in `directory` for reading.
    /// - Throws: `EventLogError` if it is not a log, a segment is missing, or a header is damaged.
    public init(directory: String) throws(EventLogError) {
        self.directory = directory
        guard PosixFile.exists(directory) else {
            throw EventLogError(.notALog, "no such directory; ingest events into it first", file: directory)
        }
        let numbers = try EventLog.segmentNumbers(in: directory)
        guard !numbers.isEmpty else { throw .noSegments(in: directory) }
        for (i, number) in numbers.enumerated() {
            let path = directory + "/" + LogFormat.segmentName(number)
            let isLast = i == numbers.count - 1
            let size = try PosixFile.open(path, flags: O_RDONLY).size
            if isLast && size < LogFormat.segmentHeaderBytes { continue }  // being created
            let scanner = try SegmentScanner(path: path)
            scanners[number] = scanner
            if !isLast, let index = SegmentIndexFile.load(path: directory + "/" + LogFormat.indexName(number), segmentNumber: number, segmentBytes: size) {
                blocks += index.blocks
                continue
            }
            var offset = LogFormat.segmentHeaderBytes
            while offset < scanner.fileSize {
                let header: BlockHeader
                do {
                    header = try scanner.readHeader(at: offset)
                } catch {
                    if isLast && scanner.nextIntactBlock(after: offset) == nil { break }
                    throw error
                }
                blocks.append(header.location(segment: number, offset: offset))
                offset += header.totalBytes
            }
        }
        for b in blocks { totals.add(b) }
    }

    /// The blocks that may hold an event with a time in `range` (all blocks for nil).
    public func blocks(overlapping range: Range<Timestamp>?) -> [BlockLocation] {
        guard let range else { return blocks.filter { $0.recordCount > 0 } }
        return blocks.filter { $0.recordCount > 0 && $0.maxTime >= range.lowerBound && $0.minTime < range.upperBound }
    }

    /// Calls `body` with every stored event of the given blocks, in log order. Blocks are
    /// read and decoded on a worker thread, ahead of `body`.
    /// - Throws: `EventLogError` naming the segment and offset of a damaged block.
    public func forEachEvent(in selected: [BlockLocation], _ body: (Event) -> Void) throws(EventLogError) {
        let pipeline = BlockDecodePipeline(blocks: selected) { (location) throws(EventLogError) in
            try self.read(location)
        }
        try pipeline.forEachEvent(body)
    }

    /// Folds every stored event of `selected` (each read in place, valid only during the call)
    /// into one accumulator per worker thread (`initial.count` workers) and returns them. Only
    /// for folds that do not depend on event order: each block goes to one worker, in no fixed
    /// assignment. Faster than `forEachEvent` into one accumulator: no event crosses a thread.
    /// - Throws: `EventLogError` naming the segment and offset of a damaged block.
    public func fold<State>(
        _ selected: [BlockLocation], into initial: [State], _ add: @escaping @Sendable (inout State, EventRecord) -> Void
    ) throws(EventLogError) -> [State] {
        try foldEncoded(selected, into: initial) { state, record, _ in add(&state, record) }
    }

    /// `fold`, also giving each record's binary encoding (valid only during the call): what a
    /// partitioned replay sets aside (`RecordSpill`).
    public func foldEncoded<State>(
        _ selected: [BlockLocation], into initial: [State],
        _ add: @escaping @Sendable (inout State, EventRecord, UnsafeRawBufferPointer) -> Void
    ) throws(EventLogError) -> [State] {
        let fold = ParallelRecordFold(items: selected.count, states: initial) { (i, buffers, body) throws(EventLogError) in
            let block = try self.read(selected[i])
            try block.forEachEncodedRecord(using: buffers.decompressor, scratch: &buffers.scratch) { record, _, encoded in
                body(record, encoded)
            }
        }
        return try fold.run(add)
    }

    /// Calls `body` with every stored event (optionally only blocks overlapping `range`).
    public func forEachEvent(overlapping range: Range<Timestamp>? = nil, _ body: (Event) -> Void) throws(EventLogError) {
        try forEachEvent(in: blocks(overlapping: range), body)
    }

    /// Calls `body` with every stored event and its raw bytes exactly as received.
    public func forEachEventWithRawBytes(_ body: (Event, ArraySlice<UInt8>) -> Void) throws(EventLogError) {
        var scratch: [UInt8] = []
        for location in blocks where location.recordCount > 0 {
            try read(location).forEachRecordWithRawBytes(using: decompressor, scratch: &scratch) { event, raw in
                body(event, raw)
            }
        }
    }

    private func path(_ location: BlockLocation) -> String {
        directory + "/" + LogFormat.segmentName(location.segment)
    }

    private func read(_ location: BlockLocation) throws(EventLogError) -> CheckedBlock {
        guard let scanner = scanners[location.segment] else {
            throw EventLogError(.badSegment, "segment vanished while reading", file: path(location))
        }
        do {
            return try scanner.readBlock(at: location.offset)
        } catch {
            throw error.located(file: path(location), byteOffset: location.offset)
        }
    }
}
