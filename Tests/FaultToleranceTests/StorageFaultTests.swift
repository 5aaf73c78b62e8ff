import EdgeCore
import Foundation
import ModbusServer
import Runtime
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs mounted for one test (needs root or CAP_SYS_ADMIN; nil when not permitted).
final class SmallFilesystem {
    let path: String
    private var mounted = true

    init?(at path: String, size: String, readOnly: Bool = false) {
        self.path = path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let options = "size=\(size),mode=0755" + (readOnly ? ",ro" : "")
        guard let run = try? runProgramBlocking("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", path]), run.status == 0 else { return nil }
    }

    /// Fills the file system with a filler file until it refuses more (ENOSPC).
    func fill() -> Int {
        let fd = open(path + "/filler", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5A, count: 4096)
        var total = 0
        while true {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            total += n
        }
        return total
    }

    /// Gives the space back.
    func free() { unlink(path + "/filler") }

    func unmount() {
        guard mounted else { return }
        mounted = false
        _ = try? runProgramBlocking("/bin/umount", ["-l", path])
    }

    deinit { unmount() }
}

/// The buffer's disk fills up, is read-only, or disappears.
@Suite(.serialized) struct StorageFaultTests {
    static let canMount: Bool = {
        guard getuid() == 0, let probeDir = try? TemporaryDirectory(prefix: "mount-probe") else { return false }
        defer { probeDir.remove() }
        guard let fs = SmallFilesystem(at: probeDir.file("m"), size: "64k") else { return false }
        fs.unmount()
        return true
    }()

    static func configuration(directory: String, dataDirectory: String, port: Int) -> String {
        var text = agentTable(directory, dataDirectory: dataDirectory)
        text += """

            [[bus]]
            name = "line"
            type = "tcp"
            host = "127.0.0.1"
            port = \(port)
            response_timeout = "200ms"
            max_backoff = "1s"

            """
        for m in 1...2 {
            text += "\n[[machine]]\nid = \"m\(m)\"\npoll_interval = \"20ms\"\n"
            for s in 0..<20 {
                text += "\n  [[machine.sensor]]\n  name = \"s\(s)\"\n  bus = \"line\"\n  unit_id = \(m)\n  address = \(s)\n"
            }
        }
        return text
    }

    /// How a test fills the disk under the buffer.
    enum FullDisk: String, CaseIterable, Sendable, Codable, CustomTestStringConvertible {
        /// The buffer on a 16 MB tmpfs, filled up by another file (needs root).
        case smallFilesystem
        /// SQLite's `max_page_count` capped at the file's size (works anywhere).
        case pageLimit
        var testDescription: String { rawValue }
        static var available: [FullDisk] { StorageFaultTests.canMount ? allCases : [.pageLimit] }
    }

