internal import CZstd

/// A zstd compression context with a fixed level: the only owner of a `ZSTD_CCtx`.
///
/// Not `Sendable`: one owner (the log writer) uses it from one thread at a time. The context
/// is reused across blocks, which is what makes small blocks cheap to compress.
final class ZstdCompressor {
    private let context: OpaquePointer
    let level: Int32

    init(level: Int32) {
        guard let context = ZSTD_createCCtx() else {
            fatalError("ZSTD_createCCtx returned NULL: out of memory")
        }
        self.context = context
        self.level = level
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 0)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Appends one zstd frame holding `input` to `output`; returns the frame's length.
    func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws(EventLogError) -> Int {
        let bound = ZSTD_compressBound(input.count)
        let start = output.count
        output.reserveCapacity(start + bound)
        var written = 0
        var failure: Int? = nil
        output.append(contentsOf: repeatElement(0, count: bound))
        output.withUnsafeMutableBytes { out in
            let n = ZSTD_compress2(context, out.baseAddress! + start, bound, input.baseAddress, input.count)
            if ZSTD_isError(n) != 0 { failure = n } else { written = n }
        }
        output.removeLast(bound - written)
        if let failure {
            throw EventLogError(.compression, "zstd compression failed: \(String(cString: ZSTD_getErrorName(failure)))")
        }
        return written
    }
}

/// A zstd decompression context: the only owner of a `ZSTD_DCtx`. One owner, one thread.
final class ZstdDecompressor {
    private let context: OpaquePointer

    init() {
        guard let context = ZSTD_createDCtx() else {
            fatalError("ZSTD_createDCtx returned NULL: out of memory")
        }
        self.context = context
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses one frame whose decompressed size is known to be `size` bytes into `output`
    /// (replacing its contents).
    /// - Throws: `EventLogError` when the frame is damaged or its size differs.
    func decompress(_ frame: UnsafeRawBufferPointer, size: Int, into output: inout [UInt8]) throws(EventLogError) {
        guard size > 0 || frame.count > 0 else {
            output.removeAll(keepingCapacity: true)
            return
        }
        // Resized, not cleared and zero-filled: the buffer is reused block after block, and
        // filling it first would write every byte twice. Only growth fills (the new part).
        if output.count < size {
            output.append(contentsOf: repeatElement(0, count: size - output.count))
        } else {
            output.removeLast(output.count - size)
        }
        var result = 0
        output.withUnsafeMutableBytes { out in
            result = ZSTD_decompressDCtx(context, out.baseAddress, size, frame.baseAddress, frame.count)
        }
        if ZSTD_isError(result) != 0 {
            throw EventLogError(.corruptBlock, "zstd frame does not decompress: \(String(cString: ZSTD_getErrorName(result)))")
        }
        guard result == size else {
            throw EventLogError(.corruptBlock, "zstd frame decompressed to \(result) bytes, header says \(size)")
        }
    }
}

/// zstd's own facts the log format relies on.
enum ZstdFacts {
    static var maximumLevel: Int32 { ZSTD_maxCLevel() }
    static var minimumLevel: Int32 { 1 }
}
