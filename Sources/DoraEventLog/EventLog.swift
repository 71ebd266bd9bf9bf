#if canImport(Glibc)
import Glibc
#endif
import DoraEvents
public import Logging

/// The append-only event log, opened for writing: the source of truth of doralog.
///
/// Invariants:
/// - an event id is stored at most once (the id index survives restarts, rebuilt if lost);
/// - `append` returns only once its block (and its dead letters) are fsynced: what it
///   acknowledges survives a crash; a crash loses at most the append in flight;
/// - on open, a torn tail is cut (logged with the bytes dropped); damage anywhere else stops
///   the open with the segment and byte offset, never skipped;
/// - one writer per directory (an exclusive lock on `DIR/lock`).
/// Not `Sendable`: it has one owner (the ingest loop), which calls it from one thread at a time.
public final class EventLog {
    public let directory: String
    public let configuration: LogConfiguration
    /// Counts over the whole log, from its block headers.
    public private(set) var totals = LogTotals()
    /// Per Kafka topic-partition, the next offset after the last message made durable.
    public private(set) var partitionOffsets: [TopicPartition: Int64] = [:]

    private let logger: Logger
    private let lock: PosixFile
    private var current: PosixFile
    private var currentNumber: UInt32
    private var currentSize: Int
    private var currentBlocks: [BlockLocation] = []
    /// Events stored in the current segment: the ordinal the next one gets (`StoredCopy`).
    private var currentRecords = 0
    private var currentOffsets: [TopicPartition: Int64] = [:]
    private var idIndex: IDIndex
    private let deadLetters: DeadLetterStore
    /// Set after a failed write or fsync: the file's state is unknown, so no further append.
    private var failure: EventLogError?

    private let encoder: BlockEncoder
    /// Ids prepared but not yet committed (pipelined appends in flight), oldest first.
    private var inFlight: [FingerprintMap] = []
    /// Buffers of committed appends, reused by the next `prepare` (no fresh pages per batch).
    private var spare: (records: [UInt8], raw: [UInt8])?

