/// A window of one machine's readings: `timeSteps` rows of `sensorCount` values, oldest first.
///
/// Values are stored time-major (`values[t * sensorCount + sensor]`), the order in which rows
/// arrive from the buffer, so a window is built by appending rows.
public struct Window: Sendable, Hashable {
    /// Number of time steps (rows); at least 2.
    public let timeSteps: Int
    /// Number of sensors (columns); 1 through 64 for the standard architecture.
    public let sensorCount: Int
    /// The readings, time-major: `values[t * sensorCount + sensor]`.
    public var values: [Float]

    /// Creates a window from time-major values.
    /// - Important: `values.count` must equal `timeSteps * sensorCount`, `timeSteps >= 2` and
    ///   `sensorCount >= 1`; anything else is a programming error and traps.
    public init(timeSteps: Int, sensorCount: Int, values: [Float]) {
        precondition(timeSteps >= 2, "a window needs at least 2 time steps")
        precondition(sensorCount >= 1, "a window needs at least 1 sensor")
        precondition(values.count == timeSteps * sensorCount, "values.count must be timeSteps × sensorCount")
        self.timeSteps = timeSteps
        self.sensorCount = sensorCount
        self.values = values
    }

    /// Slides the window one row on: drops the oldest row and appends `row` as the newest; a
    /// missing (non-finite) value, or a sensor the row lacks, takes `fill[sensor]` (for scoring:
    /// the sensor's median). No allocation.
    public mutating func slide<C: Collection>(in row: C, fill: [Float]) where C.Element == Float { slideRow(row, fill: fill) }

    /// `slide(in:fill:)` for the agent's rows, arrays: compiled here for `[Float]` (the generic
    /// form, called from another module, runs unspecialized and allocates as it iterates).
    public mutating func slide(in row: [Float], fill: [Float]) { slideRow(row, fill: fill) }

    private mutating func slideRow<C: Collection>(_ row: C, fill: [Float]) where C.Element == Float {
        let c = sensorCount, w = timeSteps
        values.withUnsafeMutableBufferPointer { v in
            for k in 0..<((w - 1) * c) { v[k] = v[k + c] }
            var s = 0
            for x in row where s < c {
                v[(w - 1) * c + s] = x.isFinite ? x : fill[s]
                s += 1
            }
            while s < c {
                v[(w - 1) * c + s] = fill[s]
                s += 1
            }
        }
    }

    /// Creates a window from rows (one array of sensor values per time step, oldest first).
    public init(rows: [[Float]]) {
        let c = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == c }, "every row needs the same number of sensors")
        self.init(timeSteps: rows.count, sensorCount: c, values: rows.flatMap { $0 })
    }

    /// The reading of `sensor` at time step `time`.
    public subscript(time time: Int, sensor sensor: Int) -> Float {
        get { values[time * sensorCount + sensor] }
        set { values[time * sensorCount + sensor] = newValue }
    }

    /// The time series of one sensor, oldest first.
    public func series(ofSensor sensor: Int) -> [Float] {
        (0..<timeSteps).map { values[$0 * sensorCount + sensor] }
    }
}

/// Whether a training window is known normal or a (labelled or synthetic) anomaly.
public enum WindowLabel: Sendable, Hashable {
    /// Normal operation: its score is pulled down (one-class term) and toward the reference.
    case normal
    /// An anomaly: its score is pushed at least a margin above the reference (deviation term).
    case anomalous
}

/// One training example: a normalized window and its label.
public struct TrainingExample: Sendable, Hashable {
    /// The window, already normalized (see `Normalization.normalize(_:)`).
    public var window: Window
    /// Normal or anomalous.
    public var label: WindowLabel

    /// Creates an example.
    public init(window: Window, label: WindowLabel) {
        self.window = window
        self.label = label
    }
}

/// The anomaly score of one window and each sensor's share of it.
public struct WindowScore: Sendable, Hashable {
    /// The anomaly score (non-negative; compare with the machine's threshold).
    public var score: Float
    /// Per-sensor contributions; they are non-negative and sum to `score`.
    public var contributions: [Float]

    /// Creates a score.
    public init(score: Float, contributions: [Float]) {
        self.score = score
        self.contributions = contributions
    }
}
