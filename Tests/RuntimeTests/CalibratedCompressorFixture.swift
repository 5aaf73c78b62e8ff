import CompressorRig
import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Simulator
import Synchronization

/// `CalibratedCompressor` (CompressorRig: a simulated compressor polled every 100 ms unless
/// asked otherwise, settled at load 0.6, calibrated on its first 10 minutes of running) is the
/// set-up `CoastDownTests`, `RestartAlertTests` and others share with `edge-bench restarts`.
/// What only the tests ask of it: a run with a fault, and one calibration per seed per process.
extension CalibratedCompressor {
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
