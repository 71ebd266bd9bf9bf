import Dispatch

/// `map` over independent elements on every core, results in input order.
public enum ParallelMap {
    public static func map<T: Sendable, R: Sendable>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
        guard items.count > 1 else { return items.map(transform) }
        let slots = Slots<R>(count: items.count)
        DispatchQueue.concurrentPerform(iterations: items.count) { i in
            slots.store(transform(items[i]), at: i)
        }
        return slots.values
    }

    /// Result slots. `@unchecked Sendable`: each iteration writes only its own slot, and
    /// `concurrentPerform` returns only after every iteration finished.
    private final class Slots<R>: @unchecked Sendable {
        private let pointer: UnsafeMutablePointer<R?>
        private let count: Int

        init(count: Int) {
            self.count = count
            pointer = .allocate(capacity: count)
            pointer.initialize(repeating: nil, count: count)
        }

        deinit {
            pointer.deinitialize(count: count)
            pointer.deallocate()
        }

        func store(_ value: R, at index: Int) { pointer[index] = value }

        var values: [R] { (0..<count).map { pointer[$0]! } }
    }
}
