/// Which of a running machine's rows its detector judges, beyond what its run signal says: the
/// running agent (`ScoringEngine`) and `replay`/`evaluate --config` decide with this same code,
/// so what they measure offline is what the agent does.
public enum JudgedRows {
    /// The fraction of a row's sensors that must be usable (read, finite, within `min`…`max`)
    /// for the row to be scored: a row missing most of its sensors says little about the machine.
    public static let minimumUsableFraction = 0.5

    /// How many of a detector's `sensorCount` sensors must be usable for a row to be scored (at
    /// least one).
    public static func usableSensorsNeeded(of sensorCount: Int, fraction: Double = minimumUsableFraction) -> Int {
        max(1, Int((fraction * Double(sensorCount)).rounded(.up)))
    }

    /// Whether the window ending at a row is judged, given the rows the windows have taken since
    /// they (re)started, this row included: the first full window and then every `hop`-th
    /// (agent.conf `hop`; the rows between are in the next judged window, or the first after
    /// a stop). Counted from the windows' start, so a stop does not shift the next run's phase.
    /// A `hop` longer than the window (`window_length` bounds it, not the model's window) is
    /// taken as the window, so that no row is left out of every judged window.
    public static func isJudged(rowsInWindow: Int, windowRows: Int, hop: Int) -> Bool {
        rowsInWindow >= windowRows && (rowsInWindow - windowRows) % min(max(1, hop), max(1, windowRows)) == 0
    }
}

/// Follows a machine through operating states its calibration never saw (Detection's `CalibratedStates`):
/// rows in such a state are not judged, and back in calibrated states the machine settles for
/// `settleRows` rows before its windows start afresh, so no judged window holds rows of the state
/// calibration never saw or of the way back from it. A stop ends it (`stop()`).
///
/// Feed it every running row that is usable, in time order, and tell it of every stop.
/// Allocation-free.
public struct UncalibratedStateGate: Sendable, Hashable {
    /// What a row is, for judging.
    public enum Outcome: Sendable, Hashable {
        /// In calibrated states: judged.
        case judged
        /// In calibrated states again after settling: judged, on windows that start afresh here.
        case judgedAfresh
        /// The first row in a state calibration never saw (`column`'s sensor in `state`, 0 or 1):
        /// not judged; an open anomaly alert is cleared, and rows waiting out the stop grace are
        /// dropped with it.
        case entered(column: Int, state: Float)
        /// Still in a state calibration never saw: not judged.
        case uncalibrated
        /// Back in calibrated states, settling: not judged.
        case settling
    }

    /// Rows in calibrated states the machine settles for before it is judged again.
    public let settleRows: Int
    /// Whether the machine is in (or settling back from) a state calibration never saw.
    public private(set) var isInUncalibratedState = false
    /// Rows in calibrated states since it left the state calibration never saw.
    public private(set) var rowsBackInCalibratedState = 0

    /// Creates the gate of a machine that is in calibrated states.
    public init(settleRows: Int) {
        self.settleRows = max(0, settleRows)
    }

    /// Takes one usable running row: `unseen` is the state calibration never saw it shows (see
    /// Detection's `CalibratedStates.unseenState(in:)`), nil when it is in calibrated states.
    public mutating func observe(unseen: (column: Int, state: Float)?) -> Outcome {
        if let unseen {
            rowsBackInCalibratedState = 0
            guard !isInUncalibratedState else { return .uncalibrated }
            isInUncalibratedState = true
            return .entered(column: unseen.column, state: unseen.state)
        }
        guard isInUncalibratedState else { return .judged }
        rowsBackInCalibratedState += 1
        guard rowsBackInCalibratedState > settleRows else { return .settling }
        isInUncalibratedState = false
        rowsBackInCalibratedState = 0
        return .judgedAfresh
    }

    /// The machine stopped, or its running state became unknown (and its next run counts as a
    /// start): the state calibration never saw, and the settling back from it, are over. The
    /// next run is judged once the restart has settled (`settle_after_start`), and a row of it
    /// in a state calibration never saw is `entered` again.
    public mutating func stop() {
        isInUncalibratedState = false
        rowsBackInCalibratedState = 0
    }
}