    /// The disk under the buffer fills: alerting goes on (the alert log is elsewhere), the
    /// condition is reported once, readings wait in memory, and when space returns they are all
    /// written.
    @Test(.enabled(if: sqlite3Available), .timeLimit(.minutes(2)), arguments: FullDisk.available)
    func diskFullKeepsAlertingReportsOnceAndRecovers(_ mode: FullDisk) async throws {
        let result = await #expect(processExitsWith: .success, observing: childOutput) { [mode] in
            try await StorageFaultTests.diskFullKeepsAlertingReportsOnceAndRecoversScenario(mode)
        }
        printChildOutput(result)
    }

    /// The scenario, in its exit test's process (see `childOutput`).
    static func diskFullKeepsAlertingReportsOnceAndRecoversScenario(_ mode: FullDisk) async throws {
        let dir = try TemporaryDirectory(prefix: "disk-full")
        defer { dir.remove() }
        var fs: SmallFilesystem? = nil
        if mode == .smallFilesystem {
            guard let mounted = SmallFilesystem(at: dir.file("small"), size: "16m") else {
                Issue.record("cannot mount a tmpfs although the probe could")
                return
            }
            fs = mounted
        }
        defer { fs?.unmount() }
        let dataDirectory = (fs?.path ?? dir.path) + "/data"
        let database = dataDirectory + "/edge-agent.db"
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        let configuration = try loadConfiguration(
            Self.configuration(directory: dir.path, dataDirectory: dataDirectory, port: server.port), in: dir)
        let agent = RunningAgent(configuration)
        #expect(await agent.waitUntilReady())
        try await Task.sleep(for: .seconds(1))

        var filled = 0
        if let fs {
            filled = fs.fill()
        } else {
            filled = Int(try await sqlite(database, "PRAGMA page_count")) ?? 0
            agent.runtime.limitBufferPages(to: filled)
        }
        #expect(filled > 0)
        // Let the writer hit the wall, then make a unit go silent: an alert must still be raised.
        #expect(await eventually(within: 30) { !agent.log.messages(containing: "buffer not writable").isEmpty },
                "the full disk was not reported: \(agent.log.all.suffix(5))")
        let fullSince = Timestamp.now()
        server.setFault(.silent, unit: 2)
        let alertLog = dir.file("alerts.jsonl")
        #expect(await eventually(within: 30) {
            (try? String(contentsOfFile: alertLog, encoding: .utf8))?.contains("\"unit_offline\"") == true
        }, "no alert reached the alert log while the disk was full")
        try await Task.sleep(for: .seconds(3))  // several retries while still full
        #expect(!agent.hasEnded)
        let failingReports = agent.log.messages(containing: "buffer not writable")
        let writerReports = agent.log.messages(containing: "buffer writes failing")
        #expect(failingReports.count == 1, "reported \(failingReports.count) times: \(failingReports)")
        #expect(writerReports.count == 1, "reported \(writerReports.count) times: \(writerReports)")

        if let fs { fs.free() } else { agent.runtime.limitBufferPages(to: 1 << 30) }
        server.setFault(nil, unit: 2)
        let freedAt = Timestamp.now()
        #expect(await eventually(within: 30) { !agent.log.messages(containing: "buffer writable again").isEmpty },
                "no recovery reported after space returned")
        try await Task.sleep(for: .seconds(1))
        #expect(agent.log.messages(containing: "buffer writable again").count == 1)
        #expect(await agent.stop() == nil)
        let polled = agent.runtime.counters.readingsPolled

        #expect(try await sqlite(database, "PRAGMA integrity_check") == "ok")
        let stored = Int(try await sqlite(database, "SELECT count(*) FROM readings")) ?? -1
        let storedWhileFull = Int(try await sqlite(database, """
            SELECT count(*) FROM readings WHERE t_ms >= \(fullSince.millisecondsSinceEpoch) AND t_ms < \(freedAt.millisecondsSinceEpoch)
            """)) ?? -1
        // Nothing polled is lost: what waited in memory while the disk was full is in the buffer now.
        #expect(stored == polled, "polled \(polled), stored \(stored)")
        #expect(storedWhileFull > 0, "readings from the full period were not written after recovery")
        #expect(invalidJSONLines(alertLog).isEmpty)
        print("disk full (\(mode)): \(fs == nil ? "capped at \(filled) pages" : "filler \(filled) bytes"); reported \(failingReports.count)×, recovered \(agent.log.messages(containing: "buffer writable again").count)×; polled \(polled), stored \(stored) (\(storedWhileFull) from the full period)")
    }

    /// `edge-agent run` with a buffer directory it cannot use: a clear error naming the path, exit 1.
    @Test(.enabled(if: sqlite3Available), .timeLimit(.minutes(1)))
    func unusableDataDirectoryAtStartIsAClearError() async throws {
        let binary = try #require(builtExecutable(named: "edge-agent"), "build edge-agent first (swift build)")
        let dir = try TemporaryDirectory(prefix: "bad-data-dir")
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }

        var cases: [(String, String)] = []
        // A path through a regular file: the directory cannot exist.
        try "not a directory".write(toFile: dir.file("file"), atomically: true, encoding: .utf8)
        cases.append(("through a file", dir.file("file") + "/data"))
        // A read-only file system (root ignores permission bits, so mount one read-only).
        var readOnlyFS: SmallFilesystem? = nil
        defer { readOnlyFS?.unmount() }
        if Self.canMount {
            readOnlyFS = SmallFilesystem(at: dir.file("ro"), size: "1m", readOnly: true)
            if let readOnlyFS { cases.append(("read-only", readOnlyFS.path)) }
        } else if getuid() != 0 {
            try FileManager.default.createDirectory(atPath: dir.file("ro"), withIntermediateDirectories: true)
            chmod(dir.file("ro"), 0o555)
            cases.append(("read-only", dir.file("ro")))
        }
        for (name, dataDirectory) in cases {
            let sub = dir.file(name.replacingOccurrences(of: " ", with: "-"))
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            let config = sub + "/agent.conf"
            try Self.configuration(directory: sub, dataDirectory: dataDirectory, port: server.port)
                .write(toFile: config, atomically: true, encoding: .utf8)
            let agent = try ChildProcess(binary, ["run", "--config", config], outputFile: sub + "/agent.log")
            #expect(await agent.waitForExit(seconds: 20), "\(name): the agent kept running without a usable buffer")
            agent.killAndWait()
            let log = (try? String(contentsOfFile: sub + "/agent.log", encoding: .utf8)) ?? ""
            #expect(agent.terminationReason == .exit && agent.terminationStatus != 0, "\(name): exit \(agent.terminationStatus)")
            #expect(log.contains(dataDirectory), "\(name): the error does not name \(dataDirectory): \(log.suffix(400))")
            print("\(name) data_dir: exit \(agent.terminationStatus): \(log.split(separator: "\n").last { $0.contains("critical") || $0.contains("error") } ?? "")")
        }
        #expect(cases.count >= 1)
    }

    /// A file-size limit (`ulimit -f`) is a full disk, not a crash: the kernel's SIGXFSZ would
    /// kill the agent at the first write past it; ignored, the write fails with EFBIG, the
    /// buffer reports it once and the agent keeps running and stops cleanly.
    @Test(.enabled(if: sqlite3Available), .timeLimit(.minutes(2)))
    func fileSizeLimitIsAFullDiskNotACrash() async throws {
        let binary = try #require(builtExecutable(named: "edge-agent"), "build edge-agent first (swift build)")
        let dir = try TemporaryDirectory(prefix: "fsize-limit")
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        let config = dir.file("agent.conf")
        try Self.configuration(directory: dir.path, dataDirectory: dir.file("data"), port: server.port)
            .write(toFile: config, atomically: true, encoding: .utf8)
        // 512 blocks of 512 bytes (dash counts in those): the buffer passes 256 KB within
        // seconds at 2,000 readings/s. TMPDIR points nowhere for ThreadSanitizer's sake (see
        // AtomicityAndRetentionTests); the agent never reads it.
        let agent = try ChildProcess("/bin/sh", ["-c", "ulimit -f 512 && export TMPDIR=/nonexistent && exec \"$0\" run --config \"$1\"",
                                                 binary, config], outputFile: dir.file("agent.log"))
        func log() -> String { (try? String(contentsOfFile: dir.file("agent.log"), encoding: .utf8)) ?? "" }
        #expect(await eventually(within: 30) { log().contains("buffer not writable") || !agent.isRunning },
                "the limit was never reached: \(log().suffix(400))")
        try await Task.sleep(for: .seconds(2))
        #expect(agent.isRunning, "the agent died at the file-size limit (signal \(agent.terminationStatus)): \(log().suffix(400))")
        // Readings that cannot be written hold the shutdown up to its 20 s deadline.
        agent.terminate()
        #expect(await agent.waitForExit(seconds: 40))
        #expect(agent.terminationReason == .exit, "killed by signal \(agent.terminationStatus)")
        #expect(log().components(separatedBy: "buffer not writable").count - 1 == 1, "\(log().suffix(600))")
    }

    /// The buffer directory deleted under a running agent: reported, no crash, and the agent
    /// starts a fresh buffer where the configuration says.
    @Test(.enabled(if: sqlite3Available), .timeLimit(.minutes(1)))
    func dataDirectoryDeletedWhileRunning() async throws {
        let result = await #expect(processExitsWith: .success, observing: childOutput) {
            try await StorageFaultTests.dataDirectoryDeletedWhileRunningScenario()
        }
        printChildOutput(result)
    }

    /// The scenario, in its exit test's process (see `childOutput`).
    static func dataDirectoryDeletedWhileRunningScenario() async throws {
        let dir = try TemporaryDirectory(prefix: "deleted-data-dir")
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        let configuration = try loadConfiguration(
            Self.configuration(directory: dir.path, dataDirectory: dir.file("data"), port: server.port), in: dir)
        let agent = RunningAgent(configuration)
        #expect(await agent.waitUntilReady())
        try await Task.sleep(for: .seconds(1))
        try FileManager.default.removeItem(atPath: dir.file("data"))
        #expect(await eventually(within: 15) { !agent.log.messages(containing: "was deleted").isEmpty },
                "the deleted buffer was not reported: \(agent.log.all.suffix(5))")
        let database = dir.file("data/edge-agent.db")
        #expect(await eventually(within: 15) { FileManager.default.fileExists(atPath: database) }, "no new buffer")
        let restartedAt = Timestamp.now()
        try await Task.sleep(for: .seconds(2))
        #expect(!agent.hasEnded)
        #expect(await agent.stop() == nil)
        let fresh = Int(try await sqlite(database, "SELECT count(*) FROM readings WHERE t_ms >= \(restartedAt.millisecondsSinceEpoch)")) ?? 0
        #expect(fresh > 0, "no readings stored after the buffer was recreated")
        #expect(try await sqlite(database, "PRAGMA integrity_check") == "ok")
        #expect(agent.log.messages(containing: "was deleted").count == 1, "\(agent.log.messages(containing: "was deleted"))")
        print("deleted data_dir: reported \(agent.log.messages(containing: "was deleted").count)×, \(fresh) readings in the new buffer")
    }
}
