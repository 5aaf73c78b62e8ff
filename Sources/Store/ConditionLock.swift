#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A pthread mutex with a condition variable, for the writer thread's queue.
///
/// `@unchecked Sendable`: the mutex and condition live at fixed heap addresses for the object's
/// whole life and are only touched through pthread calls, which are thread-safe by definition.
final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        // These fail only for invalid attributes (we pass none) or exhausted kernel resources;
        // there is no way to continue without a lock, so stop with a clear message.
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        var attributes = pthread_condattr_t()
        precondition(pthread_condattr_init(&attributes) == 0, "pthread_condattr_init failed")
        // Timed waits use CLOCK_MONOTONIC, so wall-clock jumps neither stall nor hurry them.
        precondition(pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC) == 0, "pthread_condattr_setclock failed")
        precondition(pthread_cond_init(condition, &attributes) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the mutex held.
    @inline(__always)
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Wakes every waiter. Call with or without the mutex held.
    func broadcast() {
        pthread_cond_broadcast(condition)
    }

    /// Waits (mutex held) until woken or until `deadlineNanoseconds` on CLOCK_MONOTONIC passes.
    func wait(untilMonotonicNanoseconds deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        // ETIMEDOUT and spurious wake-ups are both fine: callers re-check their condition.
        _ = pthread_cond_timedwait(condition, mutex, &ts)
    }

    /// Waits (mutex held) until woken.
    func wait() {
        _ = pthread_cond_wait(condition, mutex)
    }
}

