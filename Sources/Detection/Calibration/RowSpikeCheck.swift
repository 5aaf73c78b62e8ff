/// A judge of single rows of the sensors a two-state machine's compensation follows row by row
/// (`StateCompensation.approachRows`), beside the window score: a reading that leaves its recent
/// course by far more than any reading did in calibration is off, however short.
///
/// Why: a window mean dilutes one row by `windowRows` (a compressor's motor current jumping by
/// half its rated value for one poll moves its 20-row mean by 2.5 %, inside the mean's normal
/// wander), so no window score is an honest judge of a spike. With the first-order approach a
/// compensated sensor has an expected course on every row, loading and unloading included, so
/// its departure from the mean of its last `windowRows` compensated readings is small and steady
/// (noise plus what the approach leaves unexplained); a sensor that spikes, or a fault that moves
/// a reading in one row, departs from it by far more. Each sensor's tolerance is the largest
/// departure calibration showed times `margin`, and at least `shiftFraction` of its state shift:
/// the approach is a first-order lag fitted to sensors that are only nearly first order (a motor
/// current's own speed and its discharge pressure's, a receiver's own ramp), its error after a
/// change of state grows with the shift, and calibration sees a few dozen changes at most, too
/// few for their largest departure to bound the next ones (measured: simulated compressor seeds
/// 2 and 12, suction pressure, 2.0–2.1× calibration's largest in the next 10 minutes, at a few
/// thousandths of a bar where a spike is tenths). A departure beyond it scores above 1 and is held
/// for `windowRows` rows, as long as the spike sits in the window the score judges (the alert
/// rule asks for several scores above the threshold).
public struct RowSpikeCheck: Sendable, Hashable, Codable {
    /// Columns of the checked sensors.
    public var sensors: [Int]
    /// Per checked sensor: the departure from its recent course (its unit, compensated) that
    /// scores 1 (an alert).
    public var tolerance: [Float]
    /// Rows of the recent course (the window score's `windowRows`), and how long a departure is held.
    public var windowRows: Int

    /// The tolerance is the largest departure calibration showed times this.
    public static let margin: Float = 2
    /// ... and at least this fraction of the sensor's state shift.
    public static let shiftFraction: Float = 0.1

    /// Fits the check to compensated calibration rows (row-major, NaN = missing; what the window
    /// score was fitted on): nil when no sensor has an approach. Each run (`runStarts`) starts
    /// its course afresh, as the agent's stream does after a stop.
    static func fit(values: ArraySlice<Float>, sensorCount n: Int, state: StateCompensation, windowRows: Int,
                    runStarts: [Int] = []) -> RowSpikeCheck? {
        guard n > 0, windowRows > 1, let approach = state.approachRows, approach.count == 2 * state.shift.count else { return nil }
        let sensors = state.shift.indices.filter { $0 < n && state.shift[$0] != 0 }
        guard !sensors.isEmpty else { return nil }
        let rows = values.count / n
        let runOfRow = CalibrationRuns.runOfRow(rows: rows, starts: runStarts)
        var check = RowSpikeCheck(sensors: sensors, tolerance: [Float](repeating: 1, count: sensors.count), windowRows: windowRows)
        var scorer = RowSpikeScorer(check)
        var largest = [Float](repeating: 0, count: sensors.count)
        var row = [Float](repeating: .nan, count: n)
        for r in 0..<rows {
            if let runOfRow, r > 0, runOfRow[r] != runOfRow[r - 1] { scorer = RowSpikeScorer(check) }
            for s in 0..<n { row[s] = values[values.startIndex + r * n + s] }
            scorer.push(row)
            for k in sensors.indices where scorer.departures[k].isFinite { largest[k] = max(largest[k], scorer.departures[k]) }
        }
        for k in sensors.indices {
            let floor = shiftFraction * abs(state.shift[sensors[k]])
            check.tolerance[k] = largest[k] > 0 ? max(margin * largest[k], floor) : .infinity
        }
        guard check.tolerance.contains(where: \.isFinite) else { return nil }
        return check
    }
}

/// One row a `RowSpikeCheck` (or a `ReceiverBandCheck`) judged: its reading, the course or band
/// it was judged against and the departure from it allowed, for an alert the check drove.
public struct RowSpike: Sendable, Equatable {
    /// What a row's reading was judged against.
    public enum Reference: Sendable, Equatable {
        /// Its recent course (the spike check's mean of the rows before; a receiver's sawtooth).
        case course
        /// A compressor receiver's pressure switch's band, widened by its tolerances
        /// (`ReceiverBandCheck`): `course` is then the middle of that range.
        case band
    }

    /// The sensor's reading at that row, as read (before any compensation).
    public var reading: Float
    /// The same reading compensated, as the check judged it.
    public var value: Float
    /// The mean of the sensor's previous compensated readings (its recent course).
    public var course: Float
    /// The departure from the course that scores 1 (the sensor's tolerance).
    public var tolerance: Float
    /// How many rows before the last scored one it was (0: the last).
    public var rowsAgo: Int
    /// What the reading was judged against.
    public var against: Reference

    /// The range of readings the check allowed at that row: the course ± the tolerance, moved
    /// into readings by what the compensations took off that row's reading (`reading - value`:
    /// the state shift and its approach, a reference sensor's offset, a load compensation
    /// outside its band). So the reading lies outside it exactly when its departure exceeded
    /// the tolerance; where a load compensation's band lies between the two ends (it maps a
    /// band of readings to one value), the far end is approximate by up to that band.
    public var allowedReadings: (low: Float, high: Float) {
        let offset = reading - value
        return (course - tolerance + offset, course + tolerance + offset)
    }

