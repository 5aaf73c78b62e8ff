#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Settings of the window-deviation score: how long a window is and how much slow wander a
/// sensor is allowed before its level counts as a deviation.
public struct WindowDeviationSettings: Sendable, Hashable, Codable {
    /// Rows averaged per sensor before comparing with the calibration level (noise reduction).
    public var windowRows: Int
    /// Horizon, in rows, over which calibration measures each sensor's slow wander; the largest
    /// change of a sensor's window mean over this horizon is tolerated as normal.
    public var driftHorizonRows: Int
    /// Smallest per-sensor scale relative to the sensor's typical magnitude, so that a sensor that
    /// was perfectly constant during calibration does not alarm on its first quantization step.
    public var relativeScaleFloor: Float
    /// A sensor whose change over `driftHorizonRows` is more than this many times its
    /// row-to-row change *wanders* (temperatures do): its level says little about faults, so its
    /// deviation is divided by `(ratio / wanderRatioLimit) ^ wanderPenaltyPower` — unless
    /// calibration shows its level coming back (a cycle longer than the horizon, see
    /// `WindowDeviationBaseline.returnsWithinHorizon`).
    public var wanderRatioLimit: Float
    /// How strongly wandering sensors are discounted (0 disables the discount).
    public var wanderPenaltyPower: Float
    /// Smallest tolerated change of a sensor's level, as a fraction of its typical magnitude:
    /// a supply voltage 1 % off its calibration level is normal however still it sat then.
    public var relativeToleranceFloor: Float
    /// How operating directions (sensors moving together with load or speed) are found; nil
    /// scores plain per-sensor levels (see `OperatingSubspace`).
    public var operating: OperatingSubspace.Settings?
    /// How a return to the normal level is seen before the window mean shows it; nil scores the
    /// plain window mean (see `ReturnToNormalCheck`).
    public var returnCheck: ReturnToNormalCheck.Settings?

    /// Creates settings; the defaults are the shipped ones (see docs/detection.md, "What alerts: the window-deviation score").
    public init(windowRows: Int = 20, driftHorizonRows: Int = 100, relativeScaleFloor: Float = 1e-3,
                wanderRatioLimit: Float = 2, wanderPenaltyPower: Float = 4,
                operating: OperatingSubspace.Settings? = OperatingSubspace.Settings(), relativeToleranceFloor: Float = 0.01,
                returnCheck: ReturnToNormalCheck.Settings? = ReturnToNormalCheck.Settings()) {
        self.windowRows = max(1, windowRows)
        self.driftHorizonRows = max(1, driftHorizonRows)
        self.relativeScaleFloor = relativeScaleFloor
        self.wanderRatioLimit = wanderRatioLimit
        self.wanderPenaltyPower = wanderPenaltyPower
        self.operating = operating
        self.relativeToleranceFloor = relativeToleranceFloor
        self.returnCheck = returnCheck
    }
}

extension WindowDeviationSettings {
    private enum Keys: String, CodingKey {
        case windowRows, driftHorizonRows, relativeScaleFloor, wanderRatioLimit, wanderPenaltyPower, relativeToleranceFloor, operating, returnCheck
    }

    /// Reads settings; keys added after the first release take the value that reproduces how
    /// detectors calibrated before them score (no tolerance floor, no operating directions, no
    /// return-to-normal check), so
    /// an agent upgrade keeps every calibrated machine running.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        windowRows = try c.decode(Int.self, forKey: .windowRows)
        driftHorizonRows = try c.decode(Int.self, forKey: .driftHorizonRows)
        relativeScaleFloor = try c.decode(Float.self, forKey: .relativeScaleFloor)
        wanderRatioLimit = try c.decode(Float.self, forKey: .wanderRatioLimit)
        wanderPenaltyPower = try c.decode(Float.self, forKey: .wanderPenaltyPower)
        relativeToleranceFloor = try c.decodeIfPresent(Float.self, forKey: .relativeToleranceFloor) ?? 0
        operating = try c.decodeIfPresent(OperatingSubspace.Settings.self, forKey: .operating)
        returnCheck = try c.decodeIfPresent(ReturnToNormalCheck.Settings.self, forKey: .returnCheck)
    }

    /// Writes every setting.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(windowRows, forKey: .windowRows)
        try c.encode(driftHorizonRows, forKey: .driftHorizonRows)
        try c.encode(relativeScaleFloor, forKey: .relativeScaleFloor)
        try c.encode(wanderRatioLimit, forKey: .wanderRatioLimit)
        try c.encode(wanderPenaltyPower, forKey: .wanderPenaltyPower)
        try c.encode(relativeToleranceFloor, forKey: .relativeToleranceFloor)
        try c.encodeIfPresent(operating, forKey: .operating)
        try c.encodeIfPresent(returnCheck, forKey: .returnCheck)
    }
}

