import EdgeCore
import Foundation
import Runtime
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The system clocks with a wall-clock offset the test can change at any moment: an NTP step,
/// an operator setting the date, a gateway whose RTC was wrong at boot. Monotonic time is left
/// alone, as the kernel does.
final class JumpingClock: AgentClock {
    private let offsetMilliseconds = Atomic<Int64>(0)

    func now() -> Timestamp {
        Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch + offsetMilliseconds.load(ordering: .relaxed))
    }

    func monotonicNanoseconds() -> UInt64 { SystemClock.monotonicNanoseconds() }

    /// Steps the wall clock by `milliseconds` (negative: backwards).
    func jump(by milliseconds: Int64) { offsetMilliseconds.add(milliseconds, ordering: .relaxed) }
}

/// The wall clock jumps backwards and forwards (2 s back, an hour ahead, an hour back) under a running agent (in a process of its own, an exit test, with a
/// calibrated machine being scored): no reading is lost or overwritten in the buffer, scoring
/// goes on, the jump raises no alert, and the summaries stay sane.
@Suite(.serialized) struct ClockJumpTests {
    static let sensors = 4

    @Test(.enabled(if: sqlite3Available), .timeLimit(.minutes(2)))
    func wallClockJumpsBackAndForth() async throws {
        let result = await #expect(processExitsWith: .success, observing: childOutput) {
            try await ClockJumpTests.wallClockJumpsBackAndForthScenario()
        }
        printChildOutput(result)
    }

    /// The scenario, in its exit test's process (see `childOutput`).
    static func wallClockJumpsBackAndForthScenario() async throws {
        let binary = try #require(builtExecutable(named: "edge-agent"), "build edge-agent first (swift build)")
        let dir = try TemporaryDirectory(prefix: "clock-jump")
        defer { dir.remove() }
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        let base: [UInt16] = (0..<Self.sensors).map { UInt16(100 * ($0 + 1)) }
        try server.setRegisters(base, kind: .holding, unit: 1, address: 0)

        var text = agentTable(dir.path, summaryInterval: "2s")
        text += """

            [[bus]]
            name = "line"
            type = "tcp"
            host = "127.0.0.1"
            port = \(server.port)
            response_timeout = "10s"

            [[machine]]
            id = "m"
            poll_interval = "10ms"

            """
        for s in 0..<Self.sensors {
            text += "\n  [[machine.sensor]]\n  name = \"s\(s)\"\n  bus = \"line\"\n  address = \(s)\n"
        }
        let configuration = try loadConfiguration(text, in: dir)

        // Calibrate the machine from a CSV of normal operation around the values the unit serves.
        var csv = "timestamp," + (0..<Self.sensors).map { "s\($0)" }.joined(separator: ",") + "\n"
        var generator = SystemRandomNumberGenerator()
        for row in 0..<400 {
            let time = Timestamp(millisecondsSinceEpoch: 1_790_000_000_000 + Int64(row) * 10)
            csv += time.iso8601 + "," + base.map { String(Double($0) + Double.random(in: -2...2, using: &generator)) }.joined(separator: ",") + "\n"
        }
        try csv.write(toFile: dir.file("normal.csv"), atomically: true, encoding: .utf8)
        // 400 rows 10 ms apart are 4 s of running, which calibrate refuses without --force (what
        // is tested here is the clock, not how much calibration data is enough).
        let calibration = try await runProgram(binary, ["calibrate", "--config", dir.file("agent.conf"), "--machine", "m", "--input", dir.file("normal.csv"), "--force"])
        #expect(calibration.status == 0, "calibration failed: \(calibration.standardError)")

        // The tolerances are set for a loaded 2-core machine and for ThreadSanitizer (make
        // sanitize: 5-15x slower), where the loopback server's answer can take longer than 200 ms
        // (a timeout is a unit fault: bad readings and a unit-offline alert) and the poller's
        // thread can wait for a core far longer than 10 polls of 10 ms (a data-stopped alert):
        // beside the whole suite and others' builds it once went 1.65 s without a reading, and
        // the 1.5 s allowed until then raised the alert. Neither is what this test is about, and
        // neither regression this test guards against needs a tight value: a data-stopped check
        // that measured silence on the wall clock would see an hour of it at the step ahead
        // (alert), and a poller scheduled on the wall clock would wait an hour after the step
        // back (scoring stalls, checked below).
        var options = RuntimeOptions()
        options.dataPolicy.stoppedAfterIntervals = 1000  // 10 s
        let clock = JumpingClock()
        let agent = RunningAgent(configuration, clock: clock, options: options)
        #expect(await agent.waitUntilReady())

        /// Keeps the clock as it is for at least `seconds` (time for the summary period logic to
        /// see it), then until `condition` holds, at most 20 s more: the same work takes the
        /// agent longer on a loaded machine or under ThreadSanitizer, where fixed sleeps failed.
        func phase(seconds: Double, until condition: () -> Bool) async throws -> Bool {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return await eventually(within: 20, condition)
        }
        var scored: Int { agent.runtime.counters.windowsScored }

        #expect(try await phase(seconds: 2.5) { scored > 0 }, "the calibrated machine is not scored")
        let scoredBefore = scored

        clock.jump(by: -2_000)  // back 2 s: new readings land among the ones stored since the start
        #expect(try await phase(seconds: 2.5) { scored > scoredBefore + 50 }, "scoring stalled after the clock went back")
        let scoredAfterBack = scored

        let beforeTheHourAhead = clock.now()
        clock.jump(by: 3_600_000)  // forward an hour
        #expect(try await phase(seconds: 2.5) { scored > scoredAfterBack + 50 }, "scoring stalled after the clock went forward")
        let scoredAfterForward = scored

        clock.jump(by: -3_600_000)  // and back the hour (an NTP correction of a wrong RTC)
        let backAgain = clock.now()
        // Summaries go on after the hour back instead of waiting for the clock to come round: a
        // period that starts after the step back (and not in the hour ahead, whose summaries
        // were written while the clock was there) is written once it is over.
        let halfAnHourLater = Timestamp(millisecondsSinceEpoch: backAgain.millisecondsSinceEpoch + 1_800_000)
        func summariesAfterTheHourBack() -> [String] {
            summaryStarts(in: dir.file("summaries")).filter { $0.start >= backAgain && $0.start < halfAnHourLater }.map(\.name)
        }
        #expect(try await phase(seconds: 3.5) { scored > scoredAfterForward + 50 }, "scoring stalled after the clock went back an hour")
        #expect(await eventually(within: 20) { !summariesAfterTheHourBack().isEmpty }, "no summary after the clock went back an hour")
        let after = summariesAfterTheHourBack()
        let scoredAtEnd = scored
        #expect(!agent.hasEnded)
        #expect(await agent.stop() == nil)
        // After the stop, not before it: the clock goes on while the agent shuts down, and the
        // agent writes the summary of the period it stops in.
        let stoppedAt = clock.now()
        // After the shutdown: every reading polled until the pollers stopped.
        let polled = agent.runtime.counters.readingsPolled

        let database = dir.file("data/edge-agent.db")
        #expect(try await sqlite(database, "PRAGMA integrity_check") == "ok")
        let stored = Int(try await sqlite(database, "SELECT count(*) FROM readings")) ?? -1
        // Every polled reading is stored: none overwrote an earlier one with the same time.
        #expect(stored == polled, "polled \(polled) readings but \(stored) are stored")
        let bad = Int(try await sqlite(database, "SELECT count(*) FROM readings WHERE quality != 0")) ?? -1
        #expect(bad == 0)

        // A clock step is not a fault of the machine: no anomaly, no data-stopped alert.
        let events = ((try? String(contentsOfFile: dir.file("alerts.jsonl"), encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(events.isEmpty, "alerts raised by the clock jumps: \(events.prefix(3))")

        // Summaries: every file whole, no negative duration, no period written that the clock
        // skipped: wall times it never showed, after the step ahead until the step back came
        // round to them, and after the agent stopped until the end of the skipped hour. Checked by time,
        // not by an empty period: a period the clock did show is empty, truly, when the poller
        // waited that long for a core on a loaded machine.
        let ahead = beforeTheHourAhead.millisecondsSinceEpoch
        let neverShown = [(ahead, backAgain.millisecondsSinceEpoch), (stoppedAt.millisecondsSinceEpoch, ahead + 3_600_000)]
        func skipped(_ start: Int64) -> Bool { neverShown.contains { start > $0.0 && start + 2_000 <= $0.1 } }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.file("summaries"))) ?? []
        let jsonFiles = names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
        #expect(!jsonFiles.isEmpty, "no summary written")
        var problems: [String] = []
        for name in jsonFiles {
            guard let data = FileManager.default.contents(atPath: dir.file("summaries/\(name)")),
                  let summary = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                problems.append("\(name): not JSON")
                continue
            }
            if let seconds = summary["period_seconds"] as? Double, seconds <= 0 { problems.append("\(name): period_seconds \(seconds)") }
            if let score = summary["anomaly_score"] as? [String: Any] {
                for key in ["seconds_above_threshold", "fraction_above_threshold"] {
                    if let value = score[key] as? Double, value < 0 { problems.append("\(name): \(key) \(value)") }
                }
            }
            let start = (summary["period_start"] as? String).flatMap { Timestamp(iso8601: Substring($0)) }
            if let start, skipped(start.millisecondsSinceEpoch) {
                problems.append("\(name): a summary of a period the clock skipped")
            }
            let sensors = summary["sensors"] as? [[String: Any]] ?? []
            for sensor in sensors {
                if let completeness = sensor["completeness_percent"] as? Double, completeness < 0 || completeness > 100 {
                    problems.append("\(name): completeness \(completeness)")
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        print("clock jumps: polled \(polled), stored \(stored); windows scored \(scoredBefore) → \(scoredAfterBack) → \(scoredAfterForward) → \(scoredAtEnd); \(jsonFiles.count) summaries (\(after.count) after the hour back), \(events.count) alerts")
    }
}

/// The `period_start` of every summary JSON file in `directory` that has one.
private func summaryStarts(in directory: String) -> [(name: String, start: Timestamp)] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.compactMap { name in
        guard let data = FileManager.default.contents(atPath: directory + "/" + name),
              let summary = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let start = (summary["period_start"] as? String).flatMap({ Timestamp(iso8601: Substring($0)) }) else { return nil }
        return (name, start)
    }
}

/// Data-stopped checks measure silence on the monotonic clock, whatever the wall clock does.
@Suite struct DataStoppedUnderClockJumpsTests {
    static func monitor() -> DataQualityMonitor {
        DataQualityMonitor(machine: "m", sensors: [MonitoredSensor(name: "s", unitKey: "line/1")], pollInterval: .milliseconds(100))
    }

    static let start = Timestamp(millisecondsSinceEpoch: 1_790_000_000_000)
    static func wall(_ offset: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + offset) }

    @Test func wallClockJumpingAheadRaisesNoDataStoppedAlert() {
        var monitor = Self.monitor()
        _ = monitor.observe(time: Self.start, values: [1], qualities: [.good], monotonicNanoseconds: 5_000_000_000)
        // 50 ms later on the monotonic clock, but the wall clock stepped an hour ahead.
        #expect(monitor.tick(now: Self.wall(3_600_000), monotonicNanoseconds: 5_050_000_000) == nil)
    }

    @Test func wallClockJumpingBackHidesNoRealStop() {
        var monitor = Self.monitor()
        _ = monitor.observe(time: Self.start, values: [1], qualities: [.good], monotonicNanoseconds: 5_000_000_000)
        // Nothing for 2.5 s (25 poll intervals; the silence first found 1 s earlier) while the
        // wall clock went back an hour.
        #expect(monitor.tick(now: Self.wall(-3_600_500), monotonicNanoseconds: 6_500_000_000) == nil)
        let event = monitor.tick(now: Self.wall(-3_600_000), monotonicNanoseconds: 7_500_000_000)
        #expect(event?.alert.kind == .dataStopped)
    }
}
