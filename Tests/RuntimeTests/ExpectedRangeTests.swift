import Configuration
import Detection
import EdgeCore
import Foundation
import Logging
@testable import Runtime
import Store
import Summaries
import Testing
import TestSupport

/// An anomaly alert quotes each sensor against what it was judged against: a sensor the
/// operating directions judge by its relation to others (a current that follows the flow) is
/// quoted against the range expected of it then, not against its calibrated range, which its
/// reading may well lie in. The alert log, the buffer, `edge-agent alerts` and the summaries say
/// the same; lines written before these fields existed still read (README, "Alerts").
@Suite("Alerts quote the range a sensor was judged against")
struct ExpectedRangeTests {
    static let names = ["flow", "current", "pressure"], units = ["m3/h", "A", "bar"]

    /// Rows of a machine whose load moves flow and current together (current = `ratio` × flow),
    /// with an independent pressure, one stretch per load (as `OperatingSubspaceTests`).
    static func rows(loads: [Float], rowsPerLoad: Int, seed: UInt64, ratio: Float = 0.1) -> [Float] {
        // Uniform in [-1, 1), as DetectionTests' `SplitMix64.signedUnitFloat`.
        func signed(_ random: inout SplitMix64) -> Float { Float(random.next() >> 40) / Float(1 << 23) - 1 }
        var random = SplitMix64(seed: seed)
        var values: [Float] = []
        for load in loads {
            for _ in 0..<rowsPerLoad {
                let flow = load + 0.2 * signed(&random)
                values += [flow, ratio * flow + 0.02 * signed(&random), 5 + 0.05 * signed(&random)]
            }
        }
        return values
    }

    /// The engine's first `raised` event for the machine calibrated across loads, run at a load
    /// it saw between others with its current 15 % above its relation to flow.
    static func brokenRelationAlert() throws -> (event: AlertEvent, machine: MachineConfiguration) {
        let calibration = rows(loads: [20, 30, 25, 35], rowsPerLoad: 150, seed: 3)
        let (detector, report) = Calibrator().calibrate(values: calibration[...], sensorNames: names)
        #expect(detector.baseline.operating != nil, "no operating direction: not the case under test")
        let model = MachineModel(path: "memory", file: DetectorFile(machine: "pump-1", calibratedAt: "2026-11-29T00:00:00.000Z",
                                                                    detector: detector, report: report))
        let machine = AlertTextTests.machine("pump-1", names: names, units: units, kind: .pump)
        var engine = ScoringEngine(machines: [machine], models: [model])
        let feed = rows(loads: [28], rowsPerLoad: 200, seed: 4) + rows(loads: [28], rowsPerLoad: 300, seed: 5, ratio: 0.115)
        return (try ScoredByTests.firstRaised(&engine, rows: feed, n: names.count, start: 1_795_000_000), machine)
    }