    /// Opens (creating if missing) the log in `directory`, recovering from a crash.
    /// - Parameters:
    ///   - createAmongOtherFiles: make a new log in a directory that holds files a log does not
    ///     write (without it, such a directory is refused: it is probably a mistake).
    ///   - deferringIDIndex: read the sealed segments' ids into the id index only on its first
    ///     use (`loadIDIndex`), not here: for a process that reads the log before it appends
    ///     (`doralog run` replays it first), so that the bloom filter is not held while it
    ///     reads. The open checks and repairs as it always does.
    /// - Throws: `EventLogError` when the directory cannot be used, is not empty and not a log,
    ///   another process writes to it, or a segment is damaged anywhere but its torn tail.
    public init(
        directory: String, configuration: LogConfiguration = LogConfiguration(),
        logger: Logger = Logger(label: "doralog.log"), createAmongOtherFiles: Bool = false, deferringIDIndex: Bool = false
    ) throws(EventLogError) {
        self.directory = directory
        self.configuration = try configuration.validated()
        self.logger = logger
        if !createAmongOtherFiles && PosixFile.exists(directory) {
            let names = try PosixFile.list(directory)
            let others = names.filter { !LogFormat.isLogFileName($0) }.sorted()
            if !others.isEmpty && !names.contains(where: { LogFormat.segmentNumber(fromName: $0) != nil }) {
                throw EventLogError(
                    .notALog,
                    "\(directory) is not empty and is not a doralog event log (it holds "
                        + others.prefix(3).joined(separator: ", ") + (others.count > 3 ? ", ..." : "")
                        + "); give a new or empty directory (`ingest --create` makes a log there anyway)")
            }
        }
        try PosixFile.makeDirectory(directory)
        lock = try PosixFile.open(directory + "/lock", flags: O_RDWR | O_CREAT)
        guard lock.lockExclusively() else {
            throw EventLogError(
                .io, "another process is writing to this log; stop it or use another directory", file: directory)
        }
        encoder = BlockEncoder(level: Int32(configuration.zstdLevel))
        deadLetters = try DeadLetterStore(directory: directory)

        var numbers = try Self.segmentNumbers(in: directory)
        if numbers.isEmpty {
            try Self.createSegment(number: 1, directory: directory)
            numbers = [1]
        }
        // Sealed segments: their sidecars (rebuilt when missing or stale), each read once:
        // checked, then its fingerprints counted in the bloom and its fences taken from the
        // same bytes. So the bloom is sized first, from the sidecars' sizes (at most one id per
        // `SegmentIndexFile.bytesPerID`); it grows should that fall short. A deferred index
        // sizes it when it reads the ids (`IDIndex.loadDeferredRuns`).
        let sealedNumbers = numbers.dropLast()
        let estimate = deferringIDIndex ? 0 : sealedNumbers.reduce(0) { total, number in
            let sidecar = try? PosixFile.open(directory + "/" + LogFormat.indexName(number), flags: O_RDONLY).size
            return total + (sidecar ?? 0) / SegmentIndexFile.bytesPerID
        }
        // Built in a local and stored once at the end: a copy held in `self` meanwhile would
        // make the first insert copy the whole bloom filter (250 MB at 100M ids).
        var ids = IDIndex(bitsPerID: configuration.bloomBitsPerID, expectedCount: estimate + 1_000_000)
        for number in sealedNumbers {
            let (index, path, bytes) = try Self.loadOrRebuildSidecar(number: number, directory: directory, logger: logger)
            if deferringIDIndex {
                ids.deferRun(path: path, index: index)
            } else {
                try ids.addRun(path: path, index: index, bytes: bytes)
            }
            for b in index.blocks { totals.add(b) }
            for o in index.offsets { partitionOffsets[TopicPartition(topic: o.topic, partition: o.partition)] = o.nextOffset }
        }
        // The last segment: scan every block, cut a torn tail.
        currentNumber = numbers.last!
        let path = directory + "/" + LogFormat.segmentName(currentNumber)
        PosixFile.remove(directory + "/" + LogFormat.indexName(currentNumber))
        try Self.repairTornSegmentHeader(path: path, number: currentNumber, logger: logger)
        let scanner = try SegmentScanner(path: path)
        let decompressor = ZstdDecompressor()
        var scratch: [UInt8] = []
        var blocks: [BlockLocation] = []
        var totals = self.totals
        var offsets = partitionOffsets
        var currentOffsets: [TopicPartition: Int64] = [:]
        var records = 0
        let outcome = try scanner.scan { (checked) throws(EventLogError) in
            try checked.forEachEncodedRecord(using: decompressor, scratch: &scratch) { (record, _, encoded) throws(EventLogError) in
                try ids.insertActive(
                    IDFingerprint(bytes: record.id), StoredCopy(content: ContentFingerprint.of(record: encoded), ordinal: UInt32(records)))
                records += 1
            }
            let location = checked.location(segment: scanner.segmentNumber)
            blocks.append(location)
            totals.add(location)
            for o in checked.header.offsets {
                let key = TopicPartition(topic: o.topic, partition: o.partition)
                offsets[key] = o.nextOffset
                currentOffsets[key] = o.nextOffset
            }
        }
        if let damage = outcome.damage {
            guard outcome.isTail else {
                throw EventLogError(
                    .corruptBlock,
                    "damaged block in the middle of the log (\(damage.message)); an intact block follows at byte "
                        + "\(outcome.nextIntact ?? -1). Run `doralog verify` and restore this segment from a copy or re-ingest from source",
                    file: path, byteOffset: outcome.validEnd)
            }
            let file = try PosixFile.open(path, flags: O_WRONLY)
            try file.truncate(to: outcome.validEnd)
            try file.sync()
            logger.warning(
                "cut the torn tail of the log: \(scanner.fileSize - outcome.validEnd) bytes dropped after the last complete block",
                metadata: ["log.segment": "\(path)", "log.offset": "\(outcome.validEnd)", "log.reason": "\(damage.message)"])
        }
        idIndex = ids
        self.totals = totals
        partitionOffsets = offsets
        self.currentOffsets = currentOffsets
        currentBlocks = blocks
        currentRecords = records
        currentSize = outcome.validEnd
        current = try PosixFile.open(path, flags: O_WRONLY | O_APPEND)
    }