/// One machine's normal levels, learned from calibration rows: robust per-sensor normalization
/// (median and MAD) and the spread of each sensor's window mean in normal operation.
public struct WindowDeviationBaseline: Sendable, Hashable, Codable {
    /// The settings the baseline was fitted with.
    public var settings: WindowDeviationSettings
    /// Per-sensor median of the calibration readings (NaN: sensor never read).
    public var median: [Float]
    /// Per-sensor robust scale (scaled MAD with a floor) of the calibration readings.
    public var scale: [Float]
    /// Per-sensor median of the normalized window means during calibration.
    public var windowCenter: [Float]
    /// Per-sensor tolerated spread of the normalized window means (MAD, slow wander, noise floor).
    public var windowScale: [Float]
    /// Per-sensor weight of the deviation (1, or less for sensors that wander; see `WindowDeviationSettings`).
    public var weight: [Float]
    /// The machine's operating directions, removed before measuring deviations (nil: none seen).
    public var operating: OperatingSubspace?
    /// Per-sensor dead band in normalized units (the configured tolerance divided by `scale`): only
    /// the part of a window's offset beyond it counts (nil or 0: none). Detectors calibrated
    /// before tolerances existed have none.
    public var deadBand: [Float]?
    /// The early return-to-normal check (nil: none; detectors calibrated before it existed).
    public var returnCheck: ReturnToNormalCheck?

    /// Number of sensors.
    public var sensorCount: Int { median.count }

    /// Fits the baseline to calibration rows (row-major, `sensorCount` values per row, NaN = missing).
    /// - Important: Robust by construction: medians and MADs ignore a minority of anomalous rows.
    /// - Parameter robustSpread: measure slow wander by the median change over the horizon
    ///   instead of the largest one: a first pass that a hidden fault cannot inflate, used to
    ///   find suspect rows before the final fit.
    /// - Parameter tolerances: per sensor, how far its level may move and still be normal, in the
    ///   sensor's own unit (NaN or ≤ 0: no tolerance); becomes `deadBand`.
    /// - Parameter runStarts: rows at which the machine runs again after a stop
    ///   (`SensorTable.runStarts`): windows start afresh there, as the agent's do, so no window
    ///   straddles a stop. Changes over the drift horizon still compare window means of
    ///   different runs: a machine that restarts at another level shows how far its level moves
    ///   in normal operation.
    public static func fit(values: ArraySlice<Float>, sensorCount: Int,
                           settings: WindowDeviationSettings = WindowDeviationSettings(),
                           robustSpread: Bool = false, tolerances: [Float]? = nil,
                           runStarts: [Int] = []) -> WindowDeviationBaseline {
        let rows = sensorCount > 0 ? values.count / sensorCount : 0
        let runOfRow = CalibrationRuns.runOfRow(rows: rows, starts: runStarts)
        var median = [Float](repeating: .nan, count: sensorCount)
        var scale = [Float](repeating: .nan, count: sensorCount)
        for s in 0..<sensorCount {
            let column = (0..<rows).lazy.map { values[values.startIndex + $0 * sensorCount + s] }
            let m = RobustStatistics.median(column)
            guard m.isFinite else { continue }
            let mad = RobustStatistics.scaledMAD(column, center: m)
            median[s] = m
            scale[s] = max(mad.isFinite ? mad : 0, settings.relativeScaleFloor * max(abs(m), 1e-3))
        }
        var baseline = WindowDeviationBaseline(
            settings: settings, median: median, scale: scale,
            windowCenter: [Float](repeating: 0, count: sensorCount),
            windowScale: [Float](repeating: 1, count: sensorCount),
            weight: [Float](repeating: 1, count: sensorCount))
        if let tolerances, tolerances.count == sensorCount, tolerances.contains(where: { $0 > 0 }) {
            baseline.deadBand = (0..<sensorCount).map { s in
                let band = tolerances[s] / scale[s]
                return tolerances[s] > 0 && band.isFinite ? band : 0
            }
        }
        // The window means of the calibration rows themselves, computed by the same streaming code
        // that scores later rows, so calibration and scoring cannot disagree.
        var scorer = WindowDeviationScorer(baseline: baseline)
        var means: [[Float]] = Array(repeating: [], count: sensorCount)
        // The run each window mean belongs to (with run starts only).
        var runOfMean: [Int] = []
        var sinceStart = 0
        for r in 0..<rows {
            if let runOfRow, r > 0, runOfRow[r] != runOfRow[r - 1] {
                scorer = WindowDeviationScorer(baseline: baseline)
                sinceStart = 0
            }
            let start = values.startIndex + r * sensorCount
            scorer.push(row: values[start..<(start + sensorCount)])
            sinceStart += 1
            guard sinceStart >= settings.windowRows else { continue }
            for s in 0..<sensorCount { means[s].append(scorer.windowMean(sensor: s)) }
            if let runOfRow { runOfMean.append(runOfRow[r]) }
        }
        let noiseFloor = 0.5 / Float(settings.windowRows).squareRoot()
        for s in 0..<sensorCount { baseline.windowCenter[s] = RobustStatistics.median(means[s]) }
        if let operating = settings.operating {
            baseline.operating = OperatingSubspace.fit(means: means, center: baseline.windowCenter,
                                                       lag: settings.windowRows, settings: operating,
                                                       runOfMean: runOfRow == nil ? nil : runOfMean)
        }
        if var subspace = baseline.operating {
            // From here on the spreads are those of the residuals off the operating directions.
            let count = means.first?.count ?? 0
            var e = [Float](repeating: 0, count: sensorCount)
            var residuals: [[Float]] = Array(repeating: [], count: sensorCount)
            for t in 0..<count {
                for s in 0..<sensorCount { e[s] = means[s][t] - baseline.windowCenter[s] }
                e.withUnsafeMutableBufferPointer { subspace.project($0) }
                for s in 0..<sensorCount { residuals[s].append(e[s]) }
            }
            subspace.residualCenter = residuals.map { RobustStatistics.median($0) }.map { $0.isFinite ? $0 : 0 }
            baseline.operating = subspace
            for s in 0..<sensorCount { means[s] = residuals[s].map { $0 - subspace.residualCenter[s] } }
        }
        for s in 0..<sensorCount {
            let m = means[s]
            let center: Float = baseline.operating == nil ? baseline.windowCenter[s] : 0
            guard center.isFinite, baseline.windowCenter[s].isFinite else { baseline.windowCenter[s] = .nan; continue }
            var spread = RobustStatistics.scaledMAD(m, center: center)
            if !spread.isFinite { spread = 0 }
            let h = min(settings.driftHorizonRows, m.count - 1)
            if h > 0 {
                let changes = (h..<m.count).map { abs(m[$0] - m[$0 - h]) }
                let drift = robustSpread ? RobustStatistics.median(changes) : changes.lazy.filter(\.isFinite).max() ?? 0
                if drift.isFinite { spread = max(spread, drift) }
            }
            let relativeFloor = settings.relativeToleranceFloor * abs(baseline.median[s]) / baseline.scale[s]
            baseline.windowScale[s] = max(spread, noiseFloor, relativeFloor.isFinite ? relativeFloor : 0)
            // With operating directions, wander is judged on what they leave (a load step is
            // not wander): the residual's change over the horizon against its change over one
            // window length (independent windows: about 1 for noise).
            let ratio = baseline.operating == nil
                ? wanderRatio(values: values, sensorCount: sensorCount, sensor: s, lag: min(settings.driftHorizonRows, rows / 2))
                : residualWanderRatio(m, window: settings.windowRows, horizon: min(settings.driftHorizonRows, m.count / 2))
            if settings.wanderPenaltyPower > 0, ratio > settings.wanderRatioLimit,
               !returnsWithinHorizon(m, horizon: min(settings.driftHorizonRows, m.count / 2)) {
                baseline.weight[s] = pow(settings.wanderRatioLimit / ratio, settings.wanderPenaltyPower)
            }
        }
        if let check = settings.returnCheck {
            baseline.returnCheck = ReturnToNormalCheck.fit(values: values, sensorCount: sensorCount, baseline: baseline,
                                                           settings: check, robustSpread: robustSpread, runStarts: runStarts)
        }
        return baseline
    }
}

