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

/// An alert says what judged each sensor: a compressor's spiking current is quoted by the row
/// its spike check judged (`judged` `spike`: that row's reading and the range allowed there), not
/// by its 20-row window mean, which a spike moves by a twentieth; its `loaded` state sensor is
/// not named for a share of the score its range allows; a pump's sensor its speed moves is
/// expected "at this speed", not "for this state". The alert log, `edge-agent alerts` and the
/// summaries say the same (README, "Alerts").
@Suite("Alerts quote what judged the sensors that drove them")
struct SpikeQuoteTests {
    /// The anomaly events of a simulated compressor (`CalibratedCompressor`, seed 4) whose motor
    /// current spikes from 11 minutes on, and every motor-current reading fed, by time.
    static func spikingCompressor() throws -> (compressor: CalibratedCompressor, events: [AlertEvent], current: [Int64: Double]) {
        let compressor = try CalibratedCompressor(seed: 4)
        var sim = compressor.sim
        var engine = ScoringEngine(machines: [compressor.machine], models: [MachineModel(path: "memory", file: compressor.file)])
        var events: [AlertEvent] = [], current: [Int64: Double] = [:], row: [Double] = []
        for step in 0..<(6600 + 3000) {
            if step == 6600 {
                try sim.add(Fault(.sensorSpike, startSeconds: sim.elapsedSeconds, severity: 0.5, profile: .step, channel: "motor_current"))
            }
            let time = sim.time
            _ = sim.step(into: &row)
            current[time.millisecondsSinceEpoch] = row[compressor.current]
            let readings = row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
            events += engine.process(readings).filter { $0.alert.kind == .anomaly }
        }
        return (compressor, events, current)
    }

