import Foundation
import Testing
import TestSupport

/// Runs edge-agent to its end.
private func edgeAgent(_ arguments: [String]) async throws -> ProgramRun {
    let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
    return try await runProgram(executable, arguments, timeoutSeconds: 120)
}

/// `replay` and `evaluate` with `--config`: a recorded file is scored as its machine of agent.conf
/// (tolerances, run signal, run threshold), as the running agent scores it.
@Suite("replay and evaluate as a machine of agent.conf")
struct AgentMachineOfflineTests {
    static let configuration = """
        [[bus]]
        name = "b"
        type = "tcp"
        host = "127.0.0.1"

        [[machine]]
        id = "pump-4"
        run_signal = "running"

          [[machine.sensor]]
          name = "flow"
          bus = "b"
          address = 0
          max = 2000

          [[machine.sensor]]
          name = "supply_voltage"
          bus = "b"
          address = 1
          unit = "V"
          tolerance = 11.4

          [[machine.sensor]]
          name = "running"
          bus = "b"
          address = 2

        [[machine]]
        id = "compressor-1"
        run_signal = "motor_current"
        run_threshold = 10

          [[machine.sensor]]
          name = "motor_current"
          bus = "b"
          address = 10

          [[machine.sensor]]
          name = "oil_temp"
          bus = "b"
          address = 11
        """

    /// `2026-11-29T00:00:00.000Z` plus `seconds`.
    static func time(_ seconds: Int) -> String {
        String(format: "2026-11-29T%02d:%02d:%02d.000Z", seconds / 3600, seconds / 60 % 60, seconds % 60)
    }

    /// A pump at 1 s: running 0..<600, stopped 600..<900 (flow 0), running again from 900 with its
    /// supply voltage 8 V (2 %) higher, inside agent.conf's ±11.4 V; a flow meter glitch past its
    /// `max` (1000..<1005: 65535); from 1300 its flow drops 30 %.
    static func pump(labels: Bool) -> String {
        var csv = "timestamp,flow,supply_voltage,running\(labels ? ",anomaly" : "")\n"
        for r in 0..<1500 {
            let wobble = Double((r * 37) % 11) / 100
            let running = r < 600 || r >= 900
            let flow = (1000..<1005).contains(r) ? 65535 : running ? (r >= 1300 ? 70 : 100) + wobble : 0
            let voltage = (r >= 900 ? 408.0 : 400.0) + wobble
            csv += "\(time(r)),\(flow),\(voltage),\(running ? 1 : 0)\(labels ? (r >= 1300 ? ",1" : ",0") : "")\n"
        }
        return csv
    }

    /// A compressor at 1 s without a running contact: motor current 50 A, 0 while stopped
    /// (700..<800), decaying over its last two rows before the stop; labelled normal throughout
    /// but for its last 100 rows (oil 20 % hot).
    static func compressor() -> String {
        var csv = "timestamp,motor_current,oil_temp,anomaly\n"
        for r in 0..<1200 {
            let wobble = Double((r * 37) % 11) / 100
            let current = (700..<800).contains(r) ? 0 : (r == 698 ? 30 : r == 699 ? 12 : 50 + wobble)
            let oil = (r >= 1100 ? 72 : 60) + wobble
            csv += "\(time(r)),\(current),\(oil),\(r >= 1100 ? 1 : 0)\n"
        }
        return csv
    }

    @Test("replay --config --machine takes the machine's tolerances and run signal: the voltage step inside its tolerance does not alert, the flow drop does")
    func replayAsMachine() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try Self.configuration.write(toFile: folder.file("agent.conf"), atomically: true, encoding: .utf8)
        try Self.pump(labels: false).write(toFile: folder.file("export.csv"), atomically: true, encoding: .utf8)

        func alerts(_ extra: [String]) async throws -> (run: ProgramRun, lines: [[Substring]]) {
            let run = try await edgeAgent(["replay", "--input", folder.file("export.csv"), "--calibration-rows", "400",
                                     "--output", folder.file("pred.csv")] + extra)
            #expect(run.status == 0, "stderr: \(run.standardError)")
            let text = try String(contentsOfFile: folder.file("pred.csv"), encoding: .utf8)
            let lines = text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            #expect(lines.count == 1500)
            return (run, lines)
        }
        func alerted(_ lines: [[Substring]], _ rows: Range<Int>) -> Int { rows.filter { lines[$0][3] == "1" }.count }

