/// The ends of whole phases of a two-state machine (a compressor's loaded and unloaded
/// stretches): each complete phase's mean over its last window, compared with what calibration's
/// phases showed.
///
/// Within a loaded phase a compressor's discharge pressure and current ramp with its receiver's
/// pressure band (0.6–1.2 bar), so a 20-row window mean of even the state-compensated reading
/// tolerates the whole band, and an outlet valve that closes (+0.8 bar on the discharge while
/// loaded) stays inside it. Every loaded phase ends where the pressure switch ends it, at the
/// cut-out, whatever the demand, so the mean of its last window (`endRows`) hardly moves in
/// normal operation, and the valve's offset is many times what calibration's phases showed. Not
/// the mean over time: the fill slows toward the cut-out, most at a high demand, whose phases
/// then dwell near the top (a settled compressor at load 0.85 after a calibration at 0.6:
/// 1,967 alerting rows on the receiver pressure; `StatePhaseAccumulator`). A sensor is judged this way, in a state, only
/// when its phase means are at least twice as sharp as its window means
/// (`tolerance < sharpness · windowScale`) and, over enough phases, scatter about one level
/// rather than drift (a temperature following its oil is left to the window score). By default
/// only loaded phases are judged, and only when they last several windows (100 ms polls): an
/// unloaded phase's length, and with it the mean of a separator blowing down, is set by the
/// demand. See docs/detection.md, "Means over whole loaded phases".
public struct StatePhaseMeans: Sendable, Hashable, Codable {
    /// Column of the 0/1 state sensor (the state compensation's).
    public var state: Int
    /// Per state (index 0 and 1, flattened `2 × sensorCount`) and sensor: the median of the
    /// calibration's phase means, in the units the window score receives (after the state and
    /// load compensations); NaN: the sensor is not judged in that state.
    public var center: [Float]
    /// Per state and sensor (same layout): the tolerated distance of a phase mean from `center`.
    public var tolerance: [Float]
    /// Fewest readings of a sensor in a phase for its mean to be judged (shorter phases are not).
    public var minimumRows: Int
    /// Rows at the end of a phase whose mean judges it (`StatePhaseAccumulator`); nil (files
    /// written before phases were judged by their end): the mean over the whole phase, as they
    /// were calibrated.
    public var endRows: Int?

    /// Number of sensors.
    public var sensorCount: Int { center.count / 2 }

    /// Settings of the fit.
    public struct Settings: Sendable, Hashable, Codable {
        /// Complete phases of a state calibration must show for that state to be judged.
        public var minimumPhases: Int
        /// A sensor is judged in a state when its phase-mean tolerance is below this fraction of
        /// its window mean's tolerated spread.
        public var sharpness: Float
        /// The tolerance is at least this many scaled MADs of the calibration's phase means.
        public var madFactor: Float
        /// The states judged (0, 1).
        public var states: [Int]
        /// With at least `driftPhases` phases, a sensor whose successive phase means differ by
        /// less than `minimumScatter` of their spread (median change over scaled MAD: about 0.95
        /// for means scattered about one level) drifts from phase to phase (a temperature
        /// following its oil or the weather) and is not judged.
        public var minimumScatter: Float
        /// Phases needed for the drift test (fewer: not tested).
        public var driftPhases: Int
        /// A state is judged only when its complete phases in calibration last at least this many
        /// window lengths (median): a phase that one or two windows cover is already averaged by
        /// the window score, and its mean over a few dozen rows is no sharper (at 1 s polls a
        /// compressor's loaded phases last 15–55 rows, at 100 ms 150–550).
        public var minimumPhaseWindows: Float
        /// Whether a phase is judged by its end (the mean of its last window) rather than its
        /// mean over time, which follows the demand (`StatePhaseAccumulator`).
        public var judgesEnd: Bool

        /// Creates settings; the defaults are the shipped ones.
        public init(minimumPhases: Int = 3, sharpness: Float = 0.5, madFactor: Float = 3, states: [Int] = [1],
                    minimumScatter: Float = 0.5, driftPhases: Int = 20, minimumPhaseWindows: Float = 4, judgesEnd: Bool = true) {
            self.minimumPhases = minimumPhases
            self.sharpness = sharpness
            self.madFactor = madFactor
            self.states = states
            self.minimumScatter = minimumScatter
            self.driftPhases = driftPhases
            self.minimumPhaseWindows = minimumPhaseWindows
            self.judgesEnd = judgesEnd
        }
    }

