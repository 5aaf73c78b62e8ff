#if canImport(Glibc)
import Glibc
#endif
import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Testing
import TestSupport

/// Deterministic noise in 0…1 (the first draw of a generator seeded with the row number), so
/// the tests are repeatable.
func noise(_ r: Int) -> Float {
    var random = SplitMix64(seed: UInt64(truncatingIfNeeded: r))
    return Float(random.next() % 10_000) / 10_000
}

/// A machine with a run signal (`run_signal`, `settle_after_start`): stops are not anomalies,
/// the settling time after a start is not judged, and scoring resumes after it.
@Suite struct RunSignalTests {
    /// A two-sensor machine (flow, running) polled every second, calibrated on steady running
    /// rows (flow ≈ 20 with a little noise).
    static func machineAndModel(settle: Duration) throws -> (MachineConfiguration, MachineModel) {
        var machine = MachineConfiguration(id: "pump-9", sensors: [
            SensorConfiguration(name: "flow", bus: "b", address: 0),
            SensorConfiguration(name: "running", bus: "b", address: 2),
        ])
        machine.runSignal = "running"
        machine.settleAfterStart = settle
        machine.pollInterval = .seconds(1)
        var values: [Float] = []
        for r in 0..<400 { values.append(19.5 + noise(r + 1000)) }
        let (detector, report) = Calibrator().calibrate(values: values[...], sensorNames: ["flow"])
        let file = DetectorFile(machine: machine.id, calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
        return (machine, MachineModel(path: "memory", file: file))
    }

    /// Feeds one row per second from `start`: (flow, running) pairs; returns the anomaly events.
    static func feed(_ engine: inout ScoringEngine, rows: [(Double, Double)], start: Int64, scored: inout Int) -> [AlertEvent] {
        var events: [AlertEvent] = []
        for (i, (flow, running)) in rows.enumerated() {
            let t = Timestamp(millisecondsSinceEpoch: start + Int64(i) * 1000)
            let readings = [
                Reading(machine: 0, sensor: 0, time: t, value: flow, quality: .good),
                Reading(machine: 0, sensor: 1, time: t, value: running, quality: .good),
            ]
            events += engine.process(readings) { _ in scored += 1 }
        }
        return events.filter { $0.alert.kind == .anomaly }
    }

    /// Steady running rows like the calibration ones.
    static func normalRows(_ count: Int) -> [(Double, Double)] {
        (0..<count).map { (r: Int) -> (Double, Double) in
            (19.5 + Double(noise(r)), 1.0)
        }
    }

    @Test func stopsAreNotAnomaliesAndSettlingIsNotJudged() throws {
        let (machine, model) = try Self.machineAndModel(settle: .seconds(60))
        var engine = ScoringEngine(machines: [machine], models: [model])
        let start: Int64 = 1_800_000_000_000
        var scored = 0
        // Running normally: scored, no alert.
        let normal = Self.normalRows(100)
        #expect(Self.feed(&engine, rows: normal, start: start, scored: &scored).isEmpty)
        let scoredWhileRunning = scored
        #expect(scoredWhileRunning > 50)
        // Stopped for 5 minutes: flow 0 would be a huge deviation, but nothing is scored.
        let stop = [(Double, Double)](repeating: (0, 0), count: 300)
        #expect(Self.feed(&engine, rows: stop, start: start + 100_000, scored: &scored).isEmpty)
        #expect(scored == scoredWhileRunning)
        // Restart: 60 s of ramp-up (settling) are not judged, even though flow is far off.
        let rampUp = (0..<60).map { (r: Int) -> (Double, Double) in (Double(r) / 3, 1.0) }
        #expect(Self.feed(&engine, rows: rampUp, start: start + 400_000, scored: &scored).isEmpty)
        #expect(scored == scoredWhileRunning)
        // Settled and normal again: scored, still no alert.
        #expect(Self.feed(&engine, rows: normal, start: start + 460_000, scored: &scored).isEmpty)
        #expect(scored > scoredWhileRunning + 50)
        // A real fault while running is still caught.
        let fault = [(Double, Double)](repeating: (12, 1), count: 60)
        let events = Self.feed(&engine, rows: fault, start: start + 560_000, scored: &scored)
        #expect(events.contains { $0.change == .raised && $0.alert.machine == "pump-9" })
    }

    @Test func anOpenAlertClearsWhenTheMachineStops() throws {
        let (machine, model) = try Self.machineAndModel(settle: .seconds(30))
        var engine = ScoringEngine(machines: [machine], models: [model])
        let start: Int64 = 1_800_000_000_000
        var scored = 0
        #expect(Self.feed(&engine, rows: Self.normalRows(100), start: start, scored: &scored).isEmpty)
        let fault = [(Double, Double)](repeating: (12, 1), count: 30)
        let raised = Self.feed(&engine, rows: fault, start: start + 100_000, scored: &scored)
        #expect(raised.map(\.change) == [.raised])
        // The operator stops the machine: the alert clears at once and says why.
        let stop = [(Double, Double)](repeating: (0, 0), count: 60)
        let cleared = Self.feed(&engine, rows: stop, start: start + 130_000, scored: &scored)
        #expect(cleared.map(\.change) == [.cleared])
        #expect(cleared.first?.alert.ended == Timestamp(millisecondsSinceEpoch: start + 130_000))
        #expect(cleared.first?.alert.message.hasSuffix("cleared because pump-9 stopped (running off)") == true)
        // Restarted with the fault still there: after settling, a new alert (no cooldown).
        let again = Self.feed(&engine, rows: fault + fault + fault, start: start + 190_000, scored: &scored)
        #expect(again.map(\.change).first == .raised)
        #expect(again.first.map { $0.alert.started.millisecondsSinceEpoch >= start + 190_000 + 30_000 } == true)
    }

    @Test func withoutRunSignalAStopIsAnAnomaly() throws {
        var (machine, model) = try Self.machineAndModel(settle: .zero)
        machine.runSignal = nil
        var engine = ScoringEngine(machines: [machine], models: [model])
        var scored = 0
        let normal = Self.normalRows(100)
        #expect(Self.feed(&engine, rows: normal, start: 0, scored: &scored).isEmpty)
        let stop = [(Double, Double)](repeating: (0, 0), count: 120)
        #expect(!Self.feed(&engine, rows: stop, start: 100_000, scored: &scored).isEmpty)
    }
}

/// The runtime scores every judged window with the int8 network stored beside the detector,
/// exactly as the network model scores that window itself.
@Suite struct RuntimeNetworkScoreTests {
    /// Calibrates machine "m" (flow, pressure, current) with a network and stores its detector
    /// and int8 network model under `directory`/models, as `calibrate` does.
    static func storeModels(in directory: String) throws -> (detector: MachineDetector, network: NetworkModel) {
        let names = ["flow", "pressure", "current"]
        var values: [Float] = []
        for r in 0..<400 { values += [20 + noise(r), 5 + noise(r + 7) / 10, 2 + noise(r + 13) / 5] }
        var settings = CalibrationSettings()
        settings.network = NetworkCalibration(initialization: Network(seed: 3))
        let (detector, report) = Calibrator(settings: settings).calibrate(values: values[...], sensorNames: names)
        let part = try #require(detector.network)
        var alerting = detector
        alerting.network = nil
        try TextFile.makeDirectory("\(directory)/models")
        try DetectorFile(machine: "m", calibratedAt: "2026-11-29T00:00:00.000Z", detector: alerting, report: report)
            .write(to: "\(directory)/models/m.detector.json")
        let metadata = ModelMetadata(machineID: "m", sensorNames: names, timeSteps: part.windowRows, calibrationWindowCount: 64,
                                     createdAt: Timestamp(millisecondsSinceEpoch: 0), notes: "test")
        let file = NetworkModel(metadata: metadata, normalization: part.normalization, threshold: part.threshold,
                                quantized: try #require(part.quantized))
        try file.write(to: "\(directory)/models/m.model")
        return (detector, file)
    }

    /// Feeds `rows` (one per second) to a one-machine engine; returns the windows scored and the anomaly events.
    static func run(_ engine: inout ScoringEngine, rows: [[Float]], start: Int64) -> (scored: [ScoredWindow], events: [AlertEvent]) {
        var scored: [ScoredWindow] = []
        var events: [AlertEvent] = []
        for (r, row) in rows.enumerated() {
            let t = Timestamp(millisecondsSinceEpoch: start + Int64(r) * 1000)
            let readings = row.indices.map { Reading(machine: 0, sensor: Int32($0), time: t, value: Double(row[$0]), quality: .good) }
            events += engine.process(readings) { scored.append($0) }
        }
        return (scored, events.filter { $0.alert.kind == .anomaly })
    }

    static func machine(_ score: AlertScore) -> MachineConfiguration {
        var machine = MachineConfiguration(id: "m", sensors: ["flow", "pressure", "current"].enumerated().map {
            SensorConfiguration(name: $1, bus: "b", address: $0)
        })
        machine.alertScore = score
        return machine
    }

    @Test("alert_score = network: the int8 network's score, against its own threshold, raises the alerts")
    func networkRaisesAlerts() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (_, file) = try Self.storeModels(in: directory.path)
        let model = try #require(try MachineModel.load(machine: "m", dataDirectory: directory.path, alertScore: .network))
        #expect(model.threshold == Double(file.threshold))
        var engine = ScoringEngine(machines: [Self.machine(.network)], models: [model])
        var rows: [[Float]] = (0..<120).map { r in [20 + noise(r + 900), 5 + noise(r + 1900) / 10, 2 + noise(r + 2900) / 5] }
        let normal = Self.run(&engine, rows: rows, start: 0)
        #expect(normal.events.isEmpty)
        #expect(normal.scored.count > 50)
        // Every judged score is the network model's own score of that window.
        let last = try #require(normal.scored.last)
        let window = Window(rows: Array(rows.suffix(file.metadata.timeSteps)))
        #expect(Float(last.score).bitPattern == file.score(window, workspace: ScoringWorkspace()).bitPattern)
        #expect(last.threshold == Double(file.threshold))
        #expect(engine.lastNetworkScore(machine: 0) == last.score)
        // A fault: the network's alert, with its threshold, names the sensors.
        rows = (0..<60).map { r in [12 + noise(r), 5 + noise(r + 70) / 10, 3.5 + noise(r + 170) / 5] }
        let fault = Self.run(&engine, rows: rows, start: 120_000)
        let raised = try #require(fault.events.first { $0.change == .raised })
        #expect(raised.alert.threshold == Double(file.threshold))
        #expect(raised.alert.peakScore > Double(file.threshold))
        #expect(!raised.alert.topSensors.isEmpty)
    }

