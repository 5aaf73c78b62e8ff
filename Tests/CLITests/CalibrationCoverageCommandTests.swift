import Foundation
import Testing
import TestSupport

private func edgeAgent(_ arguments: [String]) async throws -> ProgramRun {
    let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "JOURNAL_STREAM")
    return try await runProgram(executable, arguments, environment: environment)
}

/// `calibrate` says how much normal operation it had (rows used, windows, run stretches,
/// minutes per operating state), warns when that is short of what a quiet detector needs, and
/// refuses far too little (exit 1, nothing stored) unless `--force`: on a simulated compressor
/// exported by `edge-agent simulate`, and on CSV files of a compressor that mostly stood or
/// hardly loaded.
@Suite("calibrate: how much calibration data")
struct CalibrationCoverageCommandTests {
    /// A folder with agent.conf for `simulate --print-config`'s fleet (seed 11: pump-1, motor-2,
    /// compressor-3, --change-interval 0s) and 30 simulated minutes of it at 1 s, no faults.
    struct SimulatedFleet {
        let folder: TemporaryDirectory
        let config: String
        let compressorCSV: String

        init() async throws {
            folder = try TemporaryDirectory(prefix: "calcover")
            let fleet = ["--machines", "3", "--seed", "11", "--change-interval", "0s"]
            let printed = try await edgeAgent(["simulate", "--print-config"] + fleet)
            #expect(printed.status == 0, "\(printed.standardError)")
            config = folder.file("agent.conf")
            try ("[agent]\ndata_dir = \"\(folder.file("data"))\"\n\n[[bus]]\nname = \"sim\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = 5020\n\n"
                 + printed.standardOutput).write(toFile: config, atomically: true, encoding: .utf8)
            let exported = try await edgeAgent(["simulate", "--export", folder.file("export"), "--hours", "0.5", "--step", "1s", "--faults", "none"] + fleet)
            #expect(exported.status == 0, "\(exported.standardError)")
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.file("export"))
            let compressor = try #require(files.first { $0.hasPrefix("compressor") && $0.hasSuffix(".csv") }, "exported: \(files)")
            compressorCSV = folder.file("export/" + compressor)
        }

        var machine: String { String((compressorCSV.split(separator: "/").last ?? "").dropLast(4)) }
        var detector: String { folder.file("data/models/\(machine).detector.json") }

