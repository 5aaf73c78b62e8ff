import Configuration
import Detection
import EdgeCore
import Foundation
@testable import Runtime
import Testing
import TestSupport

/// `replay --config` judges the rows the running agent judges and raises the same alerts: the
/// same recorded compressor goes through the `edge-agent replay --config` program and through
/// the agent's `ScoringEngine` with a detector calibrated on the same rows. The file has a
/// stop (its stop grace), rows with too few sensors read (some inside an open alert), and a
/// loaded stretch its calibration never saw (entered while an alert is open).
@Suite struct ReplayConfigParityTests {
    static let configuration = """
        [[bus]]
        name = "b"
        type = "tcp"
        host = "127.0.0.1"

        [[machine]]
        id = "compressor-1"
        poll_interval = "1s"
        run_signal = "motor_current"
        run_threshold = 10
        settle_after_start = "10s"

          [[machine.sensor]]
          name = "motor_current"
          bus = "b"
          address = 0
          unit = "A"

          [[machine.sensor]]
          name = "loaded"
          bus = "b"
          kind = "discrete"
          type = "bool"
          address = 1

          [[machine.sensor]]
          name = "oil_temp"
          bus = "b"
          address = 2

          [[machine.sensor]]
          name = "pressure"
          bus = "b"
          address = 3
        """

    static let start: Int64 = 1_800_000_000_000
    static let rowCount = 1600

    /// Rows where only the motor current is read (1 of 4 sensors usable).
    static func tooFewSensors(_ r: Int) -> Bool { (1450..<1460).contains(r) || (1500..<1506).contains(r) }

    /// The compressor's readings at row `r` (NaN: not read): running but for 1300..<1350; loaded
    /// (never in calibration) over 700..<760; oil hot over 600..<720, 1150..<1250 and 1480..<1560.
    static func row(_ r: Int) -> [Double] {
        let wobble = Double((r * 37) % 11) / 100, wobble2 = Double((r * 53) % 7) / 100
        let stopped = (1300..<1350).contains(r)
        let loaded = (700..<760).contains(r)
        let hot = (600..<720).contains(r) || (1150..<1250).contains(r) || (1480..<1560).contains(r)
        let current = stopped ? 0 : (loaded ? 70 : 50) + wobble
        if tooFewSensors(r) { return [current, .nan, .nan, .nan] }
        let oil = stopped ? 40 : (hot ? 75 : 60) + wobble2
        let pressure = stopped ? 0 : (loaded ? 7.5 : 6) + wobble / 10
        return [current, loaded ? 1 : 0, oil, pressure]
    }

    @Test("the same rows judged and the same alerts in replay --config and in the agent's scoring engine")
    func replayJudgesWhatTheAgentJudges() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try Self.configuration.write(toFile: folder.file("agent.conf"), atomically: true, encoding: .utf8)
        let times = (0..<Self.rowCount).map { Timestamp(millisecondsSinceEpoch: Self.start + Int64($0) * 1000) }
        let rows = (0..<Self.rowCount).map(Self.row)
        var csv = "timestamp,motor_current,loaded,oil_temp,pressure\n"
        for r in rows.indices {
            csv += times[r].iso8601 + "," + rows[r].map { $0.isNaN ? "" : "\($0)" }.joined(separator: ",") + "\n"
        }
        try csv.write(toFile: folder.file("compressor-1.csv"), atomically: true, encoding: .utf8)

