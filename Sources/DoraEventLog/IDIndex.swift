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
///   copies, memory-mapped (page cache, not heap), searched by interpolation;
/// - `bloom`: a blocked bloom filter over every stored fingerprint, so that a new id (the
///   common case) costs one cache line and never touches the runs.
/// Heap cost: about `bloomBitsPerID / 8` bytes per stored or reserved id (1.25 B at the
/// default 10 bits) plus about 46 B per id of the active segment.
struct IDIndex {
    private(set) var active = FingerprintMap()
    private var runs: [FingerprintRun] = []
    private var bloom: BlockedBloomFilter
    private let bitsPerID: Int
    private(set) var count: Int = 0

    init(bitsPerID: Int, expectedCount: Int) {
        self.bitsPerID = bitsPerID
        self.bloom = BlockedBloomFilter(capacity: max(expectedCount * 2, 1 << 16), bitsPerID: bitsPerID)
    }

    /// Whether `fingerprint` is stored.
    func contains(_ fingerprint: IDFingerprint) -> Bool {
        storedCopy(of: fingerprint) != nil
    }

    /// Where `fingerprint`'s stored copy is: in a sealed segment's run, or in the active
    /// segment (`run` nil); nil when it is not stored. A run of an older sidecar layout, which
    /// has no copies, answers with a copy of content 0 (a writer never loads such a run).
    func storedCopy(of fingerprint: IDFingerprint) -> (copy: StoredCopy, run: FingerprintRun?)? {
        // The bloom holds every stored fingerprint, the active ones too: a new id costs one
        // probe of it, and not a probe of the (much larger) active map as well.
        guard bloom.mayContain(fingerprint) else { return nil }
        if let copy = active[fingerprint] { return (copy, nil) }
        for run in runs.reversed() {
            if let i = run.index(of: fingerprint) { return (run.copy(at: i) ?? StoredCopy(content: 0, ordinal: 0), run) }
        }
        return nil
    }

    /// Records a newly stored fingerprint of the active segment, with its copy.
    mutating func insertActive(_ fingerprint: IDFingerprint, _ copy: StoredCopy) {
        active.insert(fingerprint, copy)
        addToBloom(fingerprint)
    }

    /// Adds a sealed segment's run (its fingerprints already counted in the bloom if
    /// `alreadyCounted`, as when the active segment is sealed).
    mutating func addRun(_ run: FingerprintRun, alreadyCounted: Bool) {
        runs.append(run)
        if !alreadyCounted {
            run.forEach { addToBloom($0) }
        }
    }

    /// The active segment was sealed into `run`: its set moves to the run.
    mutating func sealActive(into run: FingerprintRun) {
        runs.append(run)
        active = FingerprintMap()
    }

    /// Makes room in the bloom for `additional` more ids, so that it does not grow on the way
    /// (each growth re-reads every stored fingerprint).
    mutating func reserveCapacity(_ additional: Int) {
        if count + additional > bloom.capacity { rebuildBloom(capacity: count + additional) }
    }

    private mutating func addToBloom(_ fingerprint: IDFingerprint) {
        count += 1
        if count > bloom.capacity { rebuildBloom(capacity: bloom.capacity * 2) }
        bloom.insert(fingerprint)
    }

    private mutating func rebuildBloom(capacity: Int) {
        var bigger = BlockedBloomFilter(capacity: capacity, bitsPerID: bitsPerID)
        for run in runs { run.forEach { bigger.insert($0) } }
        active.forEachFingerprint { bigger.insert($0) }
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
        self.words = [UInt64](repeating: 0, count: blockCount * 8)
    }

    @inline(__always) private func probes(_ f: IDFingerprint) -> (Int, UInt64) {
        (Int(f.low % UInt64(blockCount)) * 8, f.high)
    }

    mutating func insert(_ f: IDFingerprint) {
        let (base, h) = probes(f)
        words.withUnsafeMutableBufferPointer { w in
            for i in 0..<6 {
                let bit = (h >> UInt64(i * 9)) & 511
                w[base + Int(bit >> 6)] |= 1 << (bit & 63)
            }
        }
    }

