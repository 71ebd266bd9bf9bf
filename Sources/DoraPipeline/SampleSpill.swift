import DoraEventLog
import DoraMetrics
import Synchronization

/// A `SampleStore` in a `SpillFile`: where a partitioned replay sets each partition's sorted
/// samples aside once the partition is analysed, for the reports to read back.
///
/// The store's calls cannot throw (the statistics that read them do not), so the first
/// failed write or read is kept and thrown by `check()`; a failed read fills its buffer with
/// zeros. Invariant: the file holds only the values appended, 8 bytes each.
final class SampleSpill: SampleStore {
    private let file: SpillFile
    private let failure = Mutex<EventLogError?>(nil)
    /// Values appended and not yet written (a service's week of one metric is a few values:
    /// a write each would cost more than the values), and the position of the first.
    private let pending = Mutex<(values: [Int64], position: Int)>(([], 0))
    /// Pending values are written once this many are held.
    private static let writtenFrom = 128 << 10

    init(directory: String) throws(EventLogError) {
        file = try SpillFile(directory: directory)
    }

    func append(_ values: UnsafeBufferPointer<Int64>) -> Int {
        pending.withLock { pending in
            let position = pending.position + pending.values.count
            pending.values += values
            if pending.values.count >= Self.writtenFrom { write(&pending) }
            return position
        }
    }

    /// Writes the pending values, which then start after them.
    private func write(_ pending: inout (values: [Int64], position: Int)) {
        let written: Result<Int, EventLogError> = pending.values.withUnsafeBytes { bytes in
            Result { () throws(EventLogError) in try file.append(bytes) }
        }
        if case .failure(let error) = written { keep(error) }
        pending.position += pending.values.count
        pending.values.removeAll(keepingCapacity: true)
    }

    func read(from position: Int, into buffer: UnsafeMutableBufferPointer<Int64>) {
        // What is read was appended before: written, unless it is still pending.
        pending.withLock { pending in
            if position + buffer.count > pending.position && !pending.values.isEmpty { write(&pending) }
        }
        do {
            try file.read(into: UnsafeMutableRawBufferPointer(buffer), at: position * MemoryLayout<Int64>.size)
        } catch {
            keep(error)
            buffer.update(repeating: 0)
        }
    }

    private func keep(_ error: EventLogError) {
        failure.withLock { if $0 == nil { $0 = error } }
    }

    /// Throws the first write or read that failed, if one did.
    func check() throws(EventLogError) {
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