        // Offline: the program.
        let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
        let run = try runProgram(executable, ["replay", "--input", folder.file("compressor-1.csv"), "--calibration-rows", "400",
                                              "--output", folder.file("pred.csv"), "--config", folder.file("agent.conf")],
                                 timeoutSeconds: 120)
        #expect(run.status == 0, "stderr: \(run.standardError)")
        let lines = try String(contentsOfFile: folder.file("pred.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        try #require(lines.count == Self.rowCount)
        let replayScore = lines.map { Double($0[1]) }
        let replayAlert = lines.map { $0[3] == "1" }

        // Online: the agent's scoring engine, with a detector calibrated as replay calibrates
        // (the first 400 running rows, the shipped settings, one row a second) and the states
        // `calibrate` records.
        let configuration = try ConfigurationLoader.load(path: folder.file("agent.conf"))
        let machine = try #require(configuration.machine(id: "compressor-1"))
        let calibration = rows[0..<400].flatMap { $0.map(Float.init) }
        var settings = CalibrationSettings()
        settings.secondsPerRow = 1
        var (detector, report) = Calibrator(settings: settings)
            .calibrate(values: calibration[...], sensorNames: machine.sensors.map(\.name))
        detector.calibratedStates = CalibratedStates.observe(values: calibration[...], sensorCount: 4, columns: [1])
        #expect(run.standardOutput.contains("threshold \(detector.alertThreshold),"), "\(run.standardOutput)")
        let file = DetectorFile(machine: machine.id, calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
        var engine = ScoringEngine(machines: [machine], models: [MachineModel(path: "memory", file: file)],
                                   alertPolicy: AlertPolicy(configuration.alerts))
        var judged: [Int: Double] = [:]
        var raised: [Int] = [], cleared: [Int] = []
        let rowOfTime = Dictionary(uniqueKeysWithValues: times.enumerated().map { ($1.millisecondsSinceEpoch, $0) })
        var notices: [String] = []
        for r in rows.indices {
            let readings = rows[r].enumerated().map { s, value in
                Reading(machine: 0, sensor: Int32(s), time: times[r], value: value, quality: value.isNaN ? .offline : .good)
            }
            let events = engine.process(readings) { judged[rowOfTime[$0.time.millisecondsSinceEpoch]!] = $0.score }
            for event in events where event.alert.kind == .anomaly {
                // At the time of the row that raised or cleared it (judged stop_grace later).
                if event.change == .raised { raised.append(rowOfTime[event.time.millisecondsSinceEpoch]!) }
                if event.change == .cleared { cleared.append(rowOfTime[event.time.millisecondsSinceEpoch]!) }
            }
            notices += engine.takeUncalibratedStateNotices()
        }
        #expect(notices.count == 1)
        // Open from the row that raised an alert to the row before the one that cleared it.
        let agentAlert = (0..<Self.rowCount).map { r in
            raised.indices.contains { raised[$0] <= r && (cleared.indices.contains($0) ? r < cleared[$0] : true) }
        }

        // Rows replay scores after calibration: the rows the agent gave its scorer. The agent
        // judges them once its windows are full again after a stop or after the state
        // calibration never saw; replay scores those first rows too (judging none of them).
        let w = detector.baseline.settings.windowRows
        var expected: [Int] = []
        var sinceRestart = w
        var previous = 399
        for r in 400..<Self.rowCount where replayScore[r] != nil {
            // A gap of rows other than too-few-sensor rows is a stop or an uncalibrated state.
            if ((previous + 1)..<r).contains(where: { !Self.tooFewSensors($0) }) { sinceRestart = 0 }
            sinceRestart += 1
            previous = r
            if sinceRestart >= w { expected.append(r) }
        }
        // The last rows wait out stop_grace (2 s with run_threshold) for a later row that never comes.
        expected.removeLast(2)
        let agentRows = Set(judged.keys.filter { $0 >= 400 })
        #expect(agentRows == Set(expected), "agent only \(agentRows.subtracting(expected).sorted()), replay only \(Set(expected).subtracting(agentRows).sorted())")
        for (r, score) in judged where r >= 400 {
            let offline = try #require(replayScore[r])
            #expect(abs(offline - score) <= 1e-4 * max(1, abs(score)), "row \(r): replay \(offline), agent \(score)")
        }
        // The same alert state on every judged row; no alert on a row replay does not score.
        let differing = expected.filter { replayAlert[$0] != agentAlert[$0] }
        #expect(differing.isEmpty, "alert state differs at \(differing); agent raised at \(raised), cleared at \(cleared)")
        #expect((0..<Self.rowCount).allSatisfy { replayScore[$0] != nil || !replayAlert[$0] })

        // What the case holds: rows not judged for each reason, and three alerts; the first
        // cleared when the compressor loaded, the third open across too-few-sensor rows.
        #expect((700..<1060).allSatisfy { replayScore[$0] == nil })
        #expect((1060..<1298).allSatisfy { replayScore[$0] != nil })
        #expect((1450..<1460).allSatisfy { replayScore[$0] == nil })
        #expect(replayScore[1449] != nil && replayScore[1460] != nil)
        #expect(raised.count == 3, "raised at \(raised), cleared at \(cleared)")
        #expect(raised.first.map { (600..<700).contains($0) } == true)
        #expect(cleared.first == 700)
        #expect(raised.dropFirst().first.map { (1150..<1250).contains($0) } == true)
        #expect(raised.last.map { (1480..<1500).contains($0) } == true && cleared.last.map { $0 > 1560 } == true)
        #expect(run.standardOutput.contains("16 with fewer than half of the sensors usable"), "\(run.standardOutput)")
        #expect(run.standardOutput.contains("in or settling back from an operating state calibration never saw"), "\(run.standardOutput)")
    }
}