extension WindowDeviationBaseline {
    /// Typical (80th percentile) change of a window-mean series over `horizon` divided by its
    /// typical change over `window` rows; 1 when there is too little data.
    static func residualWanderRatio(_ m: [Float], window: Int, horizon: Int) -> Float {
        guard horizon > window, m.count > horizon else { return 1 }
        let long = RobustStatistics.quantile((horizon..<m.count).map { abs(m[$0] - m[$0 - horizon]) }, 0.8)
        let short = RobustStatistics.quantile((window..<m.count).map { abs(m[$0] - m[$0 - window]) }, 0.8)
        guard short.isFinite, long.isFinite, short > 0 else { return 1 }
        return long / short
    }

    /// Whether a window-mean series keeps to a band it returns to: its typical (80th percentile)
    /// change over `returnHorizons` horizons is at most `returnGrowthLimit` times its typical
    /// change over one. A level that changes much more over the horizon than over a window
    /// length may drift away (a temperature: the change keeps growing with the lag, twice over
    /// four horizons for a random walk, four times for a trend) or may follow a cycle longer
    /// than the horizon (a compressor's current and pressures ramping with its receiver's
    /// pressure band at 100 ms polls), whose change over four horizons is no larger than over
    /// one. Only the first is wander: the cycle's level stays in the range calibration saw, which
    /// the tolerated spread (its largest change over the horizon) already covers. False when
    /// the series is too short to tell: the long changes must cover at least half the series
    /// (twice `returnHorizons` horizons of means, 800 at the shipped horizon: 82 s at 100 ms
    /// polls, 14 minutes at 1 s), or a temperature settling towards its level over the
    /// calibration would look as if it returned. Shorter calibrations discount as before.
    static func returnsWithinHorizon(_ m: [Float], horizon: Int) -> Bool {
        let long = returnHorizons * horizon
        guard horizon > 0, m.count >= 2 * long else { return false }
        let over = RobustStatistics.quantile((long..<m.count).map { abs(m[$0] - m[$0 - long]) }, 0.8)
        let within = RobustStatistics.quantile((horizon..<m.count).map { abs(m[$0] - m[$0 - horizon]) }, 0.8)
        guard over.isFinite, within.isFinite, within > 0 else { return false }
        return over <= returnGrowthLimit * within
    }

