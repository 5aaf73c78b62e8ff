import Detection
import EdgeCore
import Foundation
import Testing
import TestSupport

extension SplitMix64 {
    /// Test-data noise: uniform in [-1, 1) as `Float`, from the top 24 of the next 64 bits.
    mutating func signedUnitFloat() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}

/// A labelled two-sensor CSV: noise around fixed levels, with sensor `b` shifted by `shift` on `anomalous` rows.
func labelledCSV(rows: Int, anomalous: Range<Int>, shift: Float, seed: UInt64, crlf: Bool = false) -> String {
    var random = SplitMix64(seed: seed)
    let eol = crlf ? "\r\n" : "\n"
    var text = "datetime;a;b;anomaly;changepoint" + eol
    for r in 0..<rows {
        let bad = anomalous.contains(r)
        let a = 10 + 0.1 * random.signedUnitFloat()
        let b = 50 + 0.5 * random.signedUnitFloat() + (bad ? shift : 0)
        text += "2020-03-09 10:\(r / 60):\(r % 60);\(a);\(b);\(bad ? "1.0" : "0.0");0.0" + eol
    }
    return text
}

@Suite("Offline replay and dataset evaluation")
struct ReplayTests {
    @Test("replay takes the time between rows from the file's timestamps, as calibrate takes the poll interval")
    func secondsPerRowFromTimestamps() {
        func table(_ times: [String]) -> SensorTable {
            SensorTable(sensorNames: ["a"], timestamps: times, values: times.map { _ in 1 })
        }
        let fast = (0..<50).map { Timestamp(millisecondsSinceEpoch: 1_795_958_085_232 + Int64($0) * 100).iso8601 }
        #expect(Replay.secondsPerRow(table(fast)) == 0.1)
        // SKAB's style: a space for the T, steps of 1 s with the odd 2 s.
        #expect(Replay.secondsPerRow(table(["2020-03-09 10:14:33", "2020-03-09 10:14:34", "2020-03-09 10:14:36", "2020-03-09 10:14:37"])) == 1)
        #expect(Replay.secondsPerRow(table(["row 1", "row 2"])) == nil)
    }

    @Test("replay writes exactly one prediction line per input row; calibration rows never alert")
    func oneRowPerInputRow() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let text = labelledCSV(rows: 300, anomalous: 200..<240, shift: 50, seed: 1, crlf: true)
        try TextFile.write(text, to: dir.file("m.csv"))
        let table = try CSVReader().read(path: dir.file("m.csv"))
        let result = try Replay.run(table, calibrationRows: 100)
        let output = Replay.csv(table: table, result: result)
        try TextFile.write(output, to: dir.file("pred.csv"))
        let lines = try String(contentsOfFile: dir.file("pred.csv"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "timestamp,score,threshold,alert")
        #expect(lines.count == 1 + 300 + 1)  // header, rows, empty string after the final newline
        #expect(lines.last == "")
        let fields = lines[1..<301].map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(fields.allSatisfy { $0.count == 4 })
        #expect(fields[0..<100].allSatisfy { $0[3] == "0" })
        // The shipped rule raises on the third of five rows above the threshold: the fault's
        // first two rows are not yet alerted, every later one is.
        #expect(fields[200..<202].allSatisfy { $0[3] == "0" })
        #expect(fields[202..<240].allSatisfy { $0[3] == "1" })
        #expect(fields[0][0] == "2020-03-09 10:0:0")
    }

