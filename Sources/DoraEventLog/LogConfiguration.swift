/// The tunable settings of an event log, with documented defaults.
///
/// Invariants (checked by `validated()`): the segment size is at least 64 KiB, the zstd level
/// is within zstd's range. Changing either for an existing log is safe: they shape what is
/// written next, never how existing segments are read.
public struct LogConfiguration: Sendable, Equatable {
    /// A new segment is started once the current one reaches this many bytes. Default 64 MiB.
    public var segmentBytes: Int = 64 << 20
    /// zstd level of the raw frames (the records frames are always level 1). Default 3,
    /// zstd's own default.
    public var zstdLevel: Int = 3
    /// Bits of the id index's bloom filter per stored id. Default 10 (about 1% false hits).
    public var bloomBitsPerID: Int = 10

    public init(segmentBytes: Int = 64 << 20, zstdLevel: Int = 3) {
        self.segmentBytes = segmentBytes
        self.zstdLevel = zstdLevel
    }

    /// This configuration if it is valid.
    /// - Throws: `EventLogError` (`.configuration`) naming the setting and its range.
    public func validated() throws(EventLogError) -> LogConfiguration {
        guard segmentBytes >= 64 << 10 else {
            throw EventLogError(.configuration, "segment size \(segmentBytes) is below the minimum of 65536 bytes")
        }
        guard zstdLevel >= Int(ZstdFacts.minimumLevel), zstdLevel <= Int(ZstdFacts.maximumLevel) else {
            throw EventLogError(.configuration, "zstd level \(zstdLevel) is outside 1...\(ZstdFacts.maximumLevel)")
        }
        return self
    }
}
