#if canImport(Glibc)
import Glibc
#endif

/// Gives the free pages of the C heap back to the kernel (glibc's `malloc_trim`).
///
/// A retention step frees a day's worth of per-service arrays all over the heap; glibc keeps
/// such holes mapped (it returns only the top of an arena on its own), so without this the
/// live run's resident memory settles about a third above what it holds (docs/run.md,
/// "Sizing"). Looked up at run time: where the C library has no `malloc_trim` it does nothing.
enum HeapTrim {
    private typealias Trim = @convention(c) (Int) -> Int32

    private static let trim: Trim? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: Trim.self)
        #else
        return nil
        #endif
    }()

    /// Releases the heap's free pages; costs a pass over the free lists (milliseconds).
    static func releaseFreePages() {
        _ = trim?(0)
    }
}
