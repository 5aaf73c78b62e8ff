#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where the agent gets the time from: wall-clock time for timestamps, and a monotonic
/// clock for scheduling, so that a wall-clock jump never reorders or stalls polling.
///
/// Tests inject their own clock to simulate jumps.
public protocol AgentClock: Sendable {
    /// Wall-clock time, used to stamp readings and alerts.
    func now() -> Timestamp
    /// Monotonic nanoseconds, used for scheduling and latency measurement.
    func monotonicNanoseconds() -> UInt64
}

/// The system clocks: CLOCK_REALTIME and CLOCK_MONOTONIC.
public struct SystemClock: AgentClock {
    public init() {}
    public func now() -> Timestamp { Timestamp.now() }
    public func monotonicNanoseconds() -> UInt64 { SystemClock.monotonicNanoseconds() }

    /// CLOCK_MONOTONIC in nanoseconds.
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
