import CompressorRig
import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Simulator
import Testing

/// An imbalance that doubles a compressor's vibration must alert. The compressors of these seeds
/// (100 ms polls, 10-minute calibration, `CalibratedCompressor`) vibrate about 25 % harder loaded
/// than unloaded, a step of only 2.6–3.1 spreads of single rows, but of 12–14 spreads of a 20-row
/// window mean. The two-state compensation used to judge the step on single rows and left
/// vibration out; its window means then followed the loaded share of each window, calibration
/// took that for wander and weighted vibration 0.008–0.03 (seed 7: both axes; 5 and 16: one), and
/// seed 7's imbalance never alerted (peak 1.44× the threshold, alert rule not met). The step is
/// now judged on window means, what the score compares (`StateCompensation.fit`, `averagedRows`).
@Suite struct VibrationFaultTests {
    struct Outcome: CustomStringConvertible {
        /// Anomaly alerts raised while running normally (5 minutes settling, then 6 judged).
        var raisedBeforeFault = 0
        /// Highest score ÷ threshold judged before and during the fault.
        var peakBefore = 0.0
        var peakDuringFault = 0.0
        /// Seconds from the fault's start to the first anomaly alert (nil: none), and the sensor it named first.
        var firstAlertSeconds: Double?
        var firstSensor: String?
        /// Mean vibration_x during the fault ÷ before it.
        var vibrationRatio = 0.0
        /// Calibrated weights of vibration_x and vibration_y.
        var weights: [Float] = []
        var description: String {
            "weights \(weights), raised before the fault \(raisedBeforeFault) (peak \(peakBefore)×), vibration ×\(vibrationRatio), first alert \(firstAlertSeconds.map { "\($0) s" } ?? "none") on \(firstSensor ?? "-") (peak \(peakDuringFault)×)"
        }
    }

    /// Calibrates compressor `seed`, runs it 11 minutes more through the agent's scoring path (the
    /// first 5 settling), then adds an imbalance (severity 0.5, step) and runs 2 minutes.
    static func measure(seed: UInt64) async throws -> Outcome {
        let compressor = try await CalibratedCompressor.shared(seed: seed)
        var sim = compressor.sim
        let names = sim.channels.map(\.name)
        let vibration = try #require(sim.channelIndex(named: "vibration_x"))
        var engine = ScoringEngine(machines: [compressor.machine], models: [MachineModel(path: "memory", file: compressor.file)])
        var outcome = Outcome()
        outcome.weights = ["vibration_x", "vibration_y"].compactMap { name in
            names.firstIndex(of: name).map { compressor.detector.baseline.weight[$0] }
        }
        var row: [Double] = []
        var faultStart: Int64?
        var vibrationSums = (before: 0.0, during: 0.0)
        for step in 0..<(6600 + 1200) {
            if step == 6600 {
                try sim.add(Fault(.imbalance, startSeconds: sim.elapsedSeconds, severity: 0.5, profile: .step))
                faultStart = sim.time.millisecondsSinceEpoch
            }
            let time = sim.time
            _ = sim.step(into: &row)
            if faultStart == nil { vibrationSums.before += row[vibration] } else { vibrationSums.during += row[vibration] }
            let readings = row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
            let events = engine.process(readings) { scored in
                let ratio = scored.score / scored.threshold
                if faultStart == nil { outcome.peakBefore = max(outcome.peakBefore, ratio) } else { outcome.peakDuringFault = max(outcome.peakDuringFault, ratio) }
            }
            for event in events where event.alert.kind == .anomaly && event.change == .raised {
                guard let faultStart else { outcome.raisedBeforeFault += 1; continue }
                if outcome.firstAlertSeconds == nil {
                    outcome.firstAlertSeconds = Double(event.time.millisecondsSinceEpoch - faultStart) / 1000
                    outcome.firstSensor = event.alert.topSensors.first?.sensor
                }
            }
        }
        outcome.vibrationRatio = (vibrationSums.during / 1200) / (vibrationSums.before / 6600)
        outcome.peakBefore = (outcome.peakBefore * 100).rounded() / 100
        outcome.peakDuringFault = (outcome.peakDuringFault * 100).rounded() / 100
        outcome.vibrationRatio = (outcome.vibrationRatio * 100).rounded() / 100
        return outcome
    }

    /// Seed 7: both vibration axes weighted 0.02–0.03 before the rule; 5 and 16: one axis (0.008, 0.016).
    @Test("an imbalance that doubles a compressor's vibration alerts within 10 s, and nothing alerts before it",
          arguments: [UInt64(7), 5, 16])
    func imbalanceAlerts(seed: UInt64) async throws {
        let outcome = try await Self.measure(seed: seed)
        print("vibration, compressor seed \(seed): \(outcome)")
        #expect(outcome.raisedBeforeFault == 0, "seed \(seed): \(outcome)")
        // The fault at severity 0.5 is about a doubling (measured 2.1–2.9× on these seeds' vibration_x).
        #expect(outcome.vibrationRatio > 1.7, "seed \(seed): \(outcome)")
        let first = try #require(outcome.firstAlertSeconds, "seed \(seed): \(outcome)")
        #expect(first < 10, "seed \(seed): \(outcome)")
        #expect(outcome.firstSensor?.hasPrefix("vibration") == true, "seed \(seed): \(outcome)")
        // Both axes are weighted as sensors that do not wander (the step is compensated).
        #expect(outcome.weights.allSatisfy { $0 > 0.5 }, "seed \(seed): \(outcome)")
    }
}
