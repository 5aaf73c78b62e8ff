import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Testing

/// `stop_grace`: the agent judges a row only once the machine is seen still running that long
/// later; `calibrate` and `evaluate`/`replay` (`SensorTable.runningRows`) leave out the same
/// rows before each stop, so both paths judge the same rows.
@Suite struct StopGraceParityTests {
    static let start: Int64 = 1_800_000_000_000

    @Test("the rows the runtime judges are the rows the table keeps", arguments: [0, 1, 3])
    func sameRowsJudged(graceSeconds: Int) throws {
        // Running, stopped, settling (10 rows), running, a short stop, running, a missing
        // run-signal stretch longer than the hold (unknown), running again; one row a second.
        var running: [Float] = []
        func add(_ value: Float, _ count: Int) { running += [Float](repeating: value, count: count) }
        add(1, 500); add(0, 20); add(1, 10 + 100); add(0, 3); add(1, 10 + 60); add(.nan, 8); add(1, 10 + 40)
        let times = running.indices.map { Timestamp(millisecondsSinceEpoch: Self.start + Int64($0) * 1000) }
        let values = running.indices.flatMap { [20 + noise($0 + 5000), 5 + noise($0 + 9000) / 10, running[$0]] }
        let table = SensorTable(sensorNames: ["a", "b", "running"], timestamps: times.map(\.iso8601), values: values)

        var machine = MachineConfiguration(id: "m", sensors: [
            SensorConfiguration(name: "a", bus: "b", address: 0),
            SensorConfiguration(name: "b", bus: "b", address: 1),
            SensorConfiguration(name: "running", bus: "b", address: 2),
        ])
        machine.runSignal = "running"
        machine.settleAfterStart = .seconds(10)
        machine.pollInterval = .seconds(1)
        machine.stopGrace = .seconds(Int64(graceSeconds))
        let state = try #require(machine.runState())
        let kept = table.runningRows(signal: "running", keepSignal: false, state: state,
                                     rowTimes: times.map(\.millisecondsSinceEpoch)).table
        // The same through the agent's path, with a detector calibrated on the first 400 rows.
        let (detector, report) = Calibrator().calibrate(values: kept.values[0..<(400 * 2)], sensorNames: kept.sensorNames)
        let file = DetectorFile(machine: "m", calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
        var engine = ScoringEngine(machines: [machine], models: [MachineModel(path: "memory", file: file)])
        var judged: [String] = []
        for (r, time) in times.enumerated() {
            let signal = running[r].isNaN
                ? Reading(machine: 0, sensor: 2, time: time, value: .nan, quality: .offline)
                : Reading(machine: 0, sensor: 2, time: time, value: Double(running[r]), quality: .good)
            _ = engine.process([Reading(machine: 0, sensor: 0, time: time, value: Double(values[r * 3]), quality: .good),
                                Reading(machine: 0, sensor: 1, time: time, value: Double(values[r * 3 + 1]), quality: .good),
                                signal]) { judged.append($0.time.iso8601) }
        }
        // Expected: each run's kept rows once its window is full; the last rows of the stream
        // wait for a later row that has not come.
        let w = detector.baseline.settings.windowRows
        var expected: [String] = []
        for (begin, end) in zip([0] + kept.runStarts, kept.runStarts + [kept.rowCount]) where end - begin >= w {
            expected += kept.timestamps[(begin + w - 1)..<end]
        }
        expected.removeLast(graceSeconds)
        #expect(kept.runStarts.count == 3)
        #expect(judged == expected)
        // Each stop (and the unknown stretch) costs `graceSeconds` rows more than without a grace.
        let none = table.runningRows(signal: "running", settleRows: 10).table
        #expect(none.rowCount - kept.rowCount == 3 * graceSeconds)
    }
}
