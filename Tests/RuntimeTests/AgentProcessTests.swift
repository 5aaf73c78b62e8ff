import EdgeCore
import Foundation
import ModbusServer
import Runtime
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `edge-agent run` as a process against a real libmodbus server on loopback: what systemd and
/// operators see (signals, notify socket, files).
@Suite(.serialized) struct AgentProcessTests {
    /// An agent.conf with `machines` machines of `sensors` holding registers each on one TCP bus.
    static func configuration(port: Int, directory: String, machines: Int = 2, sensors: Int = 10,
                              poll: String = "50ms", timeout: String = "300ms", extraSensor: String = "") -> String {
        var text = """
            [agent]
            data_dir = "\(directory)/data"
            alert_log = "\(directory)/alerts.jsonl"
            summary_dir = "\(directory)/summaries"

            [[bus]]
            name = "line"
            type = "tcp"
            host = "127.0.0.1"
            port = \(port)
            response_timeout = "\(timeout)"

            """
        for m in 0..<machines {
            text += """

                [[machine]]
                id = "m\(m)"
                poll_interval = "\(poll)"

                """
            for s in 0..<sensors {
                text += """

                    [[machine.sensor]]
                    name = "s\(s)"
                    bus = "line"
                    unit_id = \(m + 1)
                    address = \(s)
                    type = "uint16"

                    """
            }
        }
        return text + extraSensor
    }

