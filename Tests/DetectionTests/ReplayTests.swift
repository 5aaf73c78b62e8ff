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
        #expect(fields[200..<240].allSatisfy { $0[3] == "1" })
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
        let settings = CalibrationSettings(deviation: WindowDeviationSettings(windowRows: 10),
                                           rule: AlertDecisionRule(raiseAfterRows: 1, clearAfterRows: 1))
        let results = try DatasetEvaluation.evaluate(directory: dir.path, calibrationRows: 100, settings: settings)
        #expect(results.map(\.file) == ["sub/one.csv"])
        // The 10-row window mean jumps past the threshold on the first shifted row and stays
        // there until the last shifted row leaves the window, 9 rows after the fault ends.
        #expect(results.first?.counts == ConfusionCounts(truePositives: 40, falsePositives: 9, falseNegatives: 0, trueNegatives: 101))
    }

    @Test("persistence: an alert is raised only after enough rows above the threshold")
    func decisionRule() {
        let rule = AlertDecisionRule(raiseAfterRows: 3, clearAfterRows: 2)
        var state = AlertDecisionRule.State()
        let scores: [Float] = [5, 5, 0, 5, 5, 5, 0, 5, 0, 0, 5]
        let alerts = scores.map { state.update(score: $0, threshold: 1, rule: rule) }
        #expect(alerts == [false, false, false, false, false, true, true, true, true, false, false])
    }

    @Test("replay refuses a file shorter than its calibration")
    func tooShort() throws {
        let table = try CSVReader().parse(text: labelledCSV(rows: 50, anomalous: 0..<0, shift: 0, seed: 3))
        #expect(throws: ReplayError.self) { try Replay.run(table, calibrationRows: 50) }
    }
}
