/// A compressor's receiver pressure judged by its pressure switch's band, beside the window score:
/// a load/unload compressor keeps its receiver between the switch's cut-in (it loads below) and
/// cut-out (it unloads above) at every demand it can meet, so a reading below the cut-in or above
/// the cut-out by more than the switch's own overshoot, or one that jumps off the course of its
/// sawtooth, is news; where in the band it sits is not.
///
/// Why not the window score: the receiver is an integrator, not a lag toward a level each state
/// sets. It fills while loaded and drains while unloaded, and the demand sets how fast each way,
/// so its 20-row means wander across the band with the duty: calibration's wander discount then
/// weighs it down (weights 0.000–0.30 at 1 s polls on simulated seeds 1–24) and a spike on it is
/// lost, while a receiver the approach fit took for a lag (seed 4 at load 0.35) is moved by its
/// compensation when the demand changes and alerts (docs/detection.md, "A fall in demand").
/// Sensors judged here are left out of the window score (weight 0), the two-state compensation
/// and the phase means.
///
/// Which sensor: one whose role (agent.conf's `role`, else its name) is among
/// `CalibrationSettings.bandSensors` (`receiver_pressure`), confirmed by its shape in
/// calibration: on a two-state machine it rises in state 1 and falls in state 0 (the median
/// change over one row), the state changed at least `minimumSwitches` times each way, and the
/// readings where it loaded (the cut-in) lie below those where it unloaded (the cut-out) by more
/// than `minimumBandNoises` times its noise. Otherwise it is judged as before.
///
/// Three departures, each scoring 1 at its tolerance:
/// - *off the band*: below the cut-in (the median reading at the first row loaded) or above the
///   cut-out (the median at the first row unloaded). The switch acts on the pressure, and the
///   receiver still drains for as long as the compressor takes to deliver after loading, and
///   fills for up to a poll after it unloads: an overshoot of a fixed time whose size is the
///   slope, which the demand sets. Whatever the demand, the drain and fill slopes each stay
///   below their sum (the delivery over the receiver's volume), so each tolerance is
///   calibration's largest overshoot that way scaled by that sum over calibration's slope that
///   way, times `margin`, plus `noiseFactor` row noises;
/// - *off the course*: the reading against the last one plus the mean change over the
///   `slopeRows` before it (the sawtooth's own slope). Where the state changes the slope turns
///   by the same sum at any demand, so calibration's largest departure, times `margin`, bounds
///   it; at least `noiseFactor` row noises;
/// - *still*: its readings over the last `windowRows` rows move (largest minus smallest) less
///   than half the least calibration showed over any such rows: a sawtooth always moves, by
///   its slope or its noise, and a transmitter stuck at one reading does not (scored 4; the
///   window score caught that before, seeds 14 and 16 of the 100 ms battery).
///
/// A departure beyond any of them is held for `windowRows` rows (as `RowSpikeCheck`'s), so the alert
/// rule sees it for as long as a spike sits in a window.
public struct ReceiverBandCheck: Sendable, Hashable, Codable {
    /// Columns of the judged sensors.
    public var sensors: [Int]
    /// Per judged sensor: the pressure switch's cut-in and cut-out as the sensor reads them.
    public var cutIn: [Float]
    public var cutOut: [Float]
    /// Per judged sensor: how far below the cut-in and above the cut-out a reading scores 1.
    public var toleranceBelow: [Float]
    public var toleranceAbove: [Float]
    /// Per judged sensor: how far off its course (last reading plus its recent slope) a reading
    /// scores 1.
    public var courseTolerance: [Float]
    /// Per judged sensor: the least its readings move (largest minus smallest) over `windowRows`
    /// rows; less scores above 1, none (a transmitter stuck at one reading) 4.
    public var leastMovement: [Float]
    /// Rows whose mean change gives the course's slope.
    public var slopeRows: Int
    /// How long (rows) a departure is held (the window score's `windowRows`).
    public var windowRows: Int

