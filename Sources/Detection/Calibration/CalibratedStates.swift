/// The values a machine's operating-state sensors (a compressor's `loaded`, a contact, a coil:
/// 0 or 1) took in the rows it was calibrated on.
///
/// A state calibration never saw is not a fault: a compressor calibrated unloaded reads every
/// sensor at another level once it loads, and its scores reach millions of times the threshold.
/// The agent therefore does not score rows in such a state (it says so once) instead of raising
/// an anomaly alert for every change of state. Only the sensors the caller names (agent.conf's
/// `bool` sensors and the `loaded` role) are states: a column that merely stayed at 0 is not.
public struct CalibratedStates: Sendable, Hashable, Codable {
    /// One state sensor and the states it showed.
    public struct Sensor: Sendable, Hashable, Codable {
        /// Its column in the detector's rows.
        public var column: Int
        /// The states seen, ascending: `[0]`, `[1]` or `[0, 1]` (empty: never read).
        public var states: [Float]

        /// Creates the record of one sensor.
        public init(column: Int, states: [Float]) {
            self.column = column
            self.states = states
        }

        /// Whether calibration saw only one state of it.
        public var sawOneState: Bool { states.count == 1 }
    }

    /// The state sensors, in column order.
    public var sensors: [Sensor]

    /// Creates the record.
    public init(sensors: [Sensor]) { self.sensors = sensors }

    /// The state a reading stands for: 1 at 0.5 or more (a true contact), else 0 (NaN: none).
    @inline(__always)
    public static func state(of reading: Float) -> Float { reading >= 0.5 ? 1 : 0 }

    /// The states each of `columns` took in the calibration rows (row-major, NaN = missing).
    public static func observe(values: ArraySlice<Float>, sensorCount n: Int, columns: [Int]) -> CalibratedStates {
        let rows = n > 0 ? values.count / n : 0
        let sensors = columns.sorted().filter { (0..<n).contains($0) }.map { column in
            var seen = [false, false]
            for r in 0..<rows {
                let x = values[values.startIndex + r * n + column]
                if x.isFinite { seen[Int(state(of: x))] = true }
            }
            return Sensor(column: column, states: [0, 1].filter { seen[Int($0)] }.map(Float.init))
        }
        return CalibratedStates(sensors: sensors)
    }

    /// The first state sensor of `row` (model column order) in a state calibration never saw,
    /// with the state it is in; nil when every state sensor is in a calibrated state or not
    /// read. A sensor calibration never read judges nothing. Allocation-free.
    public func unseenState<C: RandomAccessCollection>(in row: C) -> (column: Int, state: Float)?
    where C.Element == Float, C.Index == Int { unseenState(of: row) }

    /// `unseenState(in:)` for the agent's rows, arrays: compiled here for `[Float]`. Called from
    /// another module, the generic form runs unspecialized, and each read of the row allocates.
    public func unseenState(in row: [Float]) -> (column: Int, state: Float)? { unseenState(of: row) }

    private func unseenState<C: RandomAccessCollection>(of row: C) -> (column: Int, state: Float)?
    where C.Element == Float, C.Index == Int {
        for sensor in sensors where !sensor.states.isEmpty && row.indices.contains(sensor.column) {
            let x = row[sensor.column]
            guard x.isFinite else { continue }
            let state = Self.state(of: x)
            if !sensor.states.contains(state) { return (sensor.column, state) }
        }
        return nil
    }

    /// What makes a decoded record unusable for `sensorCount` columns, or nil.
    func problem(sensorCount n: Int) -> String? {
        for sensor in sensors {
            guard (0..<n).contains(sensor.column) else { return "state sensor column \(sensor.column) (expected 0…\(n - 1))" }
            guard sensor.states.allSatisfy({ $0 == 0 || $0 == 1 }) else { return "state sensor states other than 0 and 1" }
        }
        return nil
    }
}
