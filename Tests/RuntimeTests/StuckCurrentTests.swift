import CompressorRig
import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Simulator
import Testing

/// A compressor's current sensor stuck at one reading must alert once the compressor changes
/// state: the two-state compensation then moves the stuck reading by the loaded/unloaded step
/// (about 40 A on seed 13), 8 tolerated spreads off normal. Polled every 100 ms, the current
/// ramps with the receiver's pressure band over each load cycle (longer than the 100-row drift
/// horizon), so it changed five times more over 100 rows than over 20, and the wander discount
/// weighted it 0.01–0.2 (seed 13: 0.026) although its level only cycles; the stuck sensor never
/// alerted on these seeds. The discount now needs the level to keep moving away over four
/// horizons (`WindowDeviationBaseline.returnsWithinHorizon`).
@Suite struct StuckCurrentTests {
    struct Outcome: CustomStringConvertible {
        var raisedBeforeFault = 0
        var firstAlertSeconds: Double?
        var firstSensor: String?
        var currentWeight: Float = 0
        var description: String {
            "current weight \(currentWeight), raised before the fault \(raisedBeforeFault), first alert \(firstAlertSeconds.map { "\($0) s" } ?? "none") on \(firstSensor ?? "-")"
        }
    }

    /// Calibrates compressor `seed` (`CalibratedCompressor`), runs it 11 minutes through the
    /// agent's scoring path (the first 5 settling), then freezes motor_current for 3 minutes.
    static func measure(seed: UInt64) async throws -> Outcome {
        let compressor = try await CalibratedCompressor.shared(seed: seed)
        var outcome = Outcome()
        outcome.currentWeight = compressor.detector.baseline.weight[compressor.current]
        let run = try compressor.run(stepsAfterFault: 1800) { Fault(.sensorStuck, startSeconds: $0, severity: 0.5, profile: .step, channel: "motor_current") }
        outcome.raisedBeforeFault = run.raisedBeforeFault
        outcome.firstAlertSeconds = run.firstAlertSeconds
        outcome.firstSensor = run.firstSensor
        return outcome
    }

    /// Seeds 13 and 8: current weighted 0.026 and 0.13 before, the stuck sensor never alerted.
    @Test("a stuck current sensor on a load-cycling compressor alerts within 90 s, and nothing alerts before it",
          arguments: [UInt64(13), 8])
    func stuckCurrentAlerts(seed: UInt64) async throws {
        let outcome = try await Self.measure(seed: seed)
        print("stuck current, compressor seed \(seed): \(outcome)")
        #expect(outcome.raisedBeforeFault == 0, "seed \(seed): \(outcome)")
        #expect(outcome.currentWeight > 0.5, "seed \(seed): \(outcome)")
        let first = try #require(outcome.firstAlertSeconds, "seed \(seed): \(outcome)")
        #expect(first < 90, "seed \(seed): \(outcome)")
        #expect(outcome.firstSensor == "motor_current", "seed \(seed): \(outcome)")
    }
}
