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