    /// Reads the sealed segments' ids into the id index if the open deferred it
    /// (`deferringIDIndex`): at 100M stored ids, a few seconds and about 180 MB. A no-op
    /// otherwise, or once done. Every use of the index does it first; a process calls it to
    /// choose when that time is spent.
    /// - Returns: whether it read anything.
    /// - Throws: `EventLogError` (`.io`) when a sidecar cannot be read; the segments not read
    ///   yet stay deferred, and the next use of the index tries them again.
    @discardableResult
    public func loadIDIndex() throws(EventLogError) -> Bool {
        guard !idIndex.isLoaded else { return false }
        try idIndex.loadDeferredRuns(keeping: inFlight)
        return true
    }

    /// Whether the id index holds every sealed segment's ids (false after a deferred open,
    /// until its first use).
    var isIDIndexLoaded: Bool { idIndex.isLoaded }

    /// Whether an event with this id is stored.
    /// - Throws: `EventLogError` (`.io`) when a sealed segment's id index cannot be read.
    public func contains(id: String) throws(EventLogError) -> Bool {
        try loadIDIndex()
        return try idIndex.contains(IDFingerprint(id: id))
    }

    /// Prepares the id index for about `count` more ids (a bulk ingest's estimate), so that
    /// it does not grow step by step on the way. Costs 1.25 B of memory per id at the default
    /// `bloomBitsPerID`; a wrong estimate costs only time or that memory.
    /// - Throws: `EventLogError` (`.io`) when a sealed segment's id index cannot be re-read.
    public func reserveCapacity(forNewIDs count: Int) throws(EventLogError) {
        try loadIDIndex()
        try idIndex.reserveCapacity(count, keeping: inFlight)
    }

    /// The number of the segment being written.
    public var activeSegment: UInt32 { currentNumber }

    // MARK: - Append

    /// Validates, de-duplicates and stores a batch of messages, durably.
    ///
    /// Each message ends as exactly one of stored, duplicate (its id is stored already, or
    /// earlier in this batch) or rejected (to the dead-letter store with its reason). The
    /// events and `offsets` are written in one block, fsynced before this returns.
    /// - Parameter offsets: Kafka positions this batch completes, stored with it atomically.
    /// - Throws: `EventLogError` on an I/O failure; the log then refuses further appends
    ///   (reopen it: recovery cuts whatever the failed write left).
    public func append(_ batch: MessageBatch, offsets: [PartitionOffset] = []) throws(EventLogError) -> AppendSummary {
        let prepared = try prepare(batch, offsets: offsets)
        try commit(prepared, block: try encoder.encode(prepared))
        return prepared.summary
    }

    /// `append`, also giving the events it stored (each exactly once, in batch order): what a
    /// live consumer of the log adds to its state. They are the binary records the append
    /// encoded, not the messages parsed again.
    public func appendReportingStored(
        _ batch: MessageBatch, offsets: [PartitionOffset] = []
    ) throws(EventLogError) -> (summary: AppendSummary, stored: StoredRecords) {
        let prepared = try prepare(batch, offsets: offsets)
        let block = try encoder.encode(prepared)
        // The caller gets a copy of exactly the records' size. The prepared buffer is kept for
        // the next append (`spare`) and has the capacity of the largest batch so far: shared
        // with the caller, it would be copied whole for every later batch, however small, and a
        // queue of them would hold several times the bytes it counts.
        let records = prepared.records
        let frame = [UInt8](unsafeUninitializedCapacity: records.count) { buffer, initialized in
            initialized = buffer.initialize(fromContentsOf: records)
        }
        let stored = StoredRecords(frame: frame, count: prepared.summary.stored)
        let summary = prepared.summary
        try commit(prepared, block: block)
        return (summary, stored)
    }

    /// Stage 1 of an append, on the owner's thread: parse, validate and de-duplicate.
    /// The ids it accepts count as stored for later `prepare` calls until committed.
    /// Large batches are decoded in pieces on all cores; de-duplication then runs in message
    /// order, so the result is the same as decoding one message after another.
    func prepare(_ batch: MessageBatch, offsets: [PartitionOffset]) throws(EventLogError) -> PreparedAppend {
        try prepare(batch, decoded: DecodedChunk.decode(batch), offsets: offsets)
    }

