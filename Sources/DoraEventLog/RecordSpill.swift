import DoraEvents

/// Stored records set aside by partition, so that a replay too large to hold every service's
/// state at once can fold one partition of services at a time (docs/replay.md).
///
/// A record goes to the partition of its service's fingerprint, so every event of a service
/// is in one partition. Each fold worker writes through its own `Writer` into its own file,
/// in chunks of one partition's whole records; `fold(partition:into:_:)` then reads the chunks
/// of one partition on every worker. The files are `SpillFile`s: a spill takes disk space only
/// while it exists, and a crash leaves nothing behind. `@unchecked Sendable`: `chunks` and
/// `files` are written only by `writers` and `finish`, before any fold reads them.
public final class RecordSpill: @unchecked Sendable {
    public let partitions: Int
    /// Where the files are made.
    public let directory: String
    /// Per partition, its chunks in every worker's file.
    private var chunks: [[Chunk]]
    private var files: [SpillFile] = []

    /// A chunk: `length` bytes of whole records of one partition at `offset` of file `file`.
    struct Chunk {
        var file: Int
        var offset: Int
        var length: Int
    }

    /// Records of one partition up to about this many bytes make a chunk.
    let chunkBytes: Int

    /// A spill of `partitions` partitions, its files made in `directory` (which must exist).
    public convenience init(partitions: Int, directory: String) {
        self.init(partitions: partitions, directory: directory, chunkBytes: 256 << 10)
    }

    init(partitions: Int, directory: String, chunkBytes: Int) {
        precondition(partitions > 0, "a spill has at least one partition")
        self.partitions = partitions
        self.directory = directory
        self.chunkBytes = chunkBytes
        chunks = Array(repeating: [], count: partitions)
    }

    /// The partition of the service named by these bytes.
    public func partition(ofService service: EventRecord.Bytes) -> Int {
        Self.partition(of: service, among: partitions)
    }

    static func partition(of service: EventRecord.Bytes, among partitions: Int) -> Int {
        Int(IDFingerprint(bytes: service).low % UInt64(partitions))
    }

    /// `count` writers, one per fold worker, each with a file of its own.
    public func writers(_ count: Int) throws(EventLogError) -> [Writer] {
        var out: [Writer] = []
        for _ in 0..<count {
            files.append(try SpillFile(directory: directory))
            out.append(Writer(file: files.count - 1, to: files.last!, partitions: partitions, chunkBytes: chunkBytes))
        }
        return out
    }

    /// Takes what `writers` wrote (after their fold): their last chunks are written, and the
    /// partitions can be folded.
    /// - Throws: the first write that failed (a full disk), with the spill's directory.
    public func finish(_ writers: [Writer]) throws(EventLogError) {
        for var writer in writers {
            try writer.flushAll()
            for (partition, chunk) in writer.chunks { chunks[partition].append(chunk) }
        }
    }

    /// The bytes of records set aside in `partition`, in how many chunks.
    func size(ofPartition partition: Int) -> (bytes: Int, chunks: Int) {
        (chunks[partition].reduce(0) { $0 + $1.length }, chunks[partition].count)
    }

    /// Folds the records of `partition` into one accumulator per worker (`initial.count`), as
    /// `LogReader.fold` folds blocks: for folds that do not depend on event order.
    /// - Throws: `EventLogError` when a chunk cannot be read back or does not parse.
    public func fold<State>(
        partition: Int, into initial: [State], _ add: @escaping @Sendable (inout State, EventRecord) -> Void
    ) throws(EventLogError) -> [State] {
        let list = chunks[partition]
        let fold = ParallelRecordFold(items: list.count, states: initial) { (i, buffers, body) throws(EventLogError) in
            let chunk = list[i]
            let file = self.files[chunk.file]
            buffers.scratch.removeAll(keepingCapacity: true)
            buffers.scratch.append(contentsOf: repeatElement(0, count: chunk.length))
            let read: Result<Void, EventLogError> = buffers.scratch.withUnsafeMutableBytes { b in
                Result { () throws(EventLogError) in try file.read(into: b, at: chunk.offset) }
            }
            try read.get()
            let result: Result<Void, BinaryDecodingError> = buffers.scratch.withUnsafeBytes { raw in
                Result { () throws(BinaryDecodingError) in
                    var reader = BinaryReader(raw)
                    while !reader.isAtEnd {
                        let start = reader.offset
                        let record = try EventRecord.read(from: &reader)
                        body(record, UnsafeRawBufferPointer(rebasing: raw[start..<reader.offset]))
                    }
                }
            }
            if case .failure(let e) = result {
                throw EventLogError(.corruptBlock, "a spilled record does not read back: \(e.description)", file: file.path, byteOffset: chunk.offset)
            }
        }
        return try fold.run { state, record, _ in add(&state, record) }
    }

    /// One fold worker's side of a spill: it buffers each partition's records and appends a
    /// full buffer to its file as a chunk. A failed write is kept (`add` cannot throw inside a
    /// fold) and thrown by `RecordSpill.finish`; nothing is written after it.
    public struct Writer {
        private let chunkBytes: Int
        fileprivate let file: Int
        private let handle: SpillFile
        private let partitions: Int
        private var buffers: [[UInt8]]
        fileprivate private(set) var chunks: [(partition: Int, chunk: Chunk)] = []
        private var failure: EventLogError?

        fileprivate init(file: Int, to handle: SpillFile, partitions: Int, chunkBytes: Int) {
            self.chunkBytes = chunkBytes
            self.file = file
            self.handle = handle
            self.partitions = partitions
            buffers = Array(repeating: [], count: partitions)
        }

        /// Sets aside `record`, whose binary encoding is `encoded`, in its service's partition.
        public mutating func add(_ record: EventRecord, encoded: UnsafeRawBufferPointer) {
            let p = RecordSpill.partition(of: record.service, among: partitions)
            buffers[p].append(contentsOf: encoded)
            if buffers[p].count >= chunkBytes { flush(p) }
        }

        private mutating func flush(_ p: Int) {
            guard !buffers[p].isEmpty, failure == nil else { return }
            let written: Result<Int, EventLogError> = buffers[p].withUnsafeBytes { bytes in
                Result { () throws(EventLogError) in try handle.append(bytes) }
            }
            switch written {
            case .success(let offset): chunks.append((p, Chunk(file: file, offset: offset, length: buffers[p].count)))
            case .failure(let error): failure = error
            }
            buffers[p].removeAll(keepingCapacity: true)
        }

        fileprivate mutating func flushAll() throws(EventLogError) {
            for p in 0..<partitions { flush(p) }
            buffers = []
            if let failure { throw failure }
        }
    }
}