    @Test func aSpikeIsQuotedByTheRowItsCheckJudgedEverywhere() async throws {
        let (compressor, events, current) = try Self.spikingCompressor()
        let raised = try #require(events.first { $0.change == .raised }, "the spiking current raised no alert")
        let sensors = try AlertTextTests.topSensors(raised)
        let part = try #require(sensors.first { $0["sensor"] as? String == "motor_current" }, "\(raised.jsonLine)")
        #expect(part["judged"] as? String == "spike", "\(raised.jsonLine)")
        let reading = try #require(part["judged_reading"] as? Double, "\(raised.jsonLine)")
        let low = try #require(part["expected_low"] as? Double), high = try #require(part["expected_high"] as? Double)
        let value = try #require(part["value"] as? Double)
        #expect(part["judged_mean"] == nil, "a spike quoted with a window mean: \(raised.jsonLine)")
        // The reading quoted is one the agent read within the window the alert judged (the
        // spike check holds a departure for 20 rows), and it lies outside what was allowed.
        let recent = (0..<20).compactMap { current[raised.time.millisecondsSinceEpoch - 100 * Int64($0)] }
        #expect(recent.count == 20)
        #expect(recent.contains { Float($0) == Float(reading) }, "\(reading) A is none of the last 20 readings \(recent)")
        #expect(reading < low || reading > high, "\(reading) A inside the allowed \(low)…\(high)")
        // When that row was read: the reading fed at that time, at most 20 rows before the alert.
        let judgedAt = try #require((part["judged_at"] as? String).flatMap { Timestamp(iso8601: Substring($0)) }, "\(raised.jsonLine)")
        #expect(current[judgedAt.millisecondsSinceEpoch].map { Float($0) } == Float(reading),
                "at \(judgedAt) the current read \(String(describing: current[judgedAt.millisecondsSinceEpoch])), not \(reading)")
        #expect(judgedAt <= raised.time && raised.time.millisecondsSinceEpoch - judgedAt.millisecondsSinceEpoch < 2000,
                "judged at \(judgedAt), alert at \(raised.time)")
        let timeOfDay = String(judgedAt.iso8601.dropFirst(11))
        // The range allowed is the row's course ± the check's tolerance for the current.
        let spikes = try #require(compressor.detector.spikes)
        let k = try #require(spikes.sensors.firstIndex(of: compressor.current))
        #expect(abs((high - low) - 2 * Double(spikes.tolerance[k])) < 1e-3 * max(1, high - low), "\(low)…\(high), tolerance \(spikes.tolerance[k])")
        func format(_ x: Double) -> String { AnomalyAlertEngine.format(x) }
        let quoted = "motor_current=\(format(value)) A (reading \(format(reading)) at \(timeOfDay), expected \(format(low))…\(format(high)) from its recent course)"
        #expect(raised.alert.message.contains(quoted), "\(raised.alert.message)")

        // Through the agent's alert thread to a real alert log and SQLite buffer.
        let directory = try TemporaryDirectory(prefix: "spike-quote")
        defer { directory.remove() }
        let (configuration, database, logPath) = try ScoredByTests.dispatchThroughAlertThread([raised], machines: [compressor.machine], in: directory)
        let line = try #require(try ScoredByTests.logLines(logPath).first)
        #expect(line["message"] as? String == raised.alert.message)
        let logged = try #require((line["top_sensors"] as? [[String: Any]])?.first { $0["sensor"] as? String == "motor_current" })
        #expect(logged["judged"] as? String == "spike" && logged["judged_reading"] as? Double == reading
                && logged["judged_at"] as? String == judgedAt.iso8601, "\(logged)")

        // `edge-agent alerts`, text and JSON.
        try bufferOnlyConfiguration(dataDirectory: directory.path).write(toFile: directory.file("agent.conf"), atomically: true, encoding: .utf8)
        let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
        let text = try await runProgram(executable, ["alerts", "--config", directory.file("agent.conf")])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains(quoted), "\(text.standardOutput)")
        let listed = try await runProgram(executable, ["alerts", "--json", "--config", directory.file("agent.conf")])
        #expect(listed.standardOutput.contains("\"judged\":\"spike\""), "\(listed.standardOutput)")

        // The summaries: the same fields in JSON, the same quote in HTML.
        let input = try BufferSummarySource.input(
            machine: compressor.machine.id, configuration: configuration, from: Timestamp(millisecondsSinceEpoch: raised.time.millisecondsSinceEpoch - 3_600_000),
            until: Timestamp(millisecondsSinceEpoch: raised.time.millisecondsSinceEpoch + 3_600_000), database: database)
        let files = try SummaryWriter.write(input, to: directory.file("summaries"))
        let json = try #require(try JSONSerialization.jsonObject(
            with: Data(try String(contentsOfFile: files.json, encoding: .utf8).utf8)) as? [String: Any])
        let alert = try #require((json["alerts"] as? [[String: Any]])?.first)
        let summarized = try #require((alert["top_sensors"] as? [[String: Any]])?.first { $0["sensor"] as? String == "motor_current" })
        #expect(summarized["judged"] as? String == "spike" && summarized["judged_reading"] as? Double == reading
                && summarized["judged_at"] as? String == judgedAt.iso8601
                && summarized["expected_low"] as? Double == low && summarized["expected_high"] as? Double == high, "\(summarized)")
        let html = try String(contentsOfFile: files.html, encoding: .utf8)
        #expect(html.contains("(reading \(NumberText.short(reading)) at \(timeOfDay), expected \(NumberText.short(low))–\(NumberText.short(high)) from its recent course)"),
                "HTML does not quote the spike")
    }

    /// The compressor's `loaded` (0 or 1) is the state the other sensors are quoted for: an
    /// alert names it only when its window's share of loaded rows lay outside what the score
    /// allows, and then within the values it takes. A small compressor (loaded, suction
    /// pressure, oil) calibrated switching state every 30 rows, whose oil then runs 3 °C hot:
    /// on main its alert named `loaded=1 (mean 1, expected -1.4…2.1)`-style, inside its range.
    @Test func theStateSensorIsNamedOnlyWhenItsShareWasPastTheThreshold() async throws {
        var random = SplitMix64(seed: 9)
        func row(_ r: Int, oil: Float = 50) -> [Float] {
            let loaded = r % 60 < 30
            return [loaded ? 1 : 0, (loaded ? 1.0 : 0.25) + 0.003 * Float(random.uniform(-1...1)), oil + 0.2 * Float(random.uniform(-1...1))]
        }
        let names = ["loaded", "suction_pressure", "oil_temperature"]
        var settings = CalibrationSettings()
        settings.compensateStates = true
        let (detector, report) = Calibrator(settings: settings).calibrate(values: (0..<600).flatMap { row($0) }[...], sensorNames: names)
        #expect(detector.state?.state == 0, "no state compensation: not the case under test")
        let model = MachineModel(path: "memory", file: DetectorFile(machine: "compressor-1", calibratedAt: "2026-11-29T00:00:00.000Z",
                                                                    detector: detector, report: report))
        let machine = AlertTextTests.machine("compressor-1", names: names, units: ["", "bar", "°C"], kind: .compressor)
        var engine = ScoringEngine(machines: [machine], models: [model])
        let rows = (600..<900).flatMap { row($0) } + (900..<1200).flatMap { row($0, oil: 53) }
        let events = AlertTextTests.feed(&engine, rows: rows, n: names.count, start: 1_795_000_000).map(\.event)
        #expect(events.contains { $0.change == .raised }, "the hot oil raised no alert")
        for event in events {
            #expect(try AlertTextTests.topSensors(event).contains { $0["sensor"] as? String == "oil_temperature" }, "\(event.jsonLine)")
            for part in try AlertTextTests.topSensors(event) where part["sensor"] as? String == "loaded" {
                let contribution = try #require(part["contribution"] as? Double)
                #expect(contribution > event.alert.threshold, "loaded named for a share within the threshold: \(event.jsonLine)")
                let low = try #require(part["expected_low"] as? Double), high = try #require(part["expected_high"] as? Double)
                #expect(0 <= low && high <= 1, "\(event.jsonLine)")
            }
            #expect(!event.alert.message.contains("loaded=1 (mean") && !event.alert.message.contains("loaded=0 (mean"), "\(event.alert.message)")
        }

        // Through the alert thread and `edge-agent alerts`: the same sensors, in text and JSON.
        let directory = try TemporaryDirectory(prefix: "state-quote")
        defer { directory.remove() }
        _ = try ScoredByTests.dispatchThroughAlertThread(events, machines: [machine], in: directory)
        try bufferOnlyConfiguration(dataDirectory: directory.path).write(toFile: directory.file("agent.conf"), atomically: true, encoding: .utf8)
        let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
        let listed = try await runProgram(executable, ["alerts", "--json", "--config", directory.file("agent.conf")])
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]])
        #expect(!objects.isEmpty)
        for object in objects {
            let details = try #require(object["details"] as? [String: Any], "\(object)")
            let names = ((details["top_sensors"] as? [[String: Any]]) ?? []).compactMap { $0["sensor"] as? String }
            let message = try #require(details["message"] as? String)
            for name in names { #expect(message.contains("\(name)="), "\(name) in top_sensors, not in the message: \(message)") }
            #expect(names.contains("loaded") == message.contains("loaded="), "\(object)")
        }
        let text = try await runProgram(executable, ["alerts", "--config", directory.file("agent.conf")])
        #expect(text.status == 0 && !text.standardOutput.contains("loaded=1 (mean"), "\(text.standardOutput)")
    }

    /// A pump's flow, whose expected range its speed moves (the load prior), is expected "at
    /// this speed": the pump has no states. Pump-7 of `UnseenSpeedAlertTests`, its flow 45 %
    /// above its law at 1000 rpm.
    @Test func aPumpSensorItsSpeedMovesIsExpectedAtThisSpeed() async throws {
        let (machine, model) = try UnseenSpeedAlertTests.machineAndModel()
        var engine = ScoringEngine(machines: [machine], models: [model])
        let start: Int64 = 1_800_000_000_000
        #expect(UnseenSpeedAlertTests.feed(&engine, rows: (0..<300).map { UnseenSpeedAlertTests.row(5000 + $0, speed: 1450) }, start: start).isEmpty)
        let slow = (0..<300).map { UnseenSpeedAlertTests.row(6000 + $0, speed: 1000, flowFactor: 1.45) }
        let raised = try #require(UnseenSpeedAlertTests.feed(&engine, rows: slow, start: start + 300_000).first { $0.change == .raised })
        let flow = try #require(try AlertTextTests.topSensors(raised).first { $0["sensor"] as? String == "flow" }, "\(raised.jsonLine)")
        #expect(flow["judged"] as? String == "state" && flow["relative_to"] == nil, "not the case under test: \(raised.jsonLine)")
        #expect(flow["moved_with"] as? String == "speed", "\(raised.jsonLine)")
        #expect(raised.alert.message.contains("expected "), "\(raised.alert.message)")
        #expect(!raised.alert.message.contains("for this state"), "\(raised.alert.message)")
        let low = try #require(flow["expected_low"] as? Double), high = try #require(flow["expected_high"] as? Double)
        func format(_ x: Double) -> String { AnomalyAlertEngine.format(x) }
        let quoted = "expected \(format(low))…\(format(high)) at this speed)"
        #expect(raised.alert.message.contains(quoted), "\(raised.alert.message)")

        // Through the agent's alert thread and `edge-agent alerts`, text and JSON.
        let directory = try TemporaryDirectory(prefix: "speed-quote")
        defer { directory.remove() }
        let (configuration, database, _) = try ScoredByTests.dispatchThroughAlertThread([raised], machines: [machine], in: directory)
        try bufferOnlyConfiguration(dataDirectory: directory.path).write(toFile: directory.file("agent.conf"), atomically: true, encoding: .utf8)
        let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
        let text = try await runProgram(executable, ["alerts", "--config", directory.file("agent.conf")])
        #expect(text.standardOutput.contains(quoted) && !text.standardOutput.contains("for this state"), "\(text.standardOutput)")
        let listed = try await runProgram(executable, ["alerts", "--json", "--config", directory.file("agent.conf")])
        #expect(listed.standardOutput.contains("\"moved_with\":\"speed\""), "\(listed.standardOutput)")
        // The summary's HTML quotes it so too (from the buffer's copy of the line).
        let input = try BufferSummarySource.input(
            machine: machine.id, configuration: configuration, from: Timestamp(millisecondsSinceEpoch: start),
            until: Timestamp(millisecondsSinceEpoch: start + 3_600_000), database: database)
        let html = try String(contentsOfFile: try SummaryWriter.write(input, to: directory.file("summaries")).html, encoding: .utf8)
        #expect(html.contains("\(NumberText.short(high)) at this speed)") && !html.contains("for this state"), "HTML still says for this state")
    }
}
