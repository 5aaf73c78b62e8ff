import EdgeCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport

@testable import Summaries

private func at(_ iso: String) -> Timestamp { Timestamp(iso8601: Substring(iso))! }

/// A small input: two sensors over ten minutes at 10 s, one anomaly alert, scores, a model.
func smallInput(machine: String = "pump-1", sensorName: String = "pressure") -> SummaryInput {
    let start = at("2026-11-29T01:00:00Z")
    let samples = (0..<60).map { i in
        Sample(time: Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(i) * 10_000), value: 5 + Double(i % 7) * 0.1,
               quality: i == 30 ? .timeout : .good)
    }
    let flow = (0..<60).map { i in
        Sample(time: Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(i) * 10_000), value: 40 + Double(i % 5))
    }
    let scores = (0..<60).map { i in
        ScorePoint(time: Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(i) * 10_000), score: i >= 40 && i < 45 ? 4 : 1)
    }
    let alert = SummaryAlert(
        id: "pump-1-1", kind: "anomaly", severity: "critical", started: at("2026-11-29T01:06:40Z"), ended: at("2026-11-29T01:07:30Z"),
        peakScore: 4, threshold: 3,
        topSensors: [SummaryAlertSensor(sensor: sensorName, value: 5.6, unit: "bar", contribution: 2.5, normalLow: 4.8, normalHigh: 5.7)],
        message: "pressure high")
    return SummaryInput(
        machine: machine, machineDescription: "test pump", start: start, end: at("2026-11-29T01:10:00Z"), pollIntervalMilliseconds: 10_000,
        sensors: [SensorSeries(name: sensorName, unit: "bar", samples: samples, normalLow: 4.8, normalHigh: 5.7),
                  SensorSeries(name: "flow", unit: "m³/h", samples: flow)],
        scores: ScoreSeries(points: scores, threshold: 3), alerts: [alert],
        dataQualityEvents: [DataQualityEvent(time: at("2026-11-29T01:05:00Z"), kind: "sensor_stale", subject: sensorName, message: "no answer")],
        model: ModelInfo(name: "model 1", calibrated: at("2026-11-28T10:00:00Z"), calibrationWindows: 500, threshold: 3))
}

/// Counts elements by name while checking the document is well-formed XML.
final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var svgClasses: [String] = []
    var text = ""
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
        if name == "svg" { svgClasses.append(attributes["class"] ?? "") }
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
}

@Suite struct SummaryFilesTests {
    @Test func fileNamesCarryMachineAndPeriodWithoutColons() throws {
        let name = SummaryFileName(machine: "pump-1", start: at("2026-11-29T01:00:00Z"), end: at("2026-11-29T02:00:00Z"))
        #expect(name.fileName(extension: "json") == "pump-1_2026-11-29T01-00-00Z_1h.json")
        #expect(SummaryFileName(parsing: "pump-1_2026-11-29T01-00-00Z_1h.json") == name)
        let odd = SummaryFileName(machine: "hall b/pump_2:a", start: at("2026-11-29T00:00:00Z"), end: at("2026-11-30T00:00:00Z"))
        #expect(odd.baseName == "hall-b-pump_2-a_2026-11-29T00-00-00Z_1d")
        #expect(SummaryFileName(parsing: odd.fileName(extension: "csv"))?.machine == "hall-b-pump_2-a")
        #expect(SummaryFileName(parsing: "notes.txt") == nil)
        #expect(SummaryFileName(parsing: ".pump-1_2026-11-29T01-00-00Z_1h.json.tmp-1-2") == nil)
    }

    @Test(arguments: [(Int64(900_000), "15m"), (3_600_000, "1h"), (86_400_000, "1d"), (5_400_000, "90m"), (90_000, "90s"), (1500, "1500ms")])
    func periodLengths(milliseconds: Int64, text: String) {
        #expect(SummaryFileName.lengthText(milliseconds: milliseconds) == text)
    }