    /// Horizons over which `returnsWithinHorizon` looks for the level's return.
    static let returnHorizons = 4
    /// Largest growth of the typical change from one horizon to `returnHorizons` that still
    /// counts as a return: √2, halfway (in ratio) between a bounded level (1) and a random walk (2).
    static let returnGrowthLimit = Float(2).squareRoot()

    /// Typical change over `lag` rows divided by typical change over one row (about 1 for white
    /// noise around a level, large for a sensor that drifts); 1 when there is too little data.
    /// "Typical" is the 80th percentile of absolute changes: robust to a short fault hidden in the
    /// calibration rows, yet non-zero for coarsely quantized sensors that often repeat a value.
    static func wanderRatio(values: ArraySlice<Float>, sensorCount: Int, sensor: Int, lag: Int) -> Float {
        let rows = values.count / sensorCount
        guard lag >= 2, rows > lag else { return 1 }
        func typicalChange(_ l: Int) -> Float {
            var changes: [Float] = []
            changes.reserveCapacity(rows - l)
            for r in l..<rows {
                let a = values[values.startIndex + r * sensorCount + sensor]
                let b = values[values.startIndex + (r - l) * sensorCount + sensor]
                if a.isFinite && b.isFinite { changes.append(abs(a - b)) }
            }
            return RobustStatistics.quantile(changes, 0.8)
        }
        let short = typicalChange(1), long = typicalChange(lag)
        guard short.isFinite, long.isFinite, short > 0 else { return 1 }
        return long / short
    }
}

/// Scores rows one at a time against a `WindowDeviationBaseline`: for each sensor, the mean of its
/// normalized readings over the last `windowRows` rows, minus its normal level, in units of its
/// tolerated spread; the row's score is the largest of these (per-sensor values are kept as
/// contributions). With a `ReturnToNormalCheck`, a sensor whose recent rows have stepped back
/// toward normal scores by them instead when that is lower. Allocation-free after `init`.
public struct WindowDeviationScorer: Sendable {
    /// The baseline being scored against.
    public let baseline: WindowDeviationBaseline
    private var ring: [Float]
    private var sums: [Float]
    private var counts: [Int32]
    /// Per sensor, its readings since the scorer started, up to `windowRows`: a sensor that joins
    /// a full window is judged once it has given a window's worth (see `joinedLate(_:)`).
    private var reads: [Int32]
    /// Whether a sensor that joins a full window late is judged only once it has given a
    /// window's worth of readings (`joinedLate(_:)`): set for a stream restarted after a stop
    /// (`DetectorStream.restart`), whose two-state compensation leaves its sensors out for its
    /// settling rows. Off elsewhere, so calibration's own scores and a stream that runs on are
    /// scored as before (with it on everywhere, compressor-2 of the seed-8 export calibrated on
    /// 7,200 rows got threshold 1.93 instead of 1.99 and alerted 282 more rows, 192 of them
    /// false: `bench/detection.sh`; why calibration's scores moved was not traced).
    public var holdsLateJoiners = false
    private var next = 0
    private var filled = 0
    /// Scratch: each sensor's window mean minus its normal level (then off the operating directions).
    private var offsets: [Float]
    /// Scratch of the return-to-normal check: the offsets with recent means where the window holds
    /// a change, and which sensors those are.
    private var recentOffsets: [Float]
    private var changed: [Bool]
    /// Per-sensor deviation of the last scored row (0 where the sensor had no data).
    public private(set) var contributions: [Float]
    /// After a restart: per sensor, the allowance of this row, `recoveryGap` × `recoveryFade`
    /// (normalized units; negative: down; see `allowRecovery(before:stopped:)`); empty when the
    /// run did not follow a stop the scorer was told of.
    private var recovery: [Float] = []
    /// After a restart: per sensor, how far the stop moved its level away from where it was
    /// before the stop, shrunk to the closest return since (0: back, the allowance has ended).
    private var recoveryGap: [Float] = []
    /// After a restart: per sensor, the fraction of `recoveryGap` still allowed: multiplied by
    /// `recoveryDecay` each row, and by e (at most back to 1) for each `recoveryStep` the
    /// sensor comes back (see `fadeRecovery`).
    private var recoveryFade: [Float] = []
    /// After a restart: per sensor, the return that is worth one settling time of fade
    /// (`recoveryProgressShare` of its tolerated spread).
    private var recoveryStep: [Float] = []
    /// After a restart: per sensor, its window mean's offset from normal before the stop.
    private var offsetBeforeStop: [Float] = []
    /// Per row, the fade keeps this fraction of itself (exp(−1 / recovery rows)).
    private var recoveryDecay: Float = 0
    /// How far a sensor must come back, in its window mean's tolerated spread (`windowScale`),
    /// per settling time for its allowance not to fade: a quarter. A recovery that keeps that
    /// pace keeps its whole allowance; a slower one fades in proportion to its shortfall. The
    /// share is a pace, not a threshold: a held offset's noise still sets new closest returns
    /// now and then, ever more rarely and by ever less, and each buys the fade back only in
    /// proportion (a window mean wobbling by a tenth of a spread: a held offset counts 80 % six
    /// rows later, `RecoveryFadeTests`).
    static let recoveryProgressShare: Float = 0.25