    /// Fits the phase means to compensated calibration rows (row-major, the values the window
    /// score was fitted on; `stateValues[r]` the raw state reading of row r, NaN = missing);
    /// nil when no state showed `minimumPhases` complete phases or no sensor gains from it.
    /// - Parameters:
    ///   - baseline: the window-deviation baseline fitted on the same rows (scale, window spread).
    ///   - shift: the state compensation's shifts (added back to judge a sensor's magnitude).
    ///   - approach: the state compensation's `approachRows`, when fitted: a sensor whose
    ///     approach to a state's level (3 time constants) does not end within that state's
    ///     median phase is not judged by that state's phase means, since a mean over a phase then
    ///     covers a different part of its approach curve at each phase length (a discharge
    ///     temperature's 20 s lag against loaded phases of 15–55 s), so it follows the demand.
    ///   - runStarts: rows at which a run starts after a stop (a phase never spans one).
    static func fit(values: ArraySlice<Float>, stateValues: [Float], sensorCount n: Int, state: Int,
                    baseline: WindowDeviationBaseline, shift: [Float], approach: [Float]? = nil, runStarts: [Int] = [],
                    settings: Settings = Settings()) -> StatePhaseMeans? {
        let rows = n > 0 ? values.count / n : 0
        let minimumRows = baseline.settings.windowRows
        let runOfRow = CalibrationRuns.runOfRow(rows: rows, starts: runStarts)
        var phaseMeans = [[Float]](repeating: [], count: 2 * n)
        var phaseRows: [[Float]] = [[], []]
        let endRows = settings.judgesEnd ? minimumRows : nil
        var accumulator = StatePhaseAccumulator(sensorCount: n, endRows: endRows)
        var means = [Float](repeating: .nan, count: n)
        for r in 0..<rows {
            if let runOfRow, r > 0, runOfRow[r] != runOfRow[r - 1] { accumulator = StatePhaseAccumulator(sensorCount: n, endRows: endRows) }
            let start = values.startIndex + r * n
            guard let ended = accumulator.push(values[start..<(start + n)], state: stateValues[r]) else { continue }
            phaseRows[ended].append(accumulator.finishedRows)
            accumulator.finishedMeans(into: &means, minimumRows: minimumRows)
            for s in 0..<n where s != state && means[s].isFinite { phaseMeans[ended * n + s].append(means[s]) }
        }
        var center = [Float](repeating: .nan, count: 2 * n)
        var tolerance = [Float](repeating: .nan, count: 2 * n)
        let noiseFloor = 0.5 / Float(baseline.settings.windowRows).squareRoot()
        // A phase is judged by a mean of `averaged` rows, whose noise alone scatters it by the
        // rows' noise ÷ √averaged: its tolerance is at least `madFactor` times that, whatever
        // the few phases of a calibration showed.
        let averaged = Float(endRows ?? minimumRows)
        for k in settings.states where (k == 0 || k == 1)
            && RobustStatistics.median(phaseRows[k]) >= settings.minimumPhaseWindows * Float(minimumRows) {
            for s in 0..<n where s != state {
                let m = phaseMeans[k * n + s]
                guard m.count >= settings.minimumPhases else { continue }
                if let approach, approach.count == 2 * n,
                   3 * approach[k == 1 ? s : n + s] > RobustStatistics.median(phaseRows[k]) { continue }
                let c = RobustStatistics.median(m)
                let mad = RobustStatistics.scaledMAD(m, center: c)
                let largest = m.map { abs($0 - c) }.max() ?? 0
                let magnitude = abs(c + (k == 1 && s < shift.count ? shift[s] : 0))
                let scale = baseline.scale[s]
                let meanNoise = rowNoise(values: values, stateValues: stateValues, sensorCount: n, sensor: s, state: k,
                                         runOfRow: runOfRow) / averaged.squareRoot()
                let t = max(settings.madFactor * (mad.isFinite ? mad : 0), largest,
                            baseline.settings.relativeToleranceFloor * magnitude, noiseFloor * scale,
                            settings.madFactor * (meanNoise.isFinite ? meanNoise : 0))
                let windowSpread = baseline.windowScale[s] * scale
                if m.count >= settings.driftPhases, mad > 0 {
                    let step = RobustStatistics.median((1..<m.count).map { abs(m[$0] - m[$0 - 1]) })
                    guard step >= settings.minimumScatter * mad else { continue }
                }
                guard c.isFinite, t.isFinite, t > 0, windowSpread.isFinite, t < settings.sharpness * windowSpread else { continue }
                center[k * n + s] = c
                tolerance[k * n + s] = t
            }
        }
        guard center.contains(where: \.isFinite) else { return nil }
        return StatePhaseMeans(state: state, center: center, tolerance: tolerance, minimumRows: minimumRows, endRows: endRows)
    }
}

