/// Input messages for one append: their bytes, back to back, and where each came from.
///
/// Invariant: `ranges[i]` lies within `bytes` and `sources[i]` is message i's origin. Reused
/// across appends (`removeAll` keeps capacity) so the ingest loop does not allocate per message.
public struct MessageBatch: Sendable {
    public private(set) var bytes: [UInt8] = []
    public private(set) var ranges: [Range<Int>] = []
    public private(set) var sources: [MessageSource] = []
    /// Messages too large to keep whole: index -> their real size. Only a prefix is kept
    /// (enough to show in the dead-letter store); they are rejected as too large.
    public private(set) var oversized: [Int: Int] = [:]
    /// Messages an input format could not map onto events (a message of a CDEvents source
    /// that is no CDEvent): index -> why. They are rejected with reason `unmappable_input`.
    public private(set) var unmappable: [Int: String] = [:]

    public init() {}

    /// Adds a message that is rejected for `reason` without being decoded.
    public mutating func appendUnmappable(_ message: UnsafeRawBufferPointer, reason: String, source: MessageSource) {
        unmappable[ranges.count] = reason
        append(message, source: source)
    }

    /// Adds the kept prefix of a message whose real size, `totalBytes`, is over the limit.
    public mutating func appendOversized(prefix: UnsafeRawBufferPointer, totalBytes: Int, source: MessageSource) {
        oversized[ranges.count] = totalBytes
        append(prefix, source: source)
    }

    public var count: Int { ranges.count }
    public var isEmpty: Bool { ranges.isEmpty }
    public var byteCount: Int { bytes.count }

    /// Adds one message (its bytes without any line end).
    public mutating func append(_ message: UnsafeRawBufferPointer, source: MessageSource) {
        let start = bytes.count
        bytes.append(contentsOf: message)
        ranges.append(start..<bytes.count)
        sources.append(source)
    }

    /// Adds one message held in an array.
    public mutating func append(_ message: [UInt8], source: MessageSource) {
        message.withUnsafeBytes { append($0, source: source) }
    }

    /// Adds one message held in a string.
    public mutating func append(_ message: String, source: MessageSource) {
        append(Array(message.utf8), source: source)
    }

    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ranges.removeAll(keepingCapacity: true)
        sources.removeAll(keepingCapacity: true)
        oversized.removeAll()
        unmappable.removeAll()
    }
}

/// What one append did with its messages: every message is exactly one of stored,
/// duplicate or rejected (`read == stored + duplicates + rejected`).
public struct AppendSummary: Sendable, Equatable {
    public var read = 0
    public var stored = 0
    public var duplicates = 0
    /// Of the duplicates, those whose content differs from the stored copy (each also in the
    /// dead-letter store, reason `conflicting_duplicate`); the stored copy is kept.
    public var conflictingDuplicates = 0
    public var rejected = 0
    /// Of the stored events, those of a type this version does not know (kept, ignored by
    /// the metrics).
    public var unknownTypes = 0

    public init(
        read: Int = 0, stored: Int = 0, duplicates: Int = 0, conflictingDuplicates: Int = 0, rejected: Int = 0,
        unknownTypes: Int = 0
    ) {
        self.read = read
        self.stored = stored
        self.duplicates = duplicates
        self.conflictingDuplicates = conflictingDuplicates
        self.rejected = rejected
        self.unknownTypes = unknownTypes
    }

    public static func += (lhs: inout AppendSummary, rhs: AppendSummary) {
        lhs.read += rhs.read
        lhs.stored += rhs.stored
        lhs.duplicates += rhs.duplicates
        lhs.conflictingDuplicates += rhs.conflictingDuplicates
        lhs.rejected += rhs.rejected
        lhs.unknownTypes += rhs.unknownTypes
    }

    /// The one-line summary `doralog ingest` prints.
    public var line: String {
        "read \(read), stored \(stored)" + (unknownTypes > 0 ? " (\(unknownTypes) of unknown type)" : "")
            + ", duplicates \(duplicates)" + (conflictingDuplicates > 0 ? " (\(conflictingDuplicates) conflicting)" : "")
            + ", rejected \(rejected)"
    }
}

/// Counts over a whole log, summed from its block headers: what `report` prints under `events`.
public struct LogTotals: Sendable, Equatable {
    public var stored = 0
    public var duplicates = 0
    /// Of the duplicates, those whose content differed from the stored copy.
    public var conflictingDuplicates = 0
    public var rejected = 0
    /// Stored events of a type this version does not know (the report's `ignored`).
    public var ignored = 0
    public init(stored: Int = 0, duplicates: Int = 0, conflictingDuplicates: Int = 0, rejected: Int = 0, ignored: Int = 0) {
        self.stored = stored
        self.duplicates = duplicates
        self.conflictingDuplicates = conflictingDuplicates
        self.rejected = rejected
        self.ignored = ignored
    }

    mutating func add(_ block: BlockLocation) {
        stored += block.recordCount
        duplicates += block.duplicates
        conflictingDuplicates += block.conflictingDuplicates
        rejected += block.rejected
        ignored += block.unknownTypes
    }
}

/// A Kafka topic and partition, the key of the log's durable offsets.
public struct TopicPartition: Hashable, Sendable, Comparable {
    public var topic: String
    public var partition: Int32
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }
}