        func calibrate(_ extra: [String]) async throws -> ProgramRun {
            try await edgeAgent(["calibrate", "--config", config, "--machine", machine, "--input", compressorCSV] + extra)
        }
    }

    @Test("a minute of a simulated compressor is refused, stored only with --force; 5 minutes warn; 30 minutes do not")
    func simulatedCompressor() async throws {
        let fleet = try await SimulatedFleet()
        defer { fleet.folder.remove() }
        let m = fleet.machine

        // One minute: far too little. Exit 1, nothing stored, what is missing and what to do.
        let refused = try await fleet.calibrate(["--rows", "60"])
        #expect(refused.status != 0)
        #expect(refused.standardError.contains("not calibrating \(m): far too little normal operation in \(fleet.compressorCSV): 41 full windows (at least 100 needed); 1.0 min of running covered (at least 2.0 min needed)"),
                "\(refused.standardError)")
        #expect(refused.standardError.contains("To store it anyway, add --force."))
        #expect(refused.standardError.contains("--last 30m"))
        #expect(!FileManager.default.fileExists(atPath: fleet.detector))
        let refusedJSON = try await fleet.calibrate(["--rows", "60", "--json"])
        #expect(refusedJSON.status != 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(refusedJSON.standardOutput.utf8)) as? [String: Any],
                                  "stdout: \(refusedJSON.standardOutput)")
        #expect(object["refused"] as? Bool == true && object["used_rows"] as? Int == 60 && object["windows"] as? Int == 41)
        #expect((object["shortfalls"] as? [String])?.count == 2)
        #expect(!FileManager.default.fileExists(atPath: fleet.detector))

        // --force stores it, and says it is short.
        let forced = try await fleet.calibrate(["--rows", "60", "--force"])
        #expect(forced.status == 0, "\(forced.standardError)")
        #expect(forced.standardOutput.contains("  data: 60 rows used of 60 (1.0 min of running), 41 full windows, 1 run stretch, loaded off "),
                "\(forced.standardOutput)")
        #expect(forced.standardOutput.contains("warning: \(m) was calibrated with --force on far too little normal operation in \(fleet.compressorCSV): 41 full windows (at least 100 needed); 1.0 min of running covered (at least 2.0 min needed)."),
                "\(forced.standardOutput)")
        #expect(!forced.standardOutput.contains("To store it anyway"))
        #expect(FileManager.default.fileExists(atPath: fleet.detector))

        // Five minutes: stored, with a warning naming the machine, what is short and what to do.
        let short = try await fleet.calibrate(["--rows", "300"])
        #expect(short.status == 0, "\(short.standardError)")
        #expect(short.standardOutput.contains("  data: 300 rows used of 300 (5.0 min of running), 281 full windows, 1 run stretch"))
        #expect(short.standardOutput.contains("warning: \(m) was calibrated on too little normal operation: 281 full windows (at least 500 needed); 5.0 min of running covered (at least 10 min needed)"),
                "\(short.standardOutput)")
        #expect(short.standardOutput.contains("edge-agent calibrate --machine \(m) --last 30m") || short.standardOutput.contains("at least 10 minutes of running"))
        let shortJSON = try #require(try JSONSerialization.jsonObject(with: Data(try await fleet.calibrate(["--rows", "300", "--json"]).standardOutput.utf8)) as? [String: Any])
        #expect(shortJSON["refused"] as? Bool == false && shortJSON["forced"] as? Bool == false)
        #expect((shortJSON["warnings"] as? [String])?.contains { $0.hasPrefix("\(m) was calibrated on too little normal operation") } == true)
        // The fields scripts already read are still there.
        for key in ["machine", "rows", "trimmed_rows", "sensors", "threshold", "expected_false_alarm_rate", "detector", "warnings"] {
            #expect(shortJSON[key] != nil, "missing \(key)")
        }

        // The whole half hour: no warning about the amount of data.
        let enough = try await fleet.calibrate([])
        #expect(enough.status == 0, "\(enough.standardError)")
        #expect(enough.standardOutput.contains("  data: 1800 rows used of 1800 (30 min of running), 1781 full windows, 1 run stretch, loaded off "),
                "\(enough.standardOutput)")
        #expect(!enough.standardOutput.contains("warning"), "\(enough.standardOutput)")
        let enoughJSON = try #require(try JSONSerialization.jsonObject(with: Data(try await fleet.calibrate(["--json"]).standardOutput.utf8)) as? [String: Any])
        #expect((enoughJSON["warnings"] as? [String]) == [] && (enoughJSON["shortfalls"] as? [String]) == [])
        let states = try #require(enoughJSON["states"] as? [[String: Any]])
        #expect(states.count == 1 && states.first?["sensor"] as? String == "loaded")
        let on = try #require(states.first?["on_rows"] as? Int), off = try #require(states.first?["off_rows"] as? Int)
        #expect(on + off == 1800 && on > 60 && off > 60)
    }

    /// agent.conf for a compressor `c` at 1 s polls: motor current says it runs (≥ 20 A), settle
    /// 60 s; `loaded` a state sensor.
    static func compressorConfiguration(_ folder: TemporaryDirectory) throws -> String {
        let path = folder.file("agent.conf")
        try """
            \(offlineAgentConfigurationHead(dataDirectory: folder.file("data")))

            [[machine]]
            id = "c"
            poll_interval = "1s"
            run_signal = "motor_current"
            run_threshold = 20.0
            settle_after_start = "60s"

              [[machine.sensor]]
              name = "motor_current"
              bus = "b"
              address = 0

              [[machine.sensor]]
              name = "pressure"
              bus = "b"
              address = 1

              [[machine.sensor]]
              name = "loaded"
              bus = "b"
              kind = "discrete"
              address = 0
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// 30 minutes at 1 s of a compressor whose current and pressure follow `loaded` (and are
    /// near 0 while `running(row)` is false).
    static func compressorCSV(_ folder: TemporaryDirectory, running: (Int) -> Bool, loaded: (Int) -> Bool) throws -> String {
        var csv = "timestamp,motor_current,pressure,loaded\n"
        for r in 0..<1800 {
            let wobble = Double((r * 37) % 11) / 10
            let on = running(r), load = on && loaded(r)
            let current = on ? (load ? 90 : 40) + wobble : 0.3 + wobble / 10
            let pressure = on ? (load ? 7.5 : 7) + wobble / 20 : 6.2
            csv += "2026-11-29T00:\(String(format: "%02d:%02d", r / 60, r % 60)).000Z,\(current),\(pressure),\(load ? 1 : 0)\n"
        }
        let path = folder.file("normal.csv")
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a compressor stopped for most of the stretch is refused, and told it was stopped")
    func mostlyStopped() async throws {
        let folder = try TemporaryDirectory(prefix: "calcover")
        defer { folder.remove() }
        let config = try Self.compressorConfiguration(folder)
        // Runs the first 100 s, then stands for the rest: 98 rows left after the stop grace (2 s).
        let csv = try Self.compressorCSV(folder, running: { $0 < 100 }, loaded: { ($0 / 40) % 2 == 0 })
        let result = try await edgeAgent(["calibrate", "--config", config, "--machine", "c", "--input", csv])
        #expect(result.status != 0)
        #expect(result.standardError.contains("not calibrating c: far too little normal operation in \(csv):"), "\(result.standardError)")
        #expect(result.standardError.contains("c was stopped or settling in 1702 of the 1800 rows of \(csv)."), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("data/models/c.detector.json")))
    }

    @Test("a compressor loaded for only half a minute of 30 is warned about that state")
    func hardlyLoaded() async throws {
        let folder = try TemporaryDirectory(prefix: "calcover")
        defer { folder.remove() }
        let config = try Self.compressorConfiguration(folder)
        let csv = try Self.compressorCSV(folder, running: { _ in true }, loaded: { $0 >= 900 && $0 < 930 })
        let result = try await edgeAgent(["calibrate", "--config", config, "--machine", "c", "--input", csv])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("  data: 1800 rows used of 1800 (30 min of running), 1781 full windows, 1 run stretch, loaded off ") && result.standardOutput.contains(" min / on 0.5 min"),
                "\(result.standardOutput)")
        #expect(result.standardOutput.contains("warning: c was calibrated on too little normal operation: loaded on for only 0.5 min, 30 rows (at least 1.0 min in each state needed)."),
                "\(result.standardOutput)")
        // Loaded for 5 minutes of 30: no warning.
        let enough = try await edgeAgent(["calibrate", "--config", config, "--machine", "c", "--input",
                                    try Self.compressorCSV(folder, running: { _ in true }, loaded: { $0 >= 900 && $0 < 1200 })])
        #expect(enough.status == 0 && !enough.standardOutput.contains("warning"), "\(enough.standardOutput)")
    }
}
