import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Simulator
import Synchronization
import Testing

/// A simulated compressor polled every 100 ms, held running and settled at load 0.6 (no automatic
/// operation), judged by its motor current (run threshold 10 % of rated, 5-minute settle), and
/// calibrated on its first 10 minutes of running: the set-up `CoastDownTests` and
/// `RestartAlertTests` share. `sim` has moved past the calibration rows.
struct CalibratedCompressor: Sendable {
    var sim: SimulatedMachine
    var machine: MachineConfiguration
    let detector: MachineDetector
    let file: DetectorFile
    /// The calibration rows.
    let table: SensorTable
    /// The motor current's column.
    let current: Int

    /// - Parameter settled: whether the simulator is first settled at the operating point
    ///   (`SimulatedMachine.settle()`), as a compressor that has run at this demand for a while
    ///   (the default); `false`: it still moves from the load the simulator warmed it up at.
    init(seed: UInt64, settled: Bool = true) throws {
        var options = MachineOptions()
        options.stepMilliseconds = 100
        options.automaticOperation = false
        sim = SimulatedMachine(kind: .compressor, id: "compressor-1", seed: seed, options: options)
        sim.setOperatingPoint(running: true, load: 0.6)
        if settled { sim.settle() }
        // Settled since loaded phases are judged by their end (docs/detection.md, "A change of
        // demand"). Before, settled, a change of demand alerted through the receiver pressure's
        // loaded phase mean over time (OutletValveTests seed 6: 1,967 rows at load 0.85), and
        // before the state compensation's first-order approach also seed 18 (1,380 rows) and
        // seed 3's coast-downs (CoastDownTests). RestartAlertTests is settled too since a
        // start's compensated sensors are judged on full windows (before, settled seed 7 after a
        // 120 s stop alerted on its suction pressure, 1.36× at 304.3 s; docs/detection.md).
        let rated = try #require(sim.typicalMagnitude(ofChannel: "motor_current"))
        machine = MachineConfiguration(id: "compressor-1", sensors: sim.channels.enumerated().map { i, channel in
            var sensor = SensorConfiguration(name: channel.name, bus: "b", address: i)
            sensor.unit = channel.unit
            return sensor
        })
        machine.runSignal = "motor_current"
        machine.runThreshold = (0.1 * rated * 10).rounded() / 10
        machine.settleAfterStart = .seconds(300)
        machine.pollInterval = .milliseconds(100)
        machine.kind = .compressor
        current = try #require(sim.channelIndex(named: "motor_current"))

        // Calibrate on 10 minutes of running (the load cycles of the receiver included).
        var calibration: [Float] = [], times: [String] = [], row: [Double] = []
        for _ in 0..<6000 {
            times.append(sim.time.iso8601)
            _ = sim.step(into: &row)
            calibration += row.map(Float.init)
        }
        table = SensorTable(sensorNames: sim.channels.map(\.name), timestamps: times, values: calibration)
        var settings = CalibrationSettings()
        settings.secondsPerRow = 0.1
        settings.machineKind = "compressor"
        let (detector, report) = Calibrator(settings: settings).calibrate(table: table)
        self.detector = detector
        file = DetectorFile(machine: machine.id, calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
    }

    /// The anomaly alerts of one run of `sim` through the agent's scoring path: 6600 steps (11
    /// minutes at 100 ms, the first 5 settling), then `fault` added at the simulator's current
    /// time, then `stepsAfterFault` more.
    struct FaultRun {
        /// Anomaly alerts raised before the fault.
        var raisedBeforeFault = 0
        /// Seconds from the fault's start to the first anomaly alert (nil: none).
        var firstAlertSeconds: Double?
        /// The first alert's largest contributor.
        var firstSensor: String?
    }

    /// Runs a copy of `sim` (the rows after calibration) with a fresh `ScoringEngine` on this
    /// detector and adds `fault(secondsElapsed)` after 6600 steps.
    func run(stepsAfterFault: Int, fault: (_ elapsedSeconds: Double) -> Fault) throws -> FaultRun {
        var sim = sim
        var engine = ScoringEngine(machines: [machine], models: [MachineModel(path: "memory", file: file)])
        var outcome = FaultRun()
        var row: [Double] = []
        var faultStart: Int64?
        for step in 0..<(6600 + stepsAfterFault) {
            if step == 6600 {
                try sim.add(fault(sim.elapsedSeconds))
                faultStart = sim.time.millisecondsSinceEpoch
            }
            let time = sim.time
            _ = sim.step(into: &row)
            let readings = row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
            for event in engine.process(readings) where event.alert.kind == .anomaly && event.change == .raised {
                guard let faultStart else { outcome.raisedBeforeFault += 1; continue }
                if outcome.firstAlertSeconds == nil {
                    outcome.firstAlertSeconds = Double(event.time.millisecondsSinceEpoch - faultStart) / 1000
                    outcome.firstSensor = event.alert.topSensors.first?.sensor
                }
            }
        }
        return outcome
    }
}

extension CalibratedCompressor {
    private struct Key: Hashable {
        let seed: UInt64
        let settled: Bool
    }

    /// Calibrations begun in this test process, by seed and settling.
    private static let calibrations = Mutex<[Key: Task<CalibratedCompressor, Error>]>([:])

    /// The compressor `seed` calibrated once per test process and shared by every test that asks
    /// for the same seed and settling (each gets its own copy of `sim` to run on).
    ///
    /// Calibration is deterministic (simulator and network training are seeded), so a second
    /// calibration gives the same detector. Each is seconds of a debug build's CPU on one of the
    /// test process's two cooperative threads, and 11 of the 28 a whole-suite run made were
    /// repeats (RestartAlertTests alone calibrated seeds 3, 7 and 21 twelve times; 2026-12-01,
    /// 2.5 minutes into a whole-suite run, both cooperative threads were in its calibrations
    /// and no test had finished yet). A test that asks while the calibration runs awaits it
    /// without holding a thread.
    static func shared(seed: UInt64, settled: Bool = true) async throws -> CalibratedCompressor {
        let task = calibrations.withLock { calibrations in
            let key = Key(seed: seed, settled: settled)
            if let task = calibrations[key] { return task }
            let task = Task { try CalibratedCompressor(seed: seed, settled: settled) }
            calibrations[key] = task
            return task
        }
        do {
            return try await task.value
        } catch {
            // Thrown again in every test that shares it: an expectation failure recorded in the
            // first one would otherwise end the others silently.
            throw CalibrationFailed(description: "compressor seed \(seed) (settled: \(settled)) did not calibrate: \(error)")
        }
    }

    struct CalibrationFailed: Error, CustomStringConvertible {
        var description: String
    }
}