    /// Creates a judged row.
    public init(reading: Float, value: Float, course: Float, tolerance: Float, rowsAgo: Int, against: Reference = .course) {
        self.reading = reading
        self.against = against
        self.value = value
        self.course = course
        self.tolerance = tolerance
        self.rowsAgo = rowsAgo
    }
}

/// Applies a `RowSpikeCheck` to compensated rows as they arrive; allocation-free per row.
struct RowSpikeScorer: Sendable {
    let check: RowSpikeCheck
    /// Per checked sensor, its last `windowRows` readings (ring, NaN = missing), their sum and count.
    private var ring: [Float]
    private var sums: [Float]
    private var counts: [Int32]
    private var next = 0
    /// Per checked sensor, the last row's departure in its unit (NaN: no course yet), and its
    /// score (departure ÷ tolerance) held over the last `windowRows` rows.
    private(set) var departures: [Float]
    /// Per checked sensor, the scores of the last `windowRows` rows (ring).
    private var recentScores: [Float]
    /// Per checked sensor, the course each of the last `windowRows` rows was judged against,
    /// and its reading as read, before any compensation (rings beside `ring`): what an alert the
    /// check drove quotes (`heldSpike(ofSensor:)`).
    private var courses: [Float]
    private var readings: [Float]
    /// The checked sensors' readings of the row being scored, as read (`takeReadings`).
    private var pendingReadings: [Float]
    /// The largest held score of the last row, and per checked sensor.
    private(set) var score: Float = 0
    private(set) var sensorScores: [Float]

    init(_ check: RowSpikeCheck) {
        self.check = check
        let k = check.sensors.count, w = max(1, check.windowRows)
        ring = [Float](repeating: .nan, count: k * w)
        sums = [Float](repeating: 0, count: k)
        counts = [Int32](repeating: 0, count: k)
        departures = [Float](repeating: .nan, count: k)
        recentScores = [Float](repeating: 0, count: k * w)
        courses = [Float](repeating: .nan, count: k * w)
        readings = [Float](repeating: .nan, count: k * w)
        pendingReadings = [Float](repeating: .nan, count: k)
        sensorScores = [Float](repeating: 0, count: k)
    }

    /// Takes the checked sensors' readings of the next row as read (one value per sensor, NaN =
    /// missing), before any compensation moves them: what a spike is quoted by.
    mutating func takeReadings(_ row: [Float]) {
        for (k, s) in check.sensors.enumerated() { pendingReadings[k] = s < row.count ? row[s] : .nan }
    }

    /// The row whose departure gives the checked sensor `k` its held score (the largest of the
    /// last `windowRows` rows'), nil when none departed (a held score of 0).
    func heldSpike(ofSensor k: Int) -> RowSpike? {
        guard check.sensors.indices.contains(k) else { return nil }
        let w = max(1, check.windowRows)
        var peak = -1, largest: Float = 0
        for i in 0..<w where recentScores[k * w + i] > largest { largest = recentScores[k * w + i]; peak = i }
        guard peak >= 0 else { return nil }
        // `next` is the slot the next row takes: the last row's is the one before it.
        let rowsAgo = (next - 1 - peak + 2 * w) % w
        return RowSpike(reading: readings[k * w + peak], value: ring[k * w + peak], course: courses[k * w + peak],
                        tolerance: check.tolerance[k], rowsAgo: rowsAgo)
    }

    /// Judges one compensated row (one value per sensor, NaN = missing) against the course of
    /// the rows before it, then adds it to that course. `recovering` (per sensor, as the row;
    /// empty: none) gives the direction a sensor is recovering in after a stop (+1 up, −1 down,
    /// 0 none, `WindowDeviationScorer.recoveryDirection(sensor:)`): a departure that way is the
    /// recovery, not a spike (a compressor's oil warming again runs ahead of its course by the
    /// warm-up's pace over half a window: 0.17–0.38 °C at 1 s polls after a 10-minute stop,
    /// above its tolerance, `edge-bench restarts --step-ms 1000`).
    mutating func push(_ row: [Float], recovering: [Float] = []) {
        let w = max(1, check.windowRows)
        score = 0
        for (k, s) in check.sensors.enumerated() {
            let x = s < row.count ? row[s] : .nan
            // A course needs at least half a window of readings.
            let course = 2 * Int(counts[k]) >= w ? sums[k] / Float(counts[k]) : Float.nan
            let direction: Float = s < recovering.count ? recovering[s] : 0
            let departure = direction * (x - course) > 0 ? 0 : abs(x - course)
            departures[k] = departure
            let now = departure.isFinite ? departure / check.tolerance[k] : 0
            recentScores[k * w + next] = now
            courses[k * w + next] = course
            readings[k * w + next] = pendingReadings[k]
            pendingReadings[k] = .nan
            var held: Float = 0
            for i in 0..<w { held = max(held, recentScores[k * w + i]) }
            sensorScores[k] = held
            score = max(score, held)
            let old = ring[k * w + next]
            if old.isFinite { sums[k] -= old; counts[k] -= 1 }
            ring[k * w + next] = x
            if x.isFinite { sums[k] += x; counts[k] += 1 }
        }
        next = (next + 1) % w
        if next == 0 { resum() }
    }

    /// Recomputes the sums from the ring once per pass (no rounding drift).
    private mutating func resum() {
        let w = max(1, check.windowRows)
        for k in check.sensors.indices {
            var sum: Float = 0, count: Int32 = 0
            for i in 0..<w where ring[k * w + i].isFinite { sum += ring[k * w + i]; count += 1 }
            sums[k] = sum
            counts[k] = count
        }
    }
}