        // Plain: every column a sensor, no tolerance: the stop and the voltage step alert.
        let plain = try await alerts([])
        #expect(alerted(plain.lines, 900..<1300) > 300, "\(plain.run.standardOutput)")

        let asMachine = try await alerts(["--config", folder.file("agent.conf"), "--machine", "pump-4"])
        #expect(alerted(asMachine.lines, 0..<1300) == 0, "\(asMachine.run.standardOutput)")
        #expect(alerted(asMachine.lines, 1300..<1500) > 100, "\(asMachine.run.standardOutput)")
        // Stopped rows are not judged: no score, no alert; running rows have a score.
        #expect((600..<900).allSatisfy { asMachine.lines[$0][1].isEmpty && asMachine.lines[$0][3] == "0" })
        #expect((900..<1500).allSatisfy { !asMachine.lines[$0][1].isEmpty })
        #expect(asMachine.run.standardOutput.contains("1200 judged (300 stopped, settling or stopping)"), "\(asMachine.run.standardOutput)")
        #expect(asMachine.run.standardOutput.contains("as pump-4 of \(folder.file("agent.conf")): tolerances supply_voltage ±11.4 V; run signal running"),
                "\(asMachine.run.standardOutput)")

        // Without ISO-8601 timestamps a row is one poll interval (the function calibrate uses too):
        // the same rows judged, the same predictions.
        let untimed = Self.pump(labels: false).split(separator: "\n").enumerated().map { i, line in
            i == 0 ? String(line) : "\(i - 1)" + line.drop { $0 != "," }
        }.joined(separator: "\n") + "\n"
        try untimed.write(toFile: folder.file("untimed.csv"), atomically: true, encoding: .utf8)
        let byRow = try await edgeAgent(["replay", "--input", folder.file("untimed.csv"), "--output", folder.file("untimed-pred.csv"),
                                   "--config", folder.file("agent.conf"), "--machine", "pump-4"])
        #expect(byRow.status == 0, "stderr: \(byRow.standardError)")
        #expect(byRow.standardOutput.contains("1200 judged (300 stopped, settling or stopping)"), "\(byRow.standardOutput)")
        let byRowLines = try String(contentsOfFile: folder.file("untimed-pred.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(byRowLines.map { $0[3] } == asMachine.lines.map { $0[3] })

        // A file named after its machine needs no --machine; an unknown machine is an error naming the known ones.
        try Self.pump(labels: false).write(toFile: folder.file("pump-4.csv"), atomically: true, encoding: .utf8)
        let byName = try await edgeAgent(["replay", "--input", folder.file("pump-4.csv"), "--output", folder.file("pred2.csv"),
                                    "--config", folder.file("agent.conf")])
        #expect(byName.status == 0, "stderr: \(byName.standardError)")
        #expect(try String(contentsOfFile: folder.file("pred2.csv"), encoding: .utf8) == String(contentsOfFile: folder.file("pred.csv"), encoding: .utf8))
        let unknown = try await edgeAgent(["replay", "--input", folder.file("export.csv"), "--output", folder.file("pred3.csv"),
                                     "--config", folder.file("agent.conf")])
        #expect(unknown.status != 0)
        #expect(unknown.standardError.contains("no machine \"export\""), "\(unknown.standardError)")
        #expect(unknown.standardError.contains("pump-4, compressor-1"), "\(unknown.standardError)")

        // agent.conf's [alerts] rule applies: 5 of 5 scores above the threshold raise 2 rows after 3 of 5.
        try (Self.configuration + "\n\n[alerts]\nraise_count = 5\nraise_window = 5\n")
            .write(toFile: folder.file("strict.conf"), atomically: true, encoding: .utf8)
        let strict = try await alerts(["--config", folder.file("strict.conf"), "--machine", "pump-4"])
        let first = try #require((0..<1500).first { asMachine.lines[$0][3] == "1" })
        #expect((0..<1500).first { strict.lines[$0][3] == "1" } == first + 2)
        // A number given on the command line wins over agent.conf's, even the shipped default.
        let explicit = try await alerts(["--config", folder.file("strict.conf"), "--machine", "pump-4", "--raise-count", "3"])
        #expect((0..<1500).first { explicit.lines[$0][3] == "1" } == first)
        // With --config, --raise-count is checked against the raise window in force (agent.conf's 5).
        let tooMany = try await edgeAgent(["replay", "--input", folder.file("export.csv"), "--output", folder.file("pred4.csv"),
                                     "--config", folder.file("agent.conf"), "--machine", "pump-4", "--raise-count", "6"])
        #expect(tooMany.status != 0)
        #expect(tooMany.standardError.contains("--raise-count 6 is more than raise_window 5"), "\(tooMany.standardError)")
    }

    @Test("evaluate --config scores a data set of pumps and compressors each with its own run signal and threshold")
    func evaluateMixedFleet() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try Self.configuration.write(toFile: folder.file("agent.conf"), atomically: true, encoding: .utf8)
        for (name, text) in [("mixed/pump-4.csv", Self.pump(labels: true)), ("mixed/compressor-1.csv", Self.compressor()),
                             ("pumps/pump-4.csv", Self.pump(labels: true)), ("compressors/compressor-1.csv", Self.compressor())] {
            try FileManager.default.createDirectory(atPath: folder.file(String(name.split(separator: "/")[0])), withIntermediateDirectories: true)
            try text.write(toFile: folder.file(name), atomically: true, encoding: .utf8)
        }
        func files(_ arguments: [String]) async throws -> [String: [String: Any]] {
            let run = try await edgeAgent(["evaluate", "--calibration-rows", "400", "--json"] + arguments)
            #expect(run.status == 0, "stderr: \(run.standardError)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
            let list = try #require(object["files"] as? [[String: Any]])
            return Dictionary(uniqueKeysWithValues: list.map { ($0["file"] as? String ?? "", $0) })
        }
        let mixed = try await files(["--dataset", folder.file("mixed"), "--config", folder.file("agent.conf")])
        // Each file alone, with its own machine's settings on the command line.
        let pump = try await files(["--dataset", folder.file("pumps"), "--run-signal", "running"])
        let compressor = try await files(["--dataset", folder.file("compressors"), "--run-signal", "motor_current",
                                    "--run-threshold", "10", "--stop-grace-rows", "2"])
        let c = try #require(mixed["compressor-1.csv"]), cAlone = try #require(compressor["compressor-1.csv"])
        for key in ["rows", "tp", "fp", "fn", "tn"] {
            #expect(c[key] as? Int == cAlone[key] as? Int, "compressor \(key): \(c[key] ?? "-") with --config, \(cAlone[key] ?? "-") alone")
        }
        #expect((c["rows"] as? Int ?? 0) < 1100)
        #expect((c["tp"] as? Int ?? 0) > 0)
        // The pump gets the same rows, and its voltage tolerance too (which the command line cannot give).
        let p = try #require(mixed["pump-4.csv"]), pAlone = try #require(pump["pump-4.csv"])
        #expect(p["rows"] as? Int == 1200)
        #expect(pAlone["rows"] as? Int == 1200)
        #expect(p["fp"] as? Int == 0)
        #expect((pAlone["fp"] as? Int ?? 0) > 300)
        #expect((p["tp"] as? Int ?? 0) > 100)
        // One --run-signal for the whole set cannot: the compressor has no running column and keeps its stop.
        let one = try await files(["--dataset", folder.file("mixed"), "--run-signal", "running"])
        #expect(one["compressor-1.csv"]?["rows"] as? Int == 1200)

        let conflict = try await edgeAgent(["evaluate", "--dataset", folder.file("mixed"), "--config", folder.file("agent.conf"), "--run-signal", "running"])
        #expect(conflict.status != 0)
        #expect(conflict.standardError.contains("--config takes each machine's run_signal"), "\(conflict.standardError)")
    }
}
