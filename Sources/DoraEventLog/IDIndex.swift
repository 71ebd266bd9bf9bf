import DoraEvents
#if canImport(Glibc)
import Glibc
#endif

/// Answers "is this id already stored?" exactly, in memory bounded for 100M ids.
///
/// Three parts (docs/log-format.md, "Id index"):
/// - `active`: an exact set of the fingerprints in the segment being written;
/// - `runs`: per sealed segment, its fingerprints sorted in its `.idx` sidecar, memory-mapped
///   (page cache, not heap), searched by interpolation;
/// - `bloom`: a blocked bloom filter over every stored fingerprint, so that a new id (the
///   common case) costs one cache line and never touches the runs.
/// Heap cost: about `bloomBitsPerID / 8` bytes per stored or reserved id (1.25 B at the
/// default 10 bits) plus about 48 B per id of the active segment.
struct IDIndex {
    private(set) var active = FingerprintSet()
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
        // The bloom holds every stored fingerprint, the active ones too: a new id costs one
        // probe of it, and not a probe of the (much larger) active set as well.
        guard bloom.mayContain(fingerprint) else { return false }
        if active.contains(fingerprint) { return true }
        for run in runs.reversed() where run.contains(fingerprint) { return true }
        return false
    }

    /// Records a newly stored fingerprint of the active segment.
    mutating func insertActive(_ fingerprint: IDFingerprint) {
        active.insert(fingerprint)
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
        active = FingerprintSet()
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
        for f in active { bigger.insert(f) }
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

/// The sorted fingerprints of one sealed segment, memory-mapped from its `.idx` sidecar.
///
/// Invariant: fingerprints are strictly ascending (checked when the sidecar is loaded).
/// Not `Sendable`: owns a mapping that one owner unmaps.
final class FingerprintRun {
    private let mapping: UnsafeMutableRawPointer?
    private let mappingLength: Int
    private let base: UnsafeRawPointer?
    let count: Int

    /// Maps `count` fingerprints at `offset` of the file at `path`.
    init(path: String, offset: Int, count: Int) throws(EventLogError) {
        self.count = count
        guard count > 0 else {
            mapping = nil; mappingLength = 0; base = nil
            return
        }
        let file = try PosixFile.open(path, flags: O_RDONLY)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let alignedOffset = offset / page * page
        let length = offset - alignedOffset + count * 16
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

    func forEach(_ body: (IDFingerprint) -> Void) {
        for i in 0..<count { body(fingerprint(at: i)) }
    }

    /// Interpolation search (fingerprints are uniform), falling back to bisection.
    /// - Complexity: O(log log n) expected, O(log n) worst case.
    func contains(_ f: IDFingerprint) -> Bool {
        var lo = 0
        var hi = count - 1
        var steps = 0
        while lo <= hi {
            let a = fingerprint(at: lo)
            let b = fingerprint(at: hi)
            if f < a || b < f { return false }
            let mid: Int
            if steps < 4 && b.high > a.high {
                let fraction = Double(f.high &- a.high) / Double(b.high &- a.high)
                mid = min(hi, max(lo, lo + Int(fraction * Double(hi - lo))))
            } else {
                mid = lo + (hi - lo) / 2
            }
            steps += 1
            let m = fingerprint(at: mid)
            if m == f { return true }
            if m < f { lo = mid + 1 } else { hi = mid - 1 }
        }
        return false
    }
}
