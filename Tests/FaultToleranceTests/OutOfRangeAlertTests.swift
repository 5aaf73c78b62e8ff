import Configuration
import EdgeCore
import Foundation
import TestSupport
import Testing

/// A sensor that reads an impossible value (a broken 4–20 mA loop or transmitter giving the
/// register's extreme, here 65535) through the whole agent in a process of its own (an exit test), from a real Modbus
/// server on loopback: the alert log gets the `out_of_range` alert the README promises, naming
/// the value, not a `sensor_stale` one saying the sensor reads nothing; it clears when the value
/// is back in range; the buffer keeps those polls flagged `out_of_range` with their value (the
/// evidence), and `calibrate` and `summarize` read them back as out of range, not as missing.
@Suite(.serialized) struct OutOfRangeAlertTests {
    static let pollMilliseconds = 100

    @Test(.enabled(if: sqlite3Available), .timeLimit(.minutes(2)))
    func impossibleValueRaisesOutOfRangeAndClears() async throws {
        let result = await #expect(processExitsWith: .success, observing: childOutput) {
            try await OutOfRangeAlertTests.impossibleValueRaisesOutOfRangeAndClearsScenario()
        }
        printChildOutput(result)
    }

    /// The scenario, in its exit test's process (see `childOutput`).
    static func impossibleValueRaisesOutOfRangeAndClearsScenario() async throws {
        let dir = try TemporaryDirectory(prefix: "out-of-range")
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        try server.setRegisters([120], kind: .holding, unit: 1, address: 0)
        let configuration = try loadConfiguration(agentTable(dir.path) + loopbackBusTable("a", port: server.port, responseTimeout: "200ms") + """
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
        func flaggedDuringFault() async -> Int {
            ((try? await storedReadings(dir.file("data/edge-agent.db"), machine: "pump-1", sensor: "pressure")) ?? [])
                .filter { $0.milliseconds > faultStart.millisecondsSinceEpoch + 200 && $0.quality == .outOfRange }.count
        }
        let faultDeadline = ContinuousClock.now + .seconds(20)
        var polledDuringFault = await flaggedDuringFault() >= 10
        while !polledDuringFault && ContinuousClock.now < faultDeadline {
            try await Task.sleep(for: .milliseconds(100))
            polledDuringFault = await flaggedDuringFault() >= 10
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
        // The buffer keeps the flagged polls with their value, as evidence.
        let database = dir.file("data/edge-agent.db")
        let stored = try await sqlite(database, """
            SELECT COUNT(*), COUNT(r.value), MIN(r.value), MAX(r.value) FROM readings r JOIN sensors s ON s.id = r.sensor_id
            WHERE s.name = 'pressure' AND r.quality = \(Quality.outOfRange.rawValue)
            """)
        let counts = stored.split(separator: "|").compactMap { Double($0) }
        #expect(counts.count == 4 && counts[0] >= 10 && counts[1] == counts[0] && counts[2] == 65535 && counts[3] == 65535,
                "out-of-range readings, of them with a value, their least and greatest: \(stored)")
        let flagged = Int(counts.first ?? 0)
        // Any other reading that is not good (none expected on loopback) is missing.
        let missing = Int(try await sqlite(database, "SELECT COUNT(*) FROM readings WHERE quality NOT IN (0, \(Quality.outOfRange.rawValue))")) ?? -1

        // calibrate counts them as out of range, not as missing (and never learns 65535).
        let executable = try #require(builtExecutable(named: "edge-agent"), "build edge-agent first (swift build)")
        let config = dir.file("agent.conf")
        let period = ["--from", Timestamp(millisecondsSinceEpoch: faultStart.millisecondsSinceEpoch - 60_000).iso8601,
                      "--until", Timestamp.now().iso8601]
        let calibration = try await runProgram(executable, ["calibrate", "--config", config, "--machine", "pump-1", "--force", "--json"] + period)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(calibration.standardOutput.utf8)) as? [String: Any],
                                "\(calibration.standardOutput)\(calibration.standardError)")
        #expect(json["out_of_range_readings"] as? Int == flagged, "\(json)")
        #expect(json["rows_with_out_of_range_readings"] as? Int == flagged, "\(json)")
        #expect(json["rows_with_missing_readings"] as? Int == missing, "\(json)")
        // summarize counts them per quality too, and keeps 65535 out of the statistics.
        let summary = try await runProgram(executable, ["summarize", "--config", config, "--machine", "pump-1", "--output", dir.file("on-demand"), "--json"] + period)
        let paths = try #require(try JSONSerialization.jsonObject(with: Data(summary.standardOutput.utf8)) as? [String: Any],
                                 "\(summary.standardOutput)\(summary.standardError)")
        let file = try #require(paths["json"] as? String)
        let written = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        let pressure = try #require((written["sensors"] as? [[String: Any]])?.first)
        #expect((pressure["bad_readings"] as? [String: Any])?["out_of_range"] as? Int == flagged, "\(pressure)")
        #expect((pressure["max"] as? Double ?? .infinity) <= 400, "\(pressure)")
    }
}
