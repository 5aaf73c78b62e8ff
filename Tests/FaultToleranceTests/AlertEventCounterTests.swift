import Foundation
import Runtime
import TestSupport
import Testing

/// `edge_agent_alert_events_total` (`RuntimeCounters.alertEvents`) counts every alert event
/// once, whatever raised it: here a `data_stopped` alert, which the ticker's check raises (no
/// poll cycle arrives to raise it) and the next arriving cycle clears, through the whole agent
/// with a real libmodbus server on loopback going silent and answering again.
///
/// The agent runs in a process of its own (an exit test), as `edge-agent run` does: see
/// `childOutput` in Support.swift.
@Suite(.serialized) struct AlertEventCounterTests {
    @Test(.timeLimit(.minutes(2)))
    func dataStoppedRaiseAndClearAreCounted() async throws {
        let result = await #expect(processExitsWith: .success, observing: childOutput) {
            try await AlertEventCounterTests.dataStoppedScenario()
        }
        printChildOutput(result)
    }

    static func dataStoppedScenario() async throws {
        let dir = try TemporaryDirectory(prefix: "alert-events")
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        try server.setRegisters([100, 200], kind: .holding, unit: 1, address: 0)
        // A long response timeout: while the unit is silent the poller waits and hands over no
        // cycle at all, so the machine's data stops (rather than its unit going offline).
        let configuration = try loadConfiguration(agentTable(dir.path) + loopbackBusTable("a", port: server.port, responseTimeout: "30s") + """
            [[machine]]
            id = "pump-1"
            poll_interval = "100ms"

              [[machine.sensor]]
              name = "pressure"
              bus = "a"
              unit_id = 1
              address = 0

              [[machine.sensor]]
              name = "flow"
              bus = "a"
              unit_id = 1
              address = 1

            """, in: dir)
        let agent = RunningAgent(configuration)
        #expect(await agent.waitUntilReady())
        let alertLog = dir.file("alerts.jsonl")
        func events() -> [[String: Any]] {
            guard let data = FileManager.default.contents(atPath: alertLog) else { return [] }
            return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        func stopped(_ change: String) -> Bool {
            events().contains { $0["kind"] as? String == "data_stopped" && $0["event"] as? String == change }
        }
        #expect(await eventually(within: 30) { agent.runtime.counters.cyclesPolled >= 5 }, "\(agent.runtime.counters)")
        let before = agent.runtime.counters.alertEvents
        let linesBefore = events().count

        server.setFault(.silent, unit: 1)
        #expect(await eventually(within: 30) { stopped("raised") }, "no data_stopped alert: \(events())")
        // Counted when handed to the sinks, which is before the log line is written.
        #expect(await eventually(within: 10) { agent.runtime.counters.alertEvents == before + 1 },
                "the data_stopped raise moved the counter from \(before) to \(agent.runtime.counters.alertEvents)")

        server.setFault(nil, unit: 1)
        server.dropAllConnections()  // ends the request the poller is waiting on
        #expect(await eventually(within: 30) { stopped("cleared") }, "data_stopped never cleared: \(events())")
        #expect(await eventually(within: 10) { agent.runtime.counters.alertEvents == before + 2 },
                "the data_stopped raise and clear moved the counter from \(before) to \(agent.runtime.counters.alertEvents)")
        let added = events().dropFirst(linesBefore).map { "\($0["kind"] as? String ?? "?") \($0["event"] as? String ?? "?")" }
        #expect(added == ["data_stopped raised", "data_stopped cleared"], "alert log lines meanwhile: \(added)")

        #expect(!agent.hasEnded)
        #expect(await agent.stop() == nil)
        // One count per line of the alert log, every line of this run (the stop's included),
        // and the metrics file written at the stop says the same.
        let lines = events().count
        #expect(agent.runtime.counters.alertEvents == lines, "counted \(agent.runtime.counters.alertEvents), alert log has \(lines) lines")
        let metrics = try String(contentsOfFile: dir.file("data/edge-agent.prom"), encoding: .utf8)
        let total = metrics.split(separator: "\n").first { $0.hasPrefix("edge_agent_alert_events_total ") }
            .flatMap { Double($0.split(separator: " ").last ?? "") }
        #expect(total == Double(lines), "metrics file: \(String(describing: total)), alert log lines: \(lines)")
    }
}
