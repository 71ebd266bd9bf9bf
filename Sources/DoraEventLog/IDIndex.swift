internal import CPrefetch
import DoraEvents
#if canImport(Glibc)
import Glibc
#endif

/// Answers "is this id already stored, and what is its stored copy?" exactly, in memory
/// bounded for 100M ids.
///
/// Three parts (docs/log-format.md, "Id index"):
/// - `active`: an exact map of the fingerprints in the segment being written to their copies;
/// - `runs`: per sealed segment, its fingerprints sorted in its `.idx` sidecar with their
///   copies, read from the file a bucket at a time (`FingerprintRun`);
/// - `bloom`: a blocked bloom filter over every stored fingerprint and every fingerprint of an
///   append in flight (marked when the append is prepared, before its commit), so that a new
///   id (the common case) costs one cache line, marked in the same line, and touches neither
///   the maps of the appends in flight nor the runs. An append that fails may leave its marks:
///   they only make the filter answer "maybe" more often.
/// Heap cost: about `bloomBitsPerID / 8` bytes per stored or reserved id (1.25 B at the
/// default 10 bits), 1/4 B per sealed id for the runs' fences, and 35 to 70 B per id of the
/// active segment. Lookups and bloom growth read the sidecars, so they can fail with an I/O
/// error.
struct IDIndex {
    private(set) var active = FingerprintMap()
    private var runs: [FingerprintRun] = []
    /// The sidecars of sealed segments whose runs an open deferred (`deferRun`), in segment
    /// order: until they are loaded (`loadDeferredRuns`), the index knows only the active
    /// segment, and answers no lookup.
    private var deferred: [(path: String, index: SegmentIndexFile)] = []
    private var bloom: BlockedBloomFilter
    private let bitsPerID: Int
    /// The ids put in the bloom: stored, in flight, or marked by an append that failed (what
    /// sizes the filter).
    private(set) var count: Int = 0

    /// How many ids ahead a loop over a batch prefetches what an id will touch.
    static let prefetchDistance = 8

    /// An empty index that holds the place of the log's own while an append has that one out
    /// (`EventLog.prepare`); never written to. Made on each use (8 KiB).
    static var placeholder: IDIndex { IDIndex(bitsPerID: 1, expectedCount: 0) }

    /// An empty index whose bloom has room for `expectedCount` ids and an eighth more.
    init(bitsPerID: Int, expectedCount: Int) {
        self.bitsPerID = bitsPerID
        self.bloom = BlockedBloomFilter(capacity: max(expectedCount + expectedCount / 8, 1 << 16), bitsPerID: bitsPerID)
    }

    /// Whether `fingerprint` is stored.
    func contains(_ fingerprint: IDFingerprint) throws(EventLogError) -> Bool {
        try storedCopy(of: fingerprint) != nil
    }

    /// Where `fingerprint`'s stored copy is: in a sealed segment's run, or in the active
    /// segment (`run` nil); nil when it is not stored. A run of an older sidecar layout, which
    /// has no copies, answers with a copy of content 0 (a writer never loads such a run).
    func storedCopy(of fingerprint: IDFingerprint) throws(EventLogError) -> (copy: StoredCopy, run: FingerprintRun?)? {
        precondition(deferred.isEmpty, "a lookup in an id index whose sealed runs are not loaded")
        // The bloom holds every stored fingerprint, the active ones too: a new id costs one
        // probe of it, and not a probe of the (much larger) active map as well.
        guard bloom.mayContain(fingerprint) else { return nil }
        if let copy = active[fingerprint] { return (copy, nil) }
        for run in runs.reversed() {
            if let i = try run.index(of: fingerprint) { return (try run.copy(at: i) ?? StoredCopy(content: 0, ordinal: 0), run) }
        }
        return nil
    }

    /// Records a stored fingerprint of the active segment, with its copy, that is not in the
    /// bloom yet (the open's scan of the active segment).
    mutating func insertActive(_ fingerprint: IDFingerprint, _ copy: StoredCopy) throws(EventLogError) {
        active.insert(fingerprint, copy)
        try makeRoom(for: 1, keeping: [])
        mark(fingerprint)
    }

