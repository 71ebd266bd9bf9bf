#if canImport(Glibc)
import Glibc
#endif

/// Gives the kernel back the pages of an array's room that it no longer uses, without moving
/// the array: what a copy to a smaller array would free, without holding both.
///
/// Only whole pages strictly past the array's last element are released (`MADV_DONTNEED`):
/// that room holds no value, and the kernel maps fresh zero pages there should the array grow
/// into it again. Below a megabyte of such room it does nothing. Advice only: where the
/// kernel declines, nothing changes but the resident size.
enum UnusedCapacity {
    static func release<Element>(_ array: inout [Element]) {
        let stride = MemoryLayout<Element>.stride
        let (count, capacity) = (array.count, array.capacity)
        guard (capacity - count) * stride >= 1 << 20 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        array.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let start = (Int(bitPattern: base) + count * stride + page - 1) & ~(page - 1)
            let end = (Int(bitPattern: base) + capacity * stride) & ~(page - 1)
            guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
            _ = madvise(pointer, end - start, MADV_DONTNEED)
        }
    }
}
