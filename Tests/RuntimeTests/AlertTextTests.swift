import Configuration
import Detection
import EdgeCore
import Foundation
@testable import Runtime
import Simulator
import Testing
import TestSupport

/// What an anomaly alert says a sensor did, and against what: the rate for a temperature the
/// rise check judged, only sensors that added to the score, and the network's own ranges when
/// the network's score raised it (README, "Alerts").
@Suite("Alert texts quote what was judged")
struct AlertTextTests {
    /// The fields of an alert-log line's `top_sensors`, as a reader of the log gets them.
    static func topSensors(_ event: AlertEvent) throws -> [[String: Any]] {
        let object = try #require(JSONSerialization.jsonObject(with: Data(event.jsonLine.utf8)) as? [String: Any])
        return try #require(object["top_sensors"] as? [[String: Any]])
    }

    /// A machine configuration of `names` polled every second.
    static func machine(_ id: String, names: [String], units: [String], kind: LoadPriorKind) -> MachineConfiguration {
        var machine = MachineConfiguration(id: id, sensors: names.enumerated().map { i, name in
            var sensor = SensorConfiguration(name: name, bus: "b", address: i)
            sensor.unit = units[i]
            return sensor
        })
        machine.pollInterval = .seconds(1)
        machine.kind = kind
        return machine
    }

    /// Feeds `rows` (row-major, `n` a row, one a second from `start` s) to `engine`; returns the anomaly events and the row count when each came.
    static func feed(_ engine: inout ScoringEngine, rows: [Float], n: Int, start: Int64) -> [(row: Int, event: AlertEvent)] {
        var events: [(Int, AlertEvent)] = []
        for r in 0..<(rows.count / n) {
            let t = Timestamp(millisecondsSinceEpoch: (start + Int64(r)) * 1000)
            let readings = (0..<n).map { Reading(machine: 0, sensor: Int32($0), time: t, value: Double(rows[r * n + $0]), quality: .good) }
            events += engine.process(readings).filter { $0.alert.kind == .anomaly }.map { (r, $0) }
        }
        return events
    }

    /// Rows (row-major, without the run signal) of a settled fan motor at the middle of its
    /// load range, one a second, as `TemperatureRiseTests`: 10 minutes of calibration, 10
    /// normal minutes, then 10 minutes of overheating at severity 0.5.
    static func overheatingMotor(seed: UInt64) throws -> (names: [String], units: [String], calibration: [Float], normal: [Float], faulty: [Float]) {
        var options = MachineOptions()
        options.stepMilliseconds = 1000
        options.automaticOperation = false
        var machine = SimulatedMachine(kind: .motor, id: "m", seed: seed, options: options)
        let range = machine.loadRange
        machine.setOperatingPoint(running: true, load: (range.lowerBound + range.upperBound) / 2)
        machine.settle()
        let keep = machine.channels.indices.filter { machine.channels[$0].name != "running" }
        var sample: [Double] = []
        func rows(minutes: Int) -> [Float] {
            var out: [Float] = []
            for _ in 0..<(minutes * 60) {
                _ = machine.step(into: &sample)
                for k in keep { out.append(Float(sample[k])) }
            }
            return out
        }
        let calibration = rows(minutes: 10), normal = rows(minutes: 10)
        try machine.inject(.overheating, severity: 0.5, durationSeconds: 600, profile: .step, channel: nil)
        return (keep.map { machine.channels[$0].name }, keep.map { machine.channels[$0].unit }, calibration, normal, rows(minutes: 10))
    }