    /// Records the stored fingerprints of a committed append in the active segment, with
    /// their copies (`contents[i]`, at ordinal `firstOrdinal + i`); the append marked them in
    /// the bloom when it was prepared (`mark`).
    mutating func insertMarkedActive(_ fingerprints: [IDFingerprint], contents: [UInt64], firstOrdinal: UInt32) {
        for (i, fingerprint) in fingerprints.enumerated() {
            if i + Self.prefetchDistance < fingerprints.count { active.prefetch(fingerprints[i + Self.prefetchDistance]) }
            active.insert(fingerprint, StoredCopy(content: contents[i], ordinal: firstOrdinal + UInt32(i)))
        }
    }

    /// Starts loading what `mayContain(fingerprint)` and `mark(fingerprint)` will read,
    /// a few ids ahead, so that the cache misses of consecutive ids overlap.
    func prefetch(_ fingerprint: IDFingerprint) {
        bloom.prefetch(fingerprint)
    }

    /// Whether `fingerprint` may be stored or in flight; false: certainly neither.
    func mayContain(_ fingerprint: IDFingerprint) -> Bool {
        precondition(deferred.isEmpty, "a lookup in an id index whose sealed runs are not loaded")
        return bloom.mayContain(fingerprint)
    }

    /// Puts in the bloom the fingerprint of an id that is stored, or that an append is about to
    /// store (marked ahead of the append's commit). The caller made room first (`makeRoom`): a
    /// mark never grows the filter, whose rebuild would need the appends in flight.
    mutating func mark(_ fingerprint: IDFingerprint) {
        count += 1
        bloom.insert(fingerprint)
    }

    /// Makes room in the bloom for an append of up to `additional` new ids before it marks
    /// them, growing the filter by a quarter when it is full; a rebuild keeps the marks of the
    /// appends `inFlight` (prepared, not yet committed). A quarter, not a doubling: a log that
    /// grew to N ids then holds a filter for at most 1.25 N (a process that had ingested 100M
    /// ids held one for up to 200M, 250 MB), for a rebuild every quarter of growth (each
    /// re-reads the stored fingerprints: 4 to 5 s at 100M ids).
    mutating func makeRoom(for additional: Int, keeping inFlight: [FingerprintMap]) throws(EventLogError) {
        if count + additional > bloom.capacity {
            try rebuildBloom(capacity: max(count + additional, bloom.capacity + bloom.capacity / 4), keeping: inFlight)
        }
    }

    /// Opens a sealed segment's run from its sidecar (from `bytes`, the sidecar's, when they
    /// are at hand), counting its fingerprints in the bloom as it reads them.
    mutating func addRun(path: String, index: SegmentIndexFile, bytes: [UInt8]? = nil) throws(EventLogError) {
        try reserveCapacity(index.fingerprintCount, keeping: [])  // opening: no append is in flight
        let run = try FingerprintRun(path: path, index: index, bytes: bytes) { fingerprints in
            count += fingerprints.count / 16
            bloom.insert(contentsOf: fingerprints)
        }
        runs.append(run)
    }

    /// Notes a sealed segment's sidecar whose run is opened later, by `loadDeferredRuns`: a
    /// live run replays the log before it appends, and building the bloom after the replay
    /// keeps the filter (about 155 MB at 100M ids) out of the replay's peak.
    mutating func deferRun(path: String, index: SegmentIndexFile) {
        deferred.append((path, index))
    }

    /// Whether every sealed segment's run is open (no `deferRun` is pending).
    var isLoaded: Bool { deferred.isEmpty }

    /// Opens the runs of `deferRun`, in their order, with the bloom sized as an open that did
    /// not defer them would size it (their ids, the active ones and a million more, and an
    /// eighth of room). Should a sidecar fail to read, the runs not opened yet stay deferred.
    mutating func loadDeferredRuns(keeping inFlight: [FingerprintMap]) throws(EventLogError) {
        guard !deferred.isEmpty else { return }
        let expected = deferred.reduce(count + 1_000_000) { $0 + $1.index.fingerprintCount }
        try reserveCapacity(expected + expected / 8 - count, keeping: inFlight)
        while let (path, index) = deferred.first {
            try addRun(path: path, index: index)
            deferred.removeFirst()
        }
    }