    /// Creates a scorer with an empty window.
    public init(baseline: WindowDeviationBaseline) {
        self.baseline = baseline
        let n = baseline.sensorCount
        ring = [Float](repeating: .nan, count: n * baseline.settings.windowRows)
        sums = [Float](repeating: 0, count: n)
        counts = [Int32](repeating: 0, count: n)
        reads = counts
        contributions = [Float](repeating: 0, count: n)
        offsets = [Float](repeating: 0, count: n)
        recentOffsets = [Float](repeating: 0, count: n)
        changed = [Bool](repeating: false, count: n)
    }

    /// Whether the window holds `windowRows` rows (the scores are judged from then on).
    public var isFull: Bool { filled == baseline.settings.windowRows }

    /// Judges the run that starts now as a recovery from a stop: `before` is the scorer of the
    /// run before the stop (its last, full, window), `stoppedRow` the last row read while the
    /// machine stood (one value per sensor, NaN = missing; after the same compensations as the
    /// rows scored). A sensor the stop moved away from its level before the stop (a
    /// compressor's oil cooling toward ambient) is judged by its offset before the stop while
    /// it lies between that level and where the stop left it: the part of its offset the stop
    /// explains is taken out, and that part shrinks to the sensor's closest return since (a
    /// cooled machine warming up again). What the stop does not explain is judged as usual: an
    /// offset the sensor already had before the stop and still has (a fault present at the
    /// restart; where the stop moved the sensor toward normal, only as far as it comes back,
    /// see `towardNormal`), one on the other side of its level before the stop, or beyond
    /// where the stop left it. No
    /// allowance for a sensor without a reading in either, or when `before` was not full.
    ///
    /// A recovery keeps going; a fault holds still. So the allowance fades, by e each
    /// `recoveryRows` rows (the machine's settling time after a start, in rows), only while
    /// the sensor stops coming back: each quarter of its tolerated spread it comes back
    /// (`recoveryProgressShare`) buys back one settling time of fade. A sensor that recovers on
    /// a time of its own, slower than the machine's settling (a compressor's oil, re-warming
    /// with the thermal mass of its sump and cooler after a stop, minutes where the pressures
    /// and current settle in seconds), keeps its allowance as long as it keeps coming back, and
    /// the allowance never exceeds what is left of the way back; an offset that stays put (a
    /// fault that began during the stop, on the stop's side) is judged once the allowance has
    /// faded, a few `recoveryRows` rows after its last return. `recoveryRows` ≤ 0 gives no
    /// allowance.
    public mutating func allowRecovery<C: Collection>(before: WindowDeviationScorer, stopped stoppedRow: C,
                                                      recoveryRows: Int) where C.Element == Float {
        let n = baseline.sensorCount
        recovery = [Float](repeating: 0, count: n)
        recoveryGap = recovery
        recoveryFade = [Float](repeating: 1, count: n)
        recoveryStep = recovery
        offsetBeforeStop = [Float](repeating: 0, count: n)
        guard recoveryRows > 0, before.isFull, before.baseline.sensorCount == n else { return }
        recoveryDecay = exp(-1 / Float(recoveryRows))
        var s = 0
        for raw in stoppedRow where s < n {
            let previous = before.windowMean(sensor: s)
            let change = (raw - baseline.median[s]) / baseline.scale[s] - previous
            if change.isFinite, previous.isFinite {
                (offsetBeforeStop[s], recovery[s]) = Self.towardNormal(before: previous - baseline.windowCenter[s], allowance: change)
            }
            s += 1
        }
        recoveryGap = recovery
        for s in 0..<n { recoveryStep[s] = baseline.windowScale[s] * Self.recoveryProgressShare }
    }

    /// One row of a sensor's allowance after a restart: its fade goes on (`decay`, e per
    /// settling time), its gap shrinks to the closest return toward the level before the stop,
    /// `change` (NaN: not judged yet), and ends once the sensor is back there or past it; what
    /// the gap shrank by buys the fade back, e per `step` (never above 1). Returns the
    /// allowance of the row, gap × fade.
    @inline(__always)
    static func fadeRecovery(gap: inout Float, fade: inout Float, change: Float, step: Float, decay: Float) -> Float {
        fade *= decay
        if change.isFinite, gap != 0 {
            let before = abs(gap)
            if gap < 0 { gap = change >= 0 ? 0 : max(gap, change) }
            if gap > 0 { gap = change <= 0 ? 0 : min(gap, change) }
            let progress = before - abs(gap)
            if progress > 0, step > 0 { fade = min(1, fade * exp(progress / step)) }
        }
        return gap * fade
    }