    @Test("alert_score = either: each score over its own threshold, the larger alerts, threshold 1")
    func eitherTakesTheLarger() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (detector, file) = try Self.storeModels(in: directory.path)
        let model = try #require(try MachineModel.load(machine: "m", dataDirectory: directory.path, alertScore: .either))
        #expect(model.threshold == 1)
        var scorer = model.makeScorer()
        var deviationOnly = try #require(try MachineModel.load(machine: "m", dataDirectory: directory.path)).makeScorer()
        for r in 0..<80 {
            let row: [Float] = [20 + noise(r + 300), 5 + noise(r + 400) / 10, r > 60 ? 4 : 2 + noise(r + 500) / 5]
            let d = scorer.score(row: row)
            #expect(deviationOnly.score(row: row) == d)
            let s = scorer.judge(deviationScore: d)
            guard r + 1 >= file.metadata.timeSteps else { continue }
            let expected = max(d / Double(detector.threshold), scorer.networkScore / Double(file.threshold))
            #expect(s == expected)
        }
    }

    @Test("alert_score = network without a network model is refused, naming the file and the fix")
    func networkNeedsItsModel() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try Self.storeModels(in: directory.path)
        #expect(unlink("\(directory.path)/models/m.model") == 0)
        #expect(try MachineModel.load(machine: "m", dataDirectory: directory.path) != nil)
        do {
            _ = try MachineModel.load(machine: "m", dataDirectory: directory.path, alertScore: .network)
            Issue.record("loaded without the network model")
        } catch let error as MachineModelError {
            #expect(error.path.hasSuffix("models/m.model"))
            #expect(error.message.contains("recalibrate"))
        }
    }

    @Test func int8NetworkScoreMatchesTheModelFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (detector, file) = try Self.storeModels(in: directory.path)
        let part = try #require(detector.network)
        let quantized = try #require(part.quantized)

        let model = try #require(try MachineModel.load(machine: "m", dataDirectory: directory.path))
        #expect(model.networkThreshold == Double(part.threshold))
        var scorer = model.makeScorer()
        var rows: [[Float]] = []
        for r in 0..<(part.windowRows + 5) {
            let row: [Float] = [20 + noise(r + 500), 5 + noise(r + 600) / 10, r > part.windowRows ? 3 : 2 + noise(r + 700) / 5]
            rows.append(row)
            let deviation = scorer.score(row: row)
            #expect(scorer.judge(deviationScore: deviation) == deviation)  // alert_score = "deviation"
            if r + 1 < part.windowRows { #expect(scorer.networkScore.isNaN) }
        }
        let window = Window(rows: Array(rows.suffix(part.windowRows)))
        let expected = file.score(window, workspace: ScoringWorkspace())
        #expect(scorer.networkScore.isFinite)
        #expect(Float(scorer.networkScore).bitPattern == expected.bitPattern)

        // A network model of other sensors is refused with a clear error.
        let other = NetworkModel(metadata: ModelMetadata(machineID: "m", sensorNames: ["a", "b", "c"], timeSteps: part.windowRows,
                                                         calibrationWindowCount: 64, createdAt: Timestamp(millisecondsSinceEpoch: 0), notes: ""),
                                 normalization: part.normalization, threshold: part.threshold, quantized: quantized)
        try other.write(to: "\(directory.path)/models/m.model")
        #expect(throws: MachineModelError.self) { _ = try MachineModel.load(machine: "m", dataDirectory: directory.path) }
    }
}
