import EdgeCore

/// How much of a machine's normal operation a calibration actually had: the rows it learned from
/// once stops, settling, stop grace and missing readings are left out, the windows those rows
/// give, the run stretches they come from and the time spent in each operating state.
///
/// A calibration on too little data still produces a detector, but one whose spreads are too
/// narrow: measured on the simulator (`edge-bench calibration-length`, docs/detection.md,
/// "How much calibration data"), 30 s of a compressor's running alert about every two minutes
/// for the following hour without any fault. `CalibrationCoverage.shortfalls(minimum:)` says
/// what is missing against the measured minimum, so `calibrate` can say so or refuse.
public struct CalibrationCoverage: Sendable, Hashable {
    /// Rows in the stretch given to calibration (before anything was left out).
    public var givenRows: Int
    /// Rows left out because the machine was stopped, stopping, settling after a start or of
    /// unknown running state.
    public var notRunningRows: Int
    /// Rows kept in which at least one sensor reading was missing (not there, or not good).
    public var rowsWithMissingReadings: Int
    /// Rows kept in which no reading was missing but at least one was left out as outside its
    /// sensor's `min`…`max` (`Float.outOfRangeMark`): a broken transmitter, not a wiring fault.
    public var rowsWithOutOfRangeReadings: Int = 0
    /// Rows calibration learned from: running, settled, every reading present.
    public var usedRows: Int
    /// Full windows (`windowRows` rows of one run) in the running rows: the windows whose
    /// scores set the threshold.
    public var windows: Int
    /// Separate run stretches (between stops) among the running rows.
    public var runStretches: Int
    /// Run stretches too short to give one full window (they teach calibration nothing about
    /// window means).
    public var runStretchesWithoutWindow: Int
    /// Seconds between two rows (the median step of the rows' timestamps, or the poll interval).
    public var secondsPerRow: Double
    /// Per operating-state sensor (`CalibratedStates`' columns): used rows in state off (0) and
    /// on (1).
    public var stateRows: [StateRows]

    /// Rows one operating-state sensor spent in each state.
    public struct StateRows: Sendable, Hashable {
        /// The sensor's column.
        public var column: Int
        /// Used rows with the sensor off (reading below 0.5).
        public var off: Int
        /// Used rows with the sensor on.
        public var on: Int

        /// Creates the record.
        public init(column: Int, off: Int, on: Int) {
            self.column = column
            self.off = off
            self.on = on
        }
    }

    /// Minutes of used rows.
    public var usedMinutes: Double { Double(usedRows) * secondsPerRow / 60 }

    /// Share of the given rows in which the machine was not running (0…1).
    public var notRunningShare: Double { givenRows > 0 ? Double(notRunningRows) / Double(givenRows) : 0 }

    /// Measures the coverage of `table`, the running rows calibration uses (`runStarts` mark its
    /// run stretches).
    /// - Parameters:
    ///   - givenRows: rows in the stretch before the stopped and settling rows were left out.
    ///   - windowRows: rows per window (`WindowDeviationSettings.windowRows`).
    ///   - stateColumns: the operating-state sensors' columns in `table`.
    ///   - secondsPerRow: seconds between rows when the timestamps do not say (e.g. row numbers).
    public static func measure(table: SensorTable, givenRows: Int, windowRows: Int, stateColumns: [Int],
                               secondsPerRow: Double) -> CalibrationCoverage {
        let n = table.sensorCount, rows = table.rowCount
        var missing = 0, outOfRange = 0
        var states = stateColumns.filter { (0..<n).contains($0) }.sorted().map { StateRows(column: $0, off: 0, on: 0) }
        for r in 0..<rows {
            let row = table.row(r)
            if row.contains(where: { !$0.isFinite }) {
                if row.contains(where: { !$0.isFinite && !$0.isOutOfRangeMark }) { missing += 1 } else { outOfRange += 1 }
                continue
            }
            for i in states.indices {
                if CalibratedStates.state(of: row[row.startIndex + states[i].column]) == 1 { states[i].on += 1 } else { states[i].off += 1 }
            }
        }
        let w = max(1, windowRows)
        let starts = Set(table.runStarts.filter { $0 > 0 && $0 < rows }).sorted()
        var windows = 0, withoutWindow = 0
        if rows > 0 {
            for (begin, end) in zip([0] + starts, starts + [rows]) {
                let length = end - begin
                if length >= w { windows += length - w + 1 } else { withoutWindow += 1 }
            }
        }
        return CalibrationCoverage(givenRows: max(givenRows, rows), notRunningRows: max(0, givenRows - rows),
                                   rowsWithMissingReadings: missing, rowsWithOutOfRangeReadings: outOfRange,
                                   usedRows: rows - missing - outOfRange, windows: windows,
                                   runStretches: rows > 0 ? starts.count + 1 : 0, runStretchesWithoutWindow: withoutWindow,
                                   secondsPerRow: table.medianSecondsPerRow ?? secondsPerRow, stateRows: states)
    }