    /// Whether the run follows a stop the scorer was told of (`allowRecovery`).
    public var isRecovering: Bool { !recoveryGap.isEmpty }

    /// The direction `sensor` is recovering in after a stop: +1 back up, −1 back down, 0 when it
    /// has no allowance left to recover (back at its level before the stop, or not judged as a
    /// recovery). Follows the allowance's gap (`allowRecovery(before:stopped:recoveryRows:)`).
    public func recoveryDirection(sensor s: Int) -> Float {
        guard s >= 0, s < recoveryGap.count, recoveryGap[s] != 0 else { return 0 }
        return recoveryGap[s] < 0 ? 1 : -1
    }

    /// Where the stop moved a sensor toward its normal level (its offset before the stop on one
    /// side, the stop's change toward the other), the part of that offset the stop crossed is not
    /// held against the sensor after the start: its reference becomes the point between its level
    /// before the stop and where the stop left it that lies nearest normal (normal itself when the
    /// stop went past it), and the allowance what remains of the stop's change beyond that point.
    /// A sensor that was off before the stop (a fault, or a transient the stop cut short) and
    /// reads normal after the start is then judged normal instead of by its old offset; one that
    /// comes back to its old offset is judged by it, as before. (The pre-stop offset on the stop's
    /// own side, or a stop that moved the sensor away from normal, is kept as it was.)
    @inline(__always)
    static func towardNormal(before: Float, allowance: Float) -> (before: Float, allowance: Float) {
        var shift: Float = 0
        if allowance < 0, before > 0 { shift = max(-before, allowance) }
        if allowance > 0, before < 0 { shift = min(-before, allowance) }
        return (before + shift, allowance - shift)
    }

    /// `offset` (a window mean minus the normal level) without the part the stop explains: the
    /// change since before the stop (`offset - before`) that lies on the stop's side and within
    /// `allowance`, the stop's change still allowed.
    @inline(__always)
    static func beyondRecovery(_ offset: Float, before: Float, allowance: Float) -> Float {
        let change = offset - before
        if allowance < 0, change < 0 { return offset - max(change, allowance) }
        if allowance > 0, change > 0 { return offset - min(change, allowance) }
        return offset
    }

    /// Adds one row (one value per sensor, NaN = missing) to the window without scoring it.
    public mutating func push<C: Collection>(row: C) where C.Element == Float {
        let n = baseline.sensorCount
        let base = next * n
        var s = 0
        for raw in row where s < n {
            let old = ring[base + s]
            if old.isFinite { sums[s] -= old; counts[s] -= 1 }
            let z = (raw - baseline.median[s]) / baseline.scale[s]
            ring[base + s] = z
            if z.isFinite {
                sums[s] += z
                counts[s] += 1
                if reads[s] < Int32(baseline.settings.windowRows) { reads[s] += 1 }
            }
            s += 1
        }
        next = (next + 1) % baseline.settings.windowRows
        filled = min(filled + 1, baseline.settings.windowRows)
        if next == 0 { resum() }
    }

    /// The mean normalized reading of `sensor` over the window (NaN when it has no data there).
    public func windowMean(sensor: Int) -> Float {
        counts[sensor] > 0 ? sums[sensor] / Float(counts[sensor]) : .nan
    }

    /// The mean normalized reading of `sensor` over the last `recentRows` rows of the window and
    /// over the window's rows before them (NaN where a part has no data).
    public func recentAndOlderMeans(sensor: Int, recentRows: Int) -> (recent: Float, older: Float) {
        let n = baseline.sensorCount, w = baseline.settings.windowRows
        var sum: Float = 0
        var count: Int32 = 0
        for back in 1...max(1, min(recentRows, w)) {
            let z = ring[((next - back + w) % w) * n + sensor]
            if z.isFinite { sum += z; count += 1 }
        }
        let olderCount = counts[sensor] - count
        return (count > 0 ? sum / Float(count) : .nan,
                olderCount > 0 ? (sums[sensor] - sum) / Float(olderCount) : .nan)
    }

    /// Whether `sensor` joined a full window late and has not yet given `windowRows` readings
    /// since the scorer started: it counts as missing until it has, as the whole window is not
    /// judged until it is full, because the mean of its first few readings is noisier than any
    /// window calibration saw. After a start, a two-state compensation leaves its sensors out
    /// for its settling rows, so they joined a window the others had filled and were judged by
    /// the mean of 1, 2, 3… rows (measured: settled compressor seed 7 after a 2-minute stop,
    /// suction pressure's first compensated row alone 2.08 tolerated spreads off,
    /// `RestartAlertTests`). While the window fills, every sensor counts as before; and always
    /// without `holdsLateJoiners`.
    @inline(__always)
    private func joinedLate(_ sensor: Int) -> Bool {
        holdsLateJoiners && isFull && reads[sensor] < Int32(baseline.settings.windowRows)
    }