extension StatePhaseMeans {
    /// The noise of sensor `s`'s single readings within state `k`: the scaled MAD of its change
    /// from one row to the next while the state holds (within one run), ÷ √2. A change over one
    /// row leaves out the slow course of a phase (a ramp with the receiver's band) and keeps the
    /// noise that scatters a mean of a few rows.
    ///
    /// Why a phase mean needs it: a calibration of 10 minutes at 1 s polls holds 3–6 loaded
    /// phases long enough to be judged, and their means can agree by chance far more closely
    /// than the noise of a 20-row mean lets later phases agree. Simulated compressor seed 2 at
    /// load 0.7: vibration_y's loaded phases were judged with a tolerance of 0.0124 mm/s (1 % of
    /// its level, the floor), below one noise spread of a 20-row mean (about 0.015), and alerted
    /// on 463 rows of normal running, 143 of them before any change of demand.
    static func rowNoise(values: ArraySlice<Float>, stateValues: [Float], sensorCount n: Int, sensor s: Int, state k: Int,
                         runOfRow: [Int]?) -> Float {
        let rows = n > 0 ? values.count / n : 0
        var changes: [Float] = []
        for r in 1..<max(rows, 1) {
            if let runOfRow, runOfRow[r] != runOfRow[r - 1] { continue }
            let x = stateValues[r], before = stateValues[r - 1]
            guard x.isFinite, before.isFinite, (x >= 0.5 ? 1 : 0) == k, (before >= 0.5 ? 1 : 0) == k else { continue }
            let d = values[values.startIndex + r * n + s] - values[values.startIndex + (r - 1) * n + s]
            if d.isFinite { changes.append(d) }
        }
        guard changes.count > 2 else { return .nan }
        return RobustStatistics.scaledMAD(changes, center: RobustStatistics.median(changes)) / Float(2).squareRoot()
    }
}

/// Sums one phase of a two-state machine's rows and keeps its last `endRows`; a phase counts as
/// complete when it began at a change of state seen by this accumulator (the first, partial,
/// phase after a start does not).
///
/// With `endRows`, a phase is judged by the mean of its last `endRows` rows, the window just
/// before the change of state that ends it, not by its mean over time. A compressor's loaded
/// phase ends where its pressure switch ends it: the receiver at the cut-out whatever the
/// demand, the discharge pressure its separator's drop above it, the current with it. Over time
/// they pass the same band at any demand, but the receiver fills ever more slowly toward the
/// cut-out (less delivery against more back pressure, more leakage), most at a high demand,
/// whose phases then dwell near the top, so their mean over time follows the demand
/// (docs/detection.md, "A change of demand"). The last window is also the farthest from the
/// approach after the change into the phase, which a fault's new level only shows in part.
struct StatePhaseAccumulator: Sendable {
    private let n: Int
    /// Rows at the end of a phase that judge it, or 0: its mean over time (detector files
    /// written before, `StatePhaseMeans.endRows` nil).
    private let endRows: Int
    /// Per sensor, the sum and readings of the phase being summed (mean over time), and of the
    /// one the last change of state ended (its last `endRows` rows, or all of it).
    private var sums: [Float]
    private var counts: [Int32]
    private var finishedSums: [Float]
    private var finishedCounts: [Int32]
    /// Per sensor, readings in the phase the last change of state ended (all of it).
    private var finishedReadings: [Int32]
    /// The last `endRows` rows of the phase being summed (row-major ring, NaN = missing).
    private var ring: [Float]
    private var ringNext = 0
    /// The state of the phase being summed (-1: none yet).
    private var current = -1
    /// Whether the phase being summed began at a change of state.
    private var complete = false
    /// Rows of the phase being summed, and of the one the last change of state ended.
    private var length = 0
    private var finishedLength = 0

    /// - Parameter endRows: rows at the end of a phase that judge it; nil: its mean over time.
    init(sensorCount n: Int, endRows: Int?) {
        self.n = n
        self.endRows = max(endRows ?? 0, 0)
        sums = [Float](repeating: 0, count: n)
        counts = [Int32](repeating: 0, count: n)
        finishedSums = sums
        finishedCounts = counts
        finishedReadings = counts
        ring = [Float](repeating: .nan, count: self.endRows * n)
    }

