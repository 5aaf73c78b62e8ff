#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// The simulator's one loop: step the fleet against the clock, publish the latest values,
/// answer control lines, until `quit` or SIGINT/SIGTERM.
///
/// Blocking by design (it waits in `poll(2)`); run it on a thread of its own or from a
/// synchronous command, never on the Swift cooperative pool.
public enum SimulationLoop {
    /// Runs `live` until the control port says `quit` or a termination signal arrives.
    /// - Parameters:
    ///   - live: the running fleet.
    ///   - control: the control port, if any.
    ///   - signals: SIGINT/SIGTERM, if the loop should stop on them.
    ///   - events: called with the faults that began or ended in a batch of steps.
    ///   - publish: called after every batch of steps with the fleet's latest values.
    /// - Throws: whatever `publish` or `events` throws.
    public static func run(
        _ live: inout LiveFleet, control: ControlServer?, signals: TerminationSignals?,
        events: ([FaultEvent]) throws -> Void = { _ in }, publish: (LiveFleet) throws -> Void
    ) rethrows {
        while true {
            let now = SystemClock.monotonicNanoseconds()
            if live.advance(toMonotonicNanoseconds: now) > 0 {
                try publish(live)
                let happened = live.drainEvents()
                if !happened.isEmpty { try events(happened) }
            }
            if signals?.received == true { return }
            // Wake for the next step, but at least every 50 ms to notice signals.
            let wait = min(live.nanosecondsUntilNextStep(from: SystemClock.monotonicNanoseconds()), 50_000_000)
            let milliseconds = Int32(max(1, (wait + 999_999) / 1_000_000))
            if let control {
                if control.serve(for: milliseconds, handle: { live.execute($0) }) { return }
            } else {
                usleep(UInt32(milliseconds) * 1000)
            }
        }
    }
}
