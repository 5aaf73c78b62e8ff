import CompressorRig
import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Simulator
import Testing

/// A compressor calibrated on 10 minutes of uninterrupted running (it never saw a restart),
/// stopped and started again, through the agent's scoring path (motor current as run signal at
/// 10 % of rated, 100 ms polls, 5 minutes of settling after a start, as `CoastDownTests`).
/// During a stop its oil (and bearing) temperature cools toward ambient; 5 minutes after the
/// start it is still several °C below the narrow band calibration saw. That warm-up is normal
/// and must not alert; a fault present at the restart still must.
@Suite struct RestartAlertTests {
    struct Restart: CustomStringConvertible {
        /// Anomaly alerts raised after the start (with the scoring path's recovery rule).
        var raised = 0
        /// The same rows through a `DetectorStream` that restarts without it (plain `restart()`):
        /// alerts raised and the sensors they named first.
        var raisedWithoutRecovery = 0
        var sensorsWithoutRecovery: [String] = []
        /// Highest score ÷ threshold judged after the start, with and without the rule.
        var peakRatio = 0.0
        var peakRatioWithoutRecovery = 0.0
        /// Seconds from the start command to the first alert (nil: none).
        var firstAlertSeconds: Double? = nil
        var description: String {
            "raised \(raised) (peak \(Self.rounded(peakRatio))× threshold), without the recovery rule \(raisedWithoutRecovery) (peak \(Self.rounded(peakRatioWithoutRecovery))×, \(sensorsWithoutRecovery)); first alert \(firstAlertSeconds.map { "\($0) s" } ?? "none") after the start"
        }
        static func rounded(_ x: Double) -> Double { (x * 100).rounded() / 100 }
    }

    /// Calibrates compressor `seed` (settled at its operating point unless `settled` is false,
    /// as `CalibratedCompressor`), runs it `runSeconds` more (6 minutes as `CoastDownTests`), stops it for `stopSeconds`, starts it
    /// and runs it `afterMinutes` (5 of them settling): `CalibratedCompressor.restart`, the run
    /// `edge-bench restarts` measures. `fault` is added at the stop command.
    static func measure(seed: UInt64, settled: Bool = true, runSeconds: Int = 360, stopSeconds: Int, afterMinutes: Int = 6,
                        fault: FaultKind? = nil) async throws -> Restart {
        let compressor = try await CalibratedCompressor.shared(seed: seed, settled: settled)
        let detector = compressor.detector, channels = compressor.sim.channels

        // The comparison without the rule: the same rows, run by run (the run signal's own
        // rule, `RunState`), through a stream that restarts plainly.
        var plain = detector.makeStream()
        var result = Restart()
        var plainAlertOpen = false
        let plan = RestartPlan(runSeconds: runSeconds, stopSeconds: stopSeconds, afterMinutes: afterMinutes, fault: fault)
        let outcome = try compressor.restart(plan) { row in
            // Rows within the stop grace are judged by the engine only once the machine is
            // still running 2 s later; the comparison judges every running row (none of these
            // runs stops after its start, so the rows judged after the start are the same).
            if row.startsAfresh { plain.restart() }
            guard row.phase == .running else { return }
            let (score, alert) = plain.process(row: row.values.map(Float.init))
            guard row.afterStart else { return }
            result.peakRatioWithoutRecovery = max(result.peakRatioWithoutRecovery, Double(score / detector.alertThreshold))
            if alert, !plainAlertOpen {
                result.raisedWithoutRecovery += 1
                let contributions = plain.contributions
                if let top = contributions.indices.max(by: { contributions[$0] < contributions[$1] }) {
                    result.sensorsWithoutRecovery.append(channels[top].name)
                }
            }
            plainAlertOpen = alert
        }
        result.raised = outcome.raised
        result.peakRatio = outcome.peakRatio
        result.firstAlertSeconds = outcome.firstAlertSeconds
        return result
    }

    /// Seeds whose restart after a 2-minute stop alerts without the recovery rule (all three
    /// on oil temperature, measured unsettled before the rule). Settled, seed 7 after a 2-minute
    /// stop alerted with the rule too until a start's compensated sensors were judged on full
    /// windows (304.3 s, 1.36× the threshold, on suction pressure: the only one of seeds 1–24
    /// after 30 s, 2 min and 10 min stops at 100 ms polls, `edge-bench restarts`; docs/detection.md,
    /// "Restarts").
    static let seeds: [UInt64] = [3, 7, 21]

    @Test("a compressor warming up again after a stop raises no alert", arguments: [30, 120])
    func warmingUpAfterAStopRaisesNoAlert(stopSeconds: Int) async throws {
        var withoutRecovery = 0
        for seed in Self.seeds {
            let measured = try await Self.measure(seed: seed, stopSeconds: stopSeconds)
            print("restart, seed \(seed), stop \(stopSeconds) s: \(measured)")
            #expect(measured.raised == 0, "seed \(seed): \(measured)")
            withoutRecovery += measured.raisedWithoutRecovery
        }
        // What the rule changes: after 2-minute stops these restarts alert without it.
        if stopSeconds >= 120 { #expect(withoutRecovery >= Self.seeds.count) }
    }

    /// Stopped 1 minute after calibration, seed 21's settling ended 0.1 s after it loaded: its
    /// discharge pressure was still on its way from the unloaded 2 bar to the loaded 7.5 (5.5
    /// bar at the first judged row), and the state compensation, starting afresh, took that
    /// row as settled and moved it to the unloaded level: far below it (12× the threshold, an
    /// alert 302 s after the start). Mid-run the rows just after a change of state are left
    /// out; a run after a stop now begins that way too.
    @Test("a compressor whose settling ends just after it loaded raises no alert", arguments: seeds)
    func settlingEndingJustAfterALoadRaisesNoAlert(seed: UInt64) async throws {
        let measured = try await Self.measure(seed: seed, runSeconds: 60, stopSeconds: 120)
        print("restart, seed \(seed), 1 minute of running, stop 120 s: \(measured)")
        #expect(measured.raised == 0, "seed \(seed): \(measured)")
    }

    /// Faults that begin during the stop: cooling fails (the oil comes back hotter than normal,
    /// the other side of normal from where the stop left it) and the intake valve closes
    /// (suction pressure below normal while loaded; the stop left it at atmospheric, above),
    /// and an imbalance (vibration about doubled; before vibration's step between loaded and
    /// unloaded was compensated on window means, this compressor's calibration weighted vibration
    /// 0.02 as wandering and the imbalance never alerted: `VibrationFaultTests`).
    @Test("a fault present at the restart still alerts", arguments: [FaultKind.overheating, .inletValveClosing, .imbalance])
    func faultPresentAtTheRestartAlerts(fault: FaultKind) async throws {
        let measured = try await Self.measure(seed: 7, stopSeconds: 120, afterMinutes: 6, fault: fault)
        print("restart with \(fault.rawValue) from the stop on: \(measured)")
        #expect(measured.raised >= 1)
        // Raised once the windows of the first settled rows are full (5 minutes of settling).
        let first = try #require(measured.firstAlertSeconds)
        #expect(first < 330)
    }
}
