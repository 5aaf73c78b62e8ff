import Detection
import Simulator
import Testing

/// A fan motor's overheating raises its winding by 7–10 °C in ten minutes, inside the load
/// prior's tolerance and a day's normal wander of its level, but far faster than the winding
/// ever moves normally (0.57–0.76 °C in ten minutes over a day): the window score, which judges
/// levels, misses it; `TemperatureRiseCheck` judges the rate (docs/detection.md, "How fast a
/// temperature rises").
@Suite struct TemperatureRiseTests {
    /// Rows (row-major, without the run signal) of a settled fan motor at the middle of its load
    /// range: 10 minutes of calibration, 10 normal minutes, then 10 minutes of overheating at
    /// severity 0.5, at `stepMilliseconds`.
    static func run(seed: UInt64, stepMilliseconds: Int64) throws -> (names: [String], calibration: [Float], normal: [Float], faulty: [Float]) {
        var options = MachineOptions()
        options.stepMilliseconds = stepMilliseconds
        options.automaticOperation = false
        var machine = SimulatedMachine(kind: .motor, id: "m", seed: seed, options: options)
        let range = machine.loadRange
        machine.setOperatingPoint(running: true, load: (range.lowerBound + range.upperBound) / 2)
        machine.settle()
        let keep = machine.channels.indices.filter { machine.channels[$0].name != "running" }
        var sample: [Double] = []
        let perMinute = Int(60_000 / stepMilliseconds)
        func rows(minutes: Int) -> [Float] {
            var out: [Float] = []
            for _ in 0..<(minutes * perMinute) {
                _ = machine.step(into: &sample)
                for k in keep { out.append(Float(sample[k])) }
            }
            return out
        }
        let calibration = rows(minutes: 10), normal = rows(minutes: 10)
        try machine.inject(.overheating, severity: 0.5, durationSeconds: 600, profile: .step, channel: nil)
        return (keep.map { machine.channels[$0].name }, calibration, normal, rows(minutes: 10))
    }

    /// Alerted rows in the normal stretch and seconds into the fault of the first alert.
    static func alerts(_ run: (names: [String], calibration: [Float], normal: [Float], faulty: [Float]),
                       stepMilliseconds: Int64, riseCheck: Bool) -> (normal: Int, first: Double?, detector: MachineDetector) {
        var settings = CalibrationSettings()
        settings.secondsPerRow = Float(stepMilliseconds) / 1000
        settings.machineKind = "motor"
        settings.checkTemperatureRise = riseCheck
        let detector = Calibrator(settings: settings).calibrate(values: run.calibration[...], sensorNames: run.names).detector
        var stream = detector.makeStream()
        let n = run.names.count
        var normal = 0
        var first: Double?
        for (phase, block) in [run.calibration, run.normal, run.faulty].enumerated() {
            for r in 0..<(block.count / n) {
                let alert = stream.process(row: block[(r * n)..<(r * n + n)]).alert
                if phase == 1, alert { normal += 1 }
                if phase == 2, alert, first == nil { first = Double(r) * Double(stepMilliseconds) / 1000 }
            }
        }
        return (normal, first, detector)
    }

    @Test("a fan motor's overheating inside its level tolerance alerts by its rate, and the normal stretch stays quiet",
          arguments: [UInt64(1), 3])
    func overheatingAlertsByRate(seed: UInt64) throws {
        let step: Int64 = 1000
        let run = try Self.run(seed: seed, stepMilliseconds: step)
        let without = Self.alerts(run, stepMilliseconds: step, riseCheck: false)
        let with = Self.alerts(run, stepMilliseconds: step, riseCheck: true)
        let check = try #require(with.detector.rise)
        #expect(check.sensors.map { run.names[$0] }.sorted() == ["bearing_temperature", "winding_temperature"])
        // The window score alone misses it (levels inside the tolerance) ...
        #expect(without.first == nil, "window score alone alerted after \(without.first ?? 0) s")
        // ... the rate catches it, and nothing in the normal ten minutes rises that fast.
        let first = try #require(with.first, "no alert in 10 minutes of overheating")
        #expect(first < 600)
        #expect(with.normal == 0 && without.normal == 0, "normal stretch: \(with.normal) alerted rows with, \(without.normal) without")
    }
}