    /// Seals the active segment: `write` writes its sidecar at `path` from the active members,
    /// given in ascending order, and returns it; that sidecar becomes a run (its fingerprints
    /// are in the bloom already) and the active map is emptied. Should either step fail, the
    /// index is as it was.
    mutating func sealActive(
        path: String, writing write: (FingerprintMap.SortedMembers) throws(EventLogError) -> SegmentIndexFile
    ) throws(EventLogError) {
        let run = try active.withMembersSortedInPlace { (members) throws(EventLogError) in
            try FingerprintRun(path: path, index: write(members))
        }
        runs.append(run)
    }

    /// Makes room in the bloom for `additional` more ids, so that it does not grow on the way
    /// (each growth re-reads every stored fingerprint).
    /// - Parameter inFlight: the id maps of the appends in flight, whose marks a rebuild keeps.
    mutating func reserveCapacity(_ additional: Int, keeping inFlight: [FingerprintMap]) throws(EventLogError) {
        if count + additional > bloom.capacity { try rebuildBloom(capacity: count + additional, keeping: inFlight) }
    }

    private mutating func rebuildBloom(capacity: Int, keeping inFlight: [FingerprintMap]) throws(EventLogError) {
        // The old filter goes first: the new one is filled from the runs and the active map,
        // not from it, and holding both would be the index's peak (80 + 160 MB at 100M ids).
        // Should a run fail to read, the filter answers "maybe" for every id until a rebuild
        // succeeds: slower, never wrong.
        bloom = .saturated
        var bigger = BlockedBloomFilter(capacity: capacity, bitsPerID: bitsPerID)
        for run in runs { try run.forEachChunk { bigger.insert(contentsOf: $0) } }
        active.forEachFingerprint { bigger.insert($0) }
        for pending in inFlight { pending.forEachFingerprint { bigger.insert($0) } }
        bloom = bigger
    }
}

/// A bloom filter whose probes for one key all fall in one 64-byte block (one cache miss).
struct BlockedBloomFilter {
    private var words: [UInt64]
    private let blockCount: Int
    let capacity: Int

    init(capacity: Int, bitsPerID: Int) {
        self.capacity = capacity
        let bits = max(capacity * bitsPerID, 512)
        self.blockCount = (bits + 511) / 512
        self.words = HugePages.array(repeating: 0, count: blockCount * 8)
    }

    /// A filter of capacity 0 that may contain every id: a stand-in while the real one is
    /// rebuilt (the next insert asks for another rebuild).
    static var saturated: BlockedBloomFilter {
        var filter = BlockedBloomFilter(capacity: 0, bitsPerID: 1)
        filter.words = [UInt64](repeating: .max, count: filter.words.count)
        return filter
    }

    @inline(__always) private static func probes(_ f: IDFingerprint, blockCount: Int) -> (Int, UInt64) {
        (Int(f.low % UInt64(blockCount)) * 8, f.high)
    }

    mutating func insert(_ f: IDFingerprint) {
        let blockCount = blockCount
        words.withUnsafeMutableBufferPointer { Self.insert(f, into: $0, blockCount: blockCount) }
    }

    /// Inserts every fingerprint of `fingerprints`, stored as a sidecar stores them (16 bytes
    /// each): in one loop, so that the cache misses of consecutive inserts overlap (an open
    /// inserts every stored id, and that is most of its time).
    mutating func insert(contentsOf fingerprints: UnsafeRawBufferPointer) {
        let blockCount = blockCount
        words.withUnsafeMutableBufferPointer { w in
            for i in 0..<fingerprints.count / 16 { Self.insert(fingerprints.fingerprint(at: i), into: w, blockCount: blockCount) }
        }
    }

    @inline(__always) private static func insert(_ f: IDFingerprint, into w: UnsafeMutableBufferPointer<UInt64>, blockCount: Int) {
        let (base, h) = probes(f, blockCount: blockCount)
        for i in 0..<6 {
            let bit = (h >> UInt64(i * 9)) & 511
            w[base + Int(bit >> 6)] |= 1 << (bit & 63)
        }
    }

    /// Starts loading the block `f` probes, ahead of a `mayContain` or `insert` of it.
    func prefetch(_ f: IDFingerprint) {
        let (base, _) = Self.probes(f, blockCount: blockCount)
        words.withUnsafeBufferPointer { doralog_prefetch($0.baseAddress! + base) }
    }

