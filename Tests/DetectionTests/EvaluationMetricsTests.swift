import Detection
import Testing

@Suite("Point-wise detection metrics (SKAB definitions)")
struct EvaluationMetricsTests {
    @Test("counts and metrics match hand computation")
    func handComputed() {
        // Rows:        0  1  2  3  4  5  6  7  8  9
        let pred: [Int] = [1, 1, 0, 0, 1, 1, 1, 0, 0, 1]
        let lab: [Int] =  [1, 0, 0, 1, 1, 1, 0, 0, 1, 1]
        let c = ConfusionCounts(predictions: pred.map { $0 == 1 }, labels: lab.map { $0 == 1 })
        // TP: rows 0,4,5,9 = 4; FP: 1,6 = 2; FN: 3,8 = 2; TN: 2,7 = 2.
        #expect(c == ConfusionCounts(truePositives: 4, falsePositives: 2, falseNegatives: 2, trueNegatives: 2))
        #expect(abs(c.precision - 4.0 / 6.0) < 1e-12)
        #expect(abs(c.recall - 4.0 / 6.0) < 1e-12)
        #expect(abs(c.f1 - 4.0 / (4.0 + 2.0)) < 1e-12)
        #expect(abs(c.falseAlarmRatePercent - 50) < 1e-12)
        #expect(abs(c.missedAlarmRatePercent - 100.0 * 2.0 / 6.0) < 1e-12)
    }

    @Test("calibration rows are skipped and totals add across files")
    func skipAndSum() {
        let a = ConfusionCounts(predictions: [true, true, false, true], labels: [true, false, false, true], skip: 2)
        #expect(a == ConfusionCounts(truePositives: 1, falsePositives: 0, falseNegatives: 0, trueNegatives: 1))
        let b = ConfusionCounts(predictions: [true, false, false], labels: [false, true, false])
        let total = a + b
        #expect(total == ConfusionCounts(truePositives: 1, falsePositives: 1, falseNegatives: 1, trueNegatives: 2))
        // F1 = 1 / (1 + (1 + 1)/2) = 0.5; FAR = 100·1/3; MAR = 100·1/2.
        #expect(abs(total.f1 - 0.5) < 1e-12)
        #expect(abs(total.falseAlarmRatePercent - 100.0 / 3.0) < 1e-12)
        #expect(abs(total.missedAlarmRatePercent - 50) < 1e-12)
    }

    @Test("empty classes give zero instead of dividing by zero")
    func degenerate() {
        let c = ConfusionCounts(predictions: [false, false], labels: [false, false])
        #expect(c.f1 == 0 && c.precision == 0 && c.recall == 0 && c.missedAlarmRatePercent == 0)
        #expect(c.falseAlarmRatePercent == 0)
    }
}
