import EdgeCore
import Synchronization

/// The scoring stage's input: poll cycles handed over on the pollers' threads, bounded and in
/// order, and the ticker's ticks, which go ahead of every queued cycle and are never refused.
///
/// A tick is a flag, not an entry in the line: however far scoring has fallen behind (a starved
/// CPU, a large fleet), the tick's work (data-stopped checks, summaries, new models, the status)
/// waits for the cycle being scored and no more, and a full queue drops cycles only. Ticks due
/// while one is waiting are one tick, so they cannot starve scoring either.
///
/// - Important: one consumer (the scoring task), which calls `next()` until it returns nil after
///   `finish()`; it is not cancelled.
final class ScoringQueue: Sendable {
    /// A poll cycle's readings and when it reached the intake (monotonic nanoseconds).
    struct Cycle: Sendable {
        var readings: [Reading]
        var arrivedMonotonicNanoseconds: UInt64
    }

    /// A machine's model file changed on disk: the model the ticker loaded from it (nil: the
    /// file is gone), swapped in at the next tick.
    struct NewModel: Sendable {
        var machine: Int
        var model: MachineModel?
    }

    enum Item: Sendable {
        case cycle(Cycle)
        /// Tick work is due; with the models loaded since the last tick, oldest first.
        case tick([NewModel])
    }

    private struct State: ~Copyable {
        /// A ring of `capacity` slots; `count` queued from `head` on.
        var ring: [Cycle?]
        var head = 0
        var count = 0
        var tickDue = false
        var newModels: [NewModel] = []
        var finished = false
        var waiter: CheckedContinuation<Item?, Never>?

        mutating func take() -> Item? {
            if tickDue {
                tickDue = false
                var models: [NewModel] = []
                swap(&models, &newModels)
                return .tick(models)
            }
            guard count > 0, let cycle = ring[head] else { return nil }
            ring[head] = nil
            head = head + 1 == ring.count ? 0 : head + 1
            count -= 1
            return .cycle(cycle)
        }
    }

    private let state: Mutex<State>

    /// - Parameter capacity: poll cycles queued at most (at least 1); ticks take no place.
    init(capacity: Int) {
        state = Mutex(State(ring: Array(repeating: nil, count: max(1, capacity))))
    }

    /// Queues a poll cycle (any thread). - Returns: false when the queue is full or finished:
    /// the cycle is not scored.
    func offer(_ cycle: Cycle) -> Bool {
        let (queued, waiter) = state.withLock { s -> (Bool, CheckedContinuation<Item?, Never>?) in
            guard !s.finished else { return (false, nil) }
            if let waiter = s.waiter {
                // The consumer waits, so nothing is queued and no tick is due: hand it over.
                s.waiter = nil
                return (true, waiter)
            }
            guard s.count < s.ring.count else { return (false, nil) }
            let slot = s.head + s.count
            s.ring[slot < s.ring.count ? slot : slot - s.ring.count] = cycle
            s.count += 1
            return (true, nil)
        }
        waiter?.resume(returning: .cycle(cycle))
        return queued
    }

    /// Marks tick work as due (any thread), ahead of the queued cycles; `newModels` are
    /// swapped in by it.
    func tick(newModels: [NewModel] = []) {
        let (waiter, models) = state.withLock { s -> (CheckedContinuation<Item?, Never>?, [NewModel]) in
            guard !s.finished else { return (nil, []) }
            if let waiter = s.waiter {
                s.waiter = nil
                return (waiter, newModels)
            }
            s.tickDue = true
            s.newModels.append(contentsOf: newModels)
            return (nil, [])
        }
        waiter?.resume(returning: .tick(models))
    }

    /// No more cycles or ticks are taken; `next()` returns what is queued, then nil.
    func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<Item?, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The due tick if there is one, else the oldest cycle; waits when there is neither.
    /// - Returns: nil once `finish()` was called and everything queued was taken.
    func next() async -> Item? {
        enum Taken { case item(Item), ended, empty }
        func take(_ s: inout State) -> Taken {
            if let item = s.take() { return .item(item) }
            return s.finished ? .ended : .empty
        }
        switch state.withLock({ take(&$0) }) {
        case .item(let item): return item
        case .ended: return nil
        case .empty: break
        }
        return await withCheckedContinuation { continuation in
            let taken = state.withLock { s -> Taken in
                let taken = take(&s)
                if case .empty = taken { s.waiter = continuation }
                return taken
            }
            switch taken {
            case .item(let item): continuation.resume(returning: item)
            case .ended: continuation.resume(returning: nil)
            case .empty: break
            }
        }
    }
}
