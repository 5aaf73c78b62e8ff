import Synchronization
import TestSupport
import Testing

/// A test past its time limit is cancelled; its waits must then give up, not poll on. A sleep in
/// a cancelled task returns at once, so a wait that ignored the cancellation spun on a thread of
/// the cooperative pool until its deadline: in a whole-suite run under load a few of them held
/// the pool, and every in-process agent and async test behind them passed its own limit in turn
/// (960 s, 11 issues). Counted in polls of the condition, not in time: a spinning wait polls it
/// thousands of times a second, one that gives up polls it once or twice.
@Suite struct CancelledWaitTests {
    /// Runs `wait` in a task cancelled once it has polled its condition once; returns how many
    /// times the condition was polled in all.
    static func polls(_ wait: @escaping @Sendable (@escaping @Sendable () -> Bool) async -> Void) async -> Int {
        let count = Atomic<Int>(0)
        let started = Atomic<Bool>(false)
        let task = Task {
            await wait {
                started.store(true, ordering: .sequentiallyConsistent)
                count.add(1, ordering: .sequentiallyConsistent)
                return false
            }
        }
        while !started.load(ordering: .sequentiallyConsistent) { await Task.yield() }
        task.cancel()
        await task.value
        return count.load(ordering: .sequentiallyConsistent)
    }

    @Test func eventuallyGivesUpWhenCancelled() async {
        let polls = await Self.polls { condition in _ = await eventually(within: 5) { condition() } }
        #expect(polls <= 3, "the cancelled wait polled its condition \(polls) times after it was cancelled (one that polls on: thousands until its 5 s deadline)")
    }
}
