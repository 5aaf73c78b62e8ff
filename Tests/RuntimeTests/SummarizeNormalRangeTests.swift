import Configuration
import Detection
import EdgeCore
import Foundation
@testable import Runtime
import Simulator
import Store
import Summaries
import Testing
import TestSupport

/// `edge-agent summarize` over the buffer quotes the same normal ranges, from the machine's
/// stored model, as the agent's own summaries of that period.
@Suite struct SummarizeNormalRangeTests {
    static let executable = builtExecutable(named: "edge-agent") ?? repositoryRoot() + "/.build/debug/edge-agent"

    @Test("summarize over the buffer gives every sensor the normal range the agent's summary of that period gives it",
          .enabled(if: FileManager.default.isExecutableFile(atPath: executable), "build edge-agent first (swift build)"))
    func summarizeQuotesTheAgentsRanges() async throws {
        let directory = try TemporaryDirectory(prefix: "summarize-ranges")
        defer { directory.remove() }
        // A simulated pump calibrated at its top speed, its readings at the middle speed buffered.
        var options = MachineOptions()
        options.automaticOperation = false
        var sim = SimulatedMachine(kind: .pump, id: "pump-1", seed: 21, options: options)
        let top = sim.loadRange.upperBound, middle = (sim.loadRange.lowerBound + top) / 2
        sim.setOperatingPoint(running: true, load: top)
        let names = sim.channels.map(\.name)
        let sensors = sim.channels.enumerated().map { i, channel in
            "  [[machine.sensor]]\n  name = \"\(channel.name)\"\n  bus = \"b\"\n  address = \(i)\n  unit = \"\(channel.unit)\"\n"
        }.joined()
        let conf = directory.file("agent.conf")
        try """
            [agent]
            data_dir = "\(directory.file("data"))"
            summary_dir = "\(directory.file("summaries"))"

            [[bus]]
            name = "b"
            type = "tcp"
            host = "127.0.0.1"
            port = 5020

            [[machine]]
            id = "pump-1"
            kind = "pump"
            poll_interval = "1s"
            \(sensors)
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: conf)
        let data = configuration.agent.dataDirectory
        var calibration: [Float] = [], times: [String] = [], row: [Double] = []
        for _ in 0..<600 {
            times.append(sim.time.iso8601)
            _ = sim.step(into: &row)
            calibration += row.map(Float.init)
        }
        var settings = CalibrationSettings()
        settings.secondsPerRow = 1
        settings.machineKind = "pump"
        let (detector, report) = Calibrator(settings: settings)
            .calibrate(table: SensorTable(sensorNames: names, timestamps: times, values: calibration))
        try TextFile.makeDirectory("\(data)/models")
        try DetectorFile(machine: "pump-1", calibratedAt: "2026-11-28T00:00:00.000Z", detector: detector, report: report)
            .write(to: MachineModel.modelPath(machine: "pump-1", dataDirectory: data))

        let path = Store.databasePath(dataDirectory: data)
        let mapping = try BufferDatabase(path: path).registerSensors(configuration)
        let writer = try ReadingWriter(path: path, mapping: mapping)
        let start = Timestamp(iso8601: "2026-11-29T00:00:00Z")!.millisecondsSinceEpoch
        sim.setOperatingPoint(running: true, load: middle)
        for r in 0..<600 {
            _ = sim.step(into: &row)
            let t = Timestamp(millisecondsSinceEpoch: start + Int64(r) * 1000)
            _ = writer.append(row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: t, value: $1, quality: .good) })
        }
        #expect(await writer.committed(within: .seconds(30)))
        _ = writer.close()

        let run = try await runProgram(Self.executable, ["summarize", "--config", conf, "--machine", "pump-1",
                                                         "--from", "2026-11-29T00:00:00Z", "--until", "2026-11-29T00:10:00Z", "--json"])
        #expect(run.status == 0, "stderr: \(run.standardError)")
        let paths = try #require(JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: String])
        let written = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: paths["json"] ?? ""))) as? [String: Any])
        let quoted = try #require(written["sensors"] as? [[String: Any]])

        // What the agent's summary of the period says: the same buffer rows, the ranges the
        // agent's periodic summaries set from the model it loads.
        let model = try #require(try MachineModel.load(machine: "pump-1", dataDirectory: data))
        var agent = try BufferSummarySource.input(machine: "pump-1", configuration: configuration,
                                                  from: Timestamp(millisecondsSinceEpoch: start),
                                                  until: Timestamp(millisecondsSinceEpoch: start + 600_000),
                                                  database: try BufferDatabase(path: path, access: .readOnly))
        PeriodicSummaries.setNormalRanges(of: &agent, from: model)
        #expect(quoted.count == agent.sensors.count)
        for (entry, series) in zip(quoted, agent.sensors) {
            #expect(entry["name"] as? String == series.name)
            let low = try #require(entry["normal_low"] as? Double, "\(series.name): no normal_low in \(entry)")
            // The same numbers, as the JSON writes them (to 16 significant digits).
            func same(_ a: Double?, _ b: Double?) -> Bool {
                guard let a, let b else { return a == nil && b == nil }
                return abs(a - b) <= 1e-14 * max(1, abs(b))
            }
            #expect(same(low, series.normalLow), "\(series.name): \(low), agent \(series.normalLow ?? .nan)")
            #expect(same(entry["normal_high"] as? Double, series.normalHigh), "\(series.name)")
            #expect(entry["normal_state"] as? String == series.normalState, "\(series.name)")
        }
        // Ranges at the period's speed: the pump ran at the middle speed, and says so.
        let speed = try #require(quoted.first { $0["name"] as? String == "speed" })
        let state = try #require(quoted.first { $0["name"] as? String == "outlet_pressure" }?["normal_state"] as? String)
        #expect(state.hasPrefix("speed = ") && !state.contains("calibration"), "\(state)")
        #expect(speed["normal_high"] is NSNull)
        let info = try #require(written["model"] as? [String: Any])
        #expect(info["name"] as? String == "pump-1.detector.json")
        #expect(info["calibrated"] as? String == "2026-11-28T00:00:00.000Z")
    }
}