    @Test("a fan motor's overheating, caught by the rise check, is quoted as a rate against the rate normal at its speed",
          arguments: [UInt64(1), 3])
    func riseAlertQuotesTheRate(seed: UInt64) throws {
        let run = try Self.overheatingMotor(seed: seed)
        let n = run.names.count, units = run.units
        var settings = CalibrationSettings()
        settings.secondsPerRow = 1
        settings.machineKind = "motor"
        let (detector, report) = Calibrator(settings: settings).calibrate(values: run.calibration[...], sensorNames: run.names)
        #expect(detector.rise != nil)
        let model = MachineModel(path: "memory", file: DetectorFile(machine: "motor-1", calibratedAt: "2026-11-29T00:00:00.000Z",
                                                                    detector: detector, report: report))
        var engine = ScoringEngine(machines: [Self.machine("motor-1", names: run.names, units: units, kind: .motor)], models: [model])
        let all = run.calibration + run.normal + run.faulty
        let events = Self.feed(&engine, rows: all, n: n, start: 1_795_000_000)
        let faultRow = (run.calibration.count + run.normal.count) / n
        #expect(!events.contains { $0.row < faultRow }, "\(events.filter { $0.row < faultRow }.map(\.event.alert.message))")
        let (row, raised) = try #require(events.first { $0.event.change == .raised }, "no alert in 10 minutes of overheating")

        // The alert's top sensor is a temperature judged by its rate: the log line carries the
        // rate and the normal rate, and the message quotes them, not the level range.
        let top = try #require(try Self.topSensors(raised).first)
        let sensor = try #require(top["sensor"] as? String)
        #expect(sensor.hasSuffix("temperature"), "\(raised.jsonLine)")
        let rise = try #require(top["rise_per_minute"] as? Double, "\(raised.jsonLine)")
        let normal = try #require(top["normal_rise_per_minute"] as? Double, "\(raised.jsonLine)")
        #expect(rise > normal && normal > 0, "\(raised.jsonLine)")
        let unit = try #require(top["unit"] as? String)
        #expect(unit == "°C")
        #expect(raised.alert.message.contains("\(sensor)=") && raised.alert.message.contains(" rising ")
                && raised.alert.message.contains(" °C/min (normal ≤ ") && raised.alert.message.contains(" at this speed)"),
                "\(raised.alert.message)")
        // The level is not what alerted: it lies inside its level range, which the message does
        // not quote for this sensor.
        let value = try #require(top["value"] as? Double)
        let low = try #require(top["normal_low"] as? Double), high = try #require(top["normal_high"] as? Double)
        #expect(low <= value && value <= high, "\(sensor)=\(value), level range \(low)…\(high)")

