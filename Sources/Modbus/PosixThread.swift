import CSystem
import EdgeCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sleeps until a monotonic deadline or until `wake()` is called from another thread.
///
/// A pipe rather than a condition variable so that a server's `poll()` loop can wait on it
/// together with its sockets.
package final class WakeSignal: @unchecked Sendable {
    // Safe to share: the two descriptors are immutable after init, and write/read/poll on a
    // pipe are thread-safe system calls.
    package let readFD: Int32
    private let writeFD: Int32

    /// Creates the pipe, both ends close-on-exec and non-blocking from the start.
    /// - Throws: `PosixThreadError` with the errno when no descriptors are left.
    package init() throws(PosixThreadError) {
        var fds: [Int32] = [-1, -1]
        // In one call: set by fcntl after pipe(), a fork or posix_spawn on another thread (an
        // alert action) in between copied the descriptors into a child without close-on-exec.
        // Non-blocking: a full pipe already means "woken", and drain() must not block.
        guard CSystem_pipe2(&fds, O_CLOEXEC | O_NONBLOCK) == 0 else { throw PosixThreadError(code: errno) }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    /// Wakes the waiting thread (safe from any thread; a full pipe already means "woken").
    package func wake() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// Discards pending wake-ups.
    package func drain() {
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &buffer, { read(readFD, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Waits until `deadline` (CLOCK_MONOTONIC nanoseconds) or a wake-up.
    ///
    /// Deadlines closer than 50 µs count as reached (that is below the kernel's default timer
    /// slack, so sleeping would overshoot anyway); the last 2 ms are slept with `nanosleep`
    /// for sub-millisecond precision, longer waits use `poll()` so `wake()` ends them at once.
    /// - Returns: true when woken, false when the deadline passed.
    package func wait(untilMonotonicNanoseconds deadline: UInt64, now: () -> UInt64) -> Bool {
        while true {
            let current = now()
            if current >= deadline || deadline - current <= 50_000 { return false }
            let remaining = deadline - current
            if remaining <= 2_000_000 {
                var request = timespec(tv_sec: 0, tv_nsec: Int(remaining))
                var rest = timespec()
                _ = nanosleep(&request, &rest)
                continue
            }
            let milliseconds = Int32(clamping: (remaining - 1_000_000) / 1_000_000)
            var descriptor = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
            let rc = poll(&descriptor, 1, milliseconds)
            if rc > 0 { return true }
            if rc < 0 && errno != EINTR { return false }
        }
    }
}