    /// Adds a row; returns the state of the complete phase this row ended (its means are then
    /// read with `finishedMeans` before the next push), or nil. A row without a state reading is
    /// left out.
    mutating func push<C: Collection>(_ row: C, state x: Float) -> Int? where C.Element == Float {
        guard x.isFinite else { return nil }
        let k = x >= 0.5 ? 1 : 0
        var ended: Int?
        if k != current {
            if complete { ended = current }
            for s in 0..<n { finishedReadings[s] = counts[s] }
            if endRows > 0 {
                sumLastRows()
            } else {
                swap(&sums, &finishedSums)
                swap(&counts, &finishedCounts)
            }
            for s in 0..<n { sums[s] = 0; counts[s] = 0 }
            finishedLength = length
            length = 0
            complete = current >= 0
            current = k
        }
        length += 1
        var s = 0
        if endRows == 0 {
            for v in row where s < n {
                if v.isFinite { sums[s] += v; counts[s] += 1 }
                s += 1
            }
            return ended
        }
        let slot = ringNext * n
        for v in row where s < n {
            ring[slot + s] = v
            if v.isFinite { counts[s] += 1 }
            s += 1
        }
        while s < n { ring[slot + s] = .nan; s += 1 }
        ringNext = ringNext + 1 == endRows ? 0 : ringNext + 1
        return ended
    }

    /// Sums the ring's rows of the phase being summed (its last `endRows`, or all of a shorter one).
    private mutating func sumLastRows() {
        for s in 0..<n { finishedSums[s] = 0; finishedCounts[s] = 0 }
        var slot = ringNext
        for _ in 0..<min(length, endRows) {
            slot = slot == 0 ? endRows - 1 : slot - 1
            for s in 0..<n {
                let v = ring[slot * n + s]
                if v.isFinite { finishedSums[s] += v; finishedCounts[s] += 1 }
            }
        }
    }

    /// Rows of the phase the last `push` ended.
    var finishedRows: Float { Float(finishedLength) }

    /// The means of the phase the last `push` ended: per sensor, the mean of its last
    /// `endRows` rows, or (`endRows` nil) of all of it; NaN for a sensor with fewer than
    /// `minimumRows` readings in the phase, or none in its last rows.
    func finishedMeans(into means: inout [Float], minimumRows: Int) {
        for s in means.indices {
            means[s] = s < n && finishedReadings[s] >= Int32(minimumRows) && finishedCounts[s] > 0
                ? finishedSums[s] / Float(finishedCounts[s]) : .nan
        }
    }
}

/// Scores a two-state machine's rows by the last complete phase of each state
/// (`StatePhaseMeans`): each judged sensor's phase mean off its calibration center, in units of
/// its tolerance, times the window score's weight for the sensor; held until the next complete
/// phase of the same state. Allocation-free per row.
struct StatePhaseScorer: Sendable {
    let phases: StatePhaseMeans
    private let weight: [Float]
    private var accumulator: StatePhaseAccumulator
    private var means: [Float]
    /// Per state and sensor, the deviation of the last complete phase (0: none yet).
    private var last: [Float]
    /// Per sensor, the larger of its two states' last deviations.
    private(set) var contributions: [Float]
    /// The largest contribution.
    private(set) var score: Float = 0

    init(_ phases: StatePhaseMeans, weight: [Float]) {
        self.phases = phases
        self.weight = weight
        let n = phases.sensorCount
        accumulator = StatePhaseAccumulator(sensorCount: n, endRows: phases.endRows)
        means = [Float](repeating: .nan, count: n)
        last = [Float](repeating: 0, count: 2 * n)
        contributions = [Float](repeating: 0, count: n)
    }

    /// Where the phase means gave `sensor`'s contribution: the state of the phase judged, and
    /// the range of that phase's mean (the units the window score receives) over which the
    /// contribution stays at or below `limit` (`center ± limit · tolerance / weight`); nil when
    /// no complete phase of a judged state gave it one.
    func expectation(sensor s: Int, limit: Float) -> (state: Int, contribution: Float, low: Float, high: Float)? {
        let n = phases.sensorCount
        guard s >= 0, s < n else { return nil }
        let k = last[n + s] > last[s] ? 1 : 0
        let c = phases.center[k * n + s], w = s < weight.count ? weight[s] : 1
        guard c.isFinite, last[k * n + s] > 0 else { return nil }
        let halfWidth = w > 0 ? limit * phases.tolerance[k * n + s] / w : .infinity
        return (k, last[k * n + s], c - halfWidth, c + halfWidth)
    }

    /// Adds a row (the values the window score receives) with its raw state reading.
    mutating func push<C: Collection>(_ row: C, state x: Float) where C.Element == Float {
        guard let k = accumulator.push(row, state: x) else { return }
        let n = phases.sensorCount
        accumulator.finishedMeans(into: &means, minimumRows: phases.minimumRows)
        score = 0
        for s in 0..<n {
            let c = phases.center[k * n + s]
            if c.isFinite {
                let d = (s < weight.count ? weight[s] : 1) * abs(means[s] - c) / phases.tolerance[k * n + s]
                last[k * n + s] = d.isFinite ? d : 0
            }
            contributions[s] = max(last[s], last[n + s])
            score = max(score, contributions[s])
        }
    }
}
