import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A POSIX thread running one closure, joined explicitly.
///
/// Blocking work (libmodbus I/O, SQLite writes, fsync) runs on these, never on the Swift
/// cooperative pool. Shared by every module that needs a thread of its own.
package final class PosixThread: @unchecked Sendable {
    // @unchecked Sendable: `thread` is immutable after init and `joined` is guarded by a
    // Mutex, so join() may be called from any thread.
    private let thread: pthread_t
    private let joined = Mutex(false)

    private final class Body {
        let name: String
        let run: () -> Void
        init(name: String, run: @escaping () -> Void) {
            self.name = name
            self.run = run
        }
    }

    /// Starts a thread running `body`; `name` is kept for diagnostics.
    /// - Throws: `PosixThreadError` when the system refuses to create a thread.
    package init(name: String, body: @escaping @Sendable () -> Void) throws(PosixThreadError) {
        let box = Unmanaged.passRetained(Body(name: name, run: body))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let body = Unmanaged<Body>.fromOpaque(argument).takeRetainedValue()
            body.run()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw PosixThreadError(code: rc)
        }
        self.thread = thread
    }

    /// Gives the thread real-time scheduling (SCHED_FIFO at `priority`, 1-99) where the system
    /// allows it (root, CAP_SYS_NICE, or an RLIMIT_RTPRIO at least `priority`). Tests use it for
    /// what stands in for hardware (a Modbus server at the end of a serial line), which must
    /// answer whatever the machine's load; a `BusPoller` when its options ask for it.
    /// - Returns: whether it was allowed.
    package func useRealtimeScheduling(priority: Int32) -> Bool {
        var parameters = sched_param(sched_priority: priority)
        return pthread_setschedparam(thread, SCHED_FIFO, &parameters) == 0
    }

    /// Waits for the thread to finish (once; later calls return at once).
    package func join() {
        let first = joined.withLock { joined in
            defer { joined = true }
            return !joined
        }
        if first { _ = pthread_join(thread, nil) }
    }

    deinit {
        // A thread never joined would leak; detach so its resources are reclaimed on exit.
        if !joined.withLock({ $0 }) { _ = pthread_detach(thread) }
    }
}

/// The system could not start a thread.
package struct PosixThreadError: Error, Sendable, CustomStringConvertible {
    /// The error number `pthread_create` returned.
    package var code: Int32

    package init(code: Int32) { self.code = code }

    package var description: String { "cannot start a thread (error \(code)): too many threads or too little memory" }
}
