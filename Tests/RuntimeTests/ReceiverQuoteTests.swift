import CompressorRig
import Configuration
import Detection
import EdgeCore
import Foundation
@testable import Runtime
import Simulator
import Store
import Summaries
import Testing
import TestSupport

/// An alert a compressor's receiver drove says which of its `ReceiverBandCheck`'s parts judged
/// it: a reading off its pressure switch's band is quoted with that band (`judged` `band`), not
/// as a departure "from its recent course"; a receiver whose reading no longer moves is quoted by
/// how far it moved (`judged` `still`), not by a normal range that says nothing of it. The alert
/// log, `edge-agent alerts` and the summaries say the same (README, "Alerts").
@Suite("Alerts quote what judged a compressor's receiver")
struct ReceiverQuoteTests {
    /// The anomaly events of `CalibratedCompressor` seed 4 (the spike quote's) whose receiver
    /// reading is changed by `change(step after the change starts, reading)` from 11 minutes on,
    /// and the receiver's column.
    static func run(_ change: (Int, Double) -> Double) async throws
        -> (compressor: CalibratedCompressor, events: [AlertEvent], receiver: Int, check: ReceiverBandCheck) {
        let compressor = try await CalibratedCompressor.shared(seed: 4)
        let receiver = try #require(compressor.sim.channelIndex(named: "receiver_pressure"))
        let check = try #require(compressor.detector.receiver, "seed 4's receiver is not judged by its band: not the case under test")
        #expect(check.sensors.contains(receiver))
        var sim = compressor.sim
        var engine = ScoringEngine(machines: [compressor.machine], models: [MachineModel(path: "memory", file: compressor.file)])
        var events: [AlertEvent] = [], row: [Double] = []
        for step in 0..<(6600 + 1200) {
            let time = sim.time
            _ = sim.step(into: &row)
            if step >= 6600 { row[receiver] = change(step - 6600, row[receiver]) }
            let readings = row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
            let anomalies = engine.process(readings).filter { $0.alert.kind == .anomaly }
            #expect(step >= 6600 || anomalies.isEmpty, "an alert before the receiver changed: \(anomalies.map(\.jsonLine))")
            events += anomalies
        }
        return (compressor, events, receiver, check)
    }

