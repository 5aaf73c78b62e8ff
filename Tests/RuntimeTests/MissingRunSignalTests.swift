import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Testing

/// A run signal that does not answer some polls: the runtime and `evaluate`/`replay`
/// (`SensorTable.runningRows`) follow the same `RunState`. A missing reading keeps the last
/// state for `RunState.heldPolls` polls (a flaky contact does not interrupt monitoring), then
/// the running state is unknown: not scored, no alert, one log line; reading again counts as a
/// start.
@Suite("A missing run-signal reading, alike in replay and the runtime")
struct MissingRunSignalTests {
    /// What one row holds: normal or faulty readings, the run signal read (on), missing within
    /// the hold, or missing beyond it.
    enum Kind: Sendable, Equatable { case normal, fault, held, heldFault, unknown, unknownFault, settling }

    static let settleRows = 10
    static let start: Int64 = 1_800_000_000_000

    /// 500 normal rows (400 calibrate), a 3-poll gap of the signal, a fault whose run signal
    /// drops out for 4 polls inside it, then 25 polls without the signal during which a fault
    /// begins (5 held, 20 unknown: that fault must not alert), the signal back (a start: 10
    /// settling rows), normal, a fault, normal.
    static let stretches: [(Kind, Int)] = [
        (.normal, 500), (.held, 3), (.normal, 50), (.fault, 20), (.heldFault, 4), (.fault, 20), (.normal, 60),
        (.held, 5), (.unknown, 5), (.unknownFault, 15), (.settling, 10), (.normal, 80), (.fault, 60), (.normal, 30),
    ]

    static func rows() -> [(a: Float, b: Float, running: Float, kind: Kind)] {
        var rows: [(a: Float, b: Float, running: Float, kind: Kind)] = []
        for (kind, count) in stretches {
            for _ in 0..<count {
                let r = rows.count
                let b = 5 + noise(r + 9000) / 10
                let faulty = kind == .fault || kind == .heldFault || kind == .unknownFault
                let a = faulty ? 12 + noise(r) : 20 + noise(r + 5000)
                let missing = kind == .held || kind == .heldFault || kind == .unknown || kind == .unknownFault
                rows.append((a, b, missing ? .nan : 1, kind))
            }
        }
        return rows
    }

    @Test("held, unknown and back: the same rows scored and the same alerts in replay and in the runtime")
    func sameDecisions() throws {
        let rows = Self.rows()
        let times = rows.indices.map { Timestamp(millisecondsSinceEpoch: Self.start + Int64($0) * 1000) }
        let table = SensorTable(sensorNames: ["a", "b", "running"], timestamps: times.map(\.iso8601),
                                values: rows.flatMap { [$0.a, $0.b, $0.running] })
        let running = table.runningRows(signal: "running", settleRows: Self.settleRows).table
        // Held rows are kept, unknown and settling rows are not (counted by hand from the table above).
        let expectedKinds = rows.map(\.kind).filter { $0 != .unknown && $0 != .unknownFault && $0 != .settling }
        #expect(running.rowCount == expectedKinds.count)
        #expect(running.rowCount == rows.count - 30)
        // One fresh start: the first row after the settling that follows the unknown stretch.
        let firstSettling = try #require(rows.firstIndex { $0.kind == .settling })
        #expect(running.runStarts == [firstSettling - 20])
        let replay = try Replay.run(running, calibrationRows: 400)

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
        var scoredTimes: [Timestamp] = []
        var raisedWhileUnknown = 0
        var notices: [String] = []
        for (r, row) in rows.enumerated() {
            // A poll the contact did not answer: no value, quality offline.
            let signal = row.running.isNaN
                ? Reading(machine: 0, sensor: 2, time: times[r], value: .nan, quality: .offline)
                : Reading(machine: 0, sensor: 2, time: times[r], value: Double(row.running), quality: .good)
            let readings = [Reading(machine: 0, sensor: 0, time: times[r], value: Double(row.a), quality: .good),
                            Reading(machine: 0, sensor: 1, time: times[r], value: Double(row.b), quality: .good), signal]
            let events = engine.process(readings) { scoredTimes.append($0.time) }
            if row.kind == .unknown || row.kind == .unknownFault {
                raisedWhileUnknown += events.filter { $0.alert.kind == .anomaly && $0.change == .raised }.count
            }
            notices += engine.takeRunSignalNotices()
            if let i = runningRow[times[r].iso8601] {
                runtimeAlerts[i] = engine.openAlerts.contains { $0.kind == .anomaly }
            }
        }
        // The runtime scores no row that replay leaves out.
        let kept = Set(running.timestamps)
        #expect(scoredTimes.allSatisfy { kept.contains($0.iso8601) })
        // A fault while the running state is unknown raises nothing; logged once each way.
        #expect(raisedWhileUnknown == 0)
        #expect(notices.count == 2)
        #expect(notices.first?.contains("running state unknown") == true)
        // Both faults with a known running state alert in replay, the one under a held gap included ...
        var r = 0
        while r < expectedKinds.count {
            var end = r
            let faulty = { (k: Kind) in k == .fault || k == .heldFault }
            while end < expectedKinds.count && faulty(expectedKinds[end]) == faulty(expectedKinds[r]) { end += 1 }
            if faulty(expectedKinds[r]) { #expect(replay.alerts[r..<end].contains(true), "no alert on the fault at running rows \(r)..<\(end)") }
            r = end
        }
        // ... and replay and the runtime decide the same on every row after calibration.
        let differing = (400..<running.rowCount).filter { replay.alerts[$0] != runtimeAlerts[$0] }
        #expect(differing.isEmpty, "rows deciding differently: \(differing.prefix(20))")
    }
}
