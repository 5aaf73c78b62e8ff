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

    /// Alerted rows in the normal stretch and seconds into the fault of the first alert, on a
    /// fan motor's rows (or `kind`'s) calibrated on the first ten minutes.
    static func alerts(_ run: (names: [String], calibration: [Float], normal: [Float], faulty: [Float]),
                       kind: MachineKind = .motor, stepMilliseconds: Int64, riseCheck: Bool) -> (normal: Int, first: Double?, detector: MachineDetector) {
        var settings = CalibrationSettings()
        settings.secondsPerRow = Float(stepMilliseconds) / 1000
        settings.machineKind = kind.rawValue
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

    /// Pump 16 under the plant's own load changes (`--automatic`) steps from 0.830 of its speed
    /// to 0.990 at 690 s for 132 s, then to 0.801. Its current rises ×1.57 on the step, so the
    /// winding, whose heat follows the current squared, warms by 2.3 °C and then cools for many
    /// minutes (time constant 10–20 minutes). At 1020 s it is cooling, 0.26 °C in the last
    /// minute, yet still 1.55 °C above its reading a horizon earlier, before the step: more than
    /// the speed's moving averages explain (1.41 °C), because the step had come and gone within
    /// the horizon. The check alerted on 598 rows there; a rise now also needs the winding to be
    /// still rising (docs/detection.md, "pump 16").
    @Test("a pump's winding cooling after a short step up to a higher speed does not alert as a rise, and its overheating still alerts")
    func coolingAfterAShortStepIsNoRise() throws {
        let run = try LaggedReferenceTests.run(kind: .pump, seed: 16)
        // The plant did step the speed (the calibration's, the step's, the one after it, ...).
        #expect(run.loads.count >= 3)
        let rows = (run.names, run.calibration, run.normal, run.faulty)
        let with = Self.alerts(rows, kind: .pump, stepMilliseconds: 100, riseCheck: true)
        let without = Self.alerts(rows, kind: .pump, stepMilliseconds: 100, riseCheck: false)
        let winding = try #require(run.names.firstIndex(of: "winding_temperature"))
        #expect(with.detector.rise?.sensors.contains(winding) == true)
        // The window score leaves the normal stretch quiet: only the rise check could alert there.
        #expect(without.normal == 0, "window score alone: \(without.normal) alerted rows in the normal stretch")
        #expect(with.normal == 0, "\(with.normal) alerted rows in the normal stretch")
        let first = try #require(with.first, "overheating not caught in 10 minutes")
        #expect(first > 0 && first < 600, "overheating first alerted after \(first) s")
    }
}