    /// The band sensors' role names calibration looks for (`CalibrationSettings.bandSensors`).
    public static let shippedSensors: Set<String> = ["receiver_pressure"]
    /// Tolerances are calibration's largest departures (scaled as above) times this.
    public static let margin: Float = 2
    /// ... plus (band) or at least (course) this many row noises.
    public static let noiseFactor: Float = 6
    /// Rows whose mean change is the course's slope.
    public static let defaultSlopeRows = 4
    /// Fewest switches each way for a band to be learned.
    public static let minimumSwitches = 3
    /// The band (cut-out − cut-in) must exceed this many row noises.
    public static let minimumBandNoises: Float = 10

    /// Fits the check to calibration rows as read (row-major, NaN = missing) for the
    /// `candidates` (columns whose role is a band sensor), with the machine's 0/1 state in column
    /// `state`: nil when none has the shape of a receiver. Each run (`runStarts`) is walked on
    /// its own.
    static func fit(values: ArraySlice<Float>, sensorCount n: Int, state: Int, candidates: [Int], windowRows: Int,
                    runStarts: [Int] = []) -> ReceiverBandCheck? {
        guard n > 0, windowRows > 0, state < n else { return nil }
        let rows = values.count / n
        let runOfRow = CalibrationRuns.runOfRow(rows: rows, starts: runStarts)
        func value(_ r: Int, _ s: Int) -> Float { values[values.startIndex + r * n + s] }
        func sameRun(_ r: Int) -> Bool { r > 0 && (runOfRow.map { $0[r] == $0[r - 1] } ?? true) }
        var check = ReceiverBandCheck(sensors: [], cutIn: [], cutOut: [], toleranceBelow: [], toleranceAbove: [],
                                      courseTolerance: [], leastMovement: [], slopeRows: defaultSlopeRows, windowRows: windowRows)
        var shapes: [(fill: Float, drain: Float, noise: Float)] = []
        for s in candidates where s != state && s < n {
            // Readings where the state changed: the first row loaded, the first unloaded.
            var loads: [Float] = [], unloads: [Float] = []
            for r in 1..<max(1, rows) where sameRun(r) {
                let x = value(r, state), before = value(r - 1, state), y = value(r, s)
                guard x.isFinite, before.isFinite, y.isFinite, (x >= 0.5) != (before >= 0.5) else { continue }
                if x >= 0.5 { loads.append(y) } else { unloads.append(y) }
            }
            guard loads.count >= minimumSwitches, unloads.count >= minimumSwitches else { continue }
            let shape = Self.shape(values: values, sensorCount: n, state: state, sensor: s, sameRun: sameRun)
            let low = RobustStatistics.median(loads), high = RobustStatistics.median(unloads)
            guard shape.fill > 0, shape.drain > 0, shape.noise.isFinite, shape.noise > 0, low.isFinite, high.isFinite,
                  high - low > minimumBandNoises * shape.noise else { continue }
            shapes.append(shape)
            check.sensors.append(s)
            check.cutIn.append(low)
            check.cutOut.append(high)
            // Set below from calibration's largest departures.
            check.toleranceBelow.append(.infinity)
            check.toleranceAbove.append(.infinity)
            check.courseTolerance.append(1)
            check.leastMovement.append(0)
        }
        guard !check.sensors.isEmpty else { return nil }
        // The largest departures calibration shows, walked as the agent scores rows.
        var scorer = ReceiverBandScorer(check)
        var below = [Float](repeating: 0, count: check.sensors.count), above = below, course = below
        var movement = [Float](repeating: .infinity, count: check.sensors.count)
        var row = [Float](repeating: .nan, count: n)
        for r in 0..<rows {
            if r > 0, !sameRun(r) { scorer = ReceiverBandScorer(check) }
            for c in 0..<n { row[c] = value(r, c) }
            scorer.push(row)
            for k in check.sensors.indices {
                let y = row[check.sensors[k]]
                guard y.isFinite else { continue }
                below[k] = max(below[k], check.cutIn[k] - y)
                above[k] = max(above[k], y - check.cutOut[k])
                if scorer.courseDepartures[k].isFinite { course[k] = max(course[k], scorer.courseDepartures[k]) }
                if scorer.movements[k].isFinite { movement[k] = min(movement[k], scorer.movements[k]) }
            }
        }
        for (k, shape) in shapes.enumerated() {
            // Whatever the demand, each slope stays below the two slopes' sum.
            let sum = shape.fill + shape.drain
            check.toleranceBelow[k] = margin * max(0, below[k]) * sum / shape.drain + noiseFactor * shape.noise
            check.toleranceAbove[k] = margin * max(0, above[k]) * sum / shape.fill + noiseFactor * shape.noise
            check.courseTolerance[k] = max(margin * course[k], noiseFactor * shape.noise)
            // A sawtooth that always moves, by its slope or at least its noise; none seen: not judged.
            check.leastMovement[k] = movement[k].isFinite ? movement[k] / margin : 0
        }
        return check
    }

