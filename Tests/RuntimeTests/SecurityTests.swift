import Detection
import EdgeCore
import Foundation
import Runtime
import Store
import Summaries
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// What a gateway's other users can see of the agent: no file of its data is world-readable,
/// whatever the umask, and the agent opens no listening socket.
@Suite("Security: file modes and listening sockets", .serialized)
struct SecurityTests {
    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
    }

    /// Runs `body` with umask 0, the worst case: any mode left to the umask comes out 0666.
    /// (The umask is per process; the other suites running meanwhile only get looser files.)
    static func withoutUmask<T>(_ body: () throws -> T) rethrows -> T {
        let previous = umask(0)
        defer { umask(previous) }
        return try body()
    }

    @Test("buffer (with -wal and -shm), alert log, summaries and detector file are 0640 under umask 0")
    func filesAreNotWorldReadable() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Modes are read inside, while the buffer is open (closing it removes -wal and -shm).
        let modes: [(String, mode_t?)] = try Self.withoutUmask {
            let database = directory.file("edge-agent.db")
            let buffer = try BufferDatabase(path: database)
            try buffer.setValue("1", forKey: "security-test")
            let log = try AlertLog(path: directory.file("log/alerts.jsonl"))
            let alert = Alert(id: "a", machine: "m", kind: .anomaly, severity: .warning, started: Timestamp(millisecondsSinceEpoch: 0), message: "x")
            try log.append(AlertEvent(change: .raised, time: alert.started, alert: alert))
            let summaries = try SummaryWriter.write(SampleSummary.input(), to: directory.file("summaries"))
            let (detector, report) = Calibrator().calibrate(values: (0..<300).map { Float($0 % 7) }[...], sensorNames: ["a", "b", "c"])
            try DetectorFile(machine: "m", calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
                .write(to: directory.file("m.detector.json"))
            let paths = [database, database + "-wal", database + "-shm", directory.file("log/alerts.jsonl"),
                         summaries.json, summaries.csv, summaries.html, directory.file("m.detector.json")]
            let modes = paths.map { ($0, Self.mode($0)) }
            _ = try buffer.value(forKey: "security-test")
            return modes
        }
        for (path, mode) in modes {
            let mode = try #require(mode, "\(path) was not created")
            #expect(mode == 0o640, "\(path): \(String(mode, radix: 8))")
        }
        // Folders the agent creates are not open to others either.
        for folder in [directory.file("log"), directory.file("summaries")] {
            #expect(Self.mode(folder).map { $0 & 0o007 } == 0, "\(folder): \(String(Self.mode(folder) ?? 0, radix: 8))")
        }
    }

    /// The socket inodes a process holds, from its /proc/PID/fd links (`socket:[INODE]`).
    static func socketInodes(pid: Int32) -> Set<String> {
        let fdDirectory = "/proc/\(pid)/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? []
        return Set(entries.compactMap { entry in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(entry)"),
                  target.hasPrefix("socket:[") else { return nil }
            return String(target.dropFirst("socket:[".count).dropLast())
        })
    }

    /// Rows of /proc/PID/net/TABLE (tcp, tcp6, udp, udp6) owned by the process: (state, inode).
    /// A /proc file read to its end. `String(contentsOfFile:)` stops after the first page (4 KB)
    /// of a /proc file (its size reads as 0), which loses sockets once the machine has more than
    /// about 25 TCP sockets open, e.g. while other suites run.
    static func procText(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }

    static func inetSockets(pid: Int32, table: String, inodes: Set<String>) -> [(state: String, local: String)] {
        guard let text = Self.procText("/proc/\(pid)/net/\(table)") else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 9, inodes.contains(String(fields[9])) else { return nil }
            return (String(fields[3]), String(fields[1]))
        }
    }

    /// Listening Unix sockets (flag __SO_ACCEPTCON) owned by the process.
    static func listeningUnixSockets(pid: Int32, inodes: Set<String>) -> [String] {
        guard let text = Self.procText("/proc/\(pid)/net/unix") else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 6, inodes.contains(String(fields[6])), fields[3] == "00010000" else { return nil }
            return String(line)
        }
    }

    @Test("the agent with the shipped agent.conf listens on nothing; its buffer is not world-readable under umask 000",
          .enabled(if: builtExecutable(named: "edge-agent") != nil))
    func agentListensOnNothing() async throws {
        let binary = try #require(builtExecutable(named: "edge-agent"))
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let modbusPort = Int.random(in: 30_000...39_000)
        // ChildProcess: neither the simulator nor the agent can outlive a crashed test run.
        let simulator = try ChildProcess(binary, ["simulate", "--speed", "5", "--port", "\(modbusPort)", "--control-port", "\(modbusPort + 1)"])
        defer { simulator.stop() }

        var config = try String(contentsOfFile: repositoryRoot() + "/agent.conf", encoding: .utf8)
        config = config.replacingOccurrences(of: "port = 5020", with: "port = \(modbusPort)")
            .replacingOccurrences(of: "\"demo-out/", with: "\"\(directory.path)/")
        try config.write(toFile: directory.file("agent.conf"), atomically: true, encoding: .utf8)
        // Start the agent once the simulator listens (else its reconnect backoff outlasts the
        // wait below). This is also the check's positive control: it finds the simulator's two
        // listening ports (Modbus and control).
        var simulatorListening: [(state: String, local: String)] = []
        for _ in 0..<300 where simulatorListening.count < 2 && simulator.isRunning {
            try await Task.sleep(for: .milliseconds(100))  // never block the test pool's threads
            let inodes = Self.socketInodes(pid: simulator.processIdentifier)
            simulatorListening = (Self.inetSockets(pid: simulator.processIdentifier, table: "tcp", inodes: inodes)
                + Self.inetSockets(pid: simulator.processIdentifier, table: "tcp6", inodes: inodes)).filter { $0.state == "0A" }
        }
        #expect(simulatorListening.count == 2, "\(simulatorListening)")
        // `sh -c 'umask 000; exec edge-agent run …'`: the agent inherits the loosest umask.
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        environment.removeValue(forKey: "WATCHDOG_USEC")
        let agent = try ChildProcess(
            "/bin/sh", ["-c", "umask 000; exec \"$0\" run --config \"$1\" --metrics-file \"$2\"", binary,
                        directory.file("agent.conf"), directory.file("metrics.prom")],
            environment: environment, outputFile: directory.file("agent.log"))
        defer { agent.stop() }

        // Wait until it holds its Modbus connection (any TCP state: under a sanitizer a slow
        // agent may still be connecting), the check's positive control for the agent.
        var inodes: Set<String> = []
        var connections: [(state: String, local: String)] = []
        for _ in 0..<300 where connections.isEmpty && agent.isRunning {
            try await Task.sleep(for: .milliseconds(100))
            inodes = Self.socketInodes(pid: agent.processIdentifier)
            connections = (Self.inetSockets(pid: agent.processIdentifier, table: "tcp", inodes: inodes)
                + Self.inetSockets(pid: agent.processIdentifier, table: "tcp6", inodes: inodes)).filter { $0.state != "0A" }
        }
        #expect(!connections.isEmpty, "the agent never connected to the simulator: \((try? String(contentsOfFile: directory.file("agent.log"), encoding: .utf8))?.suffix(1500) ?? "")")
        try await Task.sleep(for: .seconds(2))
        inodes = Self.socketInodes(pid: agent.processIdentifier)
        var listening: [String] = []
        for table in ["tcp", "tcp6"] {
            listening += Self.inetSockets(pid: agent.processIdentifier, table: table, inodes: inodes)
                .filter { $0.state == "0A" }.map { "\(table) \($0.local)" }
        }
        for table in ["udp", "udp6"] {
            listening += Self.inetSockets(pid: agent.processIdentifier, table: table, inodes: inodes).map { "\(table) \($0.local)" }
        }
        listening += Self.listeningUnixSockets(pid: agent.processIdentifier, inodes: inodes)
        #expect(agent.isRunning)
        #expect(listening.isEmpty, "the agent listens on \(listening)")

        for path in [directory.file("data/edge-agent.db"), directory.file("data/edge-agent.db-wal")] {
            let mode = try #require(Self.mode(path), "\(path) was not created")
            #expect(mode & 0o007 == 0, "\(path): \(String(mode, radix: 8))")
        }
    }

    @Test("systemd-analyze security rates the shipped unit OK (exposure ≤ 4.0)",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func systemdExposure() async throws {
        // --offline reads the unit file alone: no running systemd is needed.
        let run = try await runProgram("/usr/bin/systemd-analyze", ["security", "--offline=true", repositoryRoot() + "/systemd/edge-agent.service"])
        let line = try #require(run.standardOutput.split(separator: "\n").first { $0.contains("Overall exposure level") },
                                "no exposure level in: \(run.standardOutput.suffix(300)) \(run.standardError.suffix(300))")
        let number = try #require(line.split(separator: " ").compactMap { Double($0) }.first, "\(line)")
        #expect(number <= 4.0, "\(line)")
        #expect(line.contains("OK"), "\(line)")
    }
}