        // The rate, by independent arithmetic: the change of the one-minute mean over the five
        // minutes to the last minute's end before the alert (blocks counted from the engine's
        // first row), per minute.
        let column = try #require(run.names.firstIndex(of: sensor))
        let end = ((row + 1) / 60) * 60
        func mean(_ from: Int) -> Double { (from..<(from + 60)).reduce(0.0) { $0 + Double(all[$1 * n + column]) } / 60 }
        let expected = (mean(end - 60) - mean(end - 360)) / 5
        #expect(abs(rise - expected) < 1e-3 * max(1, abs(expected)), "quoted \(rise) °C/min, block means give \(expected)")
        // Only sensors that added to the score are named.
        for entry in try Self.topSensors(raised) {
            #expect((entry["contribution"] as? Double ?? 0) > 0, "\(raised.jsonLine)")
        }
    }

    @Test("a phase-judged sensor is quoted for a phase of its state, not as a whole phase's mean (phases are judged by their end)")
    func phaseJudgedWording() throws {
        let phase = SensorContribution(sensor: "receiver_pressure", value: 7.9, unit: "bar", contribution: 3, normalLow: 6.9, normalHigh: 8.1,
                                       judged: .phase, expectedLow: 7.47, expectedHigh: 7.62)
        var engine = AnomalyAlertEngine(machine: "compressor-1")
        var raised: AlertEvent?
        for k in 0..<3 {
            let event = engine.observe(score: 3, threshold: 1, time: Timestamp(millisecondsSinceEpoch: Int64(k) * 1000), contributions: [phase])
            raised = raised ?? event
        }
        let message = try #require(raised?.alert).message
        #expect(message.contains("receiver_pressure=7.9 bar (expected 7.47…7.62 for a phase of this state)"), "\(message)")
        #expect(!message.contains("whole phase"), "\(message)")
    }

    @Test("top_sensors names only sensors that contributed, and at least the largest")
    func onlyContributingSensors() throws {
        func part(_ name: String, _ c: Double) -> SensorContribution {
            SensorContribution(sensor: name, value: 1, contribution: c, normalLow: 0, normalHigh: 2)
        }
        var engine = AnomalyAlertEngine(machine: "pump-1")
        var raised: AlertEvent?
        for k in 0..<3 {
            let event = engine.observe(score: 5, threshold: 1, time: Timestamp(millisecondsSinceEpoch: Int64(k) * 1000),
                                       contributions: [part("flow", 0), part("vibration", 5), part("pressure", 0), part("current", 0)])
            raised = raised ?? event
        }
        let alert = try #require(raised?.alert)
        #expect(alert.topSensors.map(\.sensor) == ["vibration"], "\(alert.message)")
        #expect(!alert.message.contains("flow") && !alert.message.contains("pressure"), "\(alert.message)")

        // Nothing contributed (a score made of none of them): the largest is still named.
        var none = AnomalyAlertEngine(machine: "pump-1")
        var nothing: AlertEvent?
        for k in 0..<3 {
            let event = none.observe(score: 5, threshold: 1, time: Timestamp(millisecondsSinceEpoch: Int64(k) * 1000),
                                     contributions: [part("flow", 0), part("vibration", 0)])
            nothing = nothing ?? event
        }
        #expect(nothing?.alert.topSensors.count == 1)
    }

    /// A pump calibrated at its top speed, with its int8 network stored beside the detector in
    /// `directory`'s `models` as `calibrate` stores them (`alert_score = network`), and 900 rows
    /// of it at the middle of its speed range, which the network (no load prior) never saw.
    static func networkPump(in directory: TemporaryDirectory) throws -> (machine: MachineConfiguration, model: MachineModel, names: [String], rows: [Float]) {
        var options = MachineOptions()
        options.automaticOperation = false
        var sim = SimulatedMachine(kind: .pump, id: "pump-1", seed: 21, options: options)
        let top = sim.loadRange.upperBound, middle = (sim.loadRange.lowerBound + top) / 2
        sim.setOperatingPoint(running: true, load: top)
        let names = sim.channels.map(\.name)
        var machine = Self.machine("pump-1", names: names, units: sim.channels.map(\.unit), kind: .pump)
        machine.alertScore = .network
        var calibration: [Float] = [], times: [String] = [], row: [Double] = []
        for _ in 0..<600 {
            times.append(sim.time.iso8601)
            _ = sim.step(into: &row)
            calibration += row.map(Float.init)
        }
        var settings = CalibrationSettings()
        settings.secondsPerRow = 1
        settings.machineKind = "pump"
        settings.network = NetworkCalibration(initialization: try #require(MetaInitialization.shipped))
        let (detector, report) = Calibrator(settings: settings)
            .calibrate(table: SensorTable(sensorNames: names, timestamps: times, values: calibration))
        let part = try #require(detector.network)
        var alerting = detector
        alerting.network = nil
        try TextFile.makeDirectory("\(directory.path)/models")
        try DetectorFile(machine: "pump-1", calibratedAt: "2026-11-29T00:00:00.000Z", detector: alerting, report: report)
            .write(to: "\(directory.path)/models/pump-1.detector.json")
        let metadata = ModelMetadata(machineID: "pump-1", sensorNames: names, timeSteps: part.windowRows, calibrationWindowCount: 64,
                                     createdAt: Timestamp(millisecondsSinceEpoch: 0), notes: "test")
        try NetworkModel(metadata: metadata, normalization: part.normalization, threshold: part.threshold,
                         quantized: try #require(part.quantized)).write(to: "\(directory.path)/models/pump-1.model")
        let model = try #require(try MachineModel.load(machine: "pump-1", dataDirectory: directory.path, alertScore: .network))

        sim.setOperatingPoint(running: true, load: middle)
        var rows: [Float] = []
        for _ in 0..<900 {
            _ = sim.step(into: &row)
            rows += row.map(Float.init)
        }
        return (machine, model, names, rows)
    }

    @Test("alert_score = network: every quoted range is the network's own, of the readings as calibration read them, and the message says so")
    func networkAlertQuotesTheNetworksRanges() throws {
        // Run through the agent's engine at the middle speed.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (machine, model, names, rows) = try Self.networkPump(in: directory)
        let n = names.count
        var engine = ScoringEngine(machines: [machine], models: [model])
        let events = Self.feed(&engine, rows: rows, n: n, start: 1_795_000_000)
        let raised = try #require(events.first { $0.event.change == .raised }?.event, "the network raises no alert at the middle speed")

        // The ranges the network judged against: its stored normalization, centre ± 3 scales,
        // read back from the model file (not moved to the speed, as the network does not).
        let stored = try NetworkModel(contentsOf: "\(directory.path)/models/pump-1.model")
        let sensors = try Self.topSensors(raised)
        #expect(!sensors.isEmpty)
        for entry in sensors {
            let name = try #require(entry["sensor"] as? String)
            let column = try #require(names.firstIndex(of: name))
            let centre = Double(stored.normalization.centers[column]), scale = Double(stored.normalization.scales[column])
            let low = try #require(entry["normal_low"] as? Double, "\(raised.jsonLine)")
            let high = try #require(entry["normal_high"] as? Double, "\(raised.jsonLine)")
            #expect(abs(low - (centre - 3 * scale)) <= 1e-6 * max(1, abs(centre)) && abs(high - (centre + 3 * scale)) <= 1e-6 * max(1, abs(centre)),
                    "\(name): quoted \(low)…\(high), network \(centre) ± 3 × \(scale)")
            #expect(entry["rise_per_minute"] == nil)
        }
        #expect(raised.alert.message.contains("(int8 network)") && raised.alert.message.contains("(calibration "), "\(raised.alert.message)")
        // The speed, when named, lies outside the range quoted for it: the network never saw it.
        if let speed = raised.alert.topSensors.first(where: { $0.sensor == "speed" }) {
            #expect(speed.value < speed.normalLow, "\(raised.alert.message)")
        }
    }
}
