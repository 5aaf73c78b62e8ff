import Configuration
import Foundation
import Modbus
import Testing
import TestSupport
@testable import Simulator

/// A TCP port that was free a moment ago on 127.0.0.1.
private func freePort() throws -> Int {
    let server = try ControlServer(port: 0)
    return server.port
}

/// `edge-agent simulate` as the demo drives it: start, wait for "ready", read, inject, stop.
@Suite(.serialized) struct SimulateCommandTests {
    @Test func servesInjectsAndStopsOnSigterm() async throws {
        let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
        let port = try freePort()
        let controlPort = try freePort()
        let dir = try TemporaryDirectory(prefix: "sim-serve")
        defer { dir.remove() }
        let outputFile = dir.file("stdout")
        func output() -> String { String(decoding: FileManager.default.contents(atPath: outputFile) ?? Data(), as: UTF8.self) }
        let process = try ChildProcess(
            executable,
            ["simulate", "--speed", "20", "--port", "\(port)", "--control-port", "\(controlPort)",
             "--faults", "compressor-1 overheating at=0s", "--fault-log", dir.file("faults.jsonl")],
            outputFile: outputFile, errorFile: dir.file("stderr"))
        defer { process.killAndWait() }

        // Until "ready" is printed, the simulator exits, or two minutes (a loaded machine) pass.
        var printed = output()
        let deadline = ContinuousClock.now + .seconds(120)
        while !printed.contains("\nready\n") && process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            printed = output()
        }
        try #require(printed.contains("\nready\n"), "no ready line; printed: \(printed)")
        #expect(printed.contains("serving Modbus TCP on 127.0.0.1:\(port)"))
        #expect(printed.contains("unit 3: compressor-1"))
        #expect(printed.contains("control: 127.0.0.1:\(controlPort)"))

        // The agent's view: read pump-1's flow and status bit as agent.conf describes them.
        let config = try ConfigurationLoader.load(path: repositoryRoot() + "/agent.conf")
        let pump = try #require(config.machine(id: "pump-1"))
        let flow = try #require(pump.sensors.first { $0.name == "flow" })
        let client = try ModbusClient(transport: .tcp(host: "127.0.0.1", port: port))
        try client.connect()
        defer { client.close() }
        var registers = [UInt16](repeating: 0, count: 2)
        try client.readRegisters(flow.kind, unit: flow.unitID, address: flow.address, count: 2, into: &registers)
        let decoded = registers.withUnsafeBufferPointer { RegisterCodec.decode($0, start: 0, type: flow.type, order: flow.order) }
        #expect(decoded.quality == .good)

        let connection = try LineConnection(port: controlPort)
        let values = try connection.ask("values pump-1")
        #expect(values.hasPrefix("ok {\"time\":"))
        #expect(try connection.ask("status").contains("\"faults\": [\"overheating\"]"))
        // An hour of simulated time (3 minutes at 20×): the fault is still on when the simulator is
        // stopped, however slowly a busy machine runs this test (with 5 minutes, 15 s, a whole
        // suite run starting every test at once once saw it end: a third line in the fault log).
        #expect(try connection.ask("inject pump-1 cavitation for=60m severity=0.9").hasPrefix("ok pump-1 cavitation"))
        // The simulator's next step marks it (within 200 ms on an idle machine; a step waits for
        // a core on a busy one).
        #expect(try await eventually(within: 30) { try connection.ask("values pump-1").contains("\"anomaly\": true") })

        process.terminate()  // SIGTERM
        #expect(await process.waitForExit(seconds: 60))
        let rest = String(decoding: output().utf8.dropFirst(printed.utf8.count), as: UTF8.self)
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        #expect(rest.contains("stopped at simulated time"))
        #expect((printed + rest).contains("fault begins: compressor-1 overheating"))
        #expect(rest.contains("fault begins: pump-1 cavitation"))
        let log = try String(contentsOfFile: dir.file("faults.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(log.count == 2)
        #expect(log.contains { $0.contains("\"machine\": \"pump-1\", \"unit\": 1, \"event\": \"begin\", \"fault\": \"cavitation\"") })
    }

    @Test func exportWritesFilesFasterThanRealTime() async throws {
        let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
        let dir = try TemporaryDirectory(prefix: "sim-cli")
        defer { dir.remove() }
        let run = try await runProgram(executable, ["simulate", "--export", dir.path, "--machines", "4", "--hours", "1", "--seed", "5", "--sensors", "random"])
        let printed = run.standardOutput
        #expect(run.status == 0, "stderr: \(run.standardError)")
        #expect(printed.contains("wrote 4 machines × 3600 rows"))
        for id in ["pump-1", "motor-1", "compressor-1", "pump-2", ] {
            #expect(FileManager.default.fileExists(atPath: dir.file("\(id).csv")))
        }
        #expect(FileManager.default.fileExists(atPath: dir.file("manifest.json")))
    }

    @Test func simTomlIsReadAndCheckedWithKeyNames() throws {
        let dir = try TemporaryDirectory(prefix: "sim-toml")
        defer { dir.remove() }
        try """
        seed = 9
        machines = 4
        speed = 30
        step = "100ms"
        control_port = 0
        sensors = "all"
        change_interval = "0s"
        faults = ["pump-2 leak at=1m for=30s", "motor-1 imbalance profile=spike"]
        """.write(toFile: dir.file("sim.toml"), atomically: true, encoding: .utf8)
        let settings = try SimulatorSettings.load(path: dir.file("sim.toml"))
        #expect(settings.seed == 9 && settings.machines == 4 && settings.speed == 30 && settings.stepMilliseconds == 100)
        #expect(settings.controlPort == 0 && settings.sensors == .all && settings.port == 5020 && settings.changeIntervalSeconds == 0)
        #expect(settings.faults.map(\.machineID) == ["pump-2", "motor-1"])
        #expect(settings.faults[0].fault.startSeconds == 60 && settings.faults[0].fault.durationSeconds == 30)

        for (text, key) in [("sped = 3", "unknown key \"sped\""), ("machines = 0", "machines"), ("step = 5", "step"),
                            ("faults = [\"pump-1 flood\"]", "faults[0]: unknown fault \"flood\"")] {
            try text.write(toFile: dir.file("bad.toml"), atomically: true, encoding: .utf8)
            do {
                _ = try SimulatorSettings.load(path: dir.file("bad.toml"))
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.message.contains(dir.file("bad.toml")) && error.message.contains(key), "\(error.message)")
            }
        }
    }
}
