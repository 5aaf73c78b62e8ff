#if canImport(Glibc)
import Glibc
#endif
import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Testing
import TestSupport

/// An anomaly alert raised while a variable-speed machine runs at a speed its calibration never
/// held says so in its message: the load prior alone compensated that speed's readings, and if
/// the speed is normal the remedy is a calibration across speeds, not a maintenance visit. An
/// alert at a calibrated speed does not carry the note.
@Suite struct UnseenSpeedAlertTests {
    static let names = ["speed", "flow", "outlet_pressure", "motor_current"]

    /// The pump's readings at `speed` by its laws (flow ∝ n, pressure ∝ n², current ∝ n^2.2),
    /// flow scaled by `flowFactor` (1: normal), with a little deterministic noise.
    static func row(_ r: Int, speed: Double, flowFactor: Double = 1) -> [Double] {
        let ratio = speed / 1450
        return [speed * (1 + 0.001 * Double(noise(r))), 200 * ratio * flowFactor * (1 + 0.01 * Double(noise(r + 7))),
                5 * ratio * ratio * (1 + 0.01 * Double(noise(r + 11))), 60 * pow(ratio, 2.2) * (1 + 0.01 * Double(noise(r + 13)))]
    }

    /// Pump `pump-7` polled every second, calibrated on 20 minutes at 1450 rpm.
    static func machineAndModel() throws -> (MachineConfiguration, MachineModel) {
        var machine = MachineConfiguration(id: "pump-7", sensors: names.enumerated().map { i, name in
            SensorConfiguration(name: name, bus: "b", address: i)
        })
        machine.pollInterval = .seconds(1)
        var values: [Float] = []
        for r in 0..<1200 { values += row(r, speed: 1450).map(Float.init) }
        let (detector, report) = Calibrator().calibrate(values: values[...], sensorNames: names)
        #expect(detector.load?.calibratedSpeeds?.count == 1, "\(String(describing: detector.load?.calibratedSpeeds))")
        let file = DetectorFile(machine: machine.id, calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
        return (machine, MachineModel(path: "memory", file: file))
    }

    /// Feeds rows one second apart from `start`; returns the anomaly events.
    static func feed(_ engine: inout ScoringEngine, rows: [[Double]], start: Int64) -> [AlertEvent] {
        var events: [AlertEvent] = []
        for (i, row) in rows.enumerated() {
            let t = Timestamp(millisecondsSinceEpoch: start + Int64(i) * 1000)
            events += engine.process(row.enumerated().map { s, value in Reading(machine: 0, sensor: Int32(s), time: t, value: value, quality: .good) }) { _ in }
        }
        return events.filter { $0.alert.kind == .anomaly }
    }

    @Test func alertAtASpeedCalibrationNeverHeldSaysSo() throws {
        let (machine, model) = try Self.machineAndModel()
        let start: Int64 = 1_800_000_000_000
        let normal = (0..<300).map { Self.row(5000 + $0, speed: 1450) }

        // At 1000 rpm the flow stays where it was at 1450 (its law says 138): an alert, whose
        // message names the speed and what calibration held.
        var atUnseenSpeed = ScoringEngine(machines: [machine], models: [model])
        #expect(Self.feed(&atUnseenSpeed, rows: normal, start: start).isEmpty)
        let slow = (0..<300).map { Self.row(6000 + $0, speed: 1000, flowFactor: 1.45) }
        let raised = try #require(Self.feed(&atUnseenSpeed, rows: slow, start: start + 300_000).first { $0.change == .raised })
        #expect(raised.alert.message.contains("; at speed 1000"), "\(raised.alert.message)")
        #expect(raised.alert.message.contains("a speed calibration never held (it held 1450"), "\(raised.alert.message)")
        #expect(raised.alert.message.contains("if pump-7 runs at this speed normally, calibrate over a stretch that includes it"))
        // Its flow (200 m³/h, the calibration's level) is quoted against the range at 1000 rpm,
        // which it lies above, not against the calibration's, which holds it. The speed is
        // compensated (it adds nothing to the score): not named as driving it; the note names it.
        let flow = try #require(raised.alert.topSensors.first { $0.sensor == "flow" }, "\(raised.alert.message)")
        let calibration = model.normalRange(column: 1, stateOn: false)
        #expect(calibration.low <= flow.value && flow.value <= calibration.high)
        #expect(flow.value > flow.normalHigh, "\(raised.alert.message)")
        #expect(!raised.alert.topSensors.contains { $0.sensor == "speed" }, "\(raised.alert.message)")

        // The same fault at the calibrated speed (flow 45 % high at 1450): no such note.
        var atCalibratedSpeed = ScoringEngine(machines: [machine], models: [model])
        #expect(Self.feed(&atCalibratedSpeed, rows: normal, start: start).isEmpty)
        let high = (0..<300).map { Self.row(6000 + $0, speed: 1450, flowFactor: 1.45) }
        let fault = try #require(Self.feed(&atCalibratedSpeed, rows: high, start: start + 300_000).first { $0.change == .raised })
        #expect(fault.alert.message.contains("driven by flow="), "\(fault.alert.message)")
        #expect(!fault.alert.message.contains("calibration never held"), "\(fault.alert.message)")
    }
}
