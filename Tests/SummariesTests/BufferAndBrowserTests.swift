import Configuration
import EdgeCore
import Foundation
import Store
import Testing
import TestSupport

@testable import Summaries

@Suite struct BufferSummaryTests {
    /// Readings written by the real writer thread into a real SQLite file, summarized back.
    @Test func summaryFromTheBufferMatchesTheReadingsWritten() async throws {
        let dir = try TemporaryDirectory(prefix: "summaries-buffer")
        defer { dir.remove() }
        let bus = BusConfiguration(name: "bus", transport: .tcp(host: "127.0.0.1", port: 502))
        var pressure = SensorConfiguration(name: "pressure", bus: "bus", address: 0)
        pressure.unit = "bar"
        var current = SensorConfiguration(name: "current", bus: "bus", address: 1)
        current.unit = "A"
        var machine = MachineConfiguration(id: "pump-1", sensors: [pressure, current])
        machine.pollInterval = .seconds(2)
        machine.description = "test pump"
        let other = MachineConfiguration(id: "fan-1", sensors: [SensorConfiguration(name: "speed", bus: "bus", address: 5)])
        let configuration = AgentConfiguration(sourcePath: "test.conf", agent: AgentSettings(), buses: [bus], machines: [machine, other])
        let path = Store.databasePath(dataDirectory: dir.path)
        let database = try BufferDatabase(path: path)
        let mapping = try database.registerSensors(configuration)
        let writer = try ReadingWriter(path: path, mapping: mapping)
        let start = Timestamp(iso8601: "2026-11-29T01:00:00Z")!.millisecondsSinceEpoch
        // 30 polls 2 s apart (one minute): pressure 1…30 except a timeout at poll 10; current constant 7.
        for i in 0..<30 {
            let time = Timestamp(millisecondsSinceEpoch: start + Int64(i) * 2000)
            let bad = i == 10
            _ = writer.append([
                Reading(machine: 0, sensor: 0, time: time, value: bad ? .nan : Double(i + 1), quality: bad ? .timeout : .good),
                Reading(machine: 0, sensor: 1, time: time, value: 7, quality: .good),
                Reading(machine: 1, sensor: 0, time: time, value: 1000, quality: .good),
            ])
        }
        #expect(await writer.committed(within: .seconds(10)))
        // Details as the runtime stores them: the alert's latest alert-log line.
        let line = """
            {"event":"cleared","time":"2026-11-29T01:00:40.000Z","id":"pump-1-\(start + 20_000)","machine":"pump-1","kind":"anomaly",\
            "severity":"critical","started":"2026-11-29T01:00:20.000Z","ended":"2026-11-29T01:00:40.000Z","peak_score":5,"threshold":3,\
            "top_sensors":[{"sensor":"pressure","value":30,"unit":"bar","contribution":4.5,"normal_low":1,"normal_high":20},\
            {"sensor":"current","value":7,"unit":"A","contribution":null,"normal_low":6,"normal_high":8}],"message":"pressure high"}
            """
        _ = try database.insertAlert(AlertRecord(
            machine: "pump-1", kind: "anomaly", severity: "critical", state: .cleared, note: "valve closed", started: Timestamp(millisecondsSinceEpoch: start + 20_000),
            ended: Timestamp(millisecondsSinceEpoch: start + 40_000), peakScore: 5, threshold: 3, details: line))
        _ = try database.insertAlert(AlertRecord(
            machine: "pump-1", kind: "anomaly", severity: "warning", started: Timestamp(millisecondsSinceEpoch: start - 600_000),
            ended: Timestamp(millisecondsSinceEpoch: start - 500_000), peakScore: 4, threshold: 3))
        _ = try database.saveModel(ModelRecord(machine: "pump-1", created: Timestamp(millisecondsSinceEpoch: start - 86_400_000), windows: 321, threshold: 3, blob: [1, 2, 3]))
        // Recalibrated after the period: its summary still names the model in effect then.
        _ = try database.saveModel(ModelRecord(machine: "pump-1", created: Timestamp(millisecondsSinceEpoch: start + 120_000), windows: 999, threshold: 9, blob: [4, 5, 6]))
        _ = writer.close()

        let reader = try BufferDatabase(path: path, access: .readOnly)
        let input = try BufferSummarySource.input(
            machine: "pump-1", configuration: configuration, from: Timestamp(millisecondsSinceEpoch: start),
            until: Timestamp(millisecondsSinceEpoch: start + 60_000), database: reader)
        #expect(input.machineDescription == "test pump")
        #expect(input.pollIntervalMilliseconds == 2000)
        let stats = SummaryStatistics(input)
        #expect(stats.sensors.map(\.name) == ["pressure", "current"])
        #expect(stats.sensors[0].count == 29)
        #expect(stats.sensors[0].expected == 30)
        // The timeout is counted as read, with its quality, as the agent's own summaries count it.
        #expect(stats.sensors[0].readings == 30 && stats.sensors[0].count(of: .timeout) == 1)
        // Σ(1…30) − 11 = 454 over 29 values.
        #expect(abs((stats.sensors[0].mean ?? 0) - 454.0 / 29) < 1e-9)
        #expect(stats.sensors[0].minimum == 1 && stats.sensors[0].maximum == 30 && stats.sensors[0].last == 30)
        #expect(stats.sensors[1].count == 30 && stats.sensors[1].standardDeviation == 0 && stats.sensors[1].unit == "A")
        #expect(stats.alerts.count == 1)
        let alert = try #require(stats.alerts.first)
        #expect(alert.peakScore == 5)
        #expect(alert.id == "pump-1-\(start + 20_000)")
        #expect(alert.message == "pressure high (note: valve closed)")
        #expect(alert.topSensors.map(\.sensor) == ["pressure", "current"])
        #expect(alert.topSensors.first == SummaryAlertSensor(sensor: "pressure", value: 30, unit: "bar", contribution: 4.5, normalLow: 1, normalHigh: 20))
        #expect(alert.topSensors.last?.contribution.isNaN == true)
        // Details that are not an alert-log line still give an alert.
        let bare = BufferSummarySource.summaryAlert(AlertRecord(
            id: 9, machine: "pump-1", kind: "sensor_stale", severity: "warning", started: Timestamp(millisecondsSinceEpoch: start),
            peakScore: 0, threshold: 0, details: "not json"))
        #expect(bare.id == "pump-1-9" && bare.topSensors.isEmpty && bare.message == "")
        #expect(input.model?.calibrationWindows == 321)
        #expect(input.model?.threshold == 3)
        #expect(throws: StoreError.self) {
            try BufferSummarySource.input(machine: "nope", configuration: configuration, from: Timestamp(millisecondsSinceEpoch: start),
                                          until: Timestamp(millisecondsSinceEpoch: start + 60_000), database: reader)
        }
        let files = try SummaryWriter.write(input, to: dir.file("summaries"))
        #expect(files.html.hasSuffix("/pump-1_2026-11-29T01-00-00Z_1m.html"))