    /// Adds one row and returns its score (NaN when no sensor has data in the window; a sensor
    /// that joined the full window late counts as missing, see `joinedLate(_:)`).
    public mutating func score<C: Collection>(row: C) -> Float where C.Element == Float {
        push(row: row)
        let n = baseline.sensorCount
        for s in 0..<n { offsets[s] = joinedLate(s) ? .nan : windowMean(sensor: s) - baseline.windowCenter[s] }
        if !recovery.isEmpty {
            let full = isFull
            for s in 0..<n where recoveryGap[s] != 0 {
                let change = full ? offsets[s] - offsetBeforeStop[s] : .nan
                recovery[s] = Self.fadeRecovery(gap: &recoveryGap[s], fade: &recoveryFade[s], change: change,
                                                step: recoveryStep[s], decay: recoveryDecay)
                if full, offsets[s].isFinite, recovery[s] != 0 {
                    offsets[s] = Self.beyondRecovery(offsets[s], before: offsetBeforeStop[s], allowance: recovery[s])
                }
            }
        }
        if let operating = baseline.operating {
            offsets.withUnsafeMutableBufferPointer { operating.project($0) }
        }
        if let band = baseline.deadBand {
            for s in 0..<n { offsets[s] = max(0, abs(offsets[s]) - band[s]) }
        }
        for s in 0..<n {
            let d = baseline.weight[s] * abs(offsets[s]) / baseline.windowScale[s]
            contributions[s] = d.isFinite ? d : .nan
        }
        if let check = baseline.returnCheck { lowerAfterReturns(check) }
        var best: Float = .nan
        for s in 0..<n {
            let d = contributions[s]
            if d.isFinite {
                best = best.isNaN ? d : max(best, d)
            } else {
                contributions[s] = 0
            }
        }
        return best
    }

    /// Where the recent and older parts of a sensor's window differ by more than calibration saw,
    /// scores that sensor by its recent mean when that gives a lower deviation (see `ReturnToNormalCheck`).
    private mutating func lowerAfterReturns(_ check: ReturnToNormalCheck) {
        let n = baseline.sensorCount
        var any = false
        for s in 0..<n {
            let (recent, older) = recentAndOlderMeans(sensor: s, recentRows: check.rows)
            changed[s] = !joinedLate(s) && abs(recent - older) > check.changeBound[s]
            any = any || changed[s]
            recentOffsets[s] = joinedLate(s) ? .nan : (changed[s] ? recent : windowMean(sensor: s)) - baseline.windowCenter[s]
            if !recovery.isEmpty, recovery[s] != 0 {
                recentOffsets[s] = Self.beyondRecovery(recentOffsets[s], before: offsetBeforeStop[s], allowance: recovery[s])
            }
        }
        guard any else { return }
        if let operating = baseline.operating {
            recentOffsets.withUnsafeMutableBufferPointer { operating.project($0) }
        }
        if let band = baseline.deadBand {
            for s in 0..<n { recentOffsets[s] = max(0, abs(recentOffsets[s]) - band[s]) }
        }
        for s in 0..<n where changed[s] {
            let d = baseline.weight[s] * abs(recentOffsets[s]) / check.scale[s]
            if d.isFinite, contributions[s].isNaN || d < contributions[s] { contributions[s] = d }
        }
    }

