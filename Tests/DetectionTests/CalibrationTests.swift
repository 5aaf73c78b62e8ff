import Detection
import EdgeCore
import Testing
import TestSupport

@Suite("Calibration of one machine")
struct CalibrationTests {
    /// Normal rows of three sensors (levels 10, 50, 200) with uniform noise.
    func normalRows(_ count: Int, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed)
        var values: [Float] = []
        for _ in 0..<count {
            values.append(10 + 0.1 * random.signedUnitFloat())
            values.append(50 + 0.5 * random.signedUnitFloat())
            values.append(200 + 2 * random.signedUnitFloat())
        }
        return values
    }

    @Test("a few anomalous rows hidden in the calibration data barely move the baseline")
    func robustToHiddenAnomalies() {
        let names = ["a", "b", "c"]
        let clean = normalRows(400, seed: 11)
        var dirty = clean
        for r in 100..<120 { dirty[r * 3 + 1] += 40 }  // 20 rows (5 %) with sensor b far off
        let a = Calibrator().calibrate(values: clean[...], sensorNames: names).detector
        let b = Calibrator().calibrate(values: dirty[...], sensorNames: names).detector
        for s in 0..<3 {
            #expect(abs(a.baseline.median[s] - b.baseline.median[s]) < 0.1 * a.baseline.scale[s] + 0.02)
        }
        // Whatever threshold the dirty calibration chose, a later fault of the same size is still caught.
        var stream = b.makeStream()
        var caught = false
        for r in 0..<100 {
            var row = Array(normalRows(1, seed: UInt64(1000 + r)))
            if r >= 50 { row[1] += 40 }
            if stream.process(row: row).alert { caught = caught || r >= 50 }
        }
        #expect(caught, "threshold \(b.threshold) vs clean \(a.threshold), trimmed \(Calibrator().calibrate(values: dirty[...], sensorNames: names).report.trimmedRows)")
    }

    @Test("labelled anomalies lower the threshold toward them, never to within 10 % of normal scores")
    func labelledAnomaliesLowerThreshold() {
        let names = ["a", "b", "c"]
        let normal = SensorTable(sensorNames: names, timestamps: (0..<400).map(String.init), values: normalRows(400, seed: 5))
        var faultValues = normalRows(100, seed: 6)
        for r in 0..<100 { faultValues[r * 3] += 0.4 }  // a modest level shift of sensor a
        let faults = SensorTable(sensorNames: names, timestamps: (0..<100).map(String.init), values: faultValues)
        let plain = Calibrator().calibrate(table: normal)
        let helped = Calibrator().calibrate(table: normal, anomalies: faults)
        #expect(helped.report.labelledAnomalyRows == 100)
        #expect(helped.detector.threshold <= plain.detector.threshold)
        #expect(helped.detector.threshold >= plain.report.scoreQuantile * 1.1 - 1e-4)
        #expect(helped.report.labelledAnomalyRecall > 0.5)
    }

    /// A compressor-like machine switching between two states (`loaded` 0/1) every 30 rows, and a
    /// labelled fault of 100 rows: suction pressure a little above its level in either state.
    func twoStateTables() -> (normal: SensorTable, faults: SensorTable) {
        var random = SplitMix64(seed: 21)
        func rows(_ count: Int, offset: Float) -> [Float] {
            var values: [Float] = []
            for r in 0..<count {
                let loaded = r % 60 < 30
                values += [loaded ? 1 : 0, (loaded ? 1.0 : 0.25) + offset + 0.003 * random.signedUnitFloat(),
                           50 + 0.2 * random.signedUnitFloat()]
            }
            return values
        }
        let names = ["loaded", "suction_pressure", "oil_temperature"]
        return (SensorTable(sensorNames: names, timestamps: (0..<600).map(String.init), values: rows(600, offset: 0)),
                SensorTable(sensorNames: names, timestamps: (0..<100).map(String.init), values: rows(100, offset: 0.004)))
    }

    @Test("labelled anomalies are scored by the detector's own stream, state compensation included")
    func labelledAnomaliesScoredByTheStream() throws {
        let (normal, faults) = twoStateTables()
        let plain = Calibrator().calibrate(table: normal)
        let helped = Calibrator().calibrate(table: normal, anomalies: faults)
        #expect(helped.detector.state != nil)
        // What the agent's stream makes of the labelled rows is what calibration counted.
        var stream = helped.detector.makeStream()
        let scores = (0..<faults.rowCount).map { stream.score(row: faults.row($0)) }.filter(\.isFinite)
        #expect(helped.report.labelledAnomalyRows == scores.count)
        let above = scores.filter { $0 > helped.detector.threshold }.count
        #expect(helped.report.labelledAnomalyRecall == Double(above) / Double(scores.count))
        #expect(helped.detector.threshold <= plain.detector.threshold)
        #expect(helped.detector.threshold >= plain.report.scoreQuantile * 1.1 - 1e-4)
    }

    @Test("without the window-deviation score, labelled anomalies neither lower its threshold nor claim a recall")
    func labelledAnomaliesWithoutDeviationScore() {
        let (normal, faults) = twoStateTables()
        var settings = CalibrationSettings()
        settings.minimumThreshold = 0
        let deviation = Calibrator(settings: settings).calibrate(table: normal, anomalies: faults)
        let deviationPlain = Calibrator(settings: settings).calibrate(table: normal)
        settings.useDeviation = false
        let plain = Calibrator(settings: settings).calibrate(table: normal)
        let helped = Calibrator(settings: settings).calibrate(table: normal, anomalies: faults)
        // The same faults do lower the threshold when the window-deviation score takes part ...
        #expect(deviation.report.labelledAnomalyRows == 100)
        #expect(deviation.detector.threshold < deviationPlain.detector.threshold,
                "recall \(deviation.report.labelledAnomalyRecall), quantile \(deviationPlain.report.scoreQuantile)")
        // ... but not a threshold that decides nothing.
        #expect(helped.detector.threshold == plain.detector.threshold)
        #expect(helped.report.labelledAnomalyRows == 0)
        #expect(helped.report.labelledAnomalyRecall == 0)
    }

    @Test("the detector file round-trips and refuses damaged files")
    func detectorFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (detector, report) = Calibrator().calibrate(values: normalRows(200, seed: 9)[...], sensorNames: ["a", "b", "c"])
        let file = DetectorFile(machine: "pump-1", calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
        try file.write(to: dir.file("pump-1.detector.json"))
        let back = try DetectorFile.read(path: dir.file("pump-1.detector.json"))
        #expect(back.detector == detector)
        #expect(back.machine == "pump-1")
        try TextFile.write("{\"formatVersion\": 1", to: dir.file("broken.json"))
        #expect(throws: DetectorFileError.self) { try DetectorFile.read(path: dir.file("broken.json")) }
        #expect(throws: DetectorFileError.self) { try DetectorFile.read(path: dir.file("absent.json")) }
    }

    @Test("a detector file written before operating directions and the tolerance floor still loads and scores as it did")
    func detectorFileFromBeforeTheNewSettings() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var settings = CalibrationSettings()
        settings.deviation.operating = nil
        settings.deviation.relativeToleranceFloor = 0
        let (detector, report) = Calibrator(settings: settings).calibrate(values: normalRows(200, seed: 9)[...], sensorNames: ["a", "b", "c"])
        try DetectorFile(machine: "pump-1", calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
            .write(to: dir.file("new.json"))
        // The same file as the previous release wrote it: without the two keys.
        let text = try String(decoding: TextFile.readBytes(path: dir.file("new.json")), as: UTF8.self)
        let old = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("\"relativeToleranceFloor\"") && !$0.contains("\"operating\"") }
            .joined(separator: "\n")
        #expect(!old.contains("relativeToleranceFloor"))
        try TextFile.write(old, to: dir.file("old.json"))
        let back = try DetectorFile.read(path: dir.file("old.json"))
        #expect(back.detector == detector)
    }

    /// Whether streaming `rows` normal rows with sensor c shifted by `shift` raises an alert.
    private func alerts(_ detector: MachineDetector, shift: Float, seed: UInt64) -> Bool {
        var stream = detector.makeStream()
        var raised = false
        let rows = normalRows(200, seed: seed)
        for r in 0..<200 {
            var row = Array(rows[(r * 3)..<(r * 3 + 3)])
            row[2] += shift
            if stream.process(row: row).alert { raised = true }
        }
        return raised
    }

    @Test("a configured tolerance is a dead band: level changes within it are normal, beyond it they alert")
    func toleranceIsADeadBand() throws {
        let names = ["a", "b", "c"]
        let calibration = normalRows(400, seed: 21)[...]
        let plain = Calibrator().calibrate(values: calibration, sensorNames: names).detector
        let tolerant = Calibrator().calibrate(values: calibration, sensorNames: names, tolerances: [.nan, .nan, 10]).detector
        // Sensor c (200 ± 2) moved by 6: an alert without a tolerance, normal within a tolerance of 10.
        #expect(alerts(plain, shift: 6, seed: 5))
        #expect(!alerts(tolerant, shift: 6, seed: 5))
        #expect(!alerts(tolerant, shift: -9, seed: 6))
        // Beyond the tolerance the excess counts.
        #expect(alerts(tolerant, shift: 30, seed: 7))
        #expect(alerts(tolerant, shift: -30, seed: 8))
        // Sensors without a tolerance are judged as before.
        #expect(tolerant.baseline.deadBand?[0] == 0)
        #expect(tolerant.baseline.deadBand.map { $0[2] > 0 } == true)
        var stream = tolerant.makeStream()
        var raised = false
        for r in 0..<200 {
            var row = Array(normalRows(1, seed: UInt64(100 + r)))
            row[0] += 5  // a (10 ± 0.1) moved by 5
            if stream.process(row: row).alert { raised = true }
        }
        #expect(raised)
    }

    @Test("the dead band is stored in the detector file, and a damaged one is refused")
    func deadBandInTheDetectorFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (detector, report) = Calibrator().calibrate(values: normalRows(200, seed: 9)[...], sensorNames: ["a", "b", "c"],
                                                        tolerances: [0.5, .nan, 10])
        try DetectorFile(machine: "pump-1", calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
            .write(to: dir.file("good.json"))
        let back = try DetectorFile.read(path: dir.file("good.json"))
        #expect(back.detector == detector)
        #expect(back.detector.baseline.deadBand?.count == 3)
        var damaged = detector
        damaged.baseline.deadBand = [1, -1, 0]
        try DetectorFile(machine: "pump-1", calibratedAt: "2026-11-29T00:00:00.000Z", detector: damaged, report: report)
            .write(to: dir.file("damaged.json"))
        #expect(throws: DetectorFileError.self) { try DetectorFile.read(path: dir.file("damaged.json")) }
    }

    @Test("the threshold is at least 1: a change within every sensor's tolerated spread never alerts")
    func thresholdIsAtLeastOne() throws {
        // A speed of 1,500 rpm with ±1 rpm noise and a voltage of 400 ± 0.3 V: their 1 % tolerance
        // floors (15 rpm, 4 V) dwarf the noise, so every calibration score is tiny.
        var random = SplitMix64(seed: 4)
        var values: [Float] = []
        for _ in 0..<400 { values += [1500 + random.signedUnitFloat(), 400 + 0.3 * random.signedUnitFloat()] }
        var unfloored = CalibrationSettings()
        unfloored.minimumThreshold = 0
        let low = Calibrator(settings: unfloored).calibrate(values: values[...], sensorNames: ["speed", "voltage"])
        let floored = Calibrator().calibrate(values: values[...], sensorNames: ["speed", "voltage"])
        #expect(low.detector.threshold < 0.2)
        #expect(floored.detector.threshold == 1)
        #expect(floored.report.threshold == 1)
        /// Whether 200 rows with the speed 6 rpm (0.4 %) higher raise an alert.
        func alerts(_ detector: MachineDetector) -> Bool {
            var stream = detector.makeStream()
            var raised = false
            for _ in 0..<200 where stream.process(row: [1506 + random.signedUnitFloat(), 400 + 0.3 * random.signedUnitFloat()]).alert { raised = true }
            return raised
        }
        #expect(alerts(low.detector))
        #expect(!alerts(floored.detector))
        // A real change still alerts: 60 rpm (4 %).
        var stream = floored.detector.makeStream()
        var raised = false
        for _ in 0..<200 where stream.process(row: [1560 + random.signedUnitFloat(), 400 + 0.3 * random.signedUnitFloat()]).alert { raised = true }
        #expect(raised)
    }
}