    @Test func aCurrentOffItsRelationToFlowIsQuotedAgainstWhatWasExpectedOfItEverywhere() async throws {
        let (raised, machine) = try Self.brokenRelationAlert()

        // The alert-log line: current judged against its state, the range expected of it given
        // flow; its reading inside the calibrated range and outside the expected one.
        let sensors = try AlertTextTests.topSensors(raised)
        let current = try #require(sensors.first { $0["sensor"] as? String == "current" }, "current does not drive: \(raised.jsonLine)")
        let value = try #require(current["value"] as? Double)
        let normalLow = try #require(current["normal_low"] as? Double), normalHigh = try #require(current["normal_high"] as? Double)
        let low = try #require(current["expected_low"] as? Double, "\(raised.jsonLine)")
        let high = try #require(current["expected_high"] as? Double, "\(raised.jsonLine)")
        #expect(current["judged"] as? String == "state", "\(raised.jsonLine)")
        #expect(current["relative_to"] as? String == "flow", "\(raised.jsonLine)")
        #expect(normalLow < value && value < normalHigh, "the case under test: a reading inside its calibrated range")
        #expect(value > high && low < high, "\(value) A inside the expected \(low)…\(high)")
        let mean = try #require(current["judged_mean"] as? Double, "\(raised.jsonLine)")
        func format(_ x: Double) -> String { AnomalyAlertEngine.format(x) }
        let quoted = "current=\(format(value)) A (mean \(format(mean)), expected \(format(low))…\(format(high)) given flow)"
        #expect(raised.alert.message.contains(quoted), "\(raised.alert.message)")
        #expect(!raised.alert.message.contains("current=\(format(value)) A (normal"), "\(raised.alert.message)")
        // Every window-judged sensor says how it was judged, and its judged mean lies outside
        // the expected range exactly when its contribution is past the threshold.
        for entry in sensors {
            #expect(["level", "state"].contains(entry["judged"] as? String), "\(entry)")
            let part = try #require(entry["contribution"] as? Double), m = try #require(entry["judged_mean"] as? Double)
            let l = try #require(entry["expected_low"] as? Double), h = try #require(entry["expected_high"] as? Double)
            #expect((m < l || m > h) == (part > raised.alert.threshold), "\(entry), threshold \(raised.alert.threshold)")
        }

        // Through the agent's alert thread to a real alert log and SQLite buffer.
        let directory = try TemporaryDirectory(prefix: "expected-range")
        defer { directory.remove() }
        let (configuration, database, logPath) = try ScoredByTests.dispatchThroughAlertThread([raised], machines: [machine], in: directory)
        let line = try #require(try ScoredByTests.logLines(logPath).first)
        #expect(line["message"] as? String == raised.alert.message)

        // `edge-agent alerts`: the log line's message, and the scorer only when it is the network.
        try bufferOnlyConfiguration(dataDirectory: directory.path).write(toFile: directory.file("agent.conf"), atomically: true, encoding: .utf8)
        let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
        let text = try await runProgram(executable, ["alerts", "--config", directory.file("agent.conf")])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains(quoted), "\(text.standardOutput)")
        #expect(!text.standardOutput.contains("scored by"), "\(text.standardOutput)")
        let listed = try await runProgram(executable, ["alerts", "--json", "--config", directory.file("agent.conf")])
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]])
        #expect(objects.first?["scored_by"] as? String == "window_deviation", "\(listed.standardOutput)")

        // The summaries: the same fields in JSON, the same quote in HTML.
        let input = try BufferSummarySource.input(
            machine: "pump-1", configuration: configuration, from: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000),
            until: Timestamp(millisecondsSinceEpoch: 1_795_010_000_000), database: database)
        let files = try SummaryWriter.write(input, to: directory.file("summaries"))
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(try String(contentsOfFile: files.json, encoding: .utf8).utf8)) as? [String: Any])
        let alert = try #require((json["alerts"] as? [[String: Any]])?.first)
        let summarized = try #require((alert["top_sensors"] as? [[String: Any]])?.first { $0["sensor"] as? String == "current" })
        #expect(summarized["judged"] as? String == "state" && summarized["relative_to"] as? String == "flow", "\(summarized)")
        #expect(summarized["expected_low"] as? Double == low && summarized["expected_high"] as? Double == high
                && summarized["judged_mean"] as? Double == mean, "\(summarized)")
        let html = try String(contentsOfFile: files.html, encoding: .utf8)
        #expect(html.contains("(mean \(NumberText.short(mean)), expected \(NumberText.short(low))–\(NumberText.short(high)) given flow)"),
                "HTML does not quote the expected range")
    }

    @Test("an alert-log line written before judged and expected_low/high existed reads as before, quoted against its normal range")
    func olderLinesStillRead() throws {
        let line = #"{"event":"raised","id":"pump-1-1","machine":"pump-1","kind":"anomaly","severity":"warning","started":"2026-11-29T00:00:00.000Z","peak_score":2,"threshold":1.5,"top_sensors":[{"sensor":"current","value":3.2,"unit":"A","contribution":1.6,"normal_low":2.01,"normal_high":3.79}],"message":"pump-1: old"}"#
        let part = try #require(StoredAlertDetails(line: line)?.contributions.first)
        #expect(part.judged == nil && part.expectedLow == nil && part.relativeTo == nil)
        #expect(part.judgedRange(network: false, AnomalyAlertEngine.format) == "normal 2.01…3.79")
        var json = JSONWriter()
        json.contributions("top_sensors", [part])
        let written = json.finish()
        #expect(!written.contains("judged") && !written.contains("expected_"), "fields invented for an old line: \(written)")
    }
}
