import Detection
import EdgeCore
import Testing

/// Calibration rows that hold several runs of a machine (stops and settling left out by
/// `SensorTable.runningRows`) are calibrated run by run, as the agent scores them: its windows
/// start afresh after each stop, so a calibration window that straddles a stop describes
/// something the agent never scores.
@Suite struct CalibrationRunsTests {
    /// Deterministic noise in −0.5…0.5.
    static func noise(_ r: Int) -> Float {
        var random = SplitMix64(seed: UInt64(truncatingIfNeeded: r) &+ 77)
        return Float(random.next() % 10_000) / 10_000 - 0.5
    }

    /// A two-sensor machine with a running contact, one row a second: 300 rows running (a ≈ 2),
    /// a stop, a start that runs 12 settled rows at a ≈ 2.6 (shorter than a 20-row window: the
    /// agent never judges it), another stop, and 300 rows at a ≈ 2. Settling: 5 rows.
    static func table() -> SensorTable {
        var rows: [[Float]] = []
        func run(_ count: Int, level: Float) { for _ in 0..<count { rows.append([level + Self.noise(rows.count) / 5, 5 + Self.noise(rows.count + 50_000) / 10, 1]) } }
        func stop(_ count: Int) { for _ in 0..<count { rows.append([0, 0, 0]) } }
        run(300, level: 2)
        stop(20)
        run(5 + 12, level: 2.6)
        stop(20)
        run(5 + 300, level: 2)
        let times = rows.indices.map { Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + Int64($0) * 1000).iso8601 }
        return SensorTable(sensorNames: ["a", "b", "running"], timestamps: times, values: rows.flatMap { $0 })
    }

    @Test("no calibration window straddles a stop: a run shorter than a window does not widen the calibration")
    func runsAreCalibratedApart() throws {
        let running = Self.table().runningRows(signal: "running", settleRows: 5).table
        #expect(running.rowCount == 612)
        #expect(running.runStarts == [300, 312])
        // Today's calibration before this change: the running rows as one stream.
        let (oneStream, _) = Calibrator().calibrate(values: running.values[...], sensorNames: running.sensorNames)
        // Run by run (`calibrate(table:)` passes the table's run starts).
        let (byRun, _) = Calibrator().calibrate(table: running)
        let a = 0
        print("window scale of a: one stream \(oneStream.baseline.windowScale[a]), by run \(byRun.baseline.windowScale[a]); threshold \(oneStream.threshold) vs \(byRun.threshold)")
        // Windows that straddle the stops mix the short run's 2.6 into their means, and the
        // change over the drift horizon across them counts as a's normal wander: its tolerated
        // spread is several times what the runs themselves show.
        #expect(oneStream.baseline.windowScale[a] > 3 * byRun.baseline.windowScale[a])

        // What that changes: a later run where a sits 0.15 higher (a fault within what the
        // straddling windows called normal) alerts with the run-by-run calibration only.
        func alerts(_ detector: MachineDetector) -> Bool {
            var stream = detector.makeStream()
            var alerted = false
            for r in 0..<200 {
                let level: Float = r < 60 ? 2 : 2.15
                let (_, alert) = stream.process(row: [level + Self.noise(r + 90_000) / 5, 5 + Self.noise(r + 95_000) / 10])
                if r < 60 { #expect(!alert, "alert on normal row \(r)") }
                alerted = alerted || alert
            }
            return alerted
        }
        #expect(alerts(byRun))
        #expect(!alerts(oneStream))

        // A table without stops calibrates exactly as before (the one-stream path).
        let plain = SensorTable(sensorNames: running.sensorNames, timestamps: running.timestamps, values: running.values)
        #expect(Calibrator().calibrate(table: plain).detector == oneStream)
    }
}
