import EdgeCore
import Modbus
import Synchronization

/// A thread of its own that runs the pipeline's ticker: its work is blocking (a `stat` of every
/// model file, loading a changed model, the buffer file's identity, the watchdog datagram), so
/// it stays off the cooperative pool, and it goes on while scoring is busy.
final class TickerThread: Sendable {
    private final class Control: Sendable {
        let signal: WakeSignal
        let stopping = Atomic<Bool>(false)
        init(signal: WakeSignal) { self.signal = signal }
    }

    private let control: Control
    private let thread: PosixThread

    /// Starts the thread running `body`, which loops on the `nextTick` it is given: that waits
    /// `interval` (monotonic) and returns false once `stop()` was called.
    /// - Throws: `PosixThreadError` when no thread or pipe can be had.
    init(name: String, interval: Duration, body: @escaping @Sendable (_ nextTick: () -> Bool) -> Void) throws(PosixThreadError) {
        let control = Control(signal: try WakeSignal())
        let nanoseconds = UInt64(max(0, interval.wholeNanoseconds))
        thread = try PosixThread(name: name) {
            body {
                guard !control.stopping.load(ordering: .acquiring) else { return false }
                _ = control.signal.wait(untilMonotonicNanoseconds: SystemClock.monotonicNanoseconds() + nanoseconds,
                                        now: SystemClock.monotonicNanoseconds)
                return !control.stopping.load(ordering: .acquiring)
            }
        }
        self.control = control
    }

    /// Ends the thread after the tick in progress, and waits for it (blocking).
    func stop() {
        control.stopping.store(true, ordering: .releasing)
        control.signal.wake()
        thread.join()
    }
}