    /// What the last scored row expected of `sensor`: the range of its window mean over which
    /// its contribution stays at or below `limit`, every other sensor's window as it is; nil
    /// when it had no data in the window or joined it late (`joinedLate(_:)`). Allocation-free;
    /// meant for an alert being raised or updated, not for every row.
    ///
    /// The score's geometry makes this exact: the deviation the score measures is linear in the
    /// sensor's window mean, with slope `seen` (1 − its squared share of the operating
    /// directions: the projection takes the rest of a change away), and zero at the expected
    /// level; so the contribution is `weight · max(0, seen · |mean − expected| − band) / spread`
    /// and reaches `limit` at `expected ± (limit · spread / weight + band) / seen`. Where the
    /// return-to-normal check gave the contribution (its recent mean, its spread), the range is
    /// that check's. A recovery allowance after a restart is left out: the range is the one
    /// without it (wider while one is left).
    public func expectation(sensor s: Int, limit: Float) -> WindowExpectation? {
        let n = baseline.sensorCount
        guard s >= 0, s < n, baseline.windowCenter[s].isFinite, windowMean(sensor: s).isFinite, !joinedLate(s) else { return nil }
        let band = baseline.deadBand?[s] ?? 0, weight = baseline.weight[s]
        // The deviation off the operating directions, from the window means or the check's.
        func deviation(recent: Bool) -> Float {
            let rows = baseline.returnCheck?.rows ?? 1
            func offset(_ j: Int) -> Float {
                guard !joinedLate(j) else { return .nan }
                let mean = recent && changed[j] ? recentAndOlderMeans(sensor: j, recentRows: rows).recent : windowMean(sensor: j)
                return mean - baseline.windowCenter[j]
            }
            var d = offset(s)
            if let operating = baseline.operating {
                for k in 0..<operating.directionCount {
                    var a: Float = 0
                    for j in 0..<n {
                        let x = offset(j) / operating.noiseScale[j]
                        if x.isFinite { a += operating.directions[k * n + j] * x }
                    }
                    d -= a * operating.directions[k * n + s] * operating.noiseScale[s]
                }
                d -= operating.residualCenter[s]
            }
            return d
        }
        func contribution(_ d: Float, spread: Float) -> Float { weight * max(0, abs(d) - band) / spread }
        var seen: Float = 1
        var partner: Int? = nil
        if let operating = baseline.operating {
            var best: Float = 0
            for k in 0..<operating.directionCount { seen -= operating.directions[k * n + s] * operating.directions[k * n + s] }
            for j in 0..<n where j != s && baseline.windowCenter[j].isFinite {
                var coupling: Float = 0
                for k in 0..<operating.directionCount { coupling += operating.directions[k * n + s] * operating.directions[k * n + j] }
                if abs(coupling) > best { best = abs(coupling); partner = j }
            }
            seen = max(seen, 0)
        }
        var d = deviation(recent: false), spread = baseline.windowScale[s], mean = windowMean(sensor: s)
        if let check = baseline.returnCheck, changed[s] {
            let r = deviation(recent: true)
            if contribution(r, spread: check.scale[s]) < contribution(d, spread: spread) {
                d = r
                spread = check.scale[s]
                mean = recentAndOlderMeans(sensor: s, recentRows: check.rows).recent
            }
        }
        // Expected where the deviation is zero; `seen` of a change of the mean shows in it.
        let expected = seen > 0 ? mean - d / seen : .nan
        let halfWidth = seen > 0 && weight > 0 ? (limit * spread / weight + band) / seen : .infinity
        let median = baseline.median[s], scale = baseline.scale[s]
        return WindowExpectation(low: median + scale * (expected - halfWidth), high: median + scale * (expected + halfWidth),
                                 seen: seen, relativeTo: 1 - seen >= WindowExpectation.relationShare ? partner : nil,
                                 mean: median + scale * mean)
    }

    /// Recomputes the running sums from the ring once per lap, so float rounding cannot accumulate.
    private mutating func resum() {
        let n = baseline.sensorCount
        for s in 0..<n { sums[s] = 0; counts[s] = 0 }
        for r in 0..<baseline.settings.windowRows {
            for s in 0..<n {
                let z = ring[r * n + s]
                if z.isFinite { sums[s] += z; counts[s] += 1 }
            }
        }
    }
}

/// What the window-deviation score expected of one sensor at a row (see
/// `WindowDeviationScorer.expectation(sensor:limit:)`), in the units the score receives (the
/// readings after the two-state and load compensations).
public struct WindowExpectation: Sendable, Equatable {
    /// The low end of the window mean's range over which the sensor's contribution stays at or
    /// below the limit asked for, with every other sensor as it was.
    public var low: Float
    /// The high end of that range.
    public var high: Float
    /// The part of a change of this sensor alone that the score sees (1 − its squared share of
    /// the operating directions; 1 without them): the smaller, the more the sensor is judged by
    /// its relation to others rather than its own level, and the wider the range.
    public var seen: Float
    /// With operating directions that involve the sensor (at least `relationShare` of it lies
    /// along them): the sensor it moves with most (model order), on which its expected level
    /// depends; nil when it is judged on its level alone.
    public var relativeTo: Int?
    /// The squared share of the operating directions (1 − `seen`) from which a sensor counts as
    /// judged by its relation to others: 5 %. Below it the other sensors move its expected
    /// level by little (the range is exact either way; this only decides what it is called).
    public static let relationShare: Float = 0.05
    /// When a two-state machine's phase means (`StatePhaseMeans`), not the window, gave the
    /// contribution: the state (0, 1) of the phase judged; `low`…`high` is then the range of
    /// that phase's mean. Nil: the window's mean.
    public var phase: Int?
    /// The mean that was judged against `low`…`high` (the window's, or the return-to-normal
    /// check's recent one), in the same units: what stands for the sensor, where the last
    /// reading may not (a window that still holds rows from before a change of state). Nil
    /// for a phase's mean.
    public var mean: Float?

    /// Creates an expectation.
    public init(low: Float, high: Float, seen: Float, relativeTo: Int?, phase: Int? = nil, mean: Float? = nil) {
        self.low = low
        self.high = high
        self.seen = seen
        self.relativeTo = relativeTo
        self.phase = phase
        self.mean = mean
    }
}
