import Configuration
import Detection
import EdgeCore
import Foundation
import Store
import Testing
import TestSupport

/// `calibrate` treats a reading outside its sensor's `min`…`max` as the agent does (unread):
/// a pump whose pressure transmitter glitched to 65535 for 30 s of every 200 (and whose flow read
/// -32768 a few times) before `min`/`max` were set in agent.conf (the poller flags readings
/// outside them as `out_of_range` only from then on, so the buffer holds the glitches as good
/// readings) is calibrated from a real buffer and from a CSV with agent.conf, and both detectors
/// must be the one calibrated from the same buffer without those readings. Before, calibration
/// learnt the glitches as normal while the agent, which never scores them, judged the machine
/// with that detector. The same glitches as the poller stores them once `min`/`max` are set
/// (`out_of_range`, value kept) give the same detector and are counted as out of range, not as
/// missing readings.
@Suite struct CalibrationOutOfRangeTests {
    static let rows = 1800
    static let start = Timestamp(iso8601: "2026-11-29T00:00:00Z")!.millisecondsSinceEpoch

    /// The reading of sensor `s` (flow, pressure, current) at row `r`, nil when `glitches` and
    /// the row is one where the sensor glitched.
    static func value(sensor s: Int, row r: Int, glitches: Bool) -> Double {
        // Eighths and sixty-fourths: the same number as a Float from the buffer and from the CSV.
        let wobble = Double((r * 37 + s * 13) % 11) / 8
        switch s {
        case 0: return glitches && r % 200 == 100 ? -32768 : 50 + 4 * wobble
        case 1: return glitches && r % 200 < 30 ? 65535 : 6 + wobble / 4
        default: return 20 + 2 * wobble + Double(r % 64) / 64
        }
    }

    /// Whether row `r` of sensor `s` is a glitch.
    static func isGlitch(sensor s: Int, row r: Int) -> Bool {
        value(sensor: s, row: r, glitches: true) != value(sensor: s, row: r, glitches: false)
    }

