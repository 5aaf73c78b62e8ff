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

    @Test("the network half's windows and threshold scores stay within one run", .enabled(if: MetaInitialization.shipped != nil))
    func networkWindowsStayWithinARun() throws {
        let running = Self.table().runningRows(signal: "running", settleRows: 5).table
        var settings = CalibrationSettings()
        settings.network = NetworkCalibration(initialization: try #require(MetaInitialization.shipped))
        let calibrator = Calibrator(settings: settings)
        // Before: the running rows as one stream (32-row windows straddle both stops).
        let (oneStream, oneReport) = calibrator.calibrate(values: running.values[...], sensorNames: running.sensorNames)
        let (byRun, byRunReport) = calibrator.calibrate(table: running)
        let a = try #require(oneStream.network?.threshold), b = try #require(byRun.network?.threshold)
        print("network threshold: one stream \(a) (\(oneReport.adaptation?.normalWindows ?? 0) windows), by run \(b) (\(byRunReport.adaptation?.normalWindows ?? 0) windows)")
        // Windows holding the 12-row run at 2.6 between two runs at 2 (a step of 3 spreads of
        // a's noise up and down) are scored in one stream: the network's highest calibration
        // score, and the threshold with it, is set by a window the agent never scores.
        #expect(b < 0.8 * a)
        // A 32-row window fits in neither stop's neighbourhood: the two long runs give the windows.
        #expect((byRunReport.adaptation?.normalWindows ?? 0) > 0)

        // A table without stops calibrates its network exactly as before.
        let plain = SensorTable(sensorNames: running.sensorNames, timestamps: running.timestamps, values: running.values)
        #expect(calibrator.calibrate(table: plain).detector == oneStream)
    }

    @Test("the operating directions' noise is measured within runs: short runs at other loads are not noise")
    func operatingNoiseStaysWithinARun() throws {
        // A machine whose a and b follow its load (a = 10 L, b = 5 L), c steady, with a running
        // contact: 12 runs of 45 settled rows (5 settling), each at another load, 10-row stops.
        let loads: [Float] = [1, 1.5, 2, 1.2, 1.8, 1.1, 1.6, 1.3, 1.9, 1.4, 1.7, 1.05]
        var rows: [[Float]] = []
        for load in loads {
            for _ in 0..<10 { rows.append([0, 0, 0, 0]) }
            for _ in 0..<50 {
                let r = rows.count
                rows.append([10 * load + Self.noise(r) / 5, 5 * load + Self.noise(r + 50_000) / 10, 3 + Self.noise(r + 70_000) / 10, 1])
            }
        }
        let times = rows.indices.map { Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + Int64($0) * 1000).iso8601 }
        let table = SensorTable(sensorNames: ["a", "b", "c", "running"], timestamps: times, values: rows.flatMap { $0 })
        let running = table.runningRows(signal: "running", settleRows: 5).table
        #expect(running.runStarts.count == loads.count - 1)
        let oneStream = WindowDeviationBaseline.fit(values: running.values[...], sensorCount: 3)
        let byRun = WindowDeviationBaseline.fit(values: running.values[...], sensorCount: 3, runStarts: running.runStarts)
        let noiseByRun = try #require(byRun.operating?.noiseScale)
        print("operating directions: one stream \(oneStream.operating?.directionCount ?? 0), by run \(byRun.operating?.directionCount ?? 0) (a's window-mean noise \(noiseByRun[0]) normalized units)")
        // 20 of every 26 changes over one window length straddle a stop between two loads: in
        // one stream they make the window means' noise as large as the load changes, so the load
        // direction stands out of no noise and is not found.
        #expect(oneStream.operating == nil)
        // By run the load direction is found along a and b together, c left out.
        let direction = Array(try #require(byRun.operating?.directions.prefix(3)))
        #expect(abs(direction[0]) > 0.3 && abs(direction[1]) > 0.3 && abs(direction[2]) < 0.1)
    }
}
