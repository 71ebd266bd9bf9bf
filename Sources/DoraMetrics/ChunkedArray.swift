/// An array that grows only at its end, kept in chunks of `chunkSize` elements: the
/// per-service state of a large replay, hundreds of MB in arrays of unknown final size.
///
/// A plain array that outgrows its buffer copies it and frees the old one; over a replay that
/// costs a copy of everything several times over and leaves freed holes that the allocator
/// rarely returns, so peak memory ends well above the data. Here only the first chunk grows by
/// copying (up to `chunkSize`); every later chunk is reserved at full size once and never
/// moves, and its untouched tail costs no memory. Invariant: every chunk but the last (`tail`)
/// is full.
struct ChunkedArray<Element>: RandomAccessCollection {
    static var chunkShift: Int { 14 }
    static var chunkSize: Int { 1 << chunkShift }
    /// The full chunks.
    private var full: [[Element]] = []
    /// The chunk being filled (kept apart so an append touches one array, not two).
    private var tail: [Element] = []

    init() {}

    var startIndex: Int { 0 }
    var endIndex: Int { full.count << Self.chunkShift + tail.count }
    var count: Int { endIndex }
    /// How many elements fit before an append allocates.
    var capacity: Int { full.count << Self.chunkShift + tail.capacity }
    /// How many chunks are full (and never move again).
    var fullChunks: Int { full.count }

    subscript(position: Int) -> Element {
        get {
            let chunk = position >> Self.chunkShift
            return chunk < full.count ? full[chunk][position & (Self.chunkSize - 1)] : tail[position - full.count << Self.chunkShift]
        }
        set {
            let chunk = position >> Self.chunkShift
            if chunk < full.count {
                full[chunk][position & (Self.chunkSize - 1)] = newValue
            } else {
                tail[position - full.count << Self.chunkShift] = newValue
            }
        }
    }

    mutating func append(_ element: Element) {
        // A chunk ends at `chunkSize` elements whatever capacity the allocator gave it (the
        // positions are computed from that size).
        if tail.count == Self.chunkSize {
            full.append(tail)
            tail = []
            tail.reserveCapacity(Self.chunkSize)
        } else if tail.count == tail.capacity {
            // The first chunk grows by a quarter, not by doubling: most services' arrays stay
            // within it, and doubling left them a third empty on average.
            tail.reserveCapacity(Swift.min(Self.chunkSize, roomToGrow(tail.count) + tail.count / 8))
        }
        tail.append(element)
    }

    /// Makes room for `minimumCapacity` elements in all, so that the first chunk does not
    /// grow by doubling on the way there (later chunks are reserved whole anyway).
    mutating func reserveCapacity(_ minimumCapacity: Int) {
        if full.isEmpty { tail.reserveCapacity(Swift.min(minimumCapacity, Self.chunkSize)) }
    }

    mutating func append(contentsOf elements: some Sequence<Element>) {
        for e in elements { append(e) }
    }

    static func += (array: inout ChunkedArray, elements: some Sequence<Element>) {
        array.append(contentsOf: elements)
    }
}

extension ChunkedArray: Sendable where Element: Sendable {}

/// The capacity to give an array rebuilt with `count` elements, or about to take that many at
/// once, that will keep growing a little (a live run's state, rebuilt once a day by its
/// retention, which then takes a day's events; its state consolidated and its SLO windows
/// filled at start-up): an eighth more. Filled by appends instead, it would end at the next power of two,
/// up to twice its data, and the first append after an exact rebuild would double it.
public func roomToGrow(_ count: Int) -> Int { count + count / 8 + 16 }