    /// Starts `edge-agent run` with the given environment additions; stdout/stderr go to
    /// `agent.log` in `directory`. A `ChildProcess`: it cannot outlive the test process.
    static func startAgent(config: String, directory: String, environment: [String: String] = [:]) throws -> ChildProcess {
        let binary = try #require(builtExecutable(named: "edge-agent"), "build edge-agent first (swift build)")
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "WATCHDOG_USEC")
        for (k, v) in environment { env[k] = v }
        return try ChildProcess(binary, ["run", "--config", config], environment: env, outputFile: directory + "/agent.log")
    }

    /// Blocks until `process` exited or `seconds` passed (for `defer`; tests await `waitForExit`).
    static func waitForExit(_ process: ChildProcess, seconds: Double) -> Bool {
        process.waitForExit(seconds: seconds)
    }

    /// Waits until `edge-agent run` has started polling (its "agent running" line; `occurrences`
    /// 2 for the start after a reload): from then on its signal handlers are in place. Start-up
    /// takes seconds on a loaded 2-core machine, where fixed sleeps sent signals too early.
    static func waitUntilRunning(_ directory: String, occurrences: Int = 1) async -> Bool {
        await waitUntilFile(directory + "/agent.log", contains: "agent running: ", occurrences: occurrences, seconds: 60)
    }

    /// Waits (polling every 20 ms, without blocking a thread) until `condition` holds or `seconds` pass.
    static func eventually(within seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            guard await pauseUnlessCancelled(.milliseconds(20)) else { break }
        }
        return condition()
    }

    static func sqlite(_ database: String, _ query: String) async throws -> String {
        let run = try await runProgram("/usr/bin/sqlite3", [database, query])
        return run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3")))
    func sigtermDuringHeavyPollingLosesNoPolledReading() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1, 2, 3, 4])
        defer { server.stop() }
        let config = dir.file("agent.conf")
        try Self.configuration(port: server.port, directory: dir.path, machines: 4, sensors: 25, poll: "10ms")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try Self.startAgent(config: config, directory: dir.path)
        defer { agent.killAndWait() }
        // SIGTERM in the middle of heavy polling: once the four units have answered 100 polls
        // between them (2,500 readings), however long start-up took.
        #expect(await Self.waitUntilRunning(dir.path))
        let requests = { (1...4).reduce(0) { $0 + server.requestCount(unit: $1) } }
        #expect(await Self.eventually(within: 60) { requests() >= 100 }, "\(requests()) requests")
        agent.terminate()  // SIGTERM
        #expect(await agent.waitForExit(seconds: 25))
        #expect(agent.terminationStatus == 0)
        let database = dir.file("data/edge-agent.db")
        let stored = try #require(Int(try await Self.sqlite(database, "SELECT count(*) FROM readings")))
        let status = try await Self.sqlite(database, "SELECT value FROM kv WHERE key = 'runtime.status'")
        let polled = try RuntimeStatus.decode(status).readingsPolled
        #expect(polled > 1000, "the agent polled too little to test anything (\(polled))")
        #expect(stored == polled, "polled \(polled) readings but \(stored) are in the buffer")
        #expect(try await Self.sqlite(database, "PRAGMA integrity_check") == "ok")
    }

    @Test func sighupWithBrokenConfigKeepsRunningOnTheOldOne() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        let config = dir.file("agent.conf")
        try Self.configuration(port: server.port, directory: dir.path).write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try Self.startAgent(config: config, directory: dir.path)
        defer { if agent.isRunning { agent.terminate(); _ = Self.waitForExit(agent, seconds: 20) } }
        // Before its handler is in place, SIGHUP would end the agent.
        #expect(await Self.waitUntilRunning(dir.path))
        try "[[machine]]\nid = 3\nflaot = true\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(agent.processIdentifier, SIGHUP)
        #expect(await waitUntilFile(dir.file("agent.log"), contains: "not reloaded, the running configuration stays in force", seconds: 60))
        let before = server.requestCount(unit: 1)
        #expect(await Self.eventually(within: 60) { server.requestCount(unit: 1) > before + 10 }, "polling stopped after a broken reload")
        #expect(agent.isRunning)
        let log = try String(contentsOfFile: dir.file("agent.log"), encoding: .utf8)
        #expect(log.contains("agent.conf:"))  // the problems name the file and line

        // A valid new configuration is taken: one machine only now.
        try Self.configuration(port: server.port, directory: dir.path, machines: 1).write(toFile: config, atomically: true, encoding: .utf8)
        kill(agent.processIdentifier, SIGHUP)
        // The new pipeline runs once the agent says so a second time; the old one's pollers
        // have stopped before that.
        #expect(await Self.waitUntilRunning(dir.path, occurrences: 2))
        let unit2 = server.requestCount(unit: 2)
        try await Task.sleep(for: .seconds(1))
        #expect(server.requestCount(unit: 2) == unit2, "the reloaded configuration no longer polls unit 2")
        #expect(agent.isRunning)
    }

    @Test func notifySocketGetsReadyAndWatchdogOnlyWhilePollingCompletes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        let listener = try NotifyListener(path: dir.file("notify.sock"))
        let config = dir.file("agent.conf")
        // A response timeout (60 s) far longer than the watchdog (1 s): a silent unit blocks the
        // poll cycle for far longer than the 5 s this test watches it (see below).
        let responseTimeout = Duration.seconds(60)
        try Self.configuration(port: server.port, directory: dir.path, machines: 1, poll: "100ms", timeout: "60s")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try Self.startAgent(config: config, directory: dir.path,
                                        environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "1000000"])
        defer { if agent.isRunning { agent.terminate(); _ = Self.waitForExit(agent, seconds: 40) } }
        // Three pings while polling completes, however long start-up takes.
        var healthy: [String] = []
        let pinged = await Self.eventually(within: 60) {
            healthy += listener.drain()
            return healthy.filter { $0 == "WATCHDOG=1" }.count >= 3
        }
        #expect(pinged, "got \(healthy)")
        #expect(healthy.first?.hasPrefix("READY=1") == true, "got \(healthy.prefix(3))")

        // Stuck from the first request the server ignores. Counted after the fault is set, a
        // request is one the server decided on with the fault in place (the one counted before
        // could still be answered, and its cycle, completed late on a starved machine, pinged for
        // inside the watched window: 2 pings there in a loaded whole-suite run). Once the ignored
        // request has arrived, every cycle before it has been handed over; the ticker (every
        // 500 ms, waiting for a core on a loaded machine) may still send one ping for them, and
        // nothing after that: at most one ping in the 5 s watched (without the product's rule it
        // pings every 500 ms).
        //
        // The watched stretch must end while the poller still waits: once the response timeout
        // has passed, the unit is skipped for its backoff (1 s), cycles complete with stale
        // readings and are rightly pinged for (2-3 pings), then the next request waits again.
        // This task can resume many seconds late on a loaded machine (its sleeps share two
        // threads with the whole suite), and with a 15 s timeout a loaded run saw 3 pings: a
        // stretch that outlasted the wait. So the wait is 60 s, and the stretch is measured from
        // before the ignored request arrived (when the fault was set); one that did not end
        // inside the wait says nothing about the product and is taken again.
        var judged = false
        for attempt in 1...3 where !judged {
            server.setFault(.silent, unit: 1)  // the poller now waits 60 s for every answer
            let faultSet = ContinuousClock.now
            let sent = server.requestCount(unit: 1)
            #expect(await Self.eventually(within: 30) { server.requestCount(unit: 1) > sent })
            _ = listener.drain()
            try await Task.sleep(for: .seconds(5))
            let stuck = listener.drain()
            let watched = ContinuousClock.now - faultSet
            print("watchdog test: attempt \(attempt), stretch ended \(watched) after the fault was set, \(stuck.filter { $0 == "WATCHDOG=1" }.count) pings")
            if watched < responseTimeout {
                judged = true
                #expect(stuck.filter { $0 == "WATCHDOG=1" }.count <= 1,
                        "watchdog pings went on while polling was stuck: \(stuck); requests \(sent) -> \(server.requestCount(unit: 1)); stretch ended \(watched) after the fault was set; agent log: \(((try? String(contentsOfFile: dir.file("agent.log"), encoding: .utf8)) ?? "").suffix(3000))")
            }
            server.setFault(nil, unit: 1)
            // The request the server ignored would hold the agent's stop (or the next attempt)
            // until its timeout.
            server.dropAllConnections()
            if !judged {
                #expect(await Self.eventually(within: 60) { listener.drain().contains("WATCHDOG=1") }, "pings did not resume")
            }
        }
        #expect(judged, "every watched stretch outlasted the poller's \(responseTimeout) wait")
    }
}
