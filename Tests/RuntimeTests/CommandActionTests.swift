import CSystem
import EdgeCore
import Foundation
import Runtime
import TestSupport
import Testing

@Suite struct CommandActionTests {
    let event = AlertEvent(
        change: .raised, time: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000),
        alert: Alert(id: "pump-1-1", machine: "pump-1", kind: .anomaly, severity: .critical,
                     started: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000), peakScore: 4, threshold: 2,
                     topSensors: [SensorContribution(sensor: "flow", value: 1, contribution: 3, normalLow: 0, normalHigh: 2)],
                     message: "it's $(rm -rf /) `not` run; a shell would expand this")
    )

    @Test func passesFieldsAsEnvironmentWithoutAShell() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let out = dir.file("env.txt")
        // The test's own script (not the agent) uses a shell to dump its environment to a file.
        let action = CommandAction(arguments: ["/bin/sh", "-c", "env > \"$0\"", out], timeout: .seconds(5))
        #expect(action.run(for: event) == .exited(0))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("EDGE_AGENT_MACHINE=pump-1\n"))
        #expect(text.contains("EDGE_AGENT_SEVERITY=critical\n"))
        #expect(text.contains("EDGE_AGENT_TOP_SENSORS=flow\n"))
        // The message arrives verbatim: nothing in it was expanded by a shell on our side.
        #expect(text.contains("EDGE_AGENT_MESSAGE=it's $(rm -rf /) `not` run; a shell would expand this\n"))
    }

    @Test func argumentsAreNotSplitOrExpanded() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let target = dir.file("a file with spaces; and $HOME")
        let action = CommandAction(arguments: ["/usr/bin/touch", target])
        #expect(action.run(for: event) == .exited(0))
        #expect(FileManager.default.fileExists(atPath: target))
    }

    @Test func exitStatusAndMissingProgramAreReported() {
        #expect(CommandAction(arguments: ["/bin/false"]).run(for: event) == .exited(1))
        #expect(CommandAction(arguments: ["/nonexistent/notify-operator"]).run(for: event) == .failedToStart(ENOENT))
    }

    @Test func slowProgramIsKilledAtTimeout() {
        let started = SystemClock.monotonicNanoseconds()
        let outcome = CommandAction(arguments: ["/bin/sleep", "30"], timeout: .milliseconds(200)).run(for: event)
        let elapsed = Double(SystemClock.monotonicNanoseconds() - started) / 1e9
        #expect(outcome == .timedOut)
        #expect(elapsed < 10)
    }
}

/// The fallback `CommandAction` uses when built against a glibc without the close-from spawn
/// action (older than 2.34): a close action for each descriptor `/proc/self/fd` lists. Here,
/// where glibc has close-from, the fallback is called directly.
@Suite struct DescriptorClosingFallbackTests {
    @Test func closesEveryListedDescriptorFromThree() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let listing = dir.file("fds.txt")
        // A descriptor the child would inherit: opened without O_CLOEXEC.
        let held = open(dir.file("held"), O_WRONLY | O_CREAT, 0o600)
        #expect(held >= 3)
        defer { close(held) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        #expect(CSystem_addCloseEachOpen(&actions, 3) == 0)
        // The shell becomes `ls` (exec: no descriptor saved for a later restore), which lists
        // its own descriptors; it opens one for the directory it reads.
        let arguments = ["/bin/sh", "-c", "exec ls /proc/self/fd > \"$0\"", listing]
        var pid: pid_t = 0
        let status = withSpawnArguments(arguments) { argv in posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ) }
        #expect(status == 0)
        var wait: Int32 = 0
        #expect(waitpid(pid, &wait, 0) == pid)
        let open = try String(contentsOfFile: listing, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        // 0, 1 (the listing file), 2 and ls's directory descriptor (the lowest free one, 3):
        // nothing of the test process's, whose own `held` is one of many.
        #expect(!open.contains(Int(held)), "the child still had descriptor \(held): \(open)")
        #expect(open.filter { $0 > 3 }.isEmpty, "the child had descriptors beyond ls's own: \(open)")
    }

    private func withSpawnArguments(_ arguments: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> Int32) -> Int32 {
        var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return body(pointers)
    }
}
