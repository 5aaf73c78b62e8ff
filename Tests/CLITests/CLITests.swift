#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

/// Runs edge-agent to its end as a `ChildProcess`; with `journalStderr` its JOURNAL_STREAM names
/// the file its stderr goes to, as systemd names the journal's stream.
private func run(_ arguments: [String], environment: [String: String] = [:], journalStderr: Bool = false) async throws -> ProgramRun {
    let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "JOURNAL_STREAM")
    for (key, value) in environment { env[key] = value }
    guard journalStderr else { return try await runProgram(executable, arguments, environment: env) }
    let directory = try TemporaryDirectory(prefix: "cli-journal")
    defer { directory.remove() }
    let errorFile = directory.file("stderr")
    _ = FileManager.default.createFile(atPath: errorFile, contents: nil)
    var status = stat()
    #expect(stat(errorFile, &status) == 0)
    env["JOURNAL_STREAM"] = "\(status.st_dev):\(status.st_ino)"
    let child = try ChildProcess(executable, arguments, environment: env, outputFile: directory.file("stdout"), errorFile: errorFile)
    #expect(await child.waitForExit(seconds: 120))
    func text(_ path: String) throws -> String { String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self) }
    return ProgramRun(status: child.terminationStatus, standardOutput: try text(directory.file("stdout")), standardError: try text(errorFile))
}

@Suite("edge-agent command line")
struct CLITests {
    let agentConf = repositoryRoot() + "/agent.conf"

