import Dispatch
import Synchronization

/// `map` over independent elements on several threads, results in input order.
public enum ParallelMap {
    /// Which threads a `map` runs on.
    public enum Threads: Sendable {
        /// Every core, through Dispatch.
        case everyCore
        /// The calling thread and the given helpers (the live run's, at a lowered priority).
        case helpers(any HelperThreads)
    }

    public static func map<T: Sendable, R: Sendable>(
        _ items: [T], on threads: Threads = .everyCore, _ transform: @Sendable (T) -> R
    ) -> [R] {
        guard items.count > 1 else { return items.map(transform) }
        let slots = Slots<R>(count: items.count)
        switch threads {
        case .everyCore:
            DispatchQueue.concurrentPerform(iterations: items.count) { i in
                slots.store(transform(items[i]), at: i)
            }
        case .helpers(let helpers):
            // Each thread takes the next item until none is left (items differ in cost).
            let next = Atomic<Int>(0)
            withoutActuallyEscaping(transform) { transform in
                helpers.runEverywhere {
                    while true {
                        let i = next.add(1, ordering: .relaxed).oldValue
                        guard i < items.count else { return }
                        slots.store(transform(items[i]), at: i)
                    }
                }
            }
        }
        return slots.values
    }

    /// `map` that hands each element over to `transform` (no other reference to it is left),
    /// so that a transform that mutates it does so in place: a copy of an element that the
    /// array still held would copy its storage on the first write (the live run's pooled SLO
    /// windows: hundreds of MiB).
    public static func map<T: Sendable, R: Sendable>(
        consuming items: consuming [T], on threads: Threads = .everyCore, _ transform: @Sendable (consuming T) -> R
    ) -> [R] {
        let inputs = Inputs(consume items)  // the only references now
        return map(Array(0..<inputs.count), on: threads) { transform(inputs.take(at: $0)) }
    }

    /// Elements to hand over, each taken once. `@unchecked Sendable`: each iteration takes
    /// only its own element.
    private final class Inputs<T>: @unchecked Sendable {
        private let pointer: UnsafeMutablePointer<T?>
        let count: Int

        init(_ items: consuming [T]) {
            count = items.count
            pointer = .allocate(capacity: count)
            for (i, item) in items.enumerated() { (pointer + i).initialize(to: item) }
        }

        deinit {
            pointer.deinitialize(count: count)
            pointer.deallocate()
        }

        func take(at index: Int) -> T { pointer[index].take()! }
    }

    /// Result slots. `@unchecked Sendable`: each iteration writes only its own slot, and the
    /// map reads them only after every iteration finished.
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

/// Threads that a `ParallelMap` can borrow besides its caller's.
public protocol HelperThreads: Sendable {
    /// Runs `work` on the calling thread and on every helper at once; returns once every run
    /// has returned. The work must not call it again (the helpers are busy with it).
    func runEverywhere(_ work: @escaping @Sendable () -> Void)
}