    /// `prepare`, given the batch decoded already (`DecodedChunk.decode`, on any thread).
    func prepare(_ batch: MessageBatch, decoded chunks: [DecodedChunk], offsets: [PartitionOffset]) throws(EventLogError) -> PreparedAppend {
        if let failure { throw EventLogError(.io, "the log failed earlier (\(failure.message)); reopen it", file: directory) }
        try loadIDIndex()
        var p = PreparedAppend()
        if let spare {
            p.records = spare.records
            p.raw = spare.raw
            self.spare = nil
            p.records.removeAll(keepingCapacity: true)
            p.raw.removeAll(keepingCapacity: true)
        }
        p.summary.read = batch.count
        p.records.reserveCapacity(batch.byteCount / 2)
        p.raw.reserveCapacity(batch.byteCount + batch.count)
        p.records.append(EventBinaryCodec.version)

        var pending = FingerprintMap(minimumCapacity: batch.count)
        let inFlight = self.inFlight
        // The index is moved out for the batch and back after, so that marking its bloom
        // mutates it in place: a copy held here would copy the whole filter on the first mark,
        // and each access to the property would be checked for exclusivity.
        var index = IDIndex.placeholder
        swap(&index, &idIndex)
        defer { swap(&index, &idIndex) }
        try index.makeRoom(for: chunks.reduce(0) { $0 + $1.count }, keeping: inFlight)
        for chunk in chunks {
            p.deadLetters += chunk.deadLetters
            p.summary.rejected += chunk.rejected
            // Stored messages are copied in runs: a duplicate ends one.
            var runStart = 0
            func copyRun(to end: Int) {
                guard runStart < end else { return }
                p.records += chunk.recordBytes(runStart, end)
                p.raw += chunk.rawBytes(runStart, end)
            }
            for j in 0..<chunk.count {
                if j + IDIndex.prefetchDistance < chunk.count { index.prefetch(chunk.fingerprints[j + IDIndex.prefetchDistance]) }
                let fingerprint = chunk.fingerprints[j]
                let content = chunk.contents[j]
                // Only an id the bloom may hold can be pending, in flight or stored.
                var stored: StoredCopy? = nil
                if index.mayContain(fingerprint) {
                    stored = pending[fingerprint] ?? inFlight.lazy.compactMap { $0[fingerprint] }.first
                    if stored == nil { stored = try index.storedCopy(of: fingerprint)?.copy }
                }
                if let stored {
                    p.summary.duplicates += 1
                    if stored.content != content {
                        p.summary.conflictingDuplicates += 1
                        p.conflicts.append(chunk.conflict(j, source: batch.sources[chunk.messageIndices[j]]))
                    }
                    copyRun(to: j)
                    runStart = j + 1
                    continue
                }
                pending.insert(fingerprint, StoredCopy(content: content, ordinal: UInt32(p.fingerprints.count)))
                index.mark(fingerprint)
                p.fingerprints.append(fingerprint)
                p.contents.append(content)
                p.minTime = min(p.minTime, chunk.times[j])
                p.maxTime = max(p.maxTime, chunk.times[j])
                p.summary.stored += 1
                if chunk.unknownType[j] { p.summary.unknownTypes += 1 }
            }
            copyRun(to: chunk.count)
        }
        self.inFlight.append(pending)
        p.offsets = offsets.filter {
            partitionOffsets[TopicPartition(topic: $0.topic, partition: $0.partition)] != $0.nextOffset
        }
        return p
    }