    @Test("check-config on the shipped agent.conf exits 0 and prints the plan")
    func checkConfigShipped() async throws {
        let result = try await run(["check-config", "--config", agentConf])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardOutput.contains("OK — 1 bus, 3 machines"))
        for machine in ["pump-1", "motor-1", "compressor-1"] {
            #expect(result.standardOutput.contains("machine \(machine)"), "plan does not mention \(machine)")
        }
        #expect(result.standardOutput.contains("bus sim: Modbus TCP 127.0.0.1:5020"))
        #expect(result.standardOutput.contains("holding 2–3 (float32 CDAB)"))
        #expect(result.standardOutput.contains("holding 10 bit 0 (bool)"))
        #expect(result.standardError.isEmpty)
    }

    @Test("check-config on a bad file exits 1 and names file, line and key path on stderr")
    func checkConfigBad() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        var text = try String(contentsOfFile: agentConf, encoding: .utf8)
        text = text.replacingOccurrences(of: "name = \"inlet_pressure\"\n  bus = \"sim\"\n  unit_id = 1\n  address = 2\n  type = \"float32\"",
                                         with: "name = \"inlet_pressure\"\n  bus = \"sim\"\n  unit_id = 1\n  address = 2\n  type = \"flaot32\"")
        let path = folder.file("bad.conf")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let line = try #require(text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("flaot32") }) + 1

        let result = try await run(["check-config", "--config", path])
        #expect(result.status == 1)
        #expect(result.standardOutput.isEmpty)
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.standardError)")
        #expect(lines.first.map(String.init) == "\(path):\(line): machine[1].sensor[2].type: unknown type \"flaot32\" (expected one of bool, int16, uint16, int32, uint32, int64, uint64, float32, float64); did you mean \"float32\"?")

        let json = try await run(["check-config", "--config", path, "--json"])
        #expect(json.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect(object["valid"] as? Bool == false)
        let problems = try #require(object["problems"] as? [[String: Any]])
        #expect(problems.first?["key_path"] as? String == "machine[1].sensor[2].type")
        #expect(problems.first?["line"] as? Int == line)
    }

    @Test("check-config --json prints the plan for programs")
    func checkConfigJSON() async throws {
        let result = try await run(["check-config", "--config", agentConf, "--json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(object["valid"] as? Bool == true)
        let machines = try #require(object["machines"] as? [[String: Any]])
        #expect(machines.compactMap { $0["id"] as? String } == ["pump-1", "motor-1", "compressor-1"])
        let sensors = try #require(machines.first?["sensors"] as? [[String: Any]])
        #expect(sensors.first?["name"] as? String == "flow")
        #expect(sensors.first?["last_address"] as? Int == 1)
        #expect(machines.first?["poll_interval_ms"] as? Int == 200)  // agent.conf: the demo fleet runs 5× real time
    }

    /// `window_length` is not the model's window: check-config shows the windows the detector
    /// scores (calibrate's defaults before calibration, the detector and model files' after),
    /// whatever `window_length` says, and what `window_length` does.
    @Test("check-config shows the model's real windows, not window_length, before and after calibration")
    func checkConfigModelWindows() async throws {
        let folder = try TemporaryDirectory(prefix: "cli-windows")
        defer { folder.remove() }
        let config = try CalibrationCoverageCommandTests.compressorConfiguration(folder)
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try text.replacingOccurrences(of: "poll_interval = \"1s\"\n", with: "poll_interval = \"1s\"\nwindow_length = 50\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        func plan() async throws -> (text: String, machine: [String: Any]) {
            let printed = try await run(["check-config", "--config", config])
            #expect(printed.status == 0, "\(printed.standardError)")
            let json = try await run(["check-config", "--config", config, "--json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
            return (printed.standardOutput, try #require((object["machines"] as? [[String: Any]])?.first))
        }
        let before = try await plan()
        #expect(before.text.contains("data-quality alert after 50 polls unscored (window_length)"), "\(before.text)")
        #expect(before.text.contains("model windows: 20 rows (20s) for the window-deviation score, 32 rows (32s) for the network (not calibrated yet: calibrate's defaults)"),
                "\(before.text)")
        #expect(before.machine["window_length"] as? Int == 50)
        #expect(before.machine["deviation_window_rows"] as? Int == 20)
        #expect(before.machine["network_window_rows"] as? Int == 32)
        #expect(before.machine["model_windows_from"] as? String == "calibrate_defaults")

        let csv = try CalibrationCoverageCommandTests.compressorCSV(folder, running: { _ in true }, loaded: { ($0 / 90) % 2 == 0 })
        let calibrated = try await run(["calibrate", "--config", config, "--machine", "c", "--input", csv])
        #expect(calibrated.status == 0, "\(calibrated.standardError)")
        let after = try await plan()
        #expect(after.text.contains("model windows: 20 rows (20s) for the window-deviation score, 32 rows (32s) for the network (as calibrated)"),
                "\(after.text)")
        #expect(after.machine["deviation_window_rows"] as? Int == 20)
        #expect(after.machine["network_window_rows"] as? Int == 32)
        #expect(after.machine["model_windows_from"] as? String == "calibration")

        // A damaged detector file is not "not calibrated yet".
        try "{".write(toFile: folder.file("data/models/c.detector.json"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: folder.file("data/models/c.model"))
        let damaged = try await plan()
        #expect(damaged.text.contains("for the network (calibrate's defaults: its detector or model file cannot be read here)"), "\(damaged.text)")
        #expect(damaged.machine["model_windows_from"] as? String == "unreadable_model_files")
    }

    @Test("check-config --json gives the role each sensor plays: agent.conf's, else its own name's, and where it came from")
    func checkConfigJSONRoles() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.file("roles.conf")
        try """
            [[bus]]
            name = "b"
            type = "tcp"
            host = "127.0.0.1"

            [[machine]]
            id = "pump-9"

              [[machine.sensor]]
              name = "Pump9_Flow"
              bus = "b"
              address = 0
              role = "flow"

              [[machine.sensor]]
              name = "Speed"
              bus = "b"
              address = 1

              [[machine.sensor]]
              name = "casing_temp"
              bus = "b"
              address = 2
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await run(["check-config", "--config", path, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let machines = try #require(object["machines"] as? [[String: Any]])
        let sensors = try #require(machines.first?["sensors"] as? [[String: Any]])
        #expect(sensors.map { $0["role"] as? String } == ["flow", "speed", nil])
        #expect(sensors.map { $0["role_from"] as? String } == ["agent.conf", "name", nil])
        // The text plan says the same.
        let text = try await run(["check-config", "--config", path])
        #expect(text.standardOutput.contains("speed (name)"), "\(text.standardOutput)")
    }

    @Test("extreme but valid values print as text and JSON without overflowing")
    func extremeValues() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.file("extreme.conf")
        try """
            [agent]
            data_dir = "/"
            summary_interval = "3650d"
            retention_age = "3650d"
            retention_size = "8000000TB"
            log_level = "critical"

            [[bus]]
            name = "b"
            type = "tcp"
            host = "::1"
            port = 65535
            response_timeout = "3650d"
            pause_between_requests = "3650d"
            max_registers_per_read = 4
            max_bits_per_read = 1
            max_gap = 124
            max_backoff = "3650d"

            [[machine]]
            id = "m"
            poll_interval = "3650d"
            window_length = 100000
            hop = 100000

            [[machine.sensor]]
            name = "a"
            bus = "b"
            unit_id = 255
            address = 65535
            type = "uint16"
            scale = 1e308
            offset = -1e308
            min = -1.7976931348623157e308
            max = 1.7976931348623157e308

            [[machine.sensor]]
            name = "c"
            bus = "b"
            unit_id = 0
            kind = "coil"
            address = 65535

            [[machine.sensor]]
            name = "d"
            bus = "b"
            address = 65532
            type = "float64"
            order = "DCBA"
            scale = 1e-300
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let text = try await run(["check-config", "--config", path])
        #expect(text.status == 0, "stderr: \(text.standardError)")
        #expect(text.standardOutput.contains("data-quality alert after 100000 polls unscored (window_length)"))
        #expect(text.standardOutput.contains("model windows: 20 rows (73000d) for the window-deviation score, 32 rows (116800d) for the network"))
        #expect(text.standardOutput.contains("holding 65532–65535 (float64 DCBA)"))
        #expect(text.standardOutput.contains("Modbus TCP [::1]:65535"))
        let json = try await run(["check-config", "--config", path, "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let agent = try #require(object["agent"] as? [String: Any])
        #expect(agent["retention_size_bytes"] as? Int == 8_000_000 << 40)
    }

    @Test("a missing file exits 1 and says what to check")
    func checkConfigMissing() async throws {
        let result = try await run(["check-config", "--config", "/nonexistent/agent.conf"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("/nonexistent/agent.conf: cannot open the file: No such file or directory"))
    }

    @Test("--log-level debug logs; under systemd each line carries a <N> priority instead of a timestamp")
    func logging() async throws {
        let plain = try await run(["check-config", "--config", agentConf, "--log-level", "debug"])
        #expect(plain.status == 0)
        let plainLine = try #require(plain.standardError.split(separator: "\n").first { $0.contains("configuration is valid") })
        #expect(plainLine.contains(" debug edge-agent: configuration is valid"))
        #expect(plainLine.hasPrefix("20"), "expected an ISO-8601 timestamp first: \(plainLine)")

        let journal = try await run(["check-config", "--config", agentConf, "--log-level", "debug"], journalStderr: true)
        #expect(journal.standardError.split(separator: "\n").contains { $0.hasPrefix("<7>edge-agent: configuration is valid") }, "stderr: \(journal.standardError)")

        // JOURNAL_STREAM that names another stream (stderr redirected elsewhere): plain lines.
        let redirected = try await run(["check-config", "--config", agentConf, "--log-level", "debug"], environment: ["JOURNAL_STREAM": "8:12345"])
        #expect(redirected.standardError.contains(" debug edge-agent: configuration is valid"))
        #expect(!redirected.standardError.contains("<7>"))

        // Without the flag the configuration's log_level (info) applies: no debug line.
        let quiet = try await run(["check-config", "--config", agentConf])
        #expect(!quiet.standardError.contains("configuration is valid"))
    }

    @Test("version prints the version")
    func version() async throws {
        let result = try await run(["version"])
        #expect(result.status == 0)
        #expect(result.standardOutput.hasPrefix("edge-agent "))
        let version = result.standardOutput.dropFirst("edge-agent ".count).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.split(separator: ".").count == 3 && version.split(separator: ".").allSatisfy { Int($0) != nil }, "not a version: \(version)")
    }

    @Test("evaluate --help shows the data set first and keeps the few-shot research options in their own section")
    func evaluateHelpSections() async throws {
        let help = try await run(["evaluate", "--help"])
        #expect(help.status == 0)
        let text = help.standardOutput
        func offset(_ needle: String) -> Int? { text.range(of: needle).map { text.distance(from: text.startIndex, to: $0.lowerBound) } }
        let data = try #require(offset("THE DATA SET AND WHAT IS COUNTED:"), "\(text)")
        let detector = try #require(offset("DETECTOR SETTINGS"), "\(text)")
        let research = try #require(offset("THE FEW-SHOT TABLE (--FEW-SHOT) AND ITS RESEARCH OPTIONS:"), "\(text)")
        let options = try #require(offset("\nOPTIONS:"), "\(text)")
        #expect(data < detector && detector < research && research < options)
        for everyday in ["--dataset <dataset>", "--calibration-rows", "--run-signal", "--json", "--leave-one-out"] {
            let at = try #require(offset("  " + everyday), "\(everyday) missing")
            #expect(data < at && at < detector, "\(everyday) belongs to the data set section")
        }
        for researchOption in ["--few-shot ", "--few-shot-rows", "--meta-folds", "--learn-margin", "--ensemble", "--meta-learn-rates"] {
            let at = try #require(offset("  " + researchOption), "\(researchOption) missing")
            #expect(research < at && at < options, "\(researchOption) belongs to the research section")
        }
        #expect(!text[text.index(text.startIndex, offsetBy: options)...].contains("--meta-"), "nothing of the research left under OPTIONS")
    }

    @Test("calibrate uses agent.conf's tolerances and warns about a state sensor that never changed")
    func calibrateToleranceAndWarning() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let conf = """
            \(offlineAgentConfigurationHead(dataDirectory: folder.file("data")))

            [[machine]]
            id = "c-1"

              [[machine.sensor]]
              name = "voltage"
              bus = "b"
              address = 0
              tolerance = 8.0

              [[machine.sensor]]
              name = "pressure"
              bus = "b"
              address = 1

              [[machine.sensor]]
              name = "loaded"
              bus = "b"
              kind = "discrete"
              address = 0
            """
        try conf.write(toFile: folder.file("agent.conf"), atomically: true, encoding: .utf8)
        var csv = "timestamp,voltage,pressure,loaded\n"
        for r in 0..<300 {
            let wobble = Double((r * 37) % 11) / 10
            csv += "2026-11-29T00:\(String(format: "%02d:%02d", r / 60, r % 60)).000Z,\(400 + wobble),\(7 + wobble / 10),1\n"
        }
        try csv.write(toFile: folder.file("normal.csv"), atomically: true, encoding: .utf8)
        let result = try await run(["calibrate", "--config", folder.file("agent.conf"), "--machine", "c-1", "--input", folder.file("normal.csv")])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardOutput.contains("tolerances (agent.conf): voltage ±8.0"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("warning: loaded was on throughout calibration (on = 1 in all 300 rows): c-1 is calibrated only for loaded on. When loaded turns off, the agent logs one warning (\"uncalibrated operating state\") and does not score c-1"),
                "\(result.standardOutput)")
        #expect(result.standardOutput.contains("does not score c-1 until it has been on again for 300 s"))
        #expect(result.standardOutput.contains("--last 30m"))
        #expect(!result.standardOutput.contains("warning: voltage") && !result.standardOutput.contains("warning: pressure"))
        let detector = try String(contentsOfFile: folder.file("data/models/c-1.detector.json"), encoding: .utf8)
        #expect(detector.contains("\"deadBand\""))
        // The detector records the one state calibration saw (loaded, column 2: on), for the agent.
        let file = try #require(try JSONSerialization.jsonObject(with: Data(detector.utf8)) as? [String: Any])
        let states = (file["detector"] as? [String: Any])?["calibratedStates"] as? [String: Any]
        let recorded = states?["sensors"] as? [[String: Any]]
        #expect(recorded?.count == 1 && recorded?.first?["column"] as? Int == 2 && recorded?.first?["states"] as? [Double] == [1])

        let json = try await run(["calibrate", "--config", folder.file("agent.conf"), "--machine", "c-1", "--input", folder.file("normal.csv"), "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let warnings = try #require(object["warnings"] as? [String])
        // 300 rows at 1 s are 5 minutes: the second warning says that is short of 10.
        #expect(warnings.count == 2 && warnings.first?.hasPrefix("loaded was on") == true)
        #expect(warnings.last?.hasPrefix("c-1 was calibrated on too little normal operation: 281 full windows (at least 500 needed)") == true)
    }

    @Test("run_threshold: calibrate leaves out the rows where the motor current says the machine stopped; check-config shows it")
    func calibrateWithRunThreshold() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        func conf(threshold: String) -> String {
            """
            \(offlineAgentConfigurationHead(dataDirectory: folder.file("data")))

            [[machine]]
            id = "c-2"
            run_signal = "motor_current"
            \(threshold)
            settle_after_start = "10s"

              [[machine.sensor]]
              name = "motor_current"
              bus = "b"
              address = 0
              unit = "A"

              [[machine.sensor]]
              name = "discharge_pressure"
              bus = "b"
              address = 1
            """
        }
        try conf(threshold: "run_threshold = 10").write(toFile: folder.file("agent.conf"), atomically: true, encoding: .utf8)
        try conf(threshold: "").write(toFile: folder.file("contact.conf"), atomically: true, encoding: .utf8)
        // 200 loaded rows, 100 stopped (a stopped motor's noise, 0.6…1.6 A), a start (inrush
        // 250 A) and 199 loaded rows: 100 stopped + 10 settling rows (10 s at 1 s) are left out,
        // and the last 2 loaded rows before the stop (within stop_grace, 2 s by default with
        // run_threshold: the machine may already be stopping).
        var csv = "timestamp,motor_current,discharge_pressure\n"
        for r in 0..<500 {
            let wobble = Double((r * 37) % 11) / 10
            let current = r >= 200 && r < 300 ? 0.6 + wobble / 1.1 : r == 300 ? 250 : 90 + wobble
            let pressure = r >= 200 && r < 300 ? 6.2 : 7 + wobble / 20
            csv += "2026-11-29T00:\(String(format: "%02d:%02d", r / 60, r % 60)).000Z,\(current),\(pressure)\n"
        }
        try csv.write(toFile: folder.file("normal.csv"), atomically: true, encoding: .utf8)
        let result = try await run(["calibrate", "--config", folder.file("agent.conf"), "--machine", "c-2", "--input", folder.file("normal.csv")])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardOutput.contains("left out 112 rows where the machine was stopped, stopping (stop_grace), settling after a start"),
                "\(result.standardOutput)")
        let json = try await run(["calibrate", "--config", folder.file("agent.conf"), "--machine", "c-2", "--input", folder.file("normal.csv"), "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect(object["rows"] as? Int == 388)
        // The current is measured, not a contact: it stays one of the calibrated sensors.
        let detector = try String(contentsOfFile: folder.file("data/models/c-2.detector.json"), encoding: .utf8)
        #expect(detector.contains("\"motor_current\""))

        // With the contact rule (≥ 0.5) a stopped motor's noise reads as running: nothing left out.
        let contact = try await run(["calibrate", "--config", folder.file("contact.conf"), "--machine", "c-2", "--input", folder.file("normal.csv")])
        #expect(contact.status == 0, "stderr: \(contact.standardError)")
        #expect(!contact.standardOutput.contains("left out"), "\(contact.standardOutput)")

        let check = try await run(["check-config", "--config", folder.file("agent.conf")])
        #expect(check.status == 0, "stderr: \(check.standardError)")
        #expect(check.standardOutput.contains("runs while motor_current reads 10.0 A or more (not scored when stopped); settles 10s after a start"),
                "\(check.standardOutput)")
        let checkJSON = try await run(["check-config", "--config", folder.file("agent.conf"), "--json"])
        #expect(checkJSON.standardOutput.contains("\"run_threshold\":10"), "\(checkJSON.standardOutput)")
        #expect(checkJSON.standardOutput.contains("\"stop_grace_ms\":2000"), "\(checkJSON.standardOutput)")
        #expect(check.standardOutput.contains("judged 2s late (stop_grace"), "\(check.standardOutput)")
    }

    @Test("sensor roles: calibrate, check-config and replay --roles let a plant's sensor names use the load prior")
    func sensorRoles() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        func conf(roles: Bool) -> String {
            """
            \(offlineAgentConfigurationHead(dataDirectory: folder.file("data")))

            [[machine]]
            id = "P-101"
            \(roles ? "kind = \"pump\"" : "")

              [[machine.sensor]]
              name = "Pump1_Flow"
              bus = "b"
              address = 0
              \(roles ? "role = \"flow\"" : "")

              [[machine.sensor]]
              name = "DE_Vib"
              bus = "b"
              address = 1
              \(roles ? "role = \"vibration_x\"" : "")

              [[machine.sensor]]
              name = "Drive_RPM"
              bus = "b"
              address = 2
              \(roles ? "role = \"speed\"" : "")
            """
        }
        try conf(roles: true).write(toFile: folder.file("roles.conf"), atomically: true, encoding: .utf8)
        try conf(roles: false).write(toFile: folder.file("plain.conf"), atomically: true, encoding: .utf8)
        var csv = "timestamp,Pump1_Flow,DE_Vib,Drive_RPM\n"
        for r in 0..<300 {
            let wobble = Double((r * 37) % 11) / 100
            csv += "2026-11-29T00:\(String(format: "%02d:%02d", r / 60, r % 60)).000Z,\(200 + wobble),\(2 + wobble / 10),\(2900 + wobble)\n"
        }
        try csv.write(toFile: folder.file("normal.csv"), atomically: true, encoding: .utf8)

        let check = try await run(["check-config", "--config", folder.file("roles.conf")])
        #expect(check.status == 0, "stderr: \(check.standardError)")
        #expect(check.standardOutput.contains("load prior kind: pump"), "\(check.standardOutput)")
        let flowLine = check.standardOutput.split(separator: "\n").first { $0.contains("Pump1_Flow") }
        #expect(flowLine?.hasSuffix("flow") == true, "\(check.standardOutput)")

        let calibrated = try await run(["calibrate", "--config", folder.file("roles.conf"), "--machine", "P-101", "--input", folder.file("normal.csv")])
        #expect(calibrated.status == 0, "stderr: \(calibrated.standardError)")
        #expect(calibrated.standardOutput.contains("load prior (pump): Pump1_Flow (flow), DE_Vib (vibration_x) follow Drive_RPM (speed)"),
                "\(calibrated.standardOutput)")
        let json = try await run(["calibrate", "--config", folder.file("roles.conf"), "--machine", "P-101", "--input", folder.file("normal.csv"), "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect(object["load_prior_kind"] as? String == "pump")
        #expect(object["load_compensated_sensors"] as? [String] == ["Pump1_Flow", "DE_Vib"])

        let plain = try await run(["calibrate", "--config", folder.file("plain.conf"), "--machine", "P-101", "--input", folder.file("normal.csv")])
        #expect(plain.status == 0, "stderr: \(plain.standardError)")
        #expect(!plain.standardOutput.contains("load prior ("), "\(plain.standardOutput)")
        #expect(plain.standardOutput.contains("hint: Drive_RPM looks like a speed or load"), "\(plain.standardOutput)")
        let plainJSON = try await run(["calibrate", "--config", folder.file("plain.conf"), "--machine", "P-101", "--input", folder.file("normal.csv"), "--json"])
        let plainObject = try #require(try JSONSerialization.jsonObject(with: Data(plainJSON.standardOutput.utf8)) as? [String: Any])
        #expect(plainObject["load_prior_kind"] == nil)
        #expect((plainObject["load_prior_note"] as? String)?.hasPrefix("hint: Drive_RPM") == true)

        let replay = try await run(["replay", "--input", folder.file("normal.csv"), "--calibration-rows", "200", "--output", folder.file("pred.csv"),
                              "--roles", "Pump1_Flow=flow,DE_Vib=vibration_x,Drive_RPM=speed"])
        #expect(replay.status == 0, "stderr: \(replay.standardError)")
        #expect(replay.standardOutput.contains("load prior (pump): Pump1_Flow (flow), DE_Vib (vibration_x) follow Drive_RPM (speed)"),
                "\(replay.standardOutput)")
        let unknown = try await run(["replay", "--input", folder.file("normal.csv"), "--calibration-rows", "200", "--output", folder.file("pred.csv"),
                               "--roles", "Pump1_Flow=flwo"])
        #expect(unknown.status != 0)
        #expect(unknown.standardError.contains("unknown role \"flwo\" for column Pump1_Flow"), "\(unknown.standardError)")
        let missing = try await run(["replay", "--input", folder.file("normal.csv"), "--calibration-rows", "200", "--output", folder.file("pred.csv"),
                               "--roles", "Pump2_Flow=flow"])
        #expect(missing.status != 0)
        #expect(missing.standardError.contains("--roles names column Pump2_Flow"), "\(missing.standardError)")
    }

    @Test("calibrate --no-load-prior and --no-state-compensation store a detector without those compensations")
    func calibrateWithoutCompensation() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        // A pump by the prior's own sensor names at one speed, and a 0/1 state that takes both
        // values for 150-row stretches with a line pressure 2 bar apart in the two states.
        var csv = "timestamp,flow,vibration_x,speed,loaded,line_pressure\n"
        for r in 0..<600 {
            let wobble = Double((r * 37) % 11) / 100
            let loaded = (r / 150) % 2
            csv += "2026-11-29T00:\(String(format: "%02d:%02d", r / 60, r % 60)).000Z,\(200 + wobble),\(2 + wobble / 10),"
                + "\(2900 + wobble),\(loaded),\(Double(5 + 2 * loaded) + wobble / 10)\n"
        }
        try csv.write(toFile: folder.file("normal.csv"), atomically: true, encoding: .utf8)
        func calibrate(_ extra: [String]) async throws -> (output: [String: Any], detector: [String: Any]) {
            let result = try await run(["calibrate", "--config", folder.file("none.conf"), "--data-dir", folder.file("data"), "--machine", "p-1",
                                  "--input", folder.file("normal.csv"), "--json"] + extra)
            #expect(result.status == 0, "stderr: \(result.standardError)")
            let output = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
            let file = try Data(contentsOf: URL(fileURLWithPath: folder.file("data/models/p-1.detector.json")))
            let document = try #require(try JSONSerialization.jsonObject(with: file) as? [String: Any])
            return (output, try #require(document["detector"] as? [String: Any]))
        }
        let with = try await calibrate([])
        #expect(with.output["load_prior_kind"] as? String == "pump")
        #expect(with.output["load_prior"] as? Bool == true)
        #expect(with.detector["load"] != nil, "the default calibration compensates for speed")
        #expect(with.detector["state"] != nil, "the default calibration compares loaded rows with loaded levels")

        let without = try await calibrate(["--no-load-prior"])
        #expect(without.output["load_prior_kind"] == nil)
        #expect(without.output["load_prior"] as? Bool == false)
        #expect(without.output["load_prior_note"] == nil, "no hint to name roles when the operator turned the prior off")
        #expect(without.detector["load"] == nil, "the stored detector must not compensate for speed")
        #expect(without.detector["state"] != nil, "--no-load-prior leaves two-state compensation on")

        let neither = try await calibrate(["--no-load-prior", "--no-state-compensation"])
        #expect(neither.output["state_compensation"] as? Bool == false)
        #expect(neither.detector["load"] == nil && neither.detector["state"] == nil)

        let text = try await run(["calibrate", "--config", folder.file("none.conf"), "--data-dir", folder.file("data"), "--machine", "p-1",
                            "--input", folder.file("normal.csv"), "--no-load-prior"])
        #expect(text.status == 0)
        #expect(text.standardOutput.contains("load prior: off (--no-load-prior)"), "\(text.standardOutput)")
        #expect(!text.standardOutput.contains("load prior (pump)"), "\(text.standardOutput)")
        let help = try await run(["calibrate", "--help"])
        #expect(help.standardOutput.contains("--no-load-prior"), "\(help.standardOutput)")
    }
}
