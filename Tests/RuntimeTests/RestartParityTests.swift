import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Testing

/// `replay`/`evaluate` and the running agent decide the same for the same rows when the machine
/// stops in them: after a stop (and the settling after the start) both score on fresh windows,
/// with nothing of the previous run in the alert rule, so no window straddles a stop.
@Suite("Replay and the runtime restart the scorer alike")
struct RestartParityTests {
    enum Kind: Sendable { case normal, fault, stopped, settling }

    /// Stretches of rows of a two-sensor machine with a run signal, one row a second; the first
    /// 400 rows (normal) calibrate.
    struct Scenario: Sendable, CustomStringConvertible {
        var name: String
        var stretches: [(kind: Kind, rows: Int)]
        var description: String { name }

        func rows() -> [(a: Float, b: Float, running: Float, kind: Kind)] {
            var rows: [(a: Float, b: Float, running: Float, kind: Kind)] = []
            for (kind, count) in stretches {
                for i in 0..<count {
                    let r = rows.count
                    let b = 5 + noise(r + 9000) / 10
                    switch kind {
                    case .normal: rows.append((20 + noise(r + 5000), b, 1, kind))
                    case .fault: rows.append((12 + noise(r), b, 1, kind))
                    case .stopped: rows.append((0, 0, 0, kind))
                    case .settling: rows.append((Float(i) * 2, b, 1, kind))
                    }
                }
            }
            return rows
        }
    }

    static let scenarios = [
        // A fault runs into the stop; the machine runs normally after the restart.
        Scenario(name: "fault until the stop", stretches: [(.normal, 500), (.fault, 60), (.stopped, 40), (.settling, 10),
                                                           (.normal, 90), (.fault, 60), (.normal, 40)]),
        // An alert clears shortly before a short stop and the fault is back at once after the
        // restart: neither the cooldown nor the recent scores of the run before count.
        Scenario(name: "fault right after a short stop", stretches: [(.normal, 440), (.fault, 30), (.normal, 30), (.stopped, 5),
                                                                     (.settling, 10), (.fault, 60), (.normal, 30)]),
    ]

    static let settleRows = 10
    static let start: Int64 = 1_800_000_000_000

    @Test("the same rows with a stop in them give the same alerts in replay and in the runtime", arguments: scenarios)
    func sameAlertsAcrossAStop(scenario: Scenario) throws {
        let rows = scenario.rows()
        let times = rows.indices.map { Timestamp(millisecondsSinceEpoch: Self.start + Int64($0) * 1000) }
        let table = SensorTable(sensorNames: ["a", "b", "running"], timestamps: times.map(\.iso8601),
                                values: rows.flatMap { [$0.a, $0.b, $0.running] })
        // evaluate --run-signal running --settle-rows 10: stopped and settling rows left out.
        let running = table.runningRows(signal: "running", settleRows: Self.settleRows).table
        let kinds = rows.map(\.kind).filter { $0 != .stopped && $0 != .settling }
        #expect(running.rowCount == kinds.count)
        // The first running row after the stop and the settling (running rows before it kept).
        let firstSettling = try #require(rows.firstIndex { $0.kind == .settling })
        let restart = rows[..<firstSettling].filter { $0.kind != .stopped }.count
        #expect(running.runStarts == [restart])
        let replay = try Replay.run(running, calibrationRows: 400)

        // The agent with the detector replay calibrated (run_signal, settle_after_start 10 s).
        var machine = MachineConfiguration(id: "m", sensors: [
            SensorConfiguration(name: "a", bus: "b", address: 0),
            SensorConfiguration(name: "b", bus: "b", address: 1),
            SensorConfiguration(name: "running", bus: "b", address: 2),
        ])
        machine.runSignal = "running"
        machine.settleAfterStart = .seconds(Self.settleRows)
        machine.pollInterval = .seconds(1)
        let file = DetectorFile(machine: "m", calibratedAt: "2026-11-29T00:00:00.000Z", detector: replay.detector, report: replay.report)
        var engine = ScoringEngine(machines: [machine], models: [MachineModel(path: "memory", file: file)])
        let runningRow = Dictionary(uniqueKeysWithValues: running.timestamps.enumerated().map { ($1, $0) })
        var runtimeAlerts = [Bool](repeating: false, count: running.rowCount)
        for (r, row) in rows.enumerated() {
            let readings = [row.a, row.b, row.running].enumerated().map {
                Reading(machine: 0, sensor: Int32($0), time: times[r], value: Double($1), quality: .good)
            }
            _ = engine.process(readings)
            if let i = runningRow[times[r].iso8601] {
                runtimeAlerts[i] = engine.openAlerts.contains { $0.kind == .anomaly }
            }
        }
        // Both faults alert ...
        var r = 0
        while r < kinds.count {
            var end = r
            while end < kinds.count && kinds[end] == kinds[r] { end += 1 }
            if kinds[r] == .fault { #expect(replay.alerts[r..<end].contains(true), "no alert on the fault at running rows \(r)..<\(end)") }
            // ... and nothing of a fault before the stop is left after the restart.
            if r == restart, kinds[r] == .normal { #expect(!replay.alerts[r..<end].contains(true)) }
            r = end
        }
        // ... and they decide the same on every row after calibration.
        let differing = (400..<running.rowCount).filter { replay.alerts[$0] != runtimeAlerts[$0] }
        #expect(differing.isEmpty, "rows deciding differently: \(differing.prefix(20))")
    }
}