    /// The least calibration data that gave a reliably quiet detector on the simulator, and the
    /// far smaller amount below which a calibration is refused unless forced. See
    /// docs/detection.md, "How much calibration data".
    public struct Minimum: Sendable, Hashable {
        /// Used rows.
        public var rows: Int
        /// Full windows.
        public var windows: Int
        /// Minutes of used rows.
        public var minutes: Double
        /// Minutes of used rows in each state an operating-state sensor showed.
        public var minutesPerState: Double

        /// Creates a minimum.
        public init(rows: Int, windows: Int, minutes: Double, minutesPerState: Double) {
            self.rows = rows
            self.windows = windows
            self.minutes = minutes
            self.minutesPerState = minutesPerState
        }

        /// What a calibration should have: below it, `calibrate` warns. On the simulator (one
        /// operating point, machine warm, 1 s polls) 10 minutes (581 windows) left all 36
        /// machines without a false alert in the following hour, 5 minutes 33, 2 minutes 27
        /// (compressors then had well under 2 minutes in each state).
        public static let recommended = Minimum(rows: 0, windows: 500, minutes: 10, minutesPerState: 1)
        /// Below this `calibrate` refuses (unless `--force`): on the simulator at 1 s polls every
        /// kind of machine calibrated on less alerted on normal operation, 5–24 times per hour.
        public static let required = Minimum(rows: 0, windows: 100, minutes: 2, minutesPerState: 0)
    }

    /// What this calibration is short of against `minimum`, one phrase each (empty: nothing).
    /// A state seen in no used row is not a shortfall here (`CalibratedStates` covers it).
    public func shortfalls(minimum: Minimum, sensorNames: [String]) -> [String] {
        var out: [String] = []
        if minimum.rows > 0, usedRows < minimum.rows { out.append("\(usedRows) rows used (at least \(minimum.rows) needed)") }
        if windows < minimum.windows { out.append("\(windows) full windows (at least \(minimum.windows) needed)") }
        if usedMinutes < minimum.minutes {
            out.append("\(Self.minutesText(usedMinutes)) min of running covered (at least \(Self.minutesText(minimum.minutes)) min needed)")
        }
        if minimum.minutesPerState > 0 {
            for state in stateRows {
                let name = state.column < sensorNames.count ? sensorNames[state.column] : "column \(state.column)"
                for (label, count) in [("off", state.off), ("on", state.on)] where count > 0 {
                    let minutes = Double(count) * secondsPerRow / 60
                    guard minutes < minimum.minutesPerState else { continue }
                    out.append("\(name) \(label) for only \(Self.minutesText(minutes)) min, \(count) rows (at least \(Self.minutesText(minimum.minutesPerState)) min in each state needed)")
                }
            }
        }
        return out
    }

    /// Minutes with one decimal below 10, whole minutes above.
    public static func minutesText(_ minutes: Double) -> String {
        minutes < 10 ? EvaluationText.fixed(minutes, 1) : EvaluationText.fixed(minutes, 0)
    }
}

extension SensorTable {
    /// The median step between rows' ISO-8601 timestamps in seconds; nil when they are not
    /// ISO-8601 or there are fewer than two rows.
    var medianSecondsPerRow: Double? {
        guard rowCount > 1 else { return nil }
        var times: [Int64] = []
        times.reserveCapacity(rowCount)
        for text in timestamps {
            guard let t = Timestamp(iso8601: text[...]) else { return nil }
            times.append(t.millisecondsSinceEpoch)
        }
        let steps = zip(times.dropFirst(), times).map { $0 - $1 }.filter { $0 > 0 }.sorted()
        guard !steps.isEmpty else { return nil }
        return Double(steps[steps.count / 2]) / 1000
    }
}
