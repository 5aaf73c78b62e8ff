#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// A thread of its own that runs submitted jobs one at a time, in order, so blocking work
/// (fsync of the alert log, SQLite writes, alert commands) never runs on the cooperative pool.
///
/// The queue is bounded: a job submitted while it is full is refused and counted. A job is
/// released as soon as it has run, and with it whatever it captured (a period's score points, a
/// status snapshot): a long-running agent's memory does not grow with the jobs it has done.
final class SerialWorker: @unchecked Sendable {
    // @unchecked Sendable: `jobs`, `head`, `running`, `stopping` and `refused` are only touched
    // with `mutex` held;
    // `mutex`/`condition` are heap-allocated pthread objects that never move.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Queued jobs from `head` on; the slots before `head` have run and are nil, so nothing they
    /// captured stays alive until the storage is compacted.
    private var jobs: [(@Sendable () -> Void)?] = []
    private var head = 0
    private var running = false
    private var stopping = false
    private var refused = 0
    private let capacity: Int
    private var thread: PosixThread?

    /// Starts the thread.
    init(name: String, capacity: Int = 10_000) throws {
        self.capacity = capacity
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        thread = try PosixThread(name: name) { [unowned(unsafe) self] in self.loop() }
    }

    deinit {
        stop()
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Queues a job. - Returns: false when the queue is full or the worker stopped.
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard !stopping, jobs.count - head < capacity else {
            refused += 1
            return false
        }
        jobs.append(job)
        pthread_cond_signal(condition)
        return true
    }

    /// Jobs refused because the queue was full.
    var refusedJobs: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return refused
    }

    /// Blocks until every job submitted so far has run.
    func drain() {
        pthread_mutex_lock(mutex)
        while head < jobs.count || running { pthread_cond_wait(condition, mutex) }
        pthread_mutex_unlock(mutex)
    }

    /// Runs what is queued, then ends the thread. Idempotent.
    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
        thread?.join()
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        while true {
            while head == jobs.count && !stopping { pthread_cond_wait(condition, mutex) }
            if head == jobs.count && stopping { break }
            var job = jobs[head].take()
            head += 1
            if head == jobs.count {
                // Everything queued has been taken: start over in the same storage.
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024, head * 2 > jobs.count {
                // Never empty for long (a steady stream of jobs): drop the consumed slots.
                jobs.removeFirst(head)
                head = 0
            }
            running = true
            pthread_mutex_unlock(mutex)
            job?()
            // Released here, outside the lock: what it captured may have a deinit of its own.
            job = nil
            pthread_mutex_lock(mutex)
            running = false
            pthread_cond_broadcast(condition)
        }
        pthread_mutex_unlock(mutex)
    }
}
