import EdgeCore
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The whole chain as a user runs it: `edge-agent simulate` → `edge-agent run` with the
/// repository's agent.conf → `edge-agent calibrate --last` → a fault injected on the
/// simulator's control port → an alert in the alert log.
@Suite(.serialized) struct EndToEndTests {
    static func anomalyEvents(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["kind"] as? String == "anomaly" }
    }

    /// Rows at one settled speed that calibration should see per load, with a margin over the 20
    /// it needs (rows are assembled from two units' polls, and a level near a bin's edge splits).
    static let settledRowsNeeded = 30

    /// pump-1's speed readings stored since `time`, and how many of them are settled as
    /// calibration judges it (the speed within 2 % over the last 21 polls) in the 5 % bin of
    /// log speed that holds the most: the rows calibration would count as this load's level.
    static func settledSpeedRows(_ database: String, since time: Timestamp) async throws -> (rows: Int, polls: Int) {
        guard FileManager.default.fileExists(atPath: database) else { return (0, 0) }
        let run = try await runProgram("/usr/bin/sqlite3", ["-batch", "-cmd", ".timeout 5000", "file:\(database)?mode=ro", """
            SELECT r.value FROM readings r JOIN sensors s ON s.id = r.sensor_id JOIN machines m ON m.id = s.machine_id
            WHERE m.name = 'pump-1' AND s.name = 'speed' AND r.quality = 0 AND r.t_ms >= \(time.millisecondsSinceEpoch) ORDER BY r.t_ms
            """])
        let logSpeed = run.standardOutput.split(separator: "\n").compactMap { Double($0) }.filter { $0 > 0 }.map { log($0) }
        var bins: [Int: Int] = [:]
        for r in logSpeed.indices.dropFirst(20) {
            let window = logSpeed[(r - 20)...r]
            guard let low = window.min(), let high = window.max(), high - low < 0.02 else { continue }
            bins[Int((logSpeed[r] / 0.05).rounded(.down)), default: 0] += 1
        }
        return (bins.values.max() ?? 0, logSpeed.count)
    }

    @Test func injectedFaultRaisesAnAlertNamingTheMachineAndItsSensors() async throws {
        let binary = try #require(builtExecutable(named: "edge-agent"))
        let dir = try TemporaryDirectory()
        defer {
            if let keep = ProcessInfo.processInfo.environment["EDGE_E2E_KEEP"] { _ = try? runProgramBlocking("/bin/cp", ["-a", dir.path, keep]) }
            dir.remove()
        }
        let modbusPort = Int.random(in: 21_000...29_000)
        let controlPort = modbusPort + 1
        let simulator = try ChildProcess(binary, ["simulate", "--speed", "5", "--port", "\(modbusPort)", "--control-port", "\(controlPort)"])
        defer { simulator.stop() }

        // The repository's agent.conf, pointed at this simulator and this temp directory.
        var config = try String(contentsOfFile: repositoryRoot() + "/agent.conf", encoding: .utf8)
        config = config.replacingOccurrences(of: "port = 5020", with: "port = \(modbusPort)")
            .replacingOccurrences(of: "\"demo-out/", with: "\"\(dir.path)/")
        let configPath = dir.file("agent.conf")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(500))
        let agent = try AgentProcessTests.startAgent(config: configPath, directory: dir.path)
        defer { if agent.isRunning { agent.terminate(); _ = AgentProcessTests.waitForExit(agent, seconds: 20) } }

        // Normal operation at three loads, as a commissioning run would take the pump through its
        // operating points: at least 13 s at each (65 polls of 200 ms; a simulator at 5x real
        // time), and until the buffer holds the settled stretch calibration needs there. Its load
        // prior is tested at the settled speeds it sees (LoadCompensation.droppingMisfits: 20 rows
        // within 2 %, at least 20 such rows in one 5 % bin of log speed), and a speed it does not
        // see settled is one the prior alone must cover. On a loaded machine polls come late,
        // so 13 s may hold fewer settled rows, and `--last 40s` (counted from when calibrate
        // starts, seconds late for a debug binary on a loaded machine) cut into the first load:
        // in whole-suite runs beside other builds calibration once saw "2 settled speeds", and 3
        // of 4 such runs raised a false alarm. So each load lasts until the condition holds, and
        // the calibration covers exactly this stretch.
        //
        // Each load also lasts at least as long as the one before, so no load outweighs the
        // later ones: calibration takes the median speed as the machine's reference, and a
        // first load held 34 s (its settled rows came late on a loaded machine) against 13 s
        // for the others made half speed the reference, where this pump's lagged temperatures
        // (still at the levels of its warm-up load minutes after each change) and its refitted
        // flow law were judged at 0.7-0.8 load: a winding_temperature alert 4 s after the model
        // loaded. The same stretches offline (pump-1 of seed 1, calibrated as `calibrate` does,
        // then 65 rows at each later load): 134-135 alerting rows with 170 rows at the first load
        // and 65 at the others, none with 65/65/65, 65/65/170, 65/170/170, 100/125/250 or
        // 170/170/170 rows, at four times of day. A commissioning run holds each operating point
        // for a while; this test does it in seconds, where `calibrate` refuses so short a
        // stretch without --force (below).
        let database = dir.file("data/edge-agent.db")
        let calibrationStart = Timestamp.now()
        var settledPerLoad: [String] = []
        var longestLoad = Duration.seconds(13)
        for load in ["0.5", "0.9", "0.7"] {
            let answer = try sendSimulatorControl(port: controlPort, "load pump-1 \(load)")
            #expect(answer.hasPrefix("ok"), "simulator answered: \(answer)")
            let changed = Timestamp.now()
            let changedClock = ContinuousClock.now
            try await Task.sleep(for: longestLoad)
            var settled = try await Self.settledSpeedRows(database, since: changed)
            let deadline = ContinuousClock.now + .seconds(120)
            while settled.rows < Self.settledRowsNeeded && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(500))
                settled = try await Self.settledSpeedRows(database, since: changed)
            }
            longestLoad = max(longestLoad, ContinuousClock.now - changedClock)
            settledPerLoad.append("load \(load): \(settled.rows) settled of \(settled.polls) polls in \(Timestamp.now().millisecondsSinceEpoch - changed.millisecondsSinceEpoch) ms")
            try #require(settled.rows >= Self.settledRowsNeeded,
                         "load \(load): \(settled.rows) rows at a settled speed in the buffer after 120 s (calibration needs 20, this test \(Self.settledRowsNeeded))")
        }
        print("E2E: calibration stretch: " + settledPerLoad.joined(separator: "; "))
        // The stretch is 39-110 s of the buffer's clock, 200-550 simulated seconds: calibrate
        // counts the buffer's time and refuses so short a stretch, hence --force (what is tested
        // here is the path from the buffer to alerts, not how much calibration data is enough).
        let calibration = try await runProgram(binary, [
            "calibrate", "--config", configPath, "--machine", "pump-1", "--from", calibrationStart.iso8601,
            "--until", Timestamp.now().iso8601, "--force",
        ])
        #expect(calibration.status == 0, "\(calibration.standardError)")
        print("E2E: calibrated at \(Timestamp.now().iso8601): \(calibration.standardOutput)")
        // The agent picks up the new model.
        #expect(await waitUntilFile(dir.file("agent.log"), contains: "pump-1: new model loaded", seconds: 60), "the agent did not load pump-1's model")

        // Normal operation with load changes, scored, as long as the fault phase below may
        // take: no anomaly alert for pump-1.
        for load in ["0.8", "0.6", "0.75"] {
            let answer = try sendSimulatorControl(port: controlPort, "load pump-1 \(load)")
            #expect(answer.hasPrefix("ok"), "simulator answered: \(answer)")
            try await Task.sleep(for: .seconds(13))
        }
        let alertLog = dir.file("alerts.jsonl")
        let falseAlarms = Self.anomalyEvents(alertLog).filter { $0["machine"] as? String == "pump-1" }
        #expect(falseAlarms.isEmpty, "false alarms during normal operation: \(falseAlarms.map { $0["message"] ?? "" })")

        let injectedAt = Timestamp.now()
        print("E2E: injecting at \(injectedAt.iso8601)")
        let answer = try sendSimulatorControl(port: controlPort, "inject pump-1 inlet-valve-closing severity=0.9 for=10m")
        #expect(answer.hasPrefix("ok"), "simulator answered: \(answer)")
        // The fault ramps to full severity over its 10 simulated minutes, 120 s of wall time at 5×:
        // the alert must come while it develops. Measured on 6c25449: 12 s after the injection
        // when this test runs alone, 47 s beside the rest of the suite on 2 cores (the 40 s
        // allowed until then failed 2 of 6 full runs; see the 2026-11-29 session note). Not the
        // CPU load but the load prior: 8 runs alone and beside busy loops took 12, 40-48 or 52 s
        // depending on whether calibration discounted inlet pressure as wandering (README, "The
        // end-to-end test's alert delay"). Since calibration drops the prior for flow (this pump's
        // own elasticity contradicts the kind's), 9 runs took 11-12 s, or 37-41 s when inlet
        // pressure is still discounted, with no false alarm (docs/load-prior.md, "When calibration
        // itself shows several speeds"). Since it also re-fits lagged roles that settle (inlet and
        // outlet pressure, current) to this pump's own law, 8 runs alerted after 9.0 s (docs/load-prior.md,
        // "Lagged roles judged where they settle"). EDGE_E2E_KEEP=DIR keeps the run's folder for rescoring.
        var raised: [String: Any]? = nil
        for _ in 0..<120 where raised == nil {
            try await Task.sleep(for: .seconds(1))
            raised = Self.anomalyEvents(alertLog).first { event in
                event["machine"] as? String == "pump-1"
                    && (event["event"] as? String == "raised" || event["severity"] as? String == "critical")
                    && !falseAlarms.contains { ($0["id"] as? String) == (event["id"] as? String) }
            }
        }
        print("E2E: alert \(raised.map { "\($0["started"] ?? "") seen \(Timestamp.now().millisecondsSinceEpoch - injectedAt.millisecondsSinceEpoch) ms after injection: \($0["message"] ?? "")" } ?? "none")")
        let alert = try #require(raised, "no alert for pump-1 within 120 s of the fault (while it ramps to full severity)")
        let sensors = (alert["top_sensors"] as? [[String: Any]] ?? []).compactMap { $0["sensor"] as? String }
        // Closing the inlet valve shows in inlet pressure and flow first.
        #expect(!Set(sensors).isDisjoint(with: ["inlet_pressure", "flow", "outlet_pressure"]), "alert named \(sensors)")
    }
}
