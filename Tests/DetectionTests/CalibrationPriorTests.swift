import Detection
import EdgeCore
import Testing

/// A two-sensor machine of stationary noise; with `wander`, both sensors add slow ramps (a
/// machine warming up) that a short calibration cannot see.
private func machine(seed: UInt64, wander: Bool, rows: Int = 900) -> MetaTask {
    var random = SplitMix64(seed: seed)
    var values: [Float] = []
    for r in 0..<rows {
        values.append(10 + random.signedUnitFloat() + (wander ? 0.01 * Float(r) : 0))
        values.append(60 + random.signedUnitFloat() + (wander ? 0.02 * Float(r) : 0))
    }
    return MetaTask(name: "machine-\(seed)", values: values, sensorCount: 2, anomalous: Array(repeating: false, count: rows))
}

@Suite("Calibration prior learned across machines")
struct CalibrationPriorTests {
    @Test("entries interpolate linearly in log K between learned points and hold their value beyond them")
    func interpolates() throws {
        let prior = CalibrationPrior(entries: [
            .init(calibrationRows: 200, scaleFactor: 1, thresholdMargin: 8),
            .init(calibrationRows: 50, scaleFactor: 4, thresholdMargin: 2),
        ])
        #expect(prior.entries.map(\.calibrationRows) == [50, 200])
        let middle = try #require(prior.entry(forRows: 100))
        #expect(abs(middle.thresholdMargin - 4) < 1e-4, "geometric middle of 2 and 8: \(middle.thresholdMargin)")
        #expect(abs(middle.scaleFactor - 2) < 1e-4, "geometric middle of 4 and 1: \(middle.scaleFactor)")
        #expect(prior.entry(forRows: 20)?.thresholdMargin == 2)
        #expect(prior.entry(forRows: 5000)?.thresholdMargin == 8)
        #expect(CalibrationPrior(entries: []).entry(forRows: 100) == nil)
        let widened = prior.widen(Normalization(centers: [1, 2], scales: [0.5, 3]), rows: 50)
        #expect(widened.centers == [1, 2] && widened.scales == [2, 12])
    }

    @Test("machines that wander beyond a short calibration get a wider scale and a larger margin than stationary ones")
    func learnsFromLaterOperation() {
        let network = Network(seed: 5)
        let calibration = NetworkCalibration(initialization: network, adaptation: AdaptationSettings(steps: 0),
                                             thresholdMargin: 1, quantize: false)
        let settings = CalibrationPriorSettings(calibrationRowCounts: [50], targetFalseAlarmRate: 0.05, episodesPerTask: 2)
        let stationary = CalibrationPrior.learn(initialization: network, calibration: calibration,
                                                tasks: (0..<3).map { machine(seed: 10 + UInt64($0), wander: false) }, settings: settings)
        let wandering = CalibrationPrior.learn(initialization: network, calibration: calibration,
                                               tasks: (0..<3).map { machine(seed: 20 + UInt64($0), wander: true) }, settings: settings)
        let s = stationary.entries[0], w = wandering.entries[0]
        #expect(s.scaleFactor < 1.6, "stationary scale factor \(s.scaleFactor)")
        #expect(w.scaleFactor > 2, "wandering scale factor \(w.scaleFactor)")
        #expect(s.thresholdMargin <= 4, "stationary margin \(s.thresholdMargin)")
        #expect(w.thresholdMargin > 2 * s.thresholdMargin, "wandering margin \(w.thresholdMargin) vs stationary \(s.thresholdMargin)")
    }

    @Test("AUC of hand-counted cases: 3 wins and 1 tie of 4 pairs, perfect, reversed, one class only")
    func areaUnderCurve() {
        #expect(FewShotEvaluation.areaUnderCurve([(1, false), (2, true), (2, false), (3, true)]) == 0.875)
        #expect(FewShotEvaluation.areaUnderCurve([(1, false), (5, true)]) == 1)
        #expect(FewShotEvaluation.areaUnderCurve([(5, false), (1, true), (2, true)]) == 0)
        #expect(FewShotEvaluation.areaUnderCurve([(1, true), (2, true)]) == nil)
    }
}
