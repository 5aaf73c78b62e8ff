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
    /// Sends one line to the simulator's control port and returns its answer.
    static func control(port: Int, _ command: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestSupportError("cannot connect to the control port \(port)") }
        let line = command + "\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = read(fd, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    }

    static func anomalyEvents(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["kind"] as? String == "anomaly" }
    }

    @Test func injectedFaultRaisesAnAlertNamingTheMachineAndItsSensors() async throws {
        let binary = try #require(builtExecutable(named: "edge-agent"))
        let dir = try TemporaryDirectory()
        defer {
            if let keep = ProcessInfo.processInfo.environment["EDGE_E2E_KEEP"] { _ = try? runProgram("/bin/cp", ["-a", dir.path, keep]) }
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

        // 200 rows of normal operation (200 ms polls of a simulator 5× real time) at three
        // loads, as a commissioning run would take the pump through its operating points.
        for load in ["0.5", "0.9", "0.7"] {
            let answer = try Self.control(port: controlPort, "load pump-1 \(load)")
            #expect(answer.hasPrefix("ok"), "simulator answered: \(answer)")
            try await Task.sleep(for: .seconds(13))
        }
        try await Task.sleep(for: .seconds(1))
        // 40 s of the buffer's clock are 200 simulated seconds: calibrate counts the buffer's
        // time and refuses so short a stretch, hence --force (what is tested here is the path
        // from the buffer to alerts, not how much calibration data is enough).
        let calibration = try runProgram(binary, ["calibrate", "--config", configPath, "--machine", "pump-1", "--last", "40s", "--force"])
        #expect(calibration.status == 0, "\(calibration.standardError)")
        print("E2E: calibrated at \(Timestamp.now().iso8601): \(calibration.standardOutput)")
        try await Task.sleep(for: .seconds(2))  // the agent picks up the new model

        // Normal operation with load changes, scored, as long as the fault phase below may
        // take: no anomaly alert for pump-1.
        for load in ["0.8", "0.6", "0.75"] {
            let answer = try Self.control(port: controlPort, "load pump-1 \(load)")
            #expect(answer.hasPrefix("ok"), "simulator answered: \(answer)")
            try await Task.sleep(for: .seconds(13))
        }
        let alertLog = dir.file("alerts.jsonl")
        let falseAlarms = Self.anomalyEvents(alertLog).filter { $0["machine"] as? String == "pump-1" }
        #expect(falseAlarms.isEmpty, "false alarms during normal operation: \(falseAlarms.map { $0["message"] ?? "" })")

        let injectedAt = Timestamp.now()
        print("E2E: injecting at \(injectedAt.iso8601)")
        let answer = try Self.control(port: controlPort, "inject pump-1 inlet-valve-closing severity=0.9 for=10m")
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