    /// agent.conf of pump `p` at 1 s polls with its buffer in `folder/name`.
    static func configuration(_ folder: TemporaryDirectory, _ name: String) throws -> String {
        let path = folder.file("\(name).conf")
        try """
            \(offlineAgentConfigurationHead(dataDirectory: folder.file(name)))

            [[machine]]
            id = "p"
            poll_interval = "1s"

              [[machine.sensor]]
              name = "flow"
              bus = "b"
              address = 0
              min = 0.0
              max = 400.0

              [[machine.sensor]]
              name = "pressure"
              bus = "b"
              address = 1
              min = 0.0
              max = 16.0

              [[machine.sensor]]
              name = "current"
              bus = "b"
              address = 2
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Writes half an hour of the pump to the buffer of `config` with the agent's writer: with
    /// the glitches as good readings (what a register that reads 65535 gives before `min`/`max`
    /// are set), as the poller flags them once they are (`flagged`: `out_of_range`, value kept),
    /// or without them.
    static func writeBuffer(config: String, glitches: Bool, flagged: Bool = false) throws {
        let configuration = try ConfigurationLoader.load(path: config)
        try FileManager.default.createDirectory(atPath: configuration.agent.dataDirectory, withIntermediateDirectories: true)
        let path = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)
        let mapping = try BufferDatabase(path: path).registerSensors(configuration)
        let writer = try ReadingWriter(path: path, mapping: mapping)
        for r in 0..<rows {
            let t = Timestamp(millisecondsSinceEpoch: start + Int64(r) * 1000)
            let readings = (0..<3).filter { glitches || !isGlitch(sensor: $0, row: r) }.map {
                Reading(machine: 0, sensor: Int32($0), time: t, value: value(sensor: $0, row: r, glitches: glitches),
                        quality: flagged && isGlitch(sensor: $0, row: r) ? .outOfRange : .good)
            }
            _ = writer.append(readings)
        }
        #expect(writer.flush(timeout: .seconds(30)))
        _ = writer.close()
    }

    static func calibrate(_ arguments: [String]) async throws -> [String: Any] {
        let executable = try #require(builtExecutable(named: "edge-agent"), "build edge-agent first (swift build)")
        let run = try await runProgram(executable, ["calibrate", "--machine", "p", "--force", "--json"] + arguments)
        #expect(run.status == 0, "\(run.standardError)")
        return try #require(JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any], "\(run.standardOutput)")
    }

    /// Whether two arrays hold the same numbers (NaN where the other has NaN).
    static func same(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
    }

    @Test("calibrate from the buffer and from --input leaves out-of-range readings out, as the agent does, and says how many")
    func outOfRangeReadingsAreNotCalibrated() async throws {
        let folder = try TemporaryDirectory(prefix: "calrange")
        defer { folder.remove() }
        let glitched = try Self.configuration(folder, "glitched"), clean = try Self.configuration(folder, "clean")
        let flagged = try Self.configuration(folder, "flagged")
        try Self.writeBuffer(config: glitched, glitches: true)
        try Self.writeBuffer(config: clean, glitches: false)
        try Self.writeBuffer(config: flagged, glitches: true, flagged: true)
        let stretch = ["--from", "2026-11-29T00:00:00Z", "--until", "2026-11-29T00:30:00Z"]

        let cleanJSON = try await Self.calibrate(["--config", clean] + stretch)
        #expect(cleanJSON["out_of_range_readings"] as? Int == 0)
        #expect((cleanJSON["out_of_range"] as? [Any])?.isEmpty == true)
        let glitchedJSON = try await Self.calibrate(["--config", glitched] + stretch)
        #expect(glitchedJSON["out_of_range_readings"] as? Int == 279)
        let sensors = try #require(glitchedJSON["out_of_range"] as? [[String: Any]])
        #expect(sensors.map { $0["sensor"] as? String } == ["flow", "pressure"])
        #expect(sensors.map { $0["readings"] as? Int } == [9, 270])
        #expect(sensors.last?["max"] as? Double == 16)
        // The same rows left out with the readings missing and with them out of range, but
        // counted for what they are: out of range, not missing (no wiring fault to look for).
        #expect(cleanJSON["rows_with_missing_readings"] as? Int == 279)
        #expect(cleanJSON["rows_with_out_of_range_readings"] as? Int == 0)
        #expect(glitchedJSON["rows_with_missing_readings"] as? Int == 0)
        #expect(glitchedJSON["rows_with_out_of_range_readings"] as? Int == 279)
        #expect(glitchedJSON["used_rows"] as? Int == cleanJSON["used_rows"] as? Int)

        // The readings the poller flagged out_of_range (value kept in the buffer): the same
        // counts, whatever agent.conf's range says, and never learnt.
        let flaggedJSON = try await Self.calibrate(["--config", flagged] + stretch)
        #expect(flaggedJSON["out_of_range_readings"] as? Int == 279)
        #expect((flaggedJSON["out_of_range"] as? [[String: Any]])?.map { $0["readings"] as? Int } == [9, 270])
        #expect(flaggedJSON["rows_with_missing_readings"] as? Int == 0)
        #expect(flaggedJSON["rows_with_out_of_range_readings"] as? Int == 279)

        // The same half hour as a CSV file, glitches in, with agent.conf: the same detector again.
        var csv = "timestamp,flow,pressure,current\n"
        for r in 0..<Self.rows {
            let t = Timestamp(millisecondsSinceEpoch: Self.start + Int64(r) * 1000).iso8601
            csv += t + (0..<3).map { ",\(Self.value(sensor: $0, row: r, glitches: true))" }.joined() + "\n"
        }
        try csv.write(toFile: folder.file("p.csv"), atomically: true, encoding: .utf8)
        let inputJSON = try await Self.calibrate(["--config", glitched, "--input", folder.file("p.csv"), "--data-dir", folder.file("input")])
        #expect(inputJSON["out_of_range_readings"] as? Int == 279)

        let expected = try DetectorFile.read(path: folder.file("clean/models/p.detector.json")).detector
        for path in ["glitched/models/p.detector.json", "flagged/models/p.detector.json", "input/models/p.detector.json"] {
            let detector = try DetectorFile.read(path: folder.file(path)).detector
            #expect(Self.same(detector.baseline.median, expected.baseline.median), "\(path): median \(detector.baseline.median) against \(expected.baseline.median)")
            #expect(Self.same(detector.baseline.scale, expected.baseline.scale), "\(path): scale \(detector.baseline.scale) against \(expected.baseline.scale)")
            #expect(Self.same(detector.baseline.windowCenter, expected.baseline.windowCenter), "\(path): window centre")
            #expect(Self.same(detector.baseline.windowScale, expected.baseline.windowScale), "\(path): window scale \(detector.baseline.windowScale) against \(expected.baseline.windowScale)")
            #expect(detector.threshold == expected.threshold, "\(path): threshold \(detector.threshold) against \(expected.threshold)")
        }
        // The text line names them too.
        let executable = try #require(builtExecutable(named: "edge-agent"))
        let text = try await runProgram(executable, ["calibrate", "--machine", "p", "--force", "--config", glitched] + stretch)
        #expect(text.standardOutput.contains("279 readings out of range left out as unread (flow 9 outside 0…400, pressure 270 outside 0…16)"),
                "\(text.standardOutput)")
    }
}