        // Both machines from one pass over the period (as the agent's periodic summaries read
        // them) write the same files, byte for byte, as each machine read on its own.
        let from = Timestamp(millisecondsSinceEpoch: start), until = Timestamp(millisecondsSinceEpoch: start + 60_000)
        let generated = Timestamp(iso8601: "2026-11-29T02:00:00Z")!
        let together = try BufferSummarySource.inputs(
            machines: ["fan-1", "pump-1"], configuration: configuration, from: from, until: until, database: reader, generated: generated)
        #expect(together.map(\.machine) == ["fan-1", "pump-1"])
        for (k, machine) in ["fan-1", "pump-1"].enumerated() {
            let alone = try BufferSummarySource.input(
                machine: machine, configuration: configuration, from: from, until: until, database: reader, generated: generated)
            // Readings of any quality: pump-1's timeout included.
            #expect(alone.sensors.reduce(0) { $0 + $1.readingCount } == (machine == "fan-1" ? 30 : 60))
            let a = try SummaryWriter.write(together[k], to: dir.file("together"))
            let b = try SummaryWriter.write(alone, to: dir.file("alone"))
            for (x, y) in [(a.json, b.json), (a.csv, b.csv), (a.html, b.html)] {
                #expect(try String(contentsOfFile: x, encoding: .utf8) == String(contentsOfFile: y, encoding: .utf8), "\(x)")
            }
        }
    }
}

/// The chromium binary, when installed (the test skips otherwise).
private let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite struct BrowserTests {
    /// Renders the sample report in headless Chromium at phone width and checks the screenshot
    /// is an image with many colours (charts drawn), not a blank page.
    @Test(.enabled(if: chromium != nil, "chromium is not installed (make report-screenshot installs it)"),
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "python3 is needed to read the PNG"))
    func sampleReportRendersInChromium() async throws {
        let dir = try TemporaryDirectory(prefix: "summaries-browser")
        defer { dir.remove() }
        let files = try SummaryWriter.write(SampleSummary.input(), to: dir.path)
        let png = dir.file("report.png")
        // Under timeout(1): a browser that hangs on a loaded machine fails the test instead of stalling the suite.
        let browser = try await runProgram("/usr/bin/timeout", [
            "120", chromium!, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(dir.file("profile"))",
            "--screenshot=\(png)", "--window-size=412,1400", "file://\(files.html)",
        ])
        #expect(browser.status == 0)
        #expect(FileManager.default.fileExists(atPath: png))

        let check = try await runProgram("/usr/bin/python3", [repositoryRoot() + "/scripts/png-colors.py", png, "--min-colors", "200"])
        let text = check.standardOutput
        #expect(check.status == 0, "screenshot looks blank: \(text)\(check.standardError)")
        #expect(text.hasPrefix("412x1400"))
    }
}
