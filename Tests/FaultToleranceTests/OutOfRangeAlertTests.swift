import Configuration
import EdgeCore
import Foundation
import TestSupport
import Testing

/// A sensor that reads an impossible value (a broken 4–20 mA loop or transmitter giving the
/// register's extreme, here 65535) through the whole agent in this process, from a real Modbus
/// server on loopback: the alert log gets the `out_of_range` alert the README promises, naming
/// the value, not a `sensor_stale` one saying the sensor reads nothing; it clears when the value
/// is back in range; and the buffer keeps those polls flagged, without their value.
@Suite(.serialized) struct OutOfRangeAlertTests {
    static let pollMilliseconds = 100

    @Test(.enabled(if: sqlite3Available), .timeLimit(.minutes(2)))
    func impossibleValueRaisesOutOfRangeAndClears() async throws {
        let dir = try TemporaryDirectory(prefix: "out-of-range")
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        try server.setRegisters([120], kind: .holding, unit: 1, address: 0)
        let configuration = try loadConfiguration(agentTable(dir.path) + """

            [[bus]]
            name = "a"
            type = "tcp"
            host = "127.0.0.1"
            port = \(server.port)
            response_timeout = "200ms"

            [[machine]]
            id = "pump-1"
            poll_interval = "\(Self.pollMilliseconds)ms"

              [[machine.sensor]]
              name = "pressure"
              bus = "a"
              unit_id = 1
              address = 0
              unit = "kPa"
              min = 0
              max = 400

            """, in: dir)
        let agent = RunningAgent(configuration)
        #expect(await agent.waitUntilReady())
        let log = dir.file("alerts.jsonl")
        func events() -> [[String: Any]] {
            guard let data = FileManager.default.contents(atPath: log) else { return [] }
            return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        func events(_ kind: String, _ event: String) -> [[String: Any]] {
            events().filter { $0["kind"] as? String == kind && $0["event"] as? String == event }
        }
        try await Task.sleep(for: .seconds(1))

        // The transmitter fails: 65535 for at least 10 poll cycles (stale would need 5).
        let faultStart = Timestamp.now()
        try server.setRegisters([65535], kind: .holding, unit: 1, address: 0)
        #expect(await eventually(within: 20) { !events("out_of_range", "raised").isEmpty },
                "no out_of_range alert: \(events())")
        let polledDuringFault = await eventually(within: 20) {
            ((try? storedReadings(dir.file("data/edge-agent.db"), machine: "pump-1", sensor: "pressure")) ?? [])
                .filter { $0.milliseconds > faultStart.millisecondsSinceEpoch + 200 && $0.quality == .decodeError }.count >= 10
        }
        #expect(polledDuringFault, "fewer than 10 flagged polls stored during the fault")
        // Repaired.
        try server.setRegisters([125], kind: .holding, unit: 1, address: 0)
        #expect(await eventually(within: 20) { !events("out_of_range", "cleared").isEmpty },
                "the out_of_range alert never cleared: \(events())")
        #expect(!agent.hasEnded)
        let failure = await agent.stop()
        #expect(failure == nil, "run() failed: \(failure ?? "")")

        let raised = try #require(events("out_of_range", "raised").first)
        let message = raised["message"] as? String ?? ""
        #expect(message.contains("pressure") && message.contains("65535") && message.contains("0.0…400.0"), "\(message)")
        let top = (raised["top_sensors"] as? [[String: Any]])?.first
        #expect(top?["value"] as? Double == 65535, "\(String(describing: top))")
        #expect(events("out_of_range", "raised").count == 1)
        // The sensor answered throughout: no alert says it read nothing.
        #expect(events("sensor_stale", "raised").isEmpty, "\(events("sensor_stale", "raised"))")
        // The buffer keeps the flagged polls without their value (only good values are stored).
        let stored = try sqlite(dir.file("data/edge-agent.db"), """
            SELECT COUNT(*), COUNT(r.value) FROM readings r JOIN sensors s ON s.id = r.sensor_id
            WHERE s.name = 'pressure' AND r.quality = \(Quality.decodeError.rawValue)
            """)
        let counts = stored.split(separator: "|").compactMap { Int($0) }
        #expect(counts.count == 2 && counts[0] >= 10 && counts[1] == 0, "flagged readings, of them with a value: \(stored)")
    }
}