    func mayContain(_ f: IDFingerprint) -> Bool {
        let (base, h) = probes(f)
        return words.withUnsafeBufferPointer { w in
            for i in 0..<6 {
                let bit = (h >> UInt64(i * 9)) & 511
                if w[base + Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
            }
            return true
        }
    }
}

/// The sorted fingerprints of one sealed segment, and their stored copies, memory-mapped
/// from its `.idx` sidecar.
///
/// Invariant: fingerprints are strictly ascending (checked when the sidecar is loaded); copy i
/// belongs to fingerprint i. Not `Sendable`: owns a mapping that one owner unmaps.
final class FingerprintRun {
    private let mapping: UnsafeMutableRawPointer?
    private let mappingLength: Int
    private let base: UnsafeRawPointer?
    let count: Int
    let hasCopies: Bool
    /// The sealed segment whose ids these are, and its sidecar.
    let segment: UInt32
    let path: String
    /// The size of that segment when the sidecar was written (a sidecar is valid for it alone).
    let segmentBytes: Int

    /// Maps the fingerprints (and copies) that `index`, loaded from `path`, lists.
    init(path: String, index: SegmentIndexFile) throws(EventLogError) {
        let count = index.fingerprintCount
        let offset = index.fingerprintOffset
        self.count = count
        self.segment = index.segmentNumber
        self.segmentBytes = index.segmentBytes
        self.path = path
        hasCopies = index.copiesOffset != nil
        guard count > 0 else {
            mapping = nil; mappingLength = 0; base = nil
            return
        }
        let file = try PosixFile.open(path, flags: O_RDONLY)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let alignedOffset = offset / page * page
        // The copies follow the fingerprints directly.
        let length = offset - alignedOffset + count * (hasCopies ? 16 + SegmentIndexFile.copyBytes : 16)
        guard let m = mmap(nil, length, PROT_READ, MAP_SHARED, file.descriptor, off_t(alignedOffset)),
            m != MAP_FAILED
        else { throw PosixFile.errnoError("cannot map id index", path) }
        mapping = m
        mappingLength = length
        base = UnsafeRawPointer(m + (offset - alignedOffset))
    }

    deinit {
        if let mapping { munmap(mapping, mappingLength) }
    }

    @inline(__always) func fingerprint(at i: Int) -> IDFingerprint {
        let p = base!
        return IDFingerprint(
            high: p.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self).littleEndian,
            low: p.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self).littleEndian)
    }

    /// The stored copy of fingerprint `i`; nil in a sidecar of the older layout.
    func copy(at i: Int) -> StoredCopy? {
        guard hasCopies, let p = base else { return nil }
        let at = count * 16 + i * SegmentIndexFile.copyBytes
        return StoredCopy(
            content: p.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian,
            ordinal: p.loadUnaligned(fromByteOffset: at + 8, as: UInt32.self).littleEndian)
    }

    func forEach(_ body: (IDFingerprint) -> Void) {
        for i in 0..<count { body(fingerprint(at: i)) }
    }

    /// The index of `f` among the sorted fingerprints, or nil. Interpolation search
    /// (fingerprints are uniform), falling back to bisection.
    /// - Complexity: O(log log n) expected, O(log n) worst case.
    func index(of f: IDFingerprint) -> Int? {
        var lo = 0
        var hi = count - 1
        var steps = 0
        while lo <= hi {
            let a = fingerprint(at: lo)
            let b = fingerprint(at: hi)
            if f < a || b < f { return nil }
            let mid: Int
            if steps < 4 && b.high > a.high {
                let fraction = Double(f.high &- a.high) / Double(b.high &- a.high)
                mid = min(hi, max(lo, lo + Int(fraction * Double(hi - lo))))
            } else {
                mid = lo + (hi - lo) / 2
            }
            steps += 1
            let m = fingerprint(at: mid)
            if m == f { return mid }
            if m < f { lo = mid + 1 } else { hi = mid - 1 }
        }
        return nil
    }
}
