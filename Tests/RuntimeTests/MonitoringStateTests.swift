#if canImport(Glibc)
import Glibc
#endif
import Configuration
import Detection
import EdgeCore
import Foundation
@testable import Runtime
import Testing
import TestSupport

/// `edge-agent status` says per machine whether its rows are judged now, since when, and why
/// not: each state the scoring stage leaves a machine unjudged in shows up, with the row it began
/// at, and goes back to `judged`.
@Suite struct MonitoringStateTests {
    /// Feeds one row per second from `start`: (flow, running), nil for a reading that did not
    /// come (offline); returns the monitoring state after each row.
    static func feed(_ engine: inout ScoringEngine, rows: [(Double?, Double?)], start: Int64) -> [MonitoringState] {
        var states: [MonitoringState] = []
        for (i, (flow, running)) in rows.enumerated() {
            let t = Timestamp(millisecondsSinceEpoch: start + Int64(i) * 1000)
            let readings = [
                Reading(machine: 0, sensor: 0, time: t, value: flow ?? .nan, quality: flow == nil ? .offline : .good),
                Reading(machine: 0, sensor: 1, time: t, value: running ?? .nan, quality: running == nil ? .offline : .good),
            ]
            _ = engine.process(readings)
            states.append(engine.monitoring(machine: 0).state)
        }
        return states
    }

    /// The states in `states` in order, each run of one state once.
    static func changes(_ states: [MonitoringState]) -> [MonitoringState] {
        states.reduce(into: []) { if $0.last != $1 { $0.append($1) } }
    }

    static func normal(_ count: Int) -> [(Double?, Double?)] {
        RunSignalTests.normalRows(count).map { ($0.0, $0.1) }
    }

    @Test func runSignalStatesAndTooFewSensorsShowAndGoBackToJudged() throws {
        let (machine, model) = try RunSignalTests.machineAndModel(settle: .seconds(30))
        var engine = ScoringEngine(machines: [machine], models: [model])
        let start: Int64 = 1_800_000_000_000
        #expect(engine.monitoring(machine: 0).state == .noData && engine.monitoring(machine: 0).since == nil)
        // Running from the agent's start: the windows fill, then judged.
        let running = Self.changes(Self.feed(&engine, rows: Self.normal(100), start: start))
        #expect(running.last == .judged && Set(running).isSubset(of: [.fillingWindows, .judged]))
        #expect(engine.monitoring(machine: 0).reason == nil)
        // Stopped: since the first stopped row, and says what a stop looks like.
        let stop = [(Double?, Double?)](repeating: (0, 0), count: 60)
        #expect(Self.changes(Self.feed(&engine, rows: stop, start: start + 100_000)) == [.stopped])
        let stopped = engine.monitoring(machine: 0)
        #expect(stopped.since == Timestamp(millisecondsSinceEpoch: start + 100_000))
        #expect(stopped.reason?.contains("running off") == true)
        // Started: settling for 30 s, then the windows fill, then judged again.
        let restart = Self.changes(Self.feed(&engine, rows: Self.normal(100), start: start + 160_000))
        #expect(restart.first == .settling && restart.last == .judged)
        #expect(engine.monitoring(machine: 0).since.map { $0.millisecondsSinceEpoch >= start + 190_000 } == true)
        // The run signal not read: held for 5 polls, then unknown.
        let silent = [(Double?, Double?)](repeating: (20, nil), count: 10)
        #expect(Self.changes(Self.feed(&engine, rows: silent, start: start + 260_000)) == [.judged, .runSignalUnknown])
        let unknown = engine.monitoring(machine: 0)
        #expect(unknown.reason?.contains("run signal running not read") == true)
        #expect(Self.changes(Self.feed(&engine, rows: Self.normal(100), start: start + 270_000)).last == .judged)
        // The flow sensor offline while running: too few usable sensors, then judged at once
        // when it reads again (the windows were not interrupted).
        let offline = [(Double?, Double?)](repeating: (nil, 1), count: 5)
        #expect(Self.changes(Self.feed(&engine, rows: offline, start: start + 370_000)) == [.tooFewSensors])
        #expect(engine.monitoring(machine: 0).reason?.hasPrefix("only 0 of 1 model sensors usable") == true)
        #expect(engine.monitoring(machine: 0).since == Timestamp(millisecondsSinceEpoch: start + 370_000))
        #expect(Self.changes(Self.feed(&engine, rows: Self.normal(3), start: start + 375_000)) == [.judged])
        #expect(engine.monitoring(machine: 0).since == Timestamp(millisecondsSinceEpoch: start + 375_000))
    }

