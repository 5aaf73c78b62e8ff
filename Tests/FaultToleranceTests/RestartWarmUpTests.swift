import Configuration
import Detection
import EdgeCore
import Foundation
import Runtime
import Store
import TestSupport
import Testing

/// A restart of the agent over an existing buffer and model, end to end: the simulator's pump
/// served over Modbus TCP on loopback (`edge-agent simulate`), the agent (`AgentRuntime` in the
/// test's exit-test process) buffering it, `edge-agent calibrate` over the buffer, and a new `AgentRuntime` over
/// the same `data_dir`, whose stream is warmed on the buffered rows (`StreamWarmUp`, README
/// "Restarts and new models"): it judges its first live rows as `replay`'s stream, run on
/// through the buffer, judges them. A start more than 2 minutes after the last buffered row
/// starts cold.
@Suite(.serialized) struct RestartWarmUpTests {
    /// Polls every 50 ms against a simulator at 20x: one simulated second a row, as the demo's
    /// 200 ms at 5x.
    static let pollMilliseconds: Int64 = 50

    @Test(.timeLimit(.minutes(3)))
    func aRestartedAgentJudgesItsFirstLiveRowsWithTheWarmedStream() async throws {
        let result = await #expect(processExitsWith: .success, observing: childOutput) {
            try await RestartWarmUpTests.aRestartedAgentJudgesItsFirstLiveRowsWithTheWarmedStreamScenario()
        }
        printChildOutput(result)
    }

    /// The scenario, in its exit test's process (see `childOutput`).
    static func aRestartedAgentJudgesItsFirstLiveRowsWithTheWarmedStreamScenario() async throws {
        let binary = try #require(builtExecutable(named: "edge-agent"), "build edge-agent first (swift build)")
        let dir = try TemporaryDirectory(prefix: "restart-warm-up")
        defer { dir.remove() }
        let modbusPort = try unusedPort(), controlPort = try unusedPort()
        let simulator = try ChildProcess(
            binary, ["simulate", "--machines", "1", "--speed", "20", "--port", "\(modbusPort)", "--control-port", "\(controlPort)",
                     "--change-interval", "0s"],
            outputFile: dir.file("simulator.log"))
        defer { simulator.stop() }
        #expect(await eventually(within: 20) { isListening(port: modbusPort) }, "the simulator did not start serving")

        // The simulator's own description of its pump, polled fast and judged from the first
        // running row (no settling: the test is about the stream, not a start).
        let machines = try await runProgram(binary, ["simulate", "--machines", "1", "--print-config"])
        #expect(machines.status == 0, "\(machines.standardError)")
        let pumpTables = machines.standardOutput
            .replacingOccurrences(of: #"settle_after_start = "600s""#, with: #"settle_after_start = "0s""#)
            .replacingOccurrences(of: "kind = \"pump\"\n", with: "kind = \"pump\"\npoll_interval = \"\(Self.pollMilliseconds)ms\"\n")
        let configuration = try loadConfiguration(agentTable(dir.path) + """
            [[bus]]
            name = "sim"
            type = "tcp"
            host = "127.0.0.1"
            port = \(modbusPort)
            response_timeout = "10s"

            """ + pumpTables, in: dir)
        let pump = try #require(configuration.machines.first)
        #expect(pump.id == "pump-1" && pump.pollInterval == .milliseconds(Self.pollMilliseconds) && pump.settleAfterStart == .zero)
        let databasePath = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)

        // 1. The agent buffers the pump at its first load, then the pump changes load: its
        //    lagged temperatures and the load compensation's moving averages are still moving
        //    when the agent stops, which a cold stream would not know.
        let first = RunningAgent(configuration)
        #expect(await first.waitUntilReady())
        try await Task.sleep(for: .seconds(6))
        let calibrationEnd = Timestamp.now()
        #expect(try sendSimulatorControl(port: controlPort, "load pump-1 0.6").hasPrefix("ok"))
        try await Task.sleep(for: .seconds(2))
        #expect(await first.stop() == nil)

        // 2. Calibrated over the first load's rows, as an operator would (--force: 6 s of rows).
        let calibration = try await runProgram(binary, [
            "calibrate", "--config", dir.file("agent.conf"), "--machine", "pump-1", "--until", calibrationEnd.iso8601,
            "--from", Timestamp(millisecondsSinceEpoch: calibrationEnd.millisecondsSinceEpoch - 60_000).iso8601, "--force",
        ])
        #expect(calibration.status == 0, "calibrate: \(calibration.standardError)")
        let model = try #require(try MachineModel.load(machine: "pump-1", dataDirectory: configuration.agent.dataDirectory))
        let detector = try DetectorFile.read(path: model.path).detector

        // 3. Restarted within seconds: the stream is warmed on the buffered rows.
        let buffered = try Self.rows(databasePath, configuration, model, until: Timestamp.now())
        let restarted = RunningAgent(configuration)
        #expect(await restarted.waitUntilReady())
        // Two windows of live rows: a cold stream would judge only the second window's rows,
        // and those by a stream whose moving averages began at the new load. Warm-up disabled
        // (no `continueStream` at start; 2026-11-30): 41 of 60 live rows judged, the last
        // score 8.42 against replay's 3.76.
        let liveRows = 2 * model.windowRows
        #expect(await eventually(within: 20) { restarted.runtime.counters.cyclesPolled >= liveRows })
        #expect(await restarted.stop() == nil)
        let polled = restarted.runtime.counters.cyclesPolled, judged = restarted.runtime.counters.windowsScored

        // (a) The journal's warm-up line, with the rows the buffer held.
        let warmed = try #require(restarted.log.messages(containing: "pump-1: stream warmed on").first,
                                  "no warm-up line: \(restarted.log.messages(containing: "pump-1:"))")
        let warmedRows = try #require(Int(warmed.split(separator: " ")[4]), "\(warmed)")
        let warmStart = try #require(model.calibrationDataStart, "calibrate from the buffer records its rows' start")
        let expectedRows = buffered.filter { $0.time >= warmStart }.count
        #expect(warmedRows == expectedRows, "\(warmed); the buffer holds \(expectedRows) rows from \(warmStart.iso8601)")
        let lastBuffered = try #require(buffered.last).time
        #expect(warmed.contains("(\(warmStart.iso8601) to \(lastBuffered.iso8601))"), "\(warmed)")

        // (b) Every live row was judged, the first one included (a cold stream fills its window
        //     first), and the last live score is the one replay's stream gives, run from
        //     calibration's first row through the buffer and on through the live rows.
        #expect(judged == polled, "\(judged) of \(polled) live rows judged (windows of \(model.windowRows) rows)")
        let status = try #require(try Self.status(databasePath))
        let machine = try #require(status.machines.first)
        let lastTime = try #require(machine.lastScoreTime.flatMap { Timestamp(iso8601: Substring($0)) }, "nothing judged")
        let agentScore = try #require(machine.lastScore)
        var stream = detector.makeStream()
        var replayScore: Float = .nan
        let replayRows = try Self.rows(databasePath, configuration, model, until: Timestamp(millisecondsSinceEpoch: lastTime.millisecondsSinceEpoch + 1))
        for row in replayRows where row.time >= warmStart { replayScore = stream.score(row: row.values[...]) }
        #expect(replayRows.last?.time == lastTime)
        #expect(Double(replayScore) == agentScore, "agent \(agentScore) at \(lastTime.iso8601), replay \(replayScore)")

        // (c) Started more than 2 minutes after the last buffered row (the wall clock 3 minutes
        //     ahead): nothing recent to continue, the stream starts cold.
        let clock = JumpingClock()
        clock.jump(by: 180_000)
        let late = RunningAgent(configuration, clock: clock)
        #expect(await late.waitUntilReady())
        #expect(await eventually(within: 20) { late.runtime.counters.cyclesPolled >= liveRows })
        #expect(await late.stop() == nil)
        #expect(late.log.messages(containing: "pump-1: stream warmed on").isEmpty)
        #expect(!late.log.messages(containing: "pump-1: no recent buffered rows to warm its stream with").isEmpty)
        let latePolled = late.runtime.counters.cyclesPolled, lateJudged = late.runtime.counters.windowsScored
        #expect(lateJudged <= max(0, latePolled - model.windowRows + 1), "cold: \(lateJudged) of \(latePolled) rows judged")
        print("restart warm-up: \(warmed); live rows judged \(judged) of \(polled); last score \(agentScore), replay \(replayScore); 3 min later: \(lateJudged) of \(latePolled) judged")
    }

    /// pump-1's rows in the buffer before `until`, each in the model's sensor order.
    static func rows(_ path: String, _ configuration: AgentConfiguration, _ model: MachineModel,
                     until: Timestamp) throws -> [(time: Timestamp, values: [Float])] {
        let database = try BufferDatabase(path: path, access: .readOnly)
        let mapping = try database.lookUpSensors(configuration)
        let names = configuration.machines[0].sensors.map(\.name)
        let columns = try model.sensorNames.map { name in try #require(names.firstIndex(of: name), "\(name) not configured") }
        var rows: [(time: Timestamp, values: [Float])] = []
        try database.forEachRow(machine: 0, mapping: mapping, from: Timestamp(millisecondsSinceEpoch: 0), until: until) { time, values in
            rows.append((time, columns.map { Float(values[$0]) }))
        }
        return rows
    }

    /// The status the agent stored last (at its stop: after its last row was scored).
    static func status(_ path: String) throws -> RuntimeStatus? {
        try BufferDatabase(path: path, access: .readOnly).value(forKey: RuntimeStatus.key).map(RuntimeStatus.decode)
    }
}
