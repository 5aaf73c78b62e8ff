import Configuration
import Detection
import EdgeCore
import Foundation
import Logging
@testable import Runtime
import Store
import Summaries
import Testing
import TestSupport

/// An anomaly alert records which score judged it (`scored_by`): `network` for the int8
/// network's, `window_deviation` for the window score (a temperature's rise check included),
/// none for a data alert. Alerts scored by the agent's engine go through its alert thread to a
/// real alert log and SQLite buffer, then out through `edge-agent alerts` and the summary files
/// (README, "Alerts").
@Suite("Alerts record which score judged them")
struct ScoredByTests {
    /// The first `raised` anomaly event of `rows` fed to `engine` (`AlertTextTests.feed`).
    static func firstRaised(_ engine: inout ScoringEngine, rows: [Float], n: Int, start: Int64) throws -> AlertEvent {
        let events = AlertTextTests.feed(&engine, rows: rows, n: n, start: start)
        return try #require(events.first { $0.event.change == .raised }?.event, "no anomaly alert raised")
    }

    /// Writes `events` through the agent's alert thread (`AlertDispatcher`, no actions) to a real
    /// alert log and SQLite buffer in `directory`, with `machines` registered in the buffer, and
    /// waits until they are written; returns the configuration, the buffer and the log's path.
    static func dispatchThroughAlertThread(_ events: [AlertEvent], machines: [MachineConfiguration], in directory: TemporaryDirectory)
        throws -> (configuration: AgentConfiguration, database: BufferDatabase, logPath: String) {
        let configuration = AgentConfiguration(
            sourcePath: directory.file("agent.conf"), agent: AgentSettings(),
            buses: [BusConfiguration(name: "b", transport: .tcp(host: "127.0.0.1", port: 502))], machines: machines)
        let databasePath = Store.databasePath(dataDirectory: directory.path)
        let database = try BufferDatabase(path: databasePath)
        _ = try database.registerSensors(configuration)
        let logPath = directory.file("alerts.jsonl")
        let dispatcher = try AlertDispatcher(alertLog: try AlertLog(path: logPath), database: try BufferDatabase(path: databasePath),
                                             actions: [], counters: SharedCounters(), logger: Logger(label: "test"))
        dispatcher.dispatch(events)
        dispatcher.drain()
        dispatcher.stop()
        return (configuration, database, logPath)
    }
    /// One line of the alert log per event, parsed.
    static func logLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func theScoreThatJudgedAnAlertReachesTheLogTheBufferAlertsAndTheSummaries() async throws {
        let directory = try TemporaryDirectory(prefix: "scored-by")
        defer { directory.remove() }

        // pump-1: alert_score = network, at a speed its network never saw.
        let pump = try AlertTextTests.networkPump(in: directory)
        var pumpEngine = ScoringEngine(machines: [pump.machine], models: [pump.model])
        let network = try Self.firstRaised(&pumpEngine, rows: pump.rows, n: pump.names.count, start: 1_795_000_000)

        // motor-1: a fan motor's overheating, which the window score's rise check raises.
        let motor = try AlertTextTests.overheatingMotor(seed: 1)
        var settings = CalibrationSettings()
        settings.secondsPerRow = 1
        settings.machineKind = "motor"
        let (detector, report) = Calibrator(settings: settings).calibrate(values: motor.calibration[...], sensorNames: motor.names)
        let motorModel = MachineModel(path: "memory", file: DetectorFile(machine: "motor-1", calibratedAt: "2026-11-29T00:00:00.000Z",
                                                                         detector: detector, report: report))
        let motorMachine = AlertTextTests.machine("motor-1", names: motor.names, units: motor.units, kind: .motor)
        var motorEngine = ScoringEngine(machines: [motorMachine], models: [motorModel])
        let window = try Self.firstRaised(&motorEngine, rows: motor.calibration + motor.normal + motor.faulty,
                                          n: motor.names.count, start: 1_795_000_000)
        #expect(window.alert.topSensors.contains { $0.risePerMinute != nil }, "not the rise check's alert: \(window.jsonLine)")

        // A data alert: judged by no score.
        let stale = Alert(id: "motor-1-1795000100000", machine: "motor-1", kind: .sensorStale, severity: .warning,
                          started: Timestamp(millisecondsSinceEpoch: 1_795_000_100_000), topSensors: [], message: "motor-1: speed stale")

        // The agent's alert thread writes them to the alert log and the buffer.
        let (configuration, database, logPath) = try Self.dispatchThroughAlertThread(
            [network, window, AlertEvent(change: .raised, time: stale.started, alert: stale)],
            machines: [pump.machine, motorMachine], in: directory)
        let expected: [String: String?] = ["pump-1": "network", "motor-1": "window_deviation"]

        // The alert log.
        let lines = try Self.logLines(logPath)
        #expect(lines.count == 3)
        for line in lines {
            let machine = try #require(line["machine"] as? String)
            if line["kind"] as? String == "anomaly" {
                #expect(line["scored_by"] as? String == expected[machine] ?? nil, "\(line)")
            } else {
                #expect(line["scored_by"] == nil, "a data alert carries scored_by: \(line)")
            }
        }

        // The buffer.
        let rows = try database.alerts()
        #expect(rows.count == 3)
        for row in rows {
            #expect(row.scoredBy == (row.kind == "anomaly" ? expected[row.machine] ?? nil : nil), "\(row)")
        }

        // `edge-agent alerts`, JSON and text.
        try bufferOnlyConfiguration(dataDirectory: directory.path).write(toFile: directory.file("agent.conf"), atomically: true, encoding: .utf8)
        let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
        let listed = try await runProgram(executable, ["alerts", "--json", "--config", directory.file("agent.conf")])
        #expect(listed.status == 0, "\(listed.standardError)")
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]])
        #expect(objects.count == 3)
        for object in objects {
            let machine = try #require(object["machine"] as? String)
            if object["kind"] as? String == "anomaly" {
                #expect(object["scored_by"] as? String == expected[machine] ?? nil, "\(object)")
            } else {
                #expect(object["scored_by"] == nil, "\(object)")
            }
        }
        let text = try await runProgram(executable, ["alerts", "--config", directory.file("agent.conf")])
        #expect(text.standardOutput.contains("scored by network"), "\(text.standardOutput)")
        // The window score judges nearly every alert: the text names only the network.
        #expect(!text.standardOutput.contains("scored by window_deviation"), "\(text.standardOutput)")

        // The summaries `summarize` writes from the buffer: JSON and the HTML alert table, whose
        // network alert quotes its sensors against the calibration's ranges.
        let from = Timestamp(millisecondsSinceEpoch: 1_795_000_000_000), until = Timestamp(millisecondsSinceEpoch: 1_795_010_000_000)
        for (machine, scorer) in [("pump-1", "network"), ("motor-1", "window_deviation")] {
            let input = try BufferSummarySource.input(machine: machine, configuration: configuration, from: from, until: until,
                                                      database: database)
            let files = try SummaryWriter.write(input, to: directory.file("summaries"))
            let json = try #require(try JSONSerialization.jsonObject(
                with: Data(try String(contentsOfFile: files.json, encoding: .utf8).utf8)) as? [String: Any])
            let alerts = try #require(json["alerts"] as? [[String: Any]])
            #expect(alerts.filter { $0["kind"] as? String == "anomaly" }.map { $0["scored_by"] as? String } == [scorer], "\(alerts)")
            #expect(alerts.filter { $0["kind"] as? String != "anomaly" }.allSatisfy { $0["scored_by"] == nil }, "\(alerts)")
            let html = try String(contentsOfFile: files.html, encoding: .utf8)
            #expect(html.contains("<tr data-scored-by=\"\(scorer)\">"), "\(machine)")
            if scorer == "network" {
                #expect(html.contains("(calibration "), "the network alert's ranges are not called the calibration's")
                #expect(!html.contains("(normal "), "a network alert's ranges called normal")
            } else {
                #expect(!html.contains("(calibration "))
            }
        }
    }
}