    /// Stage 3 of an append, on the owner's thread, in prepare order: make it durable.
    func commit(_ p: consuming PreparedAppend, block: [UInt8]) throws(EventLogError) {
        if let failure { throw EventLogError(.io, "the log failed earlier (\(failure.message)); reopen it", file: directory) }
        do {
            if !block.isEmpty && currentSize > LogFormat.segmentHeaderBytes
                && currentSize + block.count > configuration.segmentBytes
            {
                try roll()
            }
            let location = BlockLocation(
                segment: currentNumber, offset: currentSize, totalBytes: block.count, recordCount: p.summary.stored,
                duplicates: p.summary.duplicates, conflictingDuplicates: p.summary.conflictingDuplicates,
                rejected: p.summary.rejected, unknownTypes: p.summary.unknownTypes,
                minTime: Timestamp(microseconds: p.summary.stored > 0 ? p.minTime : 0),
                maxTime: Timestamp(microseconds: p.summary.stored > 0 ? p.maxTime : 0))
            // The ids count as stored from here: a conflict of this append finds its copy,
            // whether that is in this block or an earlier one. Should a write below fail, the
            // log refuses every further append, so nothing reads them.
            idIndex.insertMarkedActive(p.fingerprints, contents: p.contents, firstOrdinal: UInt32(currentRecords))
            let lines = p.conflicts.isEmpty ? p.deadLetters : p.deadLetters + (try conflictLines(p.conflicts, pendingBlock: location))
            try deadLetters.write(lines)
            if !block.isEmpty { try writeBlock(block, location) }
        } catch {
            failure = error
            throw error
        }
        inFlight.removeFirst()
        for o in p.offsets {
            let key = TopicPartition(topic: o.topic, partition: o.partition)
            partitionOffsets[key] = o.nextOffset
            currentOffsets[key] = o.nextOffset
        }
        totals.stored += p.summary.stored
        totals.duplicates += p.summary.duplicates
        totals.conflictingDuplicates += p.summary.conflictingDuplicates
        totals.rejected += p.summary.rejected
        totals.ignored += p.summary.unknownTypes
        spare = (p.records, p.raw)
    }

    /// The dead-letter lines of conflicting duplicates, each naming where the stored copy of
    /// its id is: segment, block offset and record. `pendingBlock` is the block about to be
    /// written, which may hold copies stored by the same append.
    private func conflictLines(_ conflicts: [PendingConflict], pendingBlock: BlockLocation) throws(EventLogError) -> [UInt8] {
        guard !conflicts.isEmpty else { return [] }
        var lines: [UInt8] = []
        let activeBlocks = currentBlocks + [pendingBlock]
        for conflict in conflicts {
            var place: StoredPlace?
            if let (copy, run) = try idIndex.storedCopy(of: conflict.fingerprint) {
                place = StoredPlace(ordinal: copy.ordinal, in: run?.blocks ?? activeBlocks)
            }
            DeadLetterStore.appendConflictLine(conflict, storedAt: place, to: &lines)
        }
        return lines
    }

    /// A fresh encoder (stage 2), for a pipeline's worker thread.
    func makeEncoder() -> BlockEncoder { BlockEncoder(level: Int32(configuration.zstdLevel)) }

    /// Writes and fsyncs a block at the end of the current segment (`location` says where).
    private func writeBlock(_ block: [UInt8], _ location: BlockLocation) throws(EventLogError) {
        let offset = currentSize
        do {
            try current.write(block)
            try current.sync()
        } catch {
            // Leave no partial block behind if we can; recovery would cut it anyway.
            try? current.truncate(to: offset)
            throw error
        }
        currentSize += block.count
        currentBlocks.append(location)
        currentRecords += location.recordCount
    }

    /// Starts the next segment, then seals the current one with its sidecar.
    private func roll() throws(EventLogError) {
        let next = currentNumber + 1
        try Self.createSegment(number: next, directory: directory)
        let sealedNumber = currentNumber
        let offsets = currentOffsets.sorted { $0.key < $1.key }.map {
            PartitionOffset(topic: $0.key.topic, partition: $0.key.partition, nextOffset: $0.value)
        }
        let sidecarPath = directory + "/" + LogFormat.indexName(sealedNumber)
        // Written from the active map's members, sorted in place: the map, full at this point,
        // is the index's largest part, and nothing of its size is allocated beside it.
        try idIndex.sealActive(path: sidecarPath) { (members) throws(EventLogError) in
            try SegmentIndexFile.write(
                to: sidecarPath, directory: directory, segmentNumber: sealedNumber, segmentBytes: currentSize, blocks: currentBlocks,
                offsets: offsets, members: members)
        }
        current = try PosixFile.open(directory + "/" + LogFormat.segmentName(next), flags: O_WRONLY | O_APPEND)
        currentNumber = next
        currentSize = LogFormat.segmentHeaderBytes
        currentBlocks = []
        currentRecords = 0
        currentOffsets = [:]
        logger.info("started a new segment", metadata: ["log.segment": "\(LogFormat.segmentName(next))"])
    }

    // MARK: - Opening helpers