    @Test("evaluate counts match hand-computed counts on a tiny data set")
    func tinyDataset() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.file("sub"), withIntermediateDirectories: true)
        // 100 calibration rows, 50 normal, 40 anomalous (a huge shift), 60 normal.
        try TextFile.write(labelledCSV(rows: 250, anomalous: 150..<190, shift: 1000, seed: 2), to: dir.file("sub/one.csv"))
        try TextFile.write("datetime;a\n1;2\n", to: dir.file("unlabelled.csv"))
        // The simulator's fault list beside its exports: text cells, no label column, passed over.
        try TextFile.write("machine,fault,start,end\npump-1,leak,2026-01-01T00:49:20.000Z,2026-01-01T01:07:09.000Z\n",
                           to: dir.file("faults.csv"))
        var settings = CalibrationSettings(deviation: WindowDeviationSettings(windowRows: 10),
                                           rule: AlertDecisionRule(raiseAfterRows: 1, clearAfterRows: 1))
        let results = try DatasetEvaluation.evaluate(directory: dir.path, calibrationRows: 100, settings: settings)
        #expect(results.map(\.file) == ["sub/one.csv"])
        // The 10-row window mean jumps past the threshold on the first shifted row. The window's
        // recent part is its last 3 rows (a quarter of 10, rounded): once they are all normal
        // again, 2 rows after the fault ends, they differ from the older rows far more than in
        // calibration and the return-to-normal check scores the sensor by them.
        #expect(results.first?.counts == ConfusionCounts(truePositives: 40, falsePositives: 2, falseNegatives: 0, trueNegatives: 108))
        // Without the check the alert stays until the last shifted row leaves the window, 9 rows
        // after the fault ends.
        settings.deviation.returnCheck = nil
        let plain = try DatasetEvaluation.evaluate(directory: dir.path, calibrationRows: 100, settings: settings)
        #expect(plain.first?.counts == ConfusionCounts(truePositives: 40, falsePositives: 9, falseNegatives: 0, trueNegatives: 101))
    }

    @Test("persistence: an alert is raised only after enough rows above the threshold")
    func decisionRule() {
        let rule = AlertDecisionRule(raiseAfterRows: 3, clearAfterRows: 2)
        var state = AlertDecisionRule.State()
        let scores: [Float] = [5, 5, 0, 5, 5, 5, 0, 5, 0, 0, 5]
        let alerts = scores.map { state.update(score: $0, threshold: 1, rule: rule) }
        #expect(alerts == [false, false, false, false, false, true, true, true, true, false, false])
    }

    @Test("the shipped rule: 3 of 5 above raise, 10 at or below 0.8 × threshold clear, then a cooldown")
    func debounceHysteresisCooldown() {
        let rule = AlertDecisionRule(raiseCount: 3, raiseWindow: 5, clearRatio: 0.8, clearCount: 10, cooldownScores: 4)
        var state = AlertDecisionRule.State()
        func feed(_ scores: [Float]) -> [Bool] { scores.map { state.update(score: $0, threshold: 1, rule: rule) } }
        // Three above among five (not consecutive) raise on the third.
        #expect(feed([2, 0, 2, 0, 2]) == [false, false, false, false, true])
        // 0.9 is below the threshold but above 0.8 of it: it does not count toward clearing.
        #expect(feed(Array(repeating: 0.9, count: 12)).allSatisfy { $0 })
        // Nine low scores do not clear, a high one restarts the count, ten clear.
        #expect(feed(Array(repeating: 0.5, count: 9)).allSatisfy { $0 })
        #expect(feed([2]) == [true])
        #expect(feed(Array(repeating: 0.5, count: 10)) == Array(repeating: true, count: 9) + [false])
        // During the 4-score cooldown nothing is raised, though the scores are counted.
        #expect(feed([2, 2, 2, 2]) == [false, false, false, false])
        #expect(feed([2]) == [true])
        // NaN (no data) holds the state.
        #expect(feed([.nan, .nan]) == [true, true])
    }

    @Test("a detector file's rule written before the window, ratio and cooldown existed reads as the persistence rule it meant")
    func oldRuleDecodes() throws {
        let old = #"{"raiseAfterRows": 2, "clearAfterRows": 30}"#
        let rule = try JSONDecoder().decode(AlertDecisionRule.self, from: Data(old.utf8))
        #expect(rule == AlertDecisionRule(raiseAfterRows: 2, clearAfterRows: 30))
        #expect(rule.raiseWindow == 2 && rule.clearRatio == 1 && rule.cooldownScores == 0)
        let roundTrip = try JSONDecoder().decode(AlertDecisionRule.self, from: JSONEncoder().encode(AlertDecisionRule.standard))
        #expect(roundTrip == .standard)
    }

    @Test("replay refuses a file shorter than its calibration")
    func tooShort() throws {
        let table = try CSVReader().parse(text: labelledCSV(rows: 50, anomalous: 0..<0, shift: 0, seed: 3))
        #expect(throws: ReplayError.self) { try Replay.run(table, calibrationRows: 50) }
    }
}
