import Configuration
import EdgeCore
import Foundation
import Testing
import TestSupport

@testable import Store

/// `edge-agent export` end to end: a real agent.conf, a buffer written by the writer thread,
/// the built executable.
@Suite struct ExportCommandTests {
    static let executable = builtExecutable(named: "edge-agent") ?? repositoryRoot() + "/.build/debug/edge-agent"

    func runExport(_ arguments: [String]) async throws -> (status: Int32, output: String, error: String) {
        let run = try await runProgram(Self.executable, ["export"] + arguments)
        return (run.status, run.standardOutput, run.standardError)
    }

    @Test func exportWritesTheRangeAsCSV() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.executable),
            "\(Self.executable) is missing: build it with `swift build` (swift test builds it too)")
        let directory = try TemporaryDirectory(prefix: "store-export")
        defer { directory.remove() }
        let conf = directory.file("agent.conf")
        try """
            [agent]
            data_dir = "\(directory.file("data"))"

            [[bus]]
            name = "b"
            type = "tcp"
            host = "127.0.0.1"
            port = 5020

            [[machine]]
            id = "pump-1"
              [[machine.sensor]]
              name = "flow"
              bus = "b"
              address = 0
              [[machine.sensor]]
              name = "pressure"
              bus = "b"
              address = 1

            [[machine]]
            id = "motor-1"
              [[machine.sensor]]
              name = "current"
              bus = "b"
              address = 10
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: conf)
        try FileManager.default.createDirectory(atPath: configuration.agent.dataDirectory, withIntermediateDirectories: true)
        let path = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)

        // Missing buffer: a clear message and a failure status.
        let missing = try await runExport(["--config", conf, "--machine", "pump-1"])
        #expect(missing.status == 1)
        #expect(missing.error.contains("no buffer at \(path)"))

        let mapping = try BufferDatabase(path: path).registerSensors(configuration)
        let writer = try ReadingWriter(path: path, mapping: mapping)
        // Readings one minute apart from 30 minutes ago up to now; pressure bad every 5th.
        let now = Timestamp.now().millisecondsSinceEpoch
        let start = now - 30 * 60_000
        for i in 0..<30 {
            let t = Timestamp(millisecondsSinceEpoch: start + Int64(i) * 60_000)
            _ = writer.append([
                Reading(machine: 0, sensor: 0, time: t, value: Double(i) + 0.5, quality: .good),
                Reading(machine: 0, sensor: 1, time: t, value: i % 5 == 0 ? .nan : Double(i), quality: i % 5 == 0 ? .timeout : .good),
                Reading(machine: 1, sensor: 0, time: t, value: 7, quality: .good),
            ])
        }
        #expect(await writer.committed(within: .seconds(30)))

        // Relative --since to a file: the rows of the 10 minutes before the export's own clock
        // reading, which lies between the two taken here: rows 20…29 at once, 21…29 within a
        // minute (row 20 is exactly 10 minutes older than `now`). Before, 21…29 was the least
        // allowed, and a loaded machine can take longer than a minute to get here.
        let file = directory.file("pump.csv")
        let exportStarted = Timestamp.now().millisecondsSinceEpoch
        let recent = try await runExport(["--config", conf, "--machine", "pump-1", "--since", "10m", "--output", file])
        let exportEnded = Timestamp.now().millisecondsSinceEpoch
        #expect(recent.status == 0, "stderr: \(recent.error)")
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "timestamp,flow,pressure")
        let rowTimes = (0..<30).map { start + Int64($0) * 60_000 }
        let mostRows = rowTimes.filter { $0 >= exportStarted - 10 * 60_000 }.count
        let fewestRows = rowTimes.filter { $0 >= exportEnded - 10 * 60_000 }.count
        #expect((fewestRows...mostRows).contains(lines.count - 1), "\(lines.count - 1) rows, expected \(fewestRows)…\(mostRows)")
        #expect(lines.last == "\(Timestamp(millisecondsSinceEpoch: start + 29 * 60_000).iso8601),29.5,29.0")

        // Absolute range to standard output.
        let from = Timestamp(millisecondsSinceEpoch: start + 4 * 60_000).iso8601
        let until = Timestamp(millisecondsSinceEpoch: start + 6 * 60_000).iso8601
        let range = try await runExport(["--config", conf, "--machine", "pump-1", "--since", from, "--until", until])
        #expect(range.status == 0, "stderr: \(range.error)")
        #expect(range.output == """
            timestamp,flow,pressure
            \(from),4.5,4.0
            \(Timestamp(millisecondsSinceEpoch: start + 5 * 60_000).iso8601),5.5,

            """)

        let bad = try await runExport(["--config", conf, "--machine", "pump-1", "--since", "yesterday"])
        #expect(bad.status != 0)
        #expect(bad.error.contains("--since yesterday"))
        let unknown = try await runExport(["--config", conf, "--machine", "pump-9"])
        #expect(unknown.status != 0)
        #expect(unknown.error.contains("pump-1, motor-1"))
    }
}
