import Detection
import Foundation
import TestSupport
import Testing

@Suite("Detection latency per fault (evaluate's fault table)")
struct EvaluationFaultLatencyTests {
    /// 20 rows, one a second from 00:00:00, one sensor; `labels` as given.
    static func table(labels: [UInt8]) -> SensorTable {
        let times = (0..<labels.count).map { "2026-11-29T00:00:\(String(format: "%02d", $0)).000Z" }
        return SensorTable(sensorNames: ["a"], timestamps: times, values: [Float](repeating: 1, count: labels.count), anomalyLabels: labels)
    }

    static func alerts(at rows: [Int], count: Int = 20) -> [Bool] {
        (0..<count).map { rows.contains($0) }
    }

    @Test("faults from a fault list: latency in rows and seconds, missed, already alerting, begun during calibration")
    func listedFaults() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try """
            machine,fault,start,end,severity,profile,sensor,channels
            pump-1,leak,2026-11-29T00:00:02.000Z,2026-11-29T00:00:04.000Z,0.5,step,,flow
            pump-1,inlet-valve-closing,2026-11-29T00:00:06.000Z,2026-11-29T00:00:10.500Z,0.9,ramp,,flow;inlet_pressure
            pump-1,imbalance,2026-11-29T00:00:12.000Z,2026-11-29T00:00:13.000Z,0.9,step,,vibration_x
            pump-1,sensor-drift,2026-11-29T00:00:15.000Z,2026-11-29T00:00:17.000Z,0.9,ramp,flow,flow
            motor-1,overheating,2026-11-29T00:00:06.000Z,2026-11-29T00:00:09.000Z,0.9,ramp,,winding_temperature

            """.write(toFile: folder.file("faults.csv"), atomically: true, encoding: .utf8)
        let list = try #require(try FaultLatency.readList(path: folder.file("faults.csv")))
        #expect(list.count == 5)
        #expect(try FaultLatency.readList(path: folder.file("absent.csv")) == nil)
        let pump = list.filter { $0.machine == "pump-1" }
        // Rows 0…4 calibrate (the leak at rows 2…4 began during calibration: not counted).
        // Inlet valve rows 6…10: first alert at row 9 → 3 rows, 3 s. Imbalance rows 12…13: no
        // alert → missed (the alert at rows 9…10 ended before it). Drift rows 15…17: alert since
        // row 14 → latency 0, already alerting.
        let found = FaultLatency.detections(table: Self.table(labels: [UInt8](repeating: 0, count: 20)),
                                            alerts: Self.alerts(at: [3, 9, 10, 14, 15, 16]), firstScoredRow: 5, faults: pump)
        #expect(found.map(\.kind) == ["inlet-valve-closing", "imbalance", "sensor-drift"])
        #expect(found.map(\.firstRow) == [6, 12, 15])
        #expect(found.map(\.rows) == [5, 2, 3])
        #expect(found.map(\.latencyRows) == [3, nil, 0])
        #expect(found.map(\.latencySeconds) == [3, nil, 0])
        #expect(found.map(\.alertingAtStart) == [false, false, true])
        #expect(found[2].sensor == "flow" && found[0].profile == "ramp")
        #expect(found[0].start == "2026-11-29T00:00:06.000Z")

        let summary = FaultLatency.summary(found + found)
        #expect(summary.map(\.kind) == ["inlet-valve-closing", "imbalance", "sensor-drift"])
        #expect(summary.map(\.faults) == [2, 2, 2])
        #expect(summary.map(\.detected) == [2, 0, 2])
        #expect(summary.map(\.alertingAtStart) == [0, 0, 2])
        #expect(summary.map(\.medianLatency) == [3, nil, nil])

        var evaluation = FileEvaluation(file: "pump-1.csv", rows: 20, counts: ConfusionCounts(), threshold: 1)
        evaluation.faults = found
        let text = EvaluationText.faultTable(files: [evaluation])
        #expect(text.contains("3 rows (3 s)") && text.contains("missed") && text.contains("0 rows (0 s), already alerting"), "\(text)")
        let json = EvaluationText.json(files: [evaluation], total: ConfusionCounts(), calibrationRows: 5)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let faults = try #require((object["files"] as? [[String: Any]])?.first?["faults"] as? [[String: Any]])
        #expect(faults.map { $0["latency_rows"] as? Int } == [3, nil, 0])
        #expect(faults.map { $0["detected"] as? Bool } == [true, false, true])
        let kinds = try #require(object["fault_kinds"] as? [[String: Any]])
        #expect(kinds.first?["median_latency_rows"] as? Int == 3)
    }

    @Test("without a fault list each run of labelled rows is a fault; a run under way when scoring starts is not")
    func labelRuns() {
        //                       0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19
        let labels: [UInt8] =   [0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0]
        let found = FaultLatency.detections(table: Self.table(labels: labels), alerts: Self.alerts(at: [11, 12, 13]),
                                            firstScoredRow: 5, faults: nil)
        #expect(found.map(\.kind) == ["anomaly", "anomaly"])
        #expect(found.map(\.firstRow) == [9, 16])
        #expect(found.map(\.latencyRows) == [2, nil])
    }
}
