#if canImport(Glibc)
import Glibc
#endif

/// Transparent huge pages for the id index's large arrays (the bloom filter, the active map),
/// where the kernel gives them only on request (`madvise` mode, Debian's default).
///
/// Every lookup and insert lands on a random cache line of an array of up to 250 MB: with
/// 4 KiB pages nearly each one also misses the TLB; with 2 MiB pages they mostly do not.
/// Advice only: where the kernel declines, nothing changes but the speed.
enum HugePages {
    static let size = 2 << 20

    /// `Array(repeating:count:)`, with huge pages asked for before it is first written, so
    /// that its pages are huge from their first fault.
    static func array<Element>(repeating value: Element, count: Int) -> [Element] {
        [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            advise(UnsafeMutableRawBufferPointer(buffer))
            buffer.initialize(repeating: value)
            initialized = count
        }
    }

    /// Asks for huge pages for the whole 2 MiB pages inside `buffer`.
    private static func advise(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count >= 2 * size else { return }
        let start = (Int(bitPattern: base) + size - 1) & ~(size - 1)
        let end = (Int(bitPattern: base) + buffer.count) & ~(size - 1)
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, end - start, MADV_HUGEPAGE)
    }
}
