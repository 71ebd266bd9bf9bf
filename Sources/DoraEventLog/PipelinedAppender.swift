import Dispatch

/// Appends batches to a log with compression overlapped: while a worker thread compresses
/// batch k, the caller parses batch k+1. Used by bulk ingestion, where that doubles the pace on
/// two cores.
///
/// Invariants: batches become durable in submission order; a batch is acknowledged (its
/// summary returned) only once durable; ids of a batch in flight count as stored for the next
/// one. Not `Sendable`: one owner, like the log it wraps.
public final class PipelinedAppender {
    private let log: EventLog
    private let encoder: BlockEncoder
    private let queue = DispatchQueue(label: "doralog.log.encode")
    private var inFlight: (PreparedAppend, EncodeJob)?

    public init(log: EventLog) {
        self.log = log
        self.encoder = log.makeEncoder()
    }

    /// Prepares `batch` and starts compressing it; makes the previous batch durable first.
    /// - Returns: the summary of the batch made durable by this call, if any.
    public func submit(_ batch: MessageBatch, offsets: [PartitionOffset] = []) throws(EventLogError) -> AppendSummary? {
        let prepared = try log.prepare(batch, offsets: offsets)
        let completed = try commitInFlight()
        let job = EncodeJob()
        let encoder = self.encoder
        queue.async {
            job.fulfil(Result { () throws(EventLogError) in try encoder.encode(prepared) })
        }
        inFlight = (prepared, job)
        return completed
    }

    /// Makes the batch in flight durable.
    /// - Returns: its summary, or nil when none was in flight.
    public func flush() throws(EventLogError) -> AppendSummary? {
        try commitInFlight()
    }

    private func commitInFlight() throws(EventLogError) -> AppendSummary? {
        guard let (prepared, job) = inFlight else { return nil }
        inFlight = nil
        let block = try job.wait().get()
        try log.commit(prepared, block: block)
        return prepared.summary
    }
}

/// The result slot of one compression job. `@unchecked Sendable`: written once by the worker
/// before it signals the semaphore, read only after waiting on it.
private final class EncodeJob: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<[UInt8], EventLogError>?

    func fulfil(_ result: Result<[UInt8], EventLogError>) {
        self.result = result
        done.signal()
    }

    func wait() -> Result<[UInt8], EventLogError> {
        done.wait()
        return result!
    }
}
