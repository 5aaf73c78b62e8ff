#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Runtime
import TestSupport
import Testing

/// An `[[action]]` program started by the running agent (a real libmodbus server on loopback,
/// the buffer open, an alert raised) has stdin, stdout and stderr open and nothing else of the
/// agent's: not its Modbus connection, not the buffer, not the alert log, not its threads' pipes.
///
/// What the agent itself opens is close-on-exec here (libmodbus 3.1.6 opens its sockets and
/// serial lines with SOCK_CLOEXEC/O_CLOEXEC, SQLite its files with O_CLOEXEC, our own code too);
/// what leaked before was what the agent's process holds without it: descriptors its parent left
/// open (a supervisor, a shell, this test runner), one a library opens without the flag, one
/// opened by another thread between `pipe()` and its `fcntl`. The test opens one such file
/// itself, so the old code fails here whatever the test runner left open.
///
/// The program is the test's own script: the shell the agent started sends its output to a file,
/// then becomes `ls -l /proc/$$/fd` (same process), which lists the program's descriptors and
/// its own directory's (one `/proc/<pid>/fd` entry, left out).
@Suite(.serialized) struct ActionDescriptorTests {
    @Test(.timeLimit(.minutes(2)))
    func anActionProgramGetsOnlyStandardDescriptors() async throws {
        let result = await #expect(processExitsWith: .success, observing: childOutput) {
            try await ActionDescriptorTests.anActionProgramGetsOnlyStandardDescriptorsScenario()
        }
        printChildOutput(result)
    }

    /// The scenario, in its exit test's process (see `childOutput`).
    static func anActionProgramGetsOnlyStandardDescriptorsScenario() async throws {
        let dir = try TemporaryDirectory(prefix: "action-fds")
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        // 65535 is outside 0…400 from the first poll: an out_of_range alert within a few cycles.
        try server.setRegisters([65535, 120], kind: .holding, unit: 1, address: 0)
        let listing = dir.file("action-fds.txt")
        let configuration = try loadConfiguration(agentTable(dir.path) + loopbackBusTable("a", port: server.port, responseTimeout: "2s") + """
            [[machine]]
            id = "pump-1"
            poll_interval = "100ms"

              [[machine.sensor]]
              name = "pressure"
              bus = "a"
              unit_id = 1
              address = 0
              min = 0
              max = 400

              [[machine.sensor]]
              name = "flow"
              bus = "a"
              unit_id = 1
              address = 1

            [[action]]
            type = "command"
            command = ["/bin/sh", "-c", 'exec > "$0"; exec ls -l /proc/$$/fd', "\(listing)"]
            on = ["raised"]
            timeout = "10s"

            """, in: dir)
        // A descriptor of the agent's process without close-on-exec.
        let inherited = open(dir.file("agent.conf"), O_RDONLY)
        try #require(inherited >= 0)
        defer { close(inherited) }
        let agent = RunningAgent(configuration)
        #expect(await agent.waitUntilReady())
        // `ls` writes its whole listing at once when it ends.
        let listed = await eventually(within: 30) {
            ((try? FileManager.default.attributesOfItem(atPath: listing)[.size] as? Int) ?? 0) > 0
        }
        // What this process (the agent runs in it) has open meanwhile: the buffer among them.
        let held = Self.openDescriptors(ofProcess: "self")
        #expect(!agent.hasEnded)
        #expect(await agent.stop() == nil)
        try #require(listed, "the action never ran: \(agent.log.all.suffix(5))")
        #expect(held.values.contains(dir.file("data/edge-agent.db")), "the agent did not hold the buffer open: \(held)")

        let text = try String(contentsOfFile: listing, encoding: .utf8)
        var descriptors: [Int: String] = [:]
        for line in text.split(separator: "\n") {
            guard let arrow = line.range(of: " -> "), let fd = line[..<arrow.lowerBound].split(separator: " ").last.flatMap({ Int($0) })
            else { continue }
            descriptors[fd] = String(line[arrow.upperBound...])
        }
        // `ls`'s own: the directory it lists.
        let lsOwn = descriptors.filter { $0.value.hasPrefix("/proc/") && $0.value.hasSuffix("/fd") }
        #expect(lsOwn.count == 1, "\(descriptors)")
        for fd in lsOwn.keys { descriptors[fd] = nil }
        let extra = descriptors.filter { $0.key > 2 }.sorted { $0.key < $1.key }.map { "\($0.key) -> \(Self.describe($0.value))" }
        #expect(descriptors.keys.sorted() == [0, 1, 2], "the action program got more than stdin, stdout, stderr: \(extra)")
        #expect(descriptors[0] == "/dev/null")
        #expect(descriptors[1] == listing)
        print("action descriptors: \(descriptors.keys.sorted()) (the agent's process had \(held.count) open)")
    }

    /// A descriptor's target, a socket named by what this process's /proc/net tables say of it
    /// (`tcp 127.0.0.1:PORT→PORT`, `unix PATH`), for the failure message.
    static func describe(_ target: String) -> String {
        guard target.hasPrefix("socket:["), let inode = Int(target.dropFirst(8).dropLast()) else { return target }
        for table in ["tcp", "tcp6"] {
            let text = (try? String(contentsOfFile: "/proc/self/net/\(table)", encoding: .utf8)) ?? ""
            for row in text.split(separator: "\n").dropFirst() {
                let f = row.split(separator: " ")
                guard f.count > 9, Int(f[9]) == inode else { continue }
                let port = { (a: Substring) in a.split(separator: ":").last.flatMap { Int($0, radix: 16) } ?? -1 }
                return "\(target) \(table) :\(port(f[1]))→:\(port(f[2]))"
            }
        }
        let unix = (try? String(contentsOfFile: "/proc/self/net/unix", encoding: .utf8)) ?? ""
        for row in unix.split(separator: "\n").dropFirst() {
            let f = row.split(separator: " ")
            guard f.count > 6, Int(f[6]) == inode else { continue }
            return "\(target) unix \(f.count > 7 ? String(f[7]) : "(unnamed)")"
        }
        return target
    }

    /// The open descriptors of `/proc/<process>` and what each refers to.
    static func openDescriptors(ofProcess process: String) -> [Int: String] {
        let directory = "/proc/\(process)/fd"
        var result: [Int: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let fd = Int(name) else { continue }
            result[fd] = (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(name)")) ?? "?"
        }
        return result
    }
}
