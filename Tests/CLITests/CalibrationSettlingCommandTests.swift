import Configuration
import EdgeCore
import Foundation
import Store
import Testing
import TestSupport

/// `calibrate` warns when a sensor was still trending at the end of the calibration data (a
/// machine calibrated while it warms up), on a real buffer written by the agent's writer: an
/// hour of a pump whose winding warms from 20 to 80 °C (τ = 10 min) after a cold start.
@Suite("calibrate: a machine still warming up")
struct CalibrationSettlingCommandTests {
    static let executable = builtExecutable(named: "edge-agent") ?? repositoryRoot() + "/.build/debug/edge-agent"

    /// agent.conf for pump `p` (1 s polls, flow and winding temperature) and its buffer holding
    /// 2026-11-29T00:00:00Z–01:00:00Z.
    static func warmingPump(_ folder: TemporaryDirectory) throws -> String {
        let conf = folder.file("agent.conf")
        try """
            \(offlineAgentConfigurationHead(dataDirectory: folder.file("data")))

            [[machine]]
            id = "p"
            poll_interval = "1s"

              [[machine.sensor]]
              name = "flow"
              bus = "b"
              address = 0
              unit = "m3/h"

              [[machine.sensor]]
              name = "winding_temperature"
              bus = "b"
              address = 1
              unit = "°C"
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: conf)
        try FileManager.default.createDirectory(atPath: configuration.agent.dataDirectory, withIntermediateDirectories: true)
        let path = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)
        let writer = try ReadingWriter(path: path, mapping: try BufferDatabase(path: path).registerSensors(configuration))
        let start = try #require(Timestamp(iso8601: "2026-11-29T00:00:00Z")).millisecondsSinceEpoch
        var random = SplitMix64(seed: 3)
        for s in 0..<3600 {
            let t = Timestamp(millisecondsSinceEpoch: start + Int64(s) * 1000)
            let winding = 80 - 60 * exp(-Double(s) / 600) + 0.2 * random.gaussian()
            _ = writer.append([Reading(machine: 0, sensor: 0, time: t, value: 100 + 2 * random.gaussian(), quality: .good),
                               Reading(machine: 0, sensor: 1, time: t, value: winding, quality: .good)])
        }
        #expect(writer.flush(timeout: .seconds(30)))
        _ = writer.close()
        return conf
    }

    func calibrate(_ conf: String, from: String, until: String, json: Bool = false) async throws -> ProgramRun {
        try await runProgram(Self.executable, ["calibrate", "--config", conf, "--machine", "p", "--from", from, "--until", until] + (json ? ["--json"] : []))
    }

    @Test("the first 10 minutes after a cold start warn; 20 settled minutes and the whole hour (rose, then settled) do not",
          .enabled(if: FileManager.default.isExecutableFile(atPath: executable), "build edge-agent first (swift build)"))
    func warmingPumpFromTheBuffer() async throws {
        let folder = try TemporaryDirectory(prefix: "calsettle")
        defer { folder.remove() }
        let conf = try Self.warmingPump(folder)

        let cold = try await calibrate(conf, from: "2026-11-29T00:00:00Z", until: "2026-11-29T00:10:00Z")
        #expect(cold.status == 0, "\(cold.standardError)")
        #expect(cold.standardOutput.contains("warning: p was still settling at the end of calibration (warming up or cooling down): winding_temperature rose "),
                "\(cold.standardOutput)")
        #expect(cold.standardOutput.contains(" °C/min at the end"))
        #expect(!cold.standardOutput.contains("flow rose") && !cold.standardOutput.contains("flow fell"))
        // An hour after the data's last row (00:09:59).
        #expect(cold.standardOutput.contains("edge-agent calibrate --machine p --from 2026-11-29T01:09:59.000Z --until 2026-11-29T01:39:59.000Z"),
                "\(cold.standardOutput)")
        let coldRun = try await calibrate(conf, from: "2026-11-29T00:00:00Z", until: "2026-11-29T00:10:00Z", json: true)
        let coldJSON = try #require(try JSONSerialization.jsonObject(with: Data(coldRun.standardOutput.utf8)) as? [String: Any])
        let settling = try #require(coldJSON["settling_sensors"] as? [[String: Any]])
        #expect(settling.count == 1 && settling.first?["sensor"] as? String == "winding_temperature")
        // 20 → 80 °C with τ = 10 min: the fifths' medians are about 1 min and 9 min in, 30 °C apart.
        let change = try #require(settling.first?["change"] as? Double)
        #expect(change > 28 && change < 36, "\(change)")
        #expect((coldJSON["warnings"] as? [String])?.contains { $0.hasPrefix("p was still settling") } == true)
        // Still stored: a warning, not a refusal.
        #expect(coldJSON["refused"] as? Bool == false)
        #expect(FileManager.default.fileExists(atPath: folder.file("data/models/p.detector.json")))

        // Warm (from 40 min on, within 2 % of its final rise): no warning at all.
        let warm = try await calibrate(conf, from: "2026-11-29T00:40:00Z", until: "2026-11-29T01:00:00Z")
        #expect(warm.status == 0, "\(warm.standardError)")
        #expect(!warm.standardOutput.contains("warning"), "\(warm.standardOutput)")
        let warmRun = try await calibrate(conf, from: "2026-11-29T00:40:00Z", until: "2026-11-29T01:00:00Z", json: true)
        let warmJSON = try #require(try JSONSerialization.jsonObject(with: Data(warmRun.standardOutput.utf8)) as? [String: Any])
        #expect((warmJSON["settling_sensors"] as? [Any])?.isEmpty == true)

        // The whole hour: it rose 60 °C but had settled by its end.
        let hour = try await calibrate(conf, from: "2026-11-29T00:00:00Z", until: "2026-11-29T01:00:00Z")
        #expect(hour.status == 0, "\(hour.standardError)")
        #expect(!hour.standardOutput.contains("still settling"), "\(hour.standardOutput)")
    }
}
