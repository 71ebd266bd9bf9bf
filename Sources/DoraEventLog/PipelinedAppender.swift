import Dispatch

/// Appends batches to a log in a pipeline that keeps every core busy. Used by bulk ingestion.
///
/// A batch passes three stages: it is decoded (validated and encoded, on worker threads), then
/// de-duplicated and assembled (on the owner's thread), then compressed (on a worker thread)
/// and finally made durable (on the owner's thread). While the owner reads batch k+1, batch k
/// is decoded and earlier batches are compressed, up to three at once: compression is the
/// largest stage, and with one batch compressed at a time a core waited for it while the
/// other stages had nothing to do (about a tenth of a file ingest's time on two cores).
///
/// Invariants: batches become durable in submission order; a batch is acknowledged (its
/// summary returned) only once durable; ids of a batch in flight count as stored for the next
/// one. Not `Sendable`: one owner, like the log it wraps.
public final class PipelinedAppender {
    private let log: EventLog
    /// One encoder per batch that can be compressing at once (`compressDepth + 1`), used in
    /// turn: batch k's encoder is free again once batch k is committed, before batch
    /// k + compressDepth + 1 is compressed.
    private let encoders: [BlockEncoder]
    private var nextEncoder = 0
    private let compression = DispatchQueue(label: "doralog.log.encode", attributes: .concurrent)
    /// Batches being decoded, oldest first; at most `decodeDepth`.
    private var decoding: [(batch: MessageBatch, offsets: [PartitionOffset], job: Job<[DecodedChunk]>)] = []
    /// Batches being compressed, oldest first: at most `compressDepth` between calls, one more for a
    /// moment in `advance` (a new batch starts before the oldest is committed).
    private var compressing: [(prepared: PreparedAppend, job: Job<Result<[UInt8], EventLogError>>)] = []
    private let decodeDepth = 1
    private let compressDepth = 2

    public init(log: EventLog) {
        self.log = log
        self.encoders = (0...compressDepth).map { _ in log.makeEncoder() }
    }

    /// Starts `batch` down the pipeline; moves the batches ahead of it on by one stage.
    /// - Returns: the summary of the batch made durable by this call, if any.
    public func submit(_ batch: MessageBatch, offsets: [PartitionOffset] = []) throws(EventLogError) -> AppendSummary? {
        let job = Job<[DecodedChunk]>()
        DispatchQueue.global().async { job.fulfil(DecodedChunk.decode(batch)) }
        decoding.append((batch, offsets, job))
        guard decoding.count > decodeDepth else { return nil }
        return try advance()
    }

    /// Makes every batch in the pipeline durable.
    /// - Returns: their summary, or nil when none was in flight.
    public func flush() throws(EventLogError) -> AppendSummary? {
        var total: AppendSummary?
        while !decoding.isEmpty || !compressing.isEmpty {
            if let done = try advance() {
                total = total ?? AppendSummary()
                total! += done
            }
        }
        return total
    }

    /// Moves the oldest decoded batch to compression, and commits the oldest compressed batch
    /// when compression is full (or nothing is left to decode).
    private func advance() throws(EventLogError) -> AppendSummary? {
        if !decoding.isEmpty {
            let (batch, offsets, job) = decoding.removeFirst()
            let prepared = try log.prepare(batch, decoded: job.wait(), offsets: offsets)
            let encoding = Job<Result<[UInt8], EventLogError>>()
            let encoder = encoders[nextEncoder]
            nextEncoder = (nextEncoder + 1) % encoders.count
            compression.async {
                encoding.fulfil(Result { () throws(EventLogError) in try encoder.encode(prepared) })
            }
            compressing.append((prepared, encoding))
            guard compressing.count > compressDepth else { return nil }
        }
        guard !compressing.isEmpty else { return nil }
        let (prepared, job) = compressing.removeFirst()
        let block = try job.wait().get()
        try log.commit(prepared, block: block)
        return prepared.summary
    }
}

/// The result slot of one job on a worker thread. `@unchecked Sendable`: written once by the
/// worker before it signals the semaphore, read only after waiting on it.
private final class Job<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var value: Value?

    func fulfil(_ value: Value) {
        self.value = value
        done.signal()
    }

    func wait() -> Value {
        done.wait()
        return value!
    }
}
