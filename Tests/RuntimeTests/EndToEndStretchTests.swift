import Detection
import EdgeCore
import Simulator
import Testing

/// The end-to-end test's calibration stretch, offline: pump-1 of the simulator's default fleet
/// (seed 1) taken through loads 0.5, 0.9 and 0.7 for a few simulated minutes, calibrated as
/// `calibrate` calibrates it from agent.conf (200 ms polls, the pump kind's load prior, the supply
/// voltage's 12 V tolerance), then 65 rows at each of the later loads 0.8, 0.6 and 0.75. What
/// `EndToEndTests` relies on: when each load lasts at least as long as the one before, the
/// detector stays quiet at the later loads, whether its stream starts at the model's load (as
/// the agent's does) or runs on from the calibration rows (as `replay`'s does).
@Suite struct EndToEndStretchTests {
    /// agent.conf's pump-1 sensors, the run signal left out (calibrate drops a contact).
    static let names = ["flow", "inlet_pressure", "outlet_pressure", "vibration_x", "vibration_y", "speed",
                        "motor_current", "supply_voltage", "bearing_temperature", "winding_temperature"]

    static func rows(_ machine: inout SimulatedMachine, _ count: Int) -> [Float] {
        let columns = names.map { name in machine.channels.firstIndex { $0.name == name } ?? 0 }
        var out: [Float] = []
        for _ in 0..<count {
            let sample = machine.step()
            out += columns.map { Float(sample.values[$0]) }
        }
        return out
    }

    /// Alerting rows among the last `judged` rows of `values` in one stream over all of them.
    static func alertingRows(_ detector: MachineDetector, _ values: [Float], judged: Int) -> Int {
        let n = names.count
        var stream = detector.makeStream()
        var count = 0
        let rows = values.count / n
        for r in 0..<rows where stream.process(row: values[(r * n)..<((r + 1) * n)]).alert && r >= rows - judged { count += 1 }
        return count
    }

    /// Rows at loads 0.5, 0.9 and 0.7 (`rowsPerLoad`; 200 ms polls of a simulator at 5× real
    /// time are one simulated second each) starting at `hour` of the day, 40 rows at 0.7 while
    /// the model is written and loaded, then 65 at each later load: (calibration, gap, later).
    static func scenario(rowsPerLoad: [Int], hour: Int, seed: UInt64 = 1) -> (calibration: [Float], gap: [Float], later: [Float]) {
        var options = MachineOptions()
        options.startTime = Timestamp(millisecondsSinceEpoch: 1_796_000_000_000 + Int64(hour) * 3_600_000)
        var machine = Fleet(seed: seed, count: 3, options: options).machines[0]
        var calibration = rows(&machine, 3)
        for (load, count) in zip([0.5, 0.9, 0.7], rowsPerLoad) {
            machine.setOperatingPoint(running: true, load: load)
            calibration += rows(&machine, count)
        }
        let gap = rows(&machine, 40)
        var later: [Float] = []
        for load in [0.8, 0.6, 0.75] {
            machine.setOperatingPoint(running: true, load: load)
            later += rows(&machine, 65)
        }
        return (calibration, gap, later)
    }

    static func calibrate(_ values: [Float]) -> MachineDetector { calibration(values).detector }

    /// The detector and what calibration did, as `calibrate` would store them.
    static func calibration(_ values: [Float]) -> (detector: MachineDetector, report: CalibrationReport) {
        var settings = CalibrationSettings()
        settings.secondsPerRow = 0.2
        settings.machineKind = "pump"
        let n = names.count
        let times = (0..<(values.count / n)).map { Timestamp(millisecondsSinceEpoch: 1_796_000_000_000 + Int64($0) * 200).iso8601 }
        let table = SensorTable(sensorNames: names, timestamps: times, values: values)
        let tolerances = names.map { $0 == "supply_voltage" ? Float(12) : .nan }
        return Calibrator(settings: settings).calibrate(table: table, tolerances: tolerances)
    }

    @Test("each load at least as long as the one before: no alert at the later loads",
          arguments: [[65, 65, 65], [65, 65, 170], [65, 170, 170], [100, 125, 250], [170, 170, 170]], [0, 11])
    func loadsThatDoNotShrink(rowsPerLoad: [Int], hour: Int) {
        let (calibration, gap, later) = Self.scenario(rowsPerLoad: rowsPerLoad, hour: hour)
        let detector = Self.calibrate(calibration)
        let judged = later.count / Self.names.count
        #expect(Self.alertingRows(detector, later, judged: judged) == 0, "stream started at the model's load (the agent)")
        #expect(Self.alertingRows(detector, calibration + gap + later, judged: judged) == 0, "stream run on from calibration (replay)")
    }
}