    /// The median fill and drain per row (state 1 and 0) of sensor `s`, and its single-row noise.
    private static func shape(values: ArraySlice<Float>, sensorCount n: Int, state: Int, sensor s: Int,
                              sameRun: (Int) -> Bool) -> (fill: Float, drain: Float, noise: Float) {
        let rows = values.count / n
        func value(_ r: Int, _ c: Int) -> Float { values[values.startIndex + r * n + c] }
        var changes: [[Float]] = [[], []]
        for r in 1..<max(1, rows) where sameRun(r) {
            let x = value(r, state), before = value(r - 1, state), y = value(r, s), last = value(r - 1, s)
            guard x.isFinite, before.isFinite, y.isFinite, last.isFinite, (x >= 0.5) == (before >= 0.5) else { continue }
            changes[x >= 0.5 ? 1 : 0].append(y - last)
        }
        let medians = changes.map { RobustStatistics.median($0) }
        let noise = changes.indices.map { RobustStatistics.scaledMAD(changes[$0], center: medians[$0]) / Float(2).squareRoot() }.max() ?? 0
        return (medians[1], -medians[0], noise)
    }

    /// Why a detector file's check cannot be used with `sensorCount` sensors and windows of at
    /// most `maximumRows`, nil when it can.
    func problem(sensorCount n: Int, maximumRows: Int) -> String? {
        let k = sensors.count
        guard [cutIn.count, cutOut.count, toleranceBelow.count, toleranceAbove.count, courseTolerance.count, leastMovement.count].allSatisfy({ $0 == k }),
              sensors.allSatisfy({ (0..<n).contains($0) }) else {
            return "receiver band of \(k) sensors with inconsistent columns or lengths"
        }
        guard (1...maximumRows).contains(windowRows), (1...64).contains(slopeRows) else {
            return "receiver band held \(windowRows) rows with a slope over \(slopeRows) (expected 1…\(maximumRows), 1…64)"
        }
        guard (cutIn + cutOut).allSatisfy(\.isFinite),
              (toleranceBelow + toleranceAbove + courseTolerance).allSatisfy({ $0.isFinite && $0 > 0 }) else {
            return "receiver band with a band not finite or a tolerance not positive"
        }
        guard leastMovement.allSatisfy({ $0.isFinite && $0 >= 0 }) else { return "receiver band with a least movement not finite and non-negative" }
        return nil
    }
}

