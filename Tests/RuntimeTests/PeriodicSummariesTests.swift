import Configuration
import EdgeCore
import Foundation
import Logging
@testable import Runtime
import Store
import TestSupport
import Testing

@Suite struct PeriodicSummariesTests {
    @Test func writesEachMachinesFilesWithScoresAndDataEventsWhenThePeriodEnds() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var agent = AgentSettings()
        agent.dataDirectory = dir.file("data")
        agent.summaryDirectory = dir.file("summaries")
        agent.summaryInterval = .seconds(60)
        try FileManager.default.createDirectory(atPath: agent.dataDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: agent.summaryDirectory, withIntermediateDirectories: true)
        var sensor = SensorConfiguration(name: "flow", bus: "line", address: 0)
        sensor.unit = "m3/h"
        var machine = MachineConfiguration(id: "pump-1", sensors: [sensor])
        machine.pollInterval = .seconds(1)
        let configuration = AgentConfiguration(
            sourcePath: "test.conf", agent: agent,
            buses: [BusConfiguration(name: "line", transport: .tcp(host: "127.0.0.1", port: 502))], machines: [machine])
        let database = try BufferDatabase(path: Store.databasePath(dataDirectory: agent.dataDirectory))
        let mapping = try database.registerSensors(configuration)
        let writer = try ReadingWriter(path: database.path, mapping: mapping)
        // 12:00:00–12:01:00 UTC on 2026-11-29: readings 10, 11, …, 69 once a second.
        let start = try #require(Timestamp(iso8601: "2026-11-29T12:00:00Z"))
        let readings = (0..<60).map {
            Reading(machine: 0, sensor: 0, time: Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64($0) * 1000),
                    value: Double(10 + $0), quality: .good)
        }
        _ = writer.append(readings)
        #expect(await writer.committed(within: .seconds(10)))

        var summaries = PeriodicSummaries(configuration: configuration, now: Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 500))
        #expect(summaries.periodStart == start)
        for r in readings.prefix(30) {
            summaries.record(ScoredWindow(machine: 0, time: r.time, score: r.value / 100, threshold: 0.5))
        }
        let offline = Alert(id: "x", machine: "pump-1", kind: .unitOffline, severity: .critical, started: readings[40].time, message: "unit line/1 silent")
        summaries.record([AlertEvent(change: .raised, time: readings[40].time, alert: offline)])
        let logger = Logger(label: "test")
        #expect(summaries.due(now: readings[59].time, models: [nil], database: database, logger: logger).isEmpty)
        let jobs = summaries.due(now: Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 60_000), models: [nil], database: database, logger: logger)
        #expect(jobs.count == 3)  // idle pages given back, pump-1's files, then retention
        for job in jobs { job() }
        #expect(summaries.periodStart == Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 60_000))

        let base = dir.file("summaries/pump-1_2026-11-29T12-00-00Z_1m")
        for ext in ["json", "csv", "html"] { #expect(FileManager.default.fileExists(atPath: "\(base).\(ext)"), "\(base).\(ext)") }
        let json = try String(contentsOfFile: base + ".json", encoding: .utf8)
        #expect(json.contains("unit_offline"))
        #expect(json.contains("unit line/1 silent"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let sensors = try #require(object["sensors"] as? [[String: Any]])
        #expect(sensors.first?["count"] as? Int == 60)
        #expect(sensors.first?["max"] as? Double == 69)
        // Scores 0.10 … 0.39 were recorded for the period; the threshold was 0.5.
        let score = try #require(object["anomaly_score"] as? [String: Any])
        #expect(score["count"] as? Int == 30)
        #expect(abs((score["max"] as? Double ?? 0) - 0.39) < 1e-9)
        #expect(score["threshold"] as? Double == 0.5)
        writer.close()
    }

    /// The machines each summary pass reads: consecutive machines up to `sensorsPerPass`
    /// sensors together, a larger machine alone, every machine exactly once and in order.
    @Test(arguments: [
        ([10, 10, 10], [[0, 1, 2]]),
        (Array(repeating: 10, count: 13), [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11], [12]]),
        ([100, 28, 1], [[0], [1, 2]]),
        ([20, 5, 30, 5], [[0, 1], [2], [3]]),
        ([Int](), [[Int]]()),
    ])
    func summaryPassesGroupConsecutiveMachinesUpToTheSensorBudget(sensors: [Int], expected: [[Int]]) {
        #expect(PeriodicSummaries.sensorsPerPass == 32)
        let passes = PeriodicSummaries.passes(sensors)
        #expect(passes == expected)
        #expect(passes.flatMap { $0 } == Array(sensors.indices))
    }

    @Test func scorePointsStayBoundedAndKeepThePeak() throws {
        var agent = AgentSettings()
        agent.summaryInterval = .seconds(3600)
        let machine = MachineConfiguration(id: "m", sensors: [SensorConfiguration(name: "s", bus: "b", address: 0)])
        let configuration = AgentConfiguration(sourcePath: "t", agent: agent,
                                               buses: [BusConfiguration(name: "b", transport: .tcp(host: "h", port: 1))], machines: [machine])
        let start = try #require(Timestamp(iso8601: "2026-11-29T12:00:00Z"))
        var summaries = PeriodicSummaries(configuration: configuration, now: start)
        // An hour at 10 Hz: 36,000 windows, one peak of 9 at window 20,001.
        for i in 0..<36_000 {
            let score = i == 20_001 ? 9.0 : 0.1
            summaries.record(ScoredWindow(machine: 0, time: Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(i) * 100),
                                          score: score, threshold: 1))
        }
        let points = summaries.scorePoints(machine: 0)
        #expect(points.count <= PeriodicSummaries.maximumScorePoints)
        #expect(points.count >= PeriodicSummaries.maximumScorePoints / 2)
        #expect(points.map(\.score).max() == 9)
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.time < $1.time })
    }
}
