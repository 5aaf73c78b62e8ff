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
/// stop (its stop grace), rows with too few sensors read (some inside an open alert, some among
/// the last calibration rows), a loaded stretch its calibration never saw (entered while an
/// alert is open), and a motor current reading outside its `max` for longer than the run signal
/// is held; the machine is scored with `hop` 1 and 3. A second file also stops while loaded and,
/// after the restart, loads again until its running state is unknown: a stop (or an unknown
/// stretch) ends the state calibration never saw, offline as in the agent. A third is loaded
/// only within the stop grace before a stop (the machine already stopping: not entered) and
/// then while it settles after the restart, its oil warming back from the stop: the settling
/// rows count for the state as the running ones do, and the windows that start once it has
/// settled back keep what the stop allows for.
@Suite struct ReplayConfigParityTests {
    static func configuration(hop: Int) -> String { """
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
        hop = \(hop)

          [[machine.sensor]]
          name = "motor_current"
          bus = "b"
          address = 0
          unit = "A"
          max = 200

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
    }

    static let start: Int64 = 1_800_000_000_000
    static let rowCount = 1600

    /// Rows where only the motor current is read (1 of 4 sensors usable).
    static func tooFewSensors(_ r: Int) -> Bool {
        (385..<392).contains(r) || (1450..<1460).contains(r) || (1500..<1506).contains(r)
    }

    /// Rows where the motor current reads 500 A, beyond its `max` of 200 A (not read): 5 rows
    /// held running, then the running state is unknown until it reads again (then a start).
    static let brokenCurrent = 1100..<1108

    /// The recorded files.
    enum Recording: Sendable {
        /// Loaded over 700..<760, oil hot over 600..<720.
        case loadedStretch
        /// As `loadedStretch`, also stopped over 730..<770 and loaded over 900..<920.
        case stopsWhileLoaded
        /// Oil hot over 500..<560; loaded at 698 and 699 (the stop grace), stopped over
        /// 700..<740, loaded over 742..<746 (settling after the start), the oil warming back
        /// from the stop's 40 to 60 with a time constant of 60 rows.
        case loadsAroundAStop
    }

    /// The compressor's readings at row `r` of `recording` (NaN: not read): running but for
    /// 1300..<1350 (and the recording's stops); loaded (never in calibration) as the recording says;
    /// oil hot over 1150..<1250 and 1480..<1560 (and the recording's).
    static func row(_ r: Int, recording: Recording) -> [Double] {
        let wobble = Double((r * 37) % 11) / 100, wobble2 = Double((r * 53) % 7) / 100
        let stopped: Bool, loaded: Bool, hot: Bool
        switch recording {
        case .loadedStretch, .stopsWhileLoaded:
            let stopsWhileLoaded = recording == .stopsWhileLoaded
            stopped = (1300..<1350).contains(r) || stopsWhileLoaded && (730..<770).contains(r)
            loaded = !stopped && ((700..<760).contains(r) || stopsWhileLoaded && (900..<920).contains(r))
            hot = (600..<720).contains(r) || (1150..<1250).contains(r) || (1480..<1560).contains(r)
        case .loadsAroundAStop:
            stopped = (1300..<1350).contains(r) || (700..<740).contains(r)
            loaded = (698..<700).contains(r) || (742..<746).contains(r)
            hot = (500..<560).contains(r) || (1150..<1250).contains(r) || (1480..<1560).contains(r)
        }
        let current = Self.brokenCurrent.contains(r) ? 500 : stopped ? 0 : (loaded ? 70 : 50) + wobble
        if tooFewSensors(r) { return [current, .nan, .nan, .nan] }
        let warming = recording == .loadsAroundAStop && (740..<1100).contains(r) ? 20 * exp(-Double(r - 740) / 60) : 0
        let oil = stopped ? 40 : (hot ? 75 : 60) - warming + wobble2
        let pressure = stopped ? 0 : (loaded ? 7.5 : 6) + wobble / 10
        return [current, loaded ? 1 : 0, oil, pressure]
    }

    @Test("the same rows judged and the same alerts in replay --config and in the agent's scoring engine",
          arguments: [(1, Recording.loadedStretch), (3, .loadedStretch), (1, .stopsWhileLoaded), (3, .stopsWhileLoaded),
                      (1, .loadsAroundAStop), (3, .loadsAroundAStop)])
    func replayJudgesWhatTheAgentJudges(hop: Int, recording: Recording) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try Self.configuration(hop: hop).write(toFile: folder.file("agent.conf"), atomically: true, encoding: .utf8)
        let times = (0..<Self.rowCount).map { Timestamp(millisecondsSinceEpoch: Self.start + Int64($0) * 1000) }
        let rows = (0..<Self.rowCount).map { Self.row($0, recording: recording) }
        var csv = "timestamp,motor_current,loaded,oil_temp,pressure\n"
        for r in rows.indices {
            csv += times[r].iso8601 + "," + rows[r].map { $0.isNaN ? "" : "\($0)" }.joined(separator: ",") + "\n"
        }
        try csv.write(toFile: folder.file("compressor-1.csv"), atomically: true, encoding: .utf8)

        // Offline: the program.
        let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
        let run = try await runProgram(executable, ["replay", "--input", folder.file("compressor-1.csv"), "--calibration-rows", "400",
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
        var notices: [String] = [], uncalibrated: [String] = []
        for r in rows.indices {
            let readings = rows[r].enumerated().map { s, value in
                Reading(machine: 0, sensor: Int32(s), time: times[r], value: value, quality: value.isNaN ? .offline : .good)
            }
            let events = engine.process(readings) { judged[rowOfTime[$0.time.millisecondsSinceEpoch]!] = $0.score }
            for event in events where event.alert.kind == .uncalibratedState {
                uncalibrated.append("\(event.change.rawValue)@\(rowOfTime[event.time.millisecondsSinceEpoch]!)")
            }
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

        // Rows replay scores after calibration: the windows the agent judged, and the rows that
        // fill the windows after a stop or after the state calibration never saw (scored,
        // judging none of them: the first windowRows - 1 rows, each run of them followed at
        // once by the first judged window). With a hop, the rows between two judged windows
        // get no score. The last rows wait out stop_grace (2 s with run_threshold) for a later
        // row that never comes: the agent has not judged them yet.
        let w = detector.baseline.settings.windowRows
        let compared = 400..<(Self.rowCount - 2)
        let replayRows = Set(compared.filter { replayScore[$0] != nil })
        let agentRows = Set(judged.keys.filter { compared.contains($0) })
        #expect(agentRows.isSubset(of: replayRows), "agent only \(agentRows.subtracting(replayRows).sorted())")
        var fillingRuns: [ClosedRange<Int>] = []
        for r in replayRows.subtracting(agentRows).sorted() {
            if let last = fillingRuns.last, last.upperBound == r - 1 { fillingRuns[fillingRuns.count - 1] = last.lowerBound...r }
            else { fillingRuns.append(r...r) }
        }
        let notFilling = fillingRuns.filter { $0.count != w - 1 || !agentRows.contains($0.upperBound + 1) }
        #expect(notFilling.isEmpty, "replay only (not windows filling): \(notFilling)")
        #expect(fillingRuns.count >= 3, "\(fillingRuns)")
        let expected = agentRows.sorted()
        // Judged every `hop` rows within a run of judged windows.
        let steps = Set(zip(expected, expected.dropFirst()).map { $1 - $0 }.filter { $0 < 2 * hop })
        #expect(steps == [hop], "steps between judged windows: \(steps.sorted())")
        for (r, score) in judged where r >= 400 {
            let offline = try #require(replayScore[r])
            #expect(abs(offline - score) <= 1e-4 * max(1, abs(score)), "row \(r): replay \(offline), agent \(score)")
        }
        // The same alert state on every judged row and on the rows between two judged windows
        // (the alert stays as the last judged window left it); no alert on a row the agent
        // does not judge.
        let between = expected.flatMap { r in (r..<(r + hop)).filter { compared.contains($0) && replayScore[$0] == nil } }
        let differing = (expected + between).filter { replayAlert[$0] != agentAlert[$0] }
        #expect(differing.isEmpty, "alert state differs at \(differing); agent raised at \(raised), cleared at \(cleared)")
        #expect((0..<Self.rowCount).allSatisfy { replayScore[$0] != nil || !replayAlert[$0] || between.contains($0) })

        // What the case holds: rows not judged for each reason, and three alerts; the first
        // cleared when the compressor loaded, the third open across too-few-sensor rows.
        switch recording {
        case .stopsWhileLoaded:
            // Loaded at 700, stopped at 730: the stop ends the uncalibrated state; started at
            // 770 unloaded, judged once settled (10 s); loaded again at 900 and not judged until
            // the running state is unknown (1105), which ends it too; judged once settled after.
            #expect(uncalibrated == ["raised@700", "cleared@730", "raised@900", "cleared@1105"], "\(uncalibrated)")
            #expect((700..<780).allSatisfy { replayScore[$0] == nil } && (900..<1118).allSatisfy { replayScore[$0] == nil })
            #expect((780..<900).filter { replayScore[$0] != nil }.count >= 100 / hop)
            let running = 1118..<1298
            #expect(running.filter { replayScore[$0] != nil }.count >= running.count / hop)
        case .loadedStretch:
            #expect(uncalibrated == ["raised@700", "cleared@1060"], "\(uncalibrated)")
            #expect((700..<1060).allSatisfy { replayScore[$0] == nil })
            let running = (1060..<1298).filter { !(1100..<1118).contains($0) }
            #expect(running.filter { replayScore[$0] != nil }.count >= running.count / hop)
        case .loadsAroundAStop:
            // Loaded only in the stop grace before the stop at 700: not entered. Loaded while
            // it settles after the start at 740 (until 750): entered at 742, judged again 300
            // rows after it unloaded (746), not at 750.
            #expect(uncalibrated == ["raised@742", "cleared@1046"], "\(uncalibrated)")
            #expect((698..<1046).allSatisfy { replayScore[$0] == nil })
            #expect((1046..<1100).filter { replayScore[$0] != nil }.count >= 20 / hop)
        }
        #expect((1450..<1460).allSatisfy { replayScore[$0] == nil })
        #expect((1440..<1450).contains { replayScore[$0] != nil } && (1460..<1470).contains { replayScore[$0] != nil })
        #expect(raised.count == 3, "raised at \(raised), cleared at \(cleared)")
        if recording == .loadsAroundAStop {
            #expect(raised.first.map { (500..<560).contains($0) } == true && cleared.first.map { (560..<698).contains($0) } == true)
        } else {
            #expect(raised.first.map { (600..<700).contains($0) } == true)
            #expect(cleared.first == 700)
        }
        #expect(raised.dropFirst().first.map { (1150..<1250).contains($0) } == true)
        #expect(raised.last.map { (1480..<1500).contains($0) } == true && cleared.last.map { $0 > 1560 } == true)
        #expect(run.standardOutput.contains("16 with fewer than half of the sensors usable"), "\(run.standardOutput)")
        // The current beyond its max: not read, held running for 5 rows (judged, but in the
        // second file's uncalibrated state), then not judged until it reads again and the
        // machine has settled (10 s).
        #expect(hop > 1 || recording == .stopsWhileLoaded || (replayScore[1100] != nil && judged[1100] != nil))
        #expect((1105..<1118).allSatisfy { replayScore[$0] == nil && judged[$0] == nil })
        #expect(run.standardOutput.contains("in or settling back from an operating state calibration never saw"), "\(run.standardOutput)")
    }
}