/// Applies a `ReceiverBandCheck` to rows as read as they arrive; allocation-free per row.
struct ReceiverBandScorer: Sendable {
    let check: ReceiverBandCheck
    /// Per judged sensor, its last `slopeRows + 1` readings (ring, NaN = missing).
    private var recent: [Float]
    private var next = 0
    /// Per judged sensor, the last row's departure from its course in its unit (NaN: no course),
    /// and how far its readings moved over the last `windowRows` rows (NaN: a row missing).
    private(set) var courseDepartures: [Float]
    private(set) var movements: [Float]
    /// Per judged sensor, the last `windowRows` rows' scores of the band and course alone (ring):
    /// what an alert quotes a row by.
    private var quotedScores: [Float]
    /// Per judged sensor, the last `windowRows` rows' scores and what each was judged against
    /// (rings): the reading, the middle of the allowed range and its half-width.
    private var recentScores: [Float]
    private var readings: [Float]
    private var centers: [Float]
    private var halfWidths: [Float]
    /// Per judged sensor, the last `windowRows` rows' (rings): whether the band, not the course,
    /// gave the row's quoted score, and how far the readings had moved over the `windowRows`
    /// rows to it (NaN: a row missing).
    private var bandJudged: [Bool]
    private var moves: [Float]
    private var held = 0
    /// The largest held score of the last row, and per judged sensor.
    private(set) var score: Float = 0
    private(set) var sensorScores: [Float]

    init(_ check: ReceiverBandCheck) {
        self.check = check
        let k = check.sensors.count, w = max(1, check.windowRows)
        recent = [Float](repeating: .nan, count: k * (check.slopeRows + 1))
        courseDepartures = [Float](repeating: .nan, count: k)
        movements = courseDepartures
        quotedScores = [Float](repeating: 0, count: k * w)
        recentScores = [Float](repeating: 0, count: k * w)
        readings = [Float](repeating: .nan, count: k * w)
        centers = readings
        halfWidths = readings
        bandJudged = [Bool](repeating: false, count: k * w)
        moves = readings
        sensorScores = [Float](repeating: 0, count: k)
    }

    /// Judges one row as read (one value per sensor, NaN = missing) against the band and the
    /// course of the rows before it, then adds it to that course.
    mutating func push(_ row: [Float]) {
        let m = check.slopeRows + 1, w = max(1, check.windowRows)
        score = 0
        for (k, s) in check.sensors.enumerated() {
            let y = s < row.count ? row[s] : .nan
            // The course: the last reading plus the mean change over the `slopeRows` before it.
            let last = recent[k * m + (next + m - 1) % m], first = recent[k * m + next]
            let expected = last + (last - first) / Float(check.slopeRows)
            let off = abs(y - expected)
            courseDepartures[k] = off
            var now: Float = 0, center = expected, halfWidth = check.courseTolerance[k], byBand = false
            if off.isFinite { now = off / check.courseTolerance[k] }
            if y.isFinite {
                let below = (check.cutIn[k] - y) / check.toleranceBelow[k], above = (y - check.cutOut[k]) / check.toleranceAbove[k]
                let band = max(below, above)
                if band > now {
                    now = band
                    byBand = true
                    let low = check.cutIn[k] - check.toleranceBelow[k], high = check.cutOut[k] + check.toleranceAbove[k]
                    center = (low + high) / 2
                    halfWidth = (high - low) / 2
                }
            }
            quotedScores[k * w + held] = now
            readings[k * w + held] = y
            // Stillness: how far the readings of the last `windowRows` rows moved.
            var lowest = Float.infinity, highest = -Float.infinity, missing = false
            for i in 0..<w {
                let r = readings[k * w + i]
                if r.isNaN { missing = true; break }
                lowest = min(lowest, r)
                highest = max(highest, r)
            }
            let moved = missing ? Float.nan : highest - lowest
            movements[k] = moved
            moves[k * w + held] = moved
            bandJudged[k * w + held] = byBand
            if moved.isFinite, check.leastMovement[k] > 0, moved < check.leastMovement[k] {
                now = max(now, min(Self.stillestScore, check.leastMovement[k] / max(moved, 1e-9)))
            }
            recentScores[k * w + held] = now
            centers[k * w + held] = center
            halfWidths[k * w + held] = halfWidth
            var largest: Float = 0
            for i in 0..<w { largest = max(largest, recentScores[k * w + i]) }
            sensorScores[k] = largest
            score = max(score, largest)
            recent[k * m + next] = y
        }
        next = (next + 1) % m
        held = (held + 1) % w
    }

