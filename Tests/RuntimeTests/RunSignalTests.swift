import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Testing

/// Deterministic noise in 0…1 (a hash of the row number), so the tests are repeatable.
func noise(_ r: Int) -> Float {
    var x = UInt64(truncatingIfNeeded: r) &* 0x9E37_79B9_7F4A_7C15
    x ^= x >> 31
    x = x &* 0xBF58_476D_1CE4_E5B9
    x ^= x >> 29
    return Float(x % 10_000) / 10_000
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
