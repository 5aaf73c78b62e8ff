#if canImport(Glibc)
import Glibc
#endif
import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Testing
import TestSupport

/// A machine whose run signal is a measured value (`run_signal` = its motor current,
/// `run_threshold` = 10 % of rated): a compressor without a running contact. Stopped rows (the
/// current at a stopped motor's noise) are not scored, and a start (0 → 250 A in 2 s, 5 s
/// unloaded, then loaded) raises no alert.
@Suite struct RunThresholdTests {
    static let rated = 100.0

    /// A compressor (motor current in A, discharge pressure in bar) polled every second,
    /// calibrated on loaded rows with the current as a sensor like the others.
    static func machineAndModel(threshold: Double?) throws -> (MachineConfiguration, MachineModel) {
        var machine = MachineConfiguration(id: "compressor-9", sensors: [
            SensorConfiguration(name: "motor_current", bus: "b", address: 0),
            SensorConfiguration(name: "discharge_pressure", bus: "b", address: 2),
        ])
        machine.sensors[0].unit = "A"
        machine.runSignal = "motor_current"
        machine.runThreshold = threshold
        machine.settleAfterStart = .seconds(60)
        machine.pollInterval = .seconds(1)
        var values: [Float] = []
        for r in 0..<400 { values += [Float(0.9 * rated) + 2 * noise(r + 3000), 7 + noise(r + 4000) / 20] }
        let (detector, report) = Calibrator().calibrate(values: values[...], sensorNames: ["motor_current", "discharge_pressure"])
        let file = DetectorFile(machine: machine.id, calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
        return (machine, MachineModel(path: "memory", file: file))
    }

    /// Feeds one row per second from `start`: (current, pressure) pairs; returns the anomaly events.
    static func feed(_ engine: inout ScoringEngine, rows: [(Double, Double)], start: Int64, scored: inout Int) -> [AlertEvent] {
        var events: [AlertEvent] = []
        for (i, (current, pressure)) in rows.enumerated() {
            let t = Timestamp(millisecondsSinceEpoch: start + Int64(i) * 1000)
            let readings = [
                Reading(machine: 0, sensor: 0, time: t, value: current, quality: .good),
                Reading(machine: 0, sensor: 1, time: t, value: pressure, quality: .good),
            ]
            events += engine.process(readings) { _ in scored += 1 }
        }
        return events.filter { $0.alert.kind == .anomaly }
    }

    static func loaded(_ count: Int, from r0: Int) -> [(Double, Double)] {
        (0..<count).map { r in (0.9 * rated + 2 * Double(noise(r0 + r)), 7 + Double(noise(r0 + r + 500)) / 20) }
    }

    /// The motor switched off and standing: the current decays as the simulator's does (time
    /// constant 0.5 s, so one 1 s poll still reads 12 A) to a stopped motor's noise (0.6…1.6 A),
    /// the pressure falls to the network's.
    static func stopped(_ count: Int) -> [(Double, Double)] {
        (0..<count).map { r in (max(0.9 * rated * exp(-2 * Double(r + 1)), 0.6 + Double(noise(r + 7000))), 6.2) }
    }

    /// A start as the simulator's compressor does it: 0 → 250 A in 2 s (inrush), 5 s unloaded
    /// (38 % of rated), then loaded, the pressure climbing back over a minute.
    static func start() -> [(Double, Double)] {
        var rows: [(Double, Double)] = [(0.8, 6.2), (1.25 * rated, 6.2), (2.5 * rated, 6.2)]
        rows += (0..<5).map { _ in (0.38 * rated, 6.2) }
        rows += (0..<60).map { r in (0.9 * rated + 2 * Double(noise(r + 9000)), 6.2 + 0.8 * Double(r) / 60) }
        return rows
    }

    @Test func stoppedRowsAreNotScoredAndAStartDoesNotAlert() throws {
        let (machine, model) = try Self.machineAndModel(threshold: 0.1 * Self.rated)
        var engine = ScoringEngine(machines: [machine], models: [model])
        let t0: Int64 = 1_800_000_000_000
        var scored = 0
        #expect(Self.feed(&engine, rows: Self.loaded(100, from: 0), start: t0, scored: &scored).isEmpty)
        let whileRunning = scored
        #expect(whileRunning > 50)
        // Stopped for 5 minutes: nothing scored, nothing raised.
        #expect(Self.feed(&engine, rows: Self.stopped(300), start: t0 + 100_000, scored: &scored).isEmpty)
        // Rows are judged 2 s late (stop_grace, the default with run_threshold): the first
        // coast-down row (12 A) judges the last loaded row but one; the stop then discards the
        // last loaded row and the coast-down row, so neither is judged.
        #expect(scored == whileRunning + 1)
        // The start and its settling: not judged.
        let start = Self.start()
        #expect(Self.feed(&engine, rows: start, start: t0 + 400_000, scored: &scored).isEmpty)
        #expect(scored == whileRunning + 1)
        // Settled, loaded: scored again, no alert.
        let after = t0 + 400_000 + Int64(start.count) * 1000
        #expect(Self.feed(&engine, rows: Self.loaded(100, from: 200), start: after, scored: &scored).isEmpty)
        #expect(scored > whileRunning + 50)
        // An overload while running is still caught, on the run signal's own column.
        let overload = [(Double, Double)](repeating: (1.3 * Self.rated, 7.0), count: 60)
        let events = Self.feed(&engine, rows: overload, start: after + 100_000, scored: &scored)
        let raised = try #require(events.first { $0.change == .raised })
        #expect(raised.alert.topSensors.contains { $0.sensor == "motor_current" })
        // Stopping clears it and says what showed the stop.
        let cleared = Self.feed(&engine, rows: Self.stopped(10), start: after + 160_000, scored: &scored)
        #expect(cleared.map(\.change) == [.cleared])
        #expect(cleared.first?.alert.message.hasSuffix("cleared because compressor-9 stopped (motor_current below 10.0 A)") == true)
    }

    /// Rows wait out the stop grace (2 s here) before they are judged; a clock stepped back by an
    /// hour does not hold them back for that hour: a row is also judged once 2 later polls came.
    @Test func aClockSteppedBackDoesNotHoldRowsBack() throws {
        let (machine, model) = try Self.machineAndModel(threshold: 0.1 * Self.rated)
        var engine = ScoringEngine(machines: [machine], models: [model])
        let t0: Int64 = 1_800_000_000_000
        var scored = 0
        #expect(Self.feed(&engine, rows: Self.loaded(100, from: 0), start: t0, scored: &scored).isEmpty)
        let before = scored
        #expect(Self.feed(&engine, rows: Self.loaded(50, from: 100), start: t0 - 3_600_000, scored: &scored).isEmpty)
        #expect(scored == before + 50)
    }

    /// Without run_threshold the current is read as a running contact (≥ 0.5): a stopped
    /// motor's noise counts as running, so the stop is scored and alerts. This is what
    /// run_threshold is for.
    @Test func withTheContactRuleAStoppedMotorsNoiseIsScored() throws {
        let (machine, model) = try Self.machineAndModel(threshold: nil)
        var engine = ScoringEngine(machines: [machine], models: [model])
        var scored = 0
        #expect(Self.feed(&engine, rows: Self.loaded(100, from: 0), start: 0, scored: &scored).isEmpty)
        let whileRunning = scored
        let events = Self.feed(&engine, rows: Self.stopped(300), start: 100_000, scored: &scored)
        #expect(scored > whileRunning)
        #expect(events.contains { $0.change == .raised })
    }
}
