import Detection
import EdgeCore
import Testing

/// `CalibrationCoverage` counts what calibration had: used rows, full windows per run stretch,
/// run stretches, time per operating state, and says what is short of a minimum.
@Suite struct CalibrationCoverageTests {
    /// 100 rows, 1 s apart except a 10-minute gap (a stop left out) before row 50 and one before
    /// row 60: runs of 50, 10 and 40 rows. Column 1 is a state sensor, on in rows 0–29; row 70
    /// has a missing reading.
    static func table() -> SensorTable {
        var times: [String] = [], values: [Float] = []
        var t: Int64 = 1_800_000_000_000
        for r in 0..<100 {
            if r == 50 || r == 60 { t += 600_000 }
            times.append(Timestamp(millisecondsSinceEpoch: t).iso8601)
            t += 1000
            values += [r == 70 ? .nan : Float(r), r < 30 ? 1 : 0]
        }
        return SensorTable(sensorNames: ["pressure", "loaded"], timestamps: times, values: values, runStarts: [50, 60])
    }

    @Test func countsRowsWindowsRunsAndStates() {
        let c = CalibrationCoverage.measure(table: Self.table(), givenRows: 130, windowRows: 20, stateColumns: [1], secondsPerRow: 0.2)
        #expect(c.givenRows == 130 && c.notRunningRows == 30)
        #expect(c.rowsWithMissingReadings == 1 && c.usedRows == 99)
        // Runs of 50, 10, 40 rows: 31 + 0 + 21 windows of 20 rows; the 10-row run gives none.
        #expect(c.windows == 52)
        #expect(c.runStretches == 3 && c.runStretchesWithoutWindow == 1)
        // The timestamps' median step, not the poll interval given.
        #expect(c.secondsPerRow == 1)
        #expect(abs(c.usedMinutes - 99.0 / 60) < 1e-9)
        // Row 70 (missing) counts in neither state.
        #expect(c.stateRows == [CalibrationCoverage.StateRows(column: 1, off: 69, on: 30)])
    }

    @Test func withoutTimestampsThePollIntervalGivesTheTime() {
        let t = Self.table()
        let plain = SensorTable(sensorNames: t.sensorNames, timestamps: (0..<100).map(String.init), values: t.values)
        let c = CalibrationCoverage.measure(table: plain, givenRows: 100, windowRows: 20, stateColumns: [], secondsPerRow: 0.5)
        #expect(c.secondsPerRow == 0.5 && c.runStretches == 1 && c.windows == 81 && c.stateRows.isEmpty)
    }

    @Test func shortfallsNameWhatIsMissing() {
        let c = CalibrationCoverage.measure(table: Self.table(), givenRows: 130, windowRows: 20, stateColumns: [1], secondsPerRow: 1)
        let minimum = CalibrationCoverage.Minimum(rows: 100, windows: 60, minutes: 2, minutesPerState: 0.6)
        #expect(c.shortfalls(minimum: minimum, sensorNames: ["pressure", "loaded"]) == [
            "99 rows used (at least 100 needed)",
            "52 full windows (at least 60 needed)",
            "1.7 min of running covered (at least 2.0 min needed)",
            "loaded on for only 0.5 min, 30 rows (at least 0.6 min in each state needed)",
        ])
        let met = CalibrationCoverage.Minimum(rows: 99, windows: 52, minutes: 1.5, minutesPerState: 0.5)
        #expect(c.shortfalls(minimum: met, sensorNames: ["pressure", "loaded"]).isEmpty)
    }
}
