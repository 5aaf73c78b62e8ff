import Configuration
import EdgeCore
import Foundation
import Store
import Testing
import TestSupport

@testable import Summaries

/// `edge-agent summarize` end to end: a real agent.conf, a buffer written by the writer thread,
/// the built executable.
@Suite struct SummarizeCommandTests {
    static let executable = builtExecutable(named: "edge-agent") ?? repositoryRoot() + "/.build/debug/edge-agent"

    private func run(_ arguments: [String]) async throws -> (status: Int32, output: String, error: String) {
        let run = try await runProgram(Self.executable, ["summarize"] + arguments)
        return (run.status, run.standardOutput, run.standardError)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable), "build edge-agent first (swift build)"))
    func summarizeWritesTheFilesOfAPastPeriod() async throws {
        let directory = try TemporaryDirectory(prefix: "summarize-cli")
        defer { directory.remove() }
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
            poll_interval = "1m"
              [[machine.sensor]]
              name = "flow"
              bus = "b"
              address = 0
              unit = "m3/h"
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: conf)
        try FileManager.default.createDirectory(atPath: configuration.agent.dataDirectory, withIntermediateDirectories: true)
        let path = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)

        let missing = try await run(["--config", conf, "--machine", "pump-1"])
        #expect(missing.status == 1)
        #expect(missing.error.contains("no buffer at \(path)"))

        let mapping = try BufferDatabase(path: path).registerSensors(configuration)
        let writer = try ReadingWriter(path: path, mapping: mapping)
        let start = Timestamp(iso8601: "2026-11-29T00:00:00Z")!.millisecondsSinceEpoch
        for i in 0..<60 {
            let t = Timestamp(millisecondsSinceEpoch: start + Int64(i) * 60_000)
            _ = writer.append([Reading(machine: 0, sensor: 0, time: t, value: Double(i), quality: .good)])
        }
        #expect(await writer.committed(within: .seconds(30)))
        _ = writer.close()

        // The first half hour, to summary_dir, paths as JSON.
        let result = try await run(["--config", conf, "--machine", "pump-1", "--from", "2026-11-29T00:00:00Z", "--until", "2026-11-29T00:30:00Z", "--json"])
        #expect(result.status == 0, "stderr: \(result.error)")
        let paths = try #require(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: String])
        #expect(paths["html"] == directory.file("summaries/pump-1_2026-11-29T00-00-00Z_30m.html"))
        let summary = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: paths["json"] ?? ""))) as? [String: Any])
        let flow = try #require((summary["sensors"] as? [[String: Any]])?.first)
        #expect(flow["count"] as? Int == 30)
        #expect(flow["expected"] as? Int == 30)
        #expect(flow["mean"] as? Double == 14.5)  // mean of 0…29
        #expect(flow["unit"] as? String == "m3/h")
        #expect(try String(contentsOfFile: paths["csv"] ?? "", encoding: .utf8).split(separator: "\n").count == 2)

        // --output elsewhere; errors say what is wrong.
        let elsewhere = try await run(["--config", conf, "--machine", "pump-1", "--from", "2026-11-29", "--until", "2026-11-29T01:00:00Z", "--output", directory.file("out")])
        #expect(elsewhere.status == 0, "stderr: \(elsewhere.error)")
        #expect(FileManager.default.fileExists(atPath: directory.file("out/pump-1_2026-11-29T00-00-00Z_1h.html")))
        let unknown = try await run(["--config", conf, "--machine", "pump-9"])
        #expect(unknown.status != 0)
        #expect(unknown.error.contains("pump-1"))
        let backwards = try await run(["--config", conf, "--machine", "pump-1", "--from", "1h", "--until", "2h"])
        #expect(backwards.status != 0)
        #expect(backwards.error.contains("must be before"))
        let noMachine = try await run(["--config", conf])
        #expect(noMachine.status != 0)
        #expect(noMachine.error.contains("--machine"))
    }
}