    @Test("a good reading of a model sensor beyond its min…max is a gap: too few sensors, judged again once back in range")
    func aGoodReadingOutsideItsPhysicalRangeIsAGap() throws {
        var (machine, model) = try RunSignalTests.machineAndModel(settle: .zero)
        machine.sensors[0].minimum = 0
        machine.sensors[0].maximum = 100
        var engine = ScoringEngine(machines: [machine], models: [model])
        let start: Int64 = 1_800_000_000_000
        #expect(Self.changes(Self.feed(&engine, rows: Self.normal(100), start: start)).last == .judged)
        // The flow reads 1e4 and then −5 with good quality (a reading from elsewhere than the
        // poller, which would flag it `.outOfRange`): not scored, like an offline sensor.
        let beyond = [(Double?, Double?)](repeating: (1e4, 1), count: 3) + [(Double?, Double?)](repeating: (-5, 1), count: 3)
        #expect(Self.changes(Self.feed(&engine, rows: beyond, start: start + 100_000)) == [.tooFewSensors])
        #expect(engine.monitoring(machine: 0).reason?.hasPrefix("only 0 of 1 model sensors usable") == true)
        #expect(Self.changes(Self.feed(&engine, rows: Self.normal(3), start: start + 106_000)) == [.judged])
    }

    @Test func readingsThatStopComingShowAsDataStoppedUntilTheyComeAgain() throws {
        let (machine, model) = try RunSignalTests.machineAndModel(settle: .zero)
        var engine = ScoringEngine(machines: [machine], models: [model])
        let start: Int64 = 1_800_000_000_000
        #expect(Self.changes(Self.feed(&engine, rows: Self.normal(100), start: start)).last == .judged)
        // An hour without a reading: the data_stopped alert once a check 1 s after the first
        // still finds it, and the state says so.
        #expect(engine.tick(now: Timestamp(millisecondsSinceEpoch: start + 3_699_000)).isEmpty)
        let raised = engine.tick(now: Timestamp(millisecondsSinceEpoch: start + 3_700_000))
        #expect(raised.map { $0.alert.kind } == [.dataStopped])
        let silent = engine.monitoring(machine: 0)
        #expect(silent.state == .dataStopped)
        #expect(silent.since == Timestamp(millisecondsSinceEpoch: start + 99_000))
        #expect(silent.reason?.contains("check its bus and units") == true)
        #expect(Self.changes(Self.feed(&engine, rows: Self.normal(3), start: start + 3_700_000)) == [.judged])
    }

    @Test func stopGraceShowsAfterAStartAndGoesBackToJudged() throws {
        var (machine, model) = try RunSignalTests.machineAndModel(settle: .zero)
        machine.runThreshold = 0.5
        machine.stopGrace = .seconds(3)
        var engine = ScoringEngine(machines: [machine], models: [model])
        let start: Int64 = 1_800_000_000_000
        #expect(Self.changes(Self.feed(&engine, rows: Self.normal(100), start: start)).last == .judged)
        #expect(Self.changes(Self.feed(&engine, rows: [(Double?, Double?)](repeating: (0, 0), count: 10), start: start + 100_000)) == [.stopped])
        let restart = Self.changes(Self.feed(&engine, rows: Self.normal(100), start: start + 110_000))
        #expect(restart.first == .stopGrace && restart.last == .judged)
        // The rows that waited out the grace are judged from the first one on.
        #expect(engine.monitoring(machine: 0).since.map { $0.millisecondsSinceEpoch >= start + 110_000 } == true)
    }

    @Test func aMachineWithoutModelIsNotCalibratedUntilOneIsInstalled() throws {
        let (machine, model) = try RunSignalTests.machineAndModel(settle: .zero)
        var engine = ScoringEngine(machines: [machine], models: [nil])
        let start: Int64 = 1_800_000_000_000
        #expect(engine.monitoring(machine: 0).state == .notCalibrated && engine.monitoring(machine: 0).since == nil)
        #expect(Self.changes(Self.feed(&engine, rows: Self.normal(10), start: start)) == [.notCalibrated])
        #expect(engine.monitoring(machine: 0).since == Timestamp(millisecondsSinceEpoch: start))
        #expect(engine.monitoring(machine: 0).reason?.contains("edge-agent calibrate --machine pump-9") == true)
        _ = engine.replaceModel(machine: 0, with: model, at: Timestamp(millisecondsSinceEpoch: start + 10_000))
        #expect(Self.changes(Self.feed(&engine, rows: Self.normal(100), start: start + 10_000)).last == .judged)
    }