    static func segmentNumbers(in directory: String) throws(EventLogError) -> [UInt32] {
        let numbers = try PosixFile.list(directory).compactMap(LogFormat.segmentNumber(fromName:)).sorted()
        for (i, n) in numbers.enumerated() where i > 0 && n != numbers[i - 1] + 1 {
            throw EventLogError(
                .badSegment, "segment \(numbers[i - 1] + 1) is missing between \(numbers[i - 1]) and \(n); restore it from a copy",
                file: directory)
        }
        return numbers
    }

    /// Creates a segment holding only its header, durably (file and directory fsynced).
    static func createSegment(number: UInt32, directory: String) throws(EventLogError) {
        let path = directory + "/" + LogFormat.segmentName(number)
        let file = try PosixFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL)
        try file.write(LogFormat.encodeSegmentHeader(number: number, createdMicroseconds: Timestamp.now().microseconds))
        try file.sync()
        try PosixFile.syncDirectory(directory)
    }

    /// A crash while creating the last segment can leave its header torn: rewrite it then.
    static func repairTornSegmentHeader(path: String, number: UInt32, logger: Logger) throws(EventLogError) {
        let file = try PosixFile.open(path, flags: O_RDWR)
        let size = try file.size
        guard size < LogFormat.segmentHeaderBytes else { return }
        try file.truncate(to: 0)
        try file.write(LogFormat.encodeSegmentHeader(number: number, createdMicroseconds: Timestamp.now().microseconds))
        try file.sync()
        logger.warning("rewrote the torn header of the newest segment (\(size) bytes were there)", metadata: ["log.segment": "\(path)"])
    }

    /// The sidecar of sealed segment `number`, its path, and its bytes when it was read (not
    /// when it had to be rebuilt).
    static func loadOrRebuildSidecar(
        number: UInt32, directory: String, logger: Logger
    ) throws(EventLogError) -> (SegmentIndexFile, String, [UInt8]?) {
        let segmentPath = directory + "/" + LogFormat.segmentName(number)
        let path = directory + "/" + LogFormat.indexName(number)
        let size = try PosixFile.open(segmentPath, flags: O_RDONLY).size
        let existing = SegmentIndexFile.loadWithBytes(path: path, segmentNumber: number, segmentBytes: size)
        if let existing, existing.index.copiesOffset != nil {
            return (existing.index, path, existing.bytes)
        }
        logger.notice(
            existing == nil ? "rebuilding the index of a sealed segment" : "rebuilding a sealed segment's index of an older layout",
            metadata: ["log.segment": "\(segmentPath)"])
        let scanner = try SegmentScanner(path: segmentPath)
        let decompressor = ZstdDecompressor()
        var scratch: [UInt8] = []
        var members: [(IDFingerprint, StoredCopy)] = []
        var blocks: [BlockLocation] = []
        var offsets: [TopicPartition: Int64] = [:]
        let outcome = try scanner.scan { (checked) throws(EventLogError) in
            try checked.forEachEncodedRecord(using: decompressor, scratch: &scratch) { record, _, encoded in
                members.append(
                    (IDFingerprint(bytes: record.id),
                     StoredCopy(content: ContentFingerprint.of(record: encoded), ordinal: UInt32(members.count))))
            }
            blocks.append(checked.location(segment: number))
            for o in checked.header.offsets { offsets[TopicPartition(topic: o.topic, partition: o.partition)] = o.nextOffset }
        }
        if let damage = outcome.damage {
            throw EventLogError(
                .corruptBlock,
                "damaged block in sealed segment (\(damage.message)); run `doralog verify` and restore the segment from a copy",
                file: segmentPath, byteOffset: outcome.validEnd)
        }
        members.sort { $0.0 < $1.0 }
        let index = try SegmentIndexFile.write(
            to: path, directory: directory, segmentNumber: number, segmentBytes: size, blocks: blocks,
            offsets: offsets.sorted { $0.key < $1.key }.map { PartitionOffset(topic: $0.key.topic, partition: $0.key.partition, nextOffset: $0.value) },
            members: members)
        return (index, path, nil)
    }
}

extension CheckedBlock {
    func location(segment: UInt32) -> BlockLocation {
        header.location(segment: segment, offset: offset)
    }
}