    /// The score of a sensor that does not move at all.
    static let stillestScore: Float = 4

    /// The row whose departure gives judged sensor `k` its held score, as a `RowSpike` (its
    /// reading, the middle of the range allowed there and its half-width, and whether that range
    /// was its course or its band), nil when none departed
    /// or the sensor's stillness, not a row, gives it (no row's reading is out of range then).
    func heldDeparture(ofSensor k: Int) -> RowSpike? {
        guard check.sensors.indices.contains(k) else { return nil }
        let w = max(1, check.windowRows)
        var peak = -1, largest: Float = 0
        for i in 0..<w where quotedScores[k * w + i] > largest { largest = quotedScores[k * w + i]; peak = i }
        guard peak >= 0, largest >= sensorScores[k] else { return nil }
        let rowsAgo = (held - 1 - peak + 2 * w) % w
        let reading = readings[k * w + peak]
        return RowSpike(reading: reading, value: reading, course: centers[k * w + peak], tolerance: halfWidths[k * w + peak],
                        rowsAgo: rowsAgo, against: bandJudged[k * w + peak] ? .band : .course)
    }

    /// How still judged sensor `k` was at the row whose stillness gives it its held score (the
    /// largest of the last `windowRows` rows'), nil when a row's departure gives it
    /// (`heldDeparture(ofSensor:)`) or it has none.
    func heldStillness(ofSensor k: Int) -> StillReadings? {
        guard check.sensors.indices.contains(k), sensorScores[k] > 0 else { return nil }
        let w = max(1, check.windowRows)
        var peak = -1, largest: Float = 0, quoted: Float = 0
        for i in 0..<w {
            quoted = max(quoted, quotedScores[k * w + i])
            if recentScores[k * w + i] > largest { largest = recentScores[k * w + i]; peak = i }
        }
        guard peak >= 0, quoted < sensorScores[k], moves[k * w + peak].isFinite else { return nil }
        return StillReadings(movement: moves[k * w + peak], rows: w, leastMovement: check.leastMovement[k],
                             rowsAgo: (held - 1 - peak + 2 * w) % w)
    }
}

/// A sensor a `ReceiverBandCheck` judged still (a transmitter stuck at one reading), for an
/// alert its stillness drove: how far its readings moved over the rows the check looked at,
/// and the least movement calibration allowed there.
public struct StillReadings: Sendable, Equatable {
    /// How far its readings moved (largest minus smallest) over those rows, in its unit.
    public var movement: Float
    /// How many rows (the check's `windowRows`).
    public var rows: Int
    /// The least movement over as many rows that does not score (`ReceiverBandCheck.leastMovement`).
    public var leastMovement: Float
    /// How many rows before the last scored one the last of those rows was (0: the last).
    public var rowsAgo: Int

    /// Creates a still stretch.
    public init(movement: Float, rows: Int, leastMovement: Float, rowsAgo: Int) {
        self.movement = movement
        self.rows = rows
        self.leastMovement = leastMovement
        self.rowsAgo = rowsAgo
    }
}

extension WindowDeviationBaseline {
    /// The baseline with `sensors` left out of the score (weight 0): judged by another check.
    func leavingOut(_ sensors: [Int]) -> WindowDeviationBaseline {
        var baseline = self
        for s in sensors where baseline.weight.indices.contains(s) { baseline.weight[s] = 0 }
        return baseline
    }
}

extension StatePhaseMeans {
    /// The phase means with `sensors` not judged (nil when no sensor is left).
    func leavingOut(_ sensors: [Int]) -> StatePhaseMeans? {
        var phases = self
        let n = sensorCount
        for s in sensors where s < n {
            for k in 0..<2 {
                phases.center[k * n + s] = .nan
                phases.tolerance[k * n + s] = .nan
            }
        }
        return phases.center.contains(where: \.isFinite) ? phases : nil
    }
}