    /// Writes `event` through the agent's alert thread to a real alert log and SQLite buffer, and
    /// returns the log's copy of the receiver's part, `edge-agent alerts`' text, and the
    /// summary's JSON part and HTML.
    static func everywhere(_ event: AlertEvent, machine: MachineConfiguration) async throws
        -> (logged: [String: Any], alertsText: String, summarized: [String: Any], html: String) {
        let directory = try TemporaryDirectory(prefix: "receiver-quote")
        defer { directory.remove() }
        let (configuration, database, logPath) = try ScoredByTests.dispatchThroughAlertThread([event], machines: [machine], in: directory)
        let line = try #require(try ScoredByTests.logLines(logPath).first)
        #expect(line["message"] as? String == event.alert.message)
        let logged = try #require((line["top_sensors"] as? [[String: Any]])?.first { $0["sensor"] as? String == "receiver_pressure" })
        try bufferOnlyConfiguration(dataDirectory: directory.path).write(toFile: directory.file("agent.conf"), atomically: true, encoding: .utf8)
        let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
        let text = try await runProgram(executable, ["alerts", "--config", directory.file("agent.conf")])
        #expect(text.status == 0, "\(text.standardError)")
        let input = try BufferSummarySource.input(
            machine: machine.id, configuration: configuration, from: Timestamp(millisecondsSinceEpoch: event.time.millisecondsSinceEpoch - 3_600_000),
            until: Timestamp(millisecondsSinceEpoch: event.time.millisecondsSinceEpoch + 3_600_000), database: database)
        let files = try SummaryWriter.write(input, to: directory.file("summaries"))
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(try String(contentsOfFile: files.json, encoding: .utf8).utf8)) as? [String: Any])
        let alert = try #require((json["alerts"] as? [[String: Any]])?.first)
        let summarized = try #require((alert["top_sensors"] as? [[String: Any]])?.first { $0["sensor"] as? String == "receiver_pressure" })
        return (logged, text.standardOutput, summarized, try String(contentsOfFile: files.html, encoding: .utf8))
    }

    /// The receiver reads up to 0.4 bar high, the offset growing over 40 s (a transmitter
    /// drifting): no row jumps off the sawtooth's course, its peaks cross the cut-out.
    @Test func aReceiverOffItsBandIsQuotedWithTheBand() async throws {
        let (compressor, events, _, check) = try await Self.run { step, reading in reading + 0.4 * min(1, Double(step) / 400) }
        let raised = try #require(events.first { event in
            (try? AlertTextTests.topSensors(event).first { $0["sensor"] as? String == "receiver_pressure" }?["judged"] as? String) == "band"
        }, "no alert quotes the receiver by its band: \(events.map(\.jsonLine))")
        let part = try #require(try AlertTextTests.topSensors(raised).first { $0["sensor"] as? String == "receiver_pressure" })
        let reading = try #require(part["judged_reading"] as? Double, "\(raised.jsonLine)")
        let low = try #require(part["expected_low"] as? Double), high = try #require(part["expected_high"] as? Double)
        let value = try #require(part["value"] as? Double)
        let judgedAt = try #require((part["judged_at"] as? String).flatMap { Timestamp(iso8601: Substring($0)) }, "\(raised.jsonLine)")
        #expect(reading < low || reading > high, "\(reading) bar inside the allowed \(low)…\(high)")
        // The range is the switch's band widened by the check's tolerances, as calibrated.
        let cutIn = Double(check.cutIn[0] - check.toleranceBelow[0]), cutOut = Double(check.cutOut[0] + check.toleranceAbove[0])
        #expect(abs(low - cutIn) < 1e-4 && abs(high - cutOut) < 1e-4, "\(low)…\(high), band widened \(cutIn)…\(cutOut)")
        #expect(part["judged_movement"] == nil && part["least_movement"] == nil, "\(raised.jsonLine)")
        func format(_ x: Double) -> String { AnomalyAlertEngine.format(x) }
        let timeOfDay = String(judgedAt.iso8601.dropFirst(11))
        let quoted = "receiver_pressure=\(format(value)) bar (reading \(format(reading)) at \(timeOfDay), expected \(format(low))…\(format(high)) from its pressure switch's band)"
        #expect(raised.alert.message.contains(quoted), "\(raised.alert.message)")

        let (logged, alertsText, summarized, html) = try await Self.everywhere(raised, machine: compressor.machine)
        #expect(logged["judged"] as? String == "band" && logged["judged_reading"] as? Double == reading
                && logged["judged_at"] as? String == judgedAt.iso8601, "\(logged)")
        #expect(alertsText.contains(quoted), "\(alertsText)")
        #expect(summarized["judged"] as? String == "band" && summarized["judged_reading"] as? Double == reading
                && summarized["expected_low"] as? Double == low && summarized["expected_high"] as? Double == high, "\(summarized)")
        // HTML-escaped: switch&#39;s.
        #expect(html.contains("(reading \(NumberText.short(reading)) at \(timeOfDay), expected \(NumberText.short(low))–\(NumberText.short(high)) from its pressure switch&#39;s band)"),
                "HTML does not quote the band")
    }

    /// The receiver's transmitter sticks at its reading while the compressor goes on loading
    /// and unloading (the simulator's `sensor-stuck`).
    @Test func aStillReceiverIsQuotedByHowFarItMoved() async throws {
        var stuckAt: Double? = nil
        let (compressor, events, _, check) = try await Self.run { _, reading in
            if stuckAt == nil { stuckAt = reading }
            return stuckAt!
        }
        let raised = try #require(events.first { $0.change == .raised }, "the stuck receiver raised no alert")
        let part = try #require(try AlertTextTests.topSensors(raised).first { $0["sensor"] as? String == "receiver_pressure" },
                                "\(raised.jsonLine)")
        #expect(part["judged"] as? String == "still", "\(raised.jsonLine)")
        let moved = try #require(part["judged_movement"] as? Double, "\(raised.jsonLine)")
        let rows = try #require(part["judged_rows"] as? Int), least = try #require(part["least_movement"] as? Double)
        let judgedAt = try #require((part["judged_at"] as? String).flatMap { Timestamp(iso8601: Substring($0)) }, "\(raised.jsonLine)")
        #expect(rows == check.windowRows && least == Double(check.leastMovement[0]) && moved < least, "moved \(moved) over \(rows) rows, least \(least)")
        #expect(judgedAt <= raised.time && raised.time.millisecondsSinceEpoch - judgedAt.millisecondsSinceEpoch < 2000, "\(judgedAt), alert at \(raised.time)")
        #expect(part["expected_low"] == nil && part["judged_reading"] == nil, "a still receiver quoted by a range of readings: \(raised.jsonLine)")
        func format(_ x: Double) -> String { AnomalyAlertEngine.format(x) }
        let quoted = "(moved \(format(moved)) over the \(rows) readings to \(judgedAt.iso8601.dropFirst(11)), expected at least \(format(least)))"
        #expect(raised.alert.message.contains("receiver_pressure=\(format(stuckAt!)) bar \(quoted)"), "\(raised.alert.message)")

        let (logged, alertsText, summarized, html) = try await Self.everywhere(raised, machine: compressor.machine)
        #expect(logged["judged"] as? String == "still" && logged["judged_movement"] as? Double == moved
                && logged["judged_rows"] as? Int == rows && logged["least_movement"] as? Double == least, "\(logged)")
        #expect(alertsText.contains(quoted), "\(alertsText)")
        #expect(summarized["judged"] as? String == "still" && summarized["judged_movement"] as? Double == moved
                && summarized["least_movement"] as? Double == least && summarized["judged_at"] as? String == judgedAt.iso8601, "\(summarized)")
        #expect(html.contains("(moved \(NumberText.short(moved)) over the \(rows) readings to \(judgedAt.iso8601.dropFirst(11)), expected at least \(NumberText.short(least)))"),
                "HTML does not quote the movement")
    }
}