    @Test func anUncalibratedOperatingStateShowsWithSensorStateAndWhatToDo() throws {
        var rows = UncalibratedStateTests.Rows()
        let file = UncalibratedStateTests.calibratedUnloaded(&rows).states
        var engine = ScoringEngine(machines: [UncalibratedStateTests.machine], models: [MachineModel(path: "memory", file: file)])
        func run(_ count: Int, loaded: Bool) -> [MonitoringState] {
            (0..<count).map { _ in
                let time = Timestamp(millisecondsSinceEpoch: rows.time)
                let values = rows.next(loaded: loaded)
                _ = engine.process(values.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) })
                return engine.monitoring(machine: 0).state
            }
        }
        #expect(Self.changes(run(120, loaded: false)).last == .judged)
        let loadedAt = Timestamp(millisecondsSinceEpoch: rows.time)
        #expect(Self.changes(run(30, loaded: true)) == [.uncalibratedState])
        let uncalibrated = engine.monitoring(machine: 0)
        #expect(uncalibrated.since == loadedAt)
        let reason = try #require(uncalibrated.reason)
        #expect(reason.hasPrefix("uncalibrated operating state (loaded on); judged again once loaded has been off for 300 s"))
        #expect(reason.contains("edge-agent calibrate --machine compressor-1 --last 30m"))
        let unloadedAt = Timestamp(millisecondsSinceEpoch: rows.time)
        #expect(Self.changes(run(300, loaded: false)) == [.settlingAfterUncalibratedState])
        #expect(engine.monitoring(machine: 0).since == unloadedAt)
        #expect(engine.monitoring(machine: 0).reason?.hasPrefix("back from an uncalibrated operating state (loaded on), settling for 300 s") == true)
        let back = Self.changes(run(200, loaded: false))
        #expect(back.first != .settlingAfterUncalibratedState && back.last == .judged)
    }

    /// Through the agent: the status it stores (what `edge-agent status --json` prints under
    /// `agent`) and the text `edge-agent status` prints lead with the machines' monitoring state.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3")))
    func theAgentsStatusCarriesIt() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        let config = dir.file("agent.conf")
        try AgentProcessTests.configuration(port: server.port, directory: dir.path, machines: 2, sensors: 3, poll: "100ms")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try AgentProcessTests.startAgent(config: config, directory: dir.path)
        defer { agent.killAndWait() }
        // Polling (SIGTERM before the handler is in place would kill it without a status).
        #expect(await AgentProcessTests.waitUntilRunning(dir.path))
        let polled = { server.requestCount(unit: 1) + server.requestCount(unit: 2) }
        #expect(await AgentProcessTests.eventually(within: 60) { polled() >= 20 }, "\(polled()) requests")
        agent.terminate()
        #expect(await agent.waitForExit(seconds: 25))
        let stored = try await AgentProcessTests.sqlite(dir.file("data/edge-agent.db"), "SELECT value FROM kv WHERE key = 'runtime.status'")
        #expect(stored.contains("\"monitoring\":{\"reason\":\"no model: run `edge-agent calibrate --machine m0`"))
        let status = try RuntimeStatus.decode(stored)
        #expect(status.machines.map { $0.monitoring?.state } == ["not-calibrated", "not-calibrated"])
        #expect(status.machines.allSatisfy { $0.monitoring?.since.map { Timestamp(iso8601: $0[...]) != nil } == true })
        #expect(status.prometheusText.contains("edge_agent_judged{machine=\"m1\"} 0"))
        let binary = try #require(builtExecutable(named: "edge-agent"))
        let text = try await runProgram(binary, ["status", "--config", config]).standardOutput
        #expect(text.contains("m1  NOT JUDGED (not-calibrated) since "), "\(text)")
        let json = try await runProgram(binary, ["status", "--config", config, "--json"]).standardOutput
        #expect(json.contains("\"state\":\"not-calibrated\""), "\(json)")
    }
}