    func mayContain(_ f: IDFingerprint) -> Bool {
        let (base, h) = Self.probes(f, blockCount: blockCount)
        return words.withUnsafeBufferPointer { w in
            for i in 0..<6 {
                let bit = (h >> UInt64(i * 9)) & 511
                if w[base + Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
            }
            return true
        }
    }
}

/// One sealed segment's ids: the fingerprints of its `.idx` sidecar, sorted, and their
/// stored copies, read with `pread` and never mapped.
///
/// Only every `bucketSize`-th fingerprint (a fence) is held in memory, 1/4 byte per id; a
/// lookup finds its bucket among the fences and reads that bucket alone, one read of at most
/// 1 KiB. So the pages a lookup reads stay the kernel's page cache and never count in the
/// process's resident memory, however many segments the log has: with mapped sidecars, the
/// lookups of bloom false hits across every run made all of them resident (about 2 GiB
/// at 100M ids).
///
/// Invariant: fingerprints are strictly ascending (the sidecar's checksum was verified when it
/// was loaded); copy i belongs to fingerprint i. Not `Sendable`: holds the sidecar open for
/// its owner; reads at explicit offsets, so concurrent lookups do not disturb each other.
final class FingerprintRun {
    /// Fingerprints per bucket: one lookup reads one bucket, 1 KiB. (256 made the copy out of
    /// the page cache the main cost of a duplicate found in an old segment.)
    static let bucketSize = 64
    private let file: PosixFile?
    private let fingerprintsOffset: Int
    private let copiesOffset: Int?
    /// The first fingerprint of each bucket, ascending.
    private let fences: [IDFingerprint]
    let count: Int
    /// The sealed segment whose ids these are, and its sidecar.
    let segment: UInt32
    let path: String
    /// That segment's block table (a few KiB): where the record of a copy's ordinal lies.
    let blocks: [BlockLocation]