    @Test func writesThreeCompleteFilesAndNoTemporaries() throws {
        let dir = try TemporaryDirectory(prefix: "summaries")
        defer { dir.remove() }
        let target = dir.file("out/nested")
        let files = try SummaryWriter.write(smallInput(), to: target)
        #expect(files.json == target + "/pump-1_2026-11-29T01-00-00Z_10m.json")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).sorted() == [
            "pump-1_2026-11-29T01-00-00Z_10m.csv", "pump-1_2026-11-29T01-00-00Z_10m.html", "pump-1_2026-11-29T01-00-00Z_10m.json",
        ])

        // JSON: the statistics, hand-checked for the pressure sensor.
        let object = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: files.json))) as? [String: Any])
        #expect(object["machine"] as? String == "pump-1")
        #expect(object["period_start"] as? String == "2026-11-29T01:00:00.000Z")
        let sensors = try #require(object["sensors"] as? [[String: Any]])
        #expect(sensors.count == 2)
        #expect(sensors[0]["count"] as? Int == 59)
        #expect(sensors[0]["expected"] as? Int == 60)
        #expect(sensors[0]["completeness_percent"] as? Double == 98.33)
        #expect(sensors[0]["min"] as? Double == 5)
        #expect(abs((sensors[0]["max"] as? Double ?? 0) - 5.6) < 1e-12)
        #expect((sensors[0]["bad_readings"] as? [String: Any])?["timeout"] as? Int == 1)
        let score = try #require(object["anomaly_score"] as? [String: Any])
        #expect(score["max"] as? Double == 4)
        #expect(score["fraction_above_threshold"] as? Double == 5.0 / 60)
        let alerts = try #require(object["alerts"] as? [[String: Any]])
        #expect(alerts.count == 1)
        #expect((alerts[0]["top_sensors"] as? [[String: Any]])?.first?["sensor"] as? String == "pressure")
        #expect((object["model"] as? [String: Any])?["calibrated"] as? String == "2026-11-28T10:00:00.000Z")
        #expect((object["data_quality_events"] as? [Any])?.count == 1)

        // CSV: header row plus one row per sensor.
        let csv = try String(contentsOfFile: files.csv, encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3)
        #expect(csv[0] == Substring(SummaryCSV.columns.joined(separator: ",")))
        let flow = csv[2].split(separator: ",", omittingEmptySubsequences: false)
        #expect(flow.count == SummaryCSV.columns.count)
        #expect(flow.prefix(10).joined(separator: ",") == "pump-1,2026-11-29T01:00:00.000Z,2026-11-29T01:10:00.000Z,flow,m³/h,60,60,100.00,40,44")
        #expect(abs((Double(flow[10]) ?? 0) - 42) < 1e-9)  // mean of 12 × (40 … 44)
        #expect(abs((Double(flow[11]) ?? 0) - (120.0 / 59).squareRoot()) < 1e-9)  // Σ(x − 42)² = 12 × 10
    }

    @Test func htmlIsWellFormedWithOneChartPerSensorAndEscapedText() throws {
        let nasty = "p<1>&\"q\"'"
        var input = smallInput(machine: "pump<&>", sensorName: nasty)
        input.machineDescription = "<script>alert(1)</script>"
        let html = SummaryHTML.render(input, statistics: SummaryStatistics(input))
        let parser = XMLParser(data: Data(html.utf8))
        let counter = ElementCounter()
        parser.delegate = counter
        #expect(parser.parse(), "not well-formed: \(parser.parserError.map { "\($0)" } ?? "") at line \(parser.lineNumber)")
        #expect(counter.counts["svg"] == input.sensors.count + 1)
        #expect(counter.svgClasses.allSatisfy { $0 == "chart-svg" })
        #expect(counter.counts["script"] == nil)
        #expect(counter.counts["link"] == nil)
        #expect(counter.counts["img"] == nil)
        #expect(counter.text.contains(nasty))
        #expect(counter.text.contains("<script>alert(1)</script>"))
        // Self-contained: the only URLs are the XHTML and SVG namespace names.
        #expect(!html.replacingOccurrences(of: "http://www.w3.org/", with: "").contains("http"))
        #expect(!html.contains("url(http") && !html.contains("@import"))
        #expect(html.contains("<meta name=\"viewport\""))
    }

    @Test func withoutScoresThereIsNoScoreChart() throws {
        var input = smallInput()
        input.scores = nil
        input.model = nil
        let html = SummaryHTML.render(input, statistics: SummaryStatistics(input))
        let parser = XMLParser(data: Data(html.utf8))
        let counter = ElementCounter()
        parser.delegate = counter
        #expect(parser.parse())
        #expect(counter.counts["svg"] == input.sensors.count)
        #expect(html.contains("not calibrated"))
        #expect(SummaryJSON.render(input, statistics: SummaryStatistics(input)).contains("\"anomaly_score\":null"))
    }

    @Test func sampleReportHasAChartPerSensorPlusTheScore() throws {
        let input = SampleSummary.input()
        let html = SummaryHTML.render(input, statistics: SummaryStatistics(input))
        let parser = XMLParser(data: Data(html.utf8))
        let counter = ElementCounter()
        parser.delegate = counter
        #expect(parser.parse())
        #expect(counter.counts["svg"] == 6)
        #expect(html.utf8.count < 200_000)
    }

    /// The sample's noise keeps the exact stream it had before its generator moved to EdgeCore
    /// (the first values of the sample's own SplitMix64 copy, seed 7), so the sample report and
    /// its screenshot do not change.
    @Test func sampleNoiseIsBitIdentical() {
        var random = SplitMix64(seed: 7)
        let values = (0..<3).map { _ in random.sampleGaussian().bitPattern }
        #expect(values == [0x3FF5_D702_29CD_EE62, 0xBFD9_60A6_1872_E245, 0x3F72_6D0B_EBC9_6DB7])
    }
}
