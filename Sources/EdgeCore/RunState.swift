/// Whether a machine with a run signal (agent.conf `run_signal`, `run_threshold`,
/// `settle_after_start`) is running, row by row: the one definition the agent's scoring,
/// `calibrate`, `evaluate` and `replay` share, so that they score the same rows.
///
/// A row is scored only while the machine runs and has settled after its last start. A missing
/// run-signal reading (a poll the contact did not answer, a bad or non-finite value) keeps the
/// last known state for `holdTime`, so a flaky contact does not interrupt monitoring; after that
/// the running state is unknown and the machine is not scored (an alert on a machine that may
/// have stopped would be a false alarm). When the signal reads again after an unknown stretch,
/// a running reading counts as a start (settling applies): the machine may have stopped and
/// started in between.
///
/// Times are in one unit the caller chooses: milliseconds in the agent, row numbers for a
/// recorded table (`settleTime` and `holdTime` then count rows). A machine already running when
/// monitoring begins counts as settled.
public struct RunState: Sendable {
    /// The run signal's reading from which a machine with a running contact (0 or 1, or a
    /// bool) runs, when agent.conf gives no `run_threshold`.
    public static let contactLevel = 0.5
    /// How many poll intervals (rows) a missing run-signal reading is bridged by the last known state.
    public static let heldPolls = 5
    /// The default `stopGrace` of a measured run signal (`run_threshold`), in milliseconds: a
    /// stopping motor's current takes about a second to fall below the threshold while its
    /// vibration drops at once (measured on the simulator's compressors: 6–12 polls of 100 ms).
    public static let measuredSignalStopGraceMilliseconds: Int64 = 2000

    /// What the run signal says about one row.
    public enum Phase: Sendable, Equatable {
        /// Running and settled: the row is scored.
        case running
        /// Started less than `settleTime` ago: not scored.
        case settling
        /// Stopped: not scored (a stop is not a fault).
        case stopped
        /// The run signal has not been read for longer than `holdTime`: not scored.
        case unknown
    }

    /// The run signal's reading from which the machine runs (`run_threshold`, or `contactLevel`).
    public let runningLevel: Double
    /// How long the machine settles after a start before its rows are scored.
    public let settleTime: Int64
    /// How long a missing reading keeps the last known state.
    public let holdTime: Int64
    /// How long before the run signal shows a stop the machine may already be stopping (a
    /// motor current decaying): rows this long or less before a stop (or an unknown stretch)
    /// are not judged. The agent therefore judges each row this much later, once the machine is
    /// seen still running; a table drops those rows. 0 for a running contact.
    public let stopGrace: Int64

    /// The phase of the last row observed.
    public private(set) var phase: Phase = .running
    /// Whether the last row is the first scored row after rows that were not (a stop, settling
    /// or an unknown stretch): a scorer's windows and alert rule start afresh there, so no
    /// window straddles a stop.
    public private(set) var startsAfresh = false
    /// When the run signal last gave a reading (the first row's time when it was missing from
    /// the start; nil before the first row).
    private var lastReadingTime: Int64?
    private var startedAt: Int64?

    /// Creates the state of a machine before its first row (running and settled).
    /// - Parameters:
    ///   - runningLevel: the reading from which it runs (`contactLevel` for a running contact).
    ///   - settleTime: after a start, how long its rows are left out (≥ 0).
    ///   - holdTime: how long a missing reading keeps the last known state (≥ 0).
    ///   - stopGrace: how long before a stop rows are not judged (≥ 0; see `stopGrace`).
    public init(runningLevel: Double = RunState.contactLevel, settleTime: Int64 = 0, holdTime: Int64, stopGrace: Int64 = 0) {
        self.runningLevel = runningLevel
        self.settleTime = max(0, settleTime)
        self.holdTime = max(0, holdTime)
        self.stopGrace = max(0, stopGrace)
    }

    /// Whether a row at `rowTime`, scored by the run signal when it came, is judged now that
    /// the signal says stopped or unknown at `stopTime`: not when it lies `stopGrace` or less
    /// before it (the machine was already stopping). The agent judges a row once a later row
    /// at least `stopGrace` after it still says running, so a row exactly `stopGrace` before
    /// the stop is never judged.
    public func isJudged(rowAt rowTime: Int64, stoppedAt stopTime: Int64) -> Bool {
        stopTime - rowTime > stopGrace
    }

    /// Whether the last row is scored (running and settled).
    public var isScored: Bool { phase == .running }

    /// Takes the next row's run-signal reading and returns the row's phase.
    /// - Parameters:
    ///   - reading: the run signal's value, or NaN (or any non-finite value) when it was not read.
    ///   - time: the row's time, not earlier than the previous row's.
    public mutating func observe(_ reading: Double, at time: Int64) -> Phase {
        let previous = phase
        if reading.isFinite {
            lastReadingTime = time
            if reading < runningLevel {
                phase = .stopped
                startedAt = nil
            } else if phase == .stopped || phase == .unknown {
                phase = .settling
                startedAt = time
            }
        } else {
            // The first rows of a monitoring start are held from the first row's time.
            let last = lastReadingTime ?? time
            if lastReadingTime == nil { lastReadingTime = time }
            if time - last > holdTime {
                phase = .unknown
                startedAt = nil
            }
        }
        if phase == .settling, let start = startedAt, time - start >= settleTime {
            phase = .running
            startedAt = nil
        }
        startsAfresh = phase == .running && previous != .running
        return phase
    }
}