    /// Opens the fingerprints (and copies) that `index`, loaded from `path`, lists, reading
    /// them once to take the fences; `visit` sees every fingerprint on the way, in order, a
    /// chunk of them at a time (16 bytes each, as the sidecar stores them).
    /// - Parameter bytes: the sidecar's bytes when they are at hand (its open checked them):
    ///   the fingerprints are then read from them, not from the file a second time.
    init(
        path: String, index: SegmentIndexFile, bytes: [UInt8]? = nil, visit: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws(EventLogError) {
        count = index.fingerprintCount
        fingerprintsOffset = index.fingerprintOffset
        copiesOffset = index.copiesOffset
        segment = index.segmentNumber
        blocks = index.blocks
        self.path = path
        file = count > 0 ? try PosixFile.open(path, flags: O_RDONLY) : nil
        var fences: [IDFingerprint] = []
        fences.reserveCapacity((count + Self.bucketSize - 1) / Self.bucketSize)
        /// A chunk starts at a bucket's start (chunks are whole buckets, but for the last).
        func take(_ fingerprints: UnsafeRawBufferPointer) {
            for i in stride(from: 0, to: fingerprints.count / 16, by: Self.bucketSize) { fences.append(fingerprints.fingerprint(at: i)) }
            visit(fingerprints)
        }
        let (offset, count) = (index.fingerprintOffset, index.fingerprintCount)
        if let bytes {
            precondition(bytes.count >= offset + count * 16, "the bytes of another sidecar")
            bytes.withUnsafeBytes { take(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count * 16)])) }
        } else {
            try Self.readChunks(file, fingerprintsAt: offset, copiesAt: nil, count: count) { fingerprints, _ in take(fingerprints) }
        }
        self.fences = fences
    }

    /// The index of `f` among the sorted fingerprints, or nil. Bisects the fences in memory,
    /// then reads and bisects the one bucket that can hold `f`.
    func index(of f: IDFingerprint) throws(EventLogError) -> Int? {
        guard let file, let first = fences.first, first <= f else { return nil }
        // The last bucket whose fence is at most f.
        var lo = 0
        var hi = fences.count
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if fences[mid] <= f { lo = mid } else { hi = mid }
        }
        let start = lo * Self.bucketSize
        if fences[lo] == f { return start }
        let n = min(Self.bucketSize, count - start)
        return try withUnsafeTemporaryAllocation(byteCount: n * 16, alignment: 8) { (bucket) throws(EventLogError) -> Int? in
            try file.readExactly(into: bucket, at: fingerprintsOffset + start * 16)
            let found = Self.bisect(UnsafeRawBufferPointer(bucket), count: n, for: f)
            return found.map { start + $0 }
        }
    }

    /// The stored copy of fingerprint `i`; nil in a sidecar of the older layout.
    func copy(at i: Int) throws(EventLogError) -> StoredCopy? {
        guard let copiesOffset, let file else { return nil }
        return try withUnsafeTemporaryAllocation(byteCount: SegmentIndexFile.copyBytes, alignment: 8) {
            (b) throws(EventLogError) -> StoredCopy in
            try file.readExactly(into: b, at: copiesOffset + i * SegmentIndexFile.copyBytes)
            return Self.copy(UnsafeRawBufferPointer(b), at: 0)
        }
    }

    /// Every fingerprint in ascending order, a chunk at a time (16 bytes each, as the sidecar
    /// stores them).
    func forEachChunk(_ body: (UnsafeRawBufferPointer) -> Void) throws(EventLogError) {
        try Self.readChunks(file, fingerprintsAt: fingerprintsOffset, copiesAt: nil, count: count) { fingerprints, _ in body(fingerprints) }
    }

    /// Every fingerprint in ascending order with its stored copy (nil in the older layout).
    func forEachMember(_ body: (IDFingerprint, StoredCopy?) -> Void) throws(EventLogError) {
        try Self.readChunks(file, fingerprintsAt: fingerprintsOffset, copiesAt: copiesOffset, count: count) { f, c in
            for i in 0..<f.count / 16 { body(f.fingerprint(at: i), c.map { Self.copy($0, at: i) }) }
        }
    }

    /// Reads the fingerprints (and the copies, when `copiesAt` is given) in chunks of 64Ki
    /// members, whole buckets, so that a pass over a run holds 1.75 MiB at most; `body` gets
    /// each chunk's bytes.
    private static func readChunks(
        _ file: PosixFile?, fingerprintsAt: Int, copiesAt: Int?, count: Int,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?) -> Void
    ) throws(EventLogError) {
        guard let file, count > 0 else { return }
        let chunk = min(count, (1 << 16) / bucketSize * bucketSize)
        var fingerprints = [UInt8](repeating: 0, count: chunk * 16)
        var copies = [UInt8](repeating: 0, count: copiesAt == nil ? 0 : chunk * SegmentIndexFile.copyBytes)
        var start = 0
        while start < count {
            let n = min(chunk, count - start)
            try fingerprints.withMutableBytes { (b) throws(EventLogError) in
                try file.readExactly(into: UnsafeMutableRawBufferPointer(rebasing: b[..<(n * 16)]), at: fingerprintsAt + start * 16)
            }
            if let copiesAt {
                try copies.withMutableBytes { (b) throws(EventLogError) in
                    let bytes = n * SegmentIndexFile.copyBytes
                    try file.readExactly(into: UnsafeMutableRawBufferPointer(rebasing: b[..<bytes]), at: copiesAt + start * SegmentIndexFile.copyBytes)
                }
            }
            fingerprints.withUnsafeBytes { f in
                copies.withUnsafeBytes { c in
                    body(UnsafeRawBufferPointer(rebasing: f[..<(n * 16)]),
                         copiesAt == nil ? nil : UnsafeRawBufferPointer(rebasing: c[..<(n * SegmentIndexFile.copyBytes)]))
                }
            }
            start += n
        }
    }

    /// The position of `f` among the `count` ascending fingerprints in `bytes`, or nil.
    private static func bisect(_ bytes: UnsafeRawBufferPointer, count: Int, for f: IDFingerprint) -> Int? {
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            let m = bytes.fingerprint(at: mid)
            if m == f { return mid }
            if m < f { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }

    @inline(__always) private static func copy(_ bytes: UnsafeRawBufferPointer, at i: Int) -> StoredCopy {
        let at = i * SegmentIndexFile.copyBytes
        return StoredCopy(
            content: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian,
            ordinal: bytes.loadUnaligned(fromByteOffset: at + 8, as: UInt32.self).littleEndian)
    }
}

extension UnsafeRawBufferPointer {
    /// Fingerprint `i` of sorted fingerprints as a sidecar stores them: 16 bytes each, the
    /// high then the low word, little-endian.
    @inline(__always) fileprivate func fingerprint(at i: Int) -> IDFingerprint {
        IDFingerprint(
            high: loadUnaligned(fromByteOffset: i * 16, as: UInt64.self).littleEndian,
            low: loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self).littleEndian)
    }
}
