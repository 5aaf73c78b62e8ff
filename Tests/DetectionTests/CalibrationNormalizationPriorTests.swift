import Detection
import EdgeCore
import Testing

/// A two-sensor machine: sensor 0 is stationary noise, sensor 1 the same noise plus a slow ramp
/// (a temperature warming up) that a short calibration cannot see; rows in `faulty` carry a huge
/// labelled fault on sensor 0.
private func wanderingTask(seed: UInt64, rows: Int = 800, faulty: Range<Int> = 0..<0) -> MetaTask {
    var random = SplitMix64(seed: seed)
    var values: [Float] = []
    var anomalous: [Bool] = []
    for r in 0..<rows {
        let fault = faulty.contains(r)
        values.append(10 + random.signedUnitFloat() + (fault ? 500 : 0))
        values.append(60 + random.signedUnitFloat() + 0.02 * Float(r))
        anomalous.append(fault)
    }
    return MetaTask(name: "wander-\(seed)", values: values, sensorCount: 2, anomalous: anomalous)
}

@Suite("Normalization prior learned across machines")
struct CalibrationNormalizationPriorTests {
    @Test("a sensor that wanders beyond its first K rows gets a wider scale; a stationary one keeps its own; faults are left out")
    func learnsWanderPerSlot() {
        let tasks = (0..<3).map { wanderingTask(seed: 40 + UInt64($0)) }
        let prior = NormalizationPrior.learn(from: tasks, calibrationRows: 50)
        #expect(prior.scaleFactors.count == 2)
        // Stationary uniform noise: later rows spread like the first 50 (ratio ≈ 1; clamped at ≥ 1).
        #expect(prior.scaleFactors[0] >= 1 && prior.scaleFactors[0] < 1.6, "stationary sensor factor \(prior.scaleFactors[0])")
        // The ramp moves the level by up to 16 while 50 rows of noise have a scale near 0.9.
        #expect(prior.scaleFactors[1] > 3, "wandering sensor factor \(prior.scaleFactors[1])")
        // With K = 400 the first stretch already saw half of the ramp: a smaller widening.
        let long = NormalizationPrior.learn(from: tasks, calibrationRows: 400)
        #expect(long.scaleFactors[1] < prior.scaleFactors[1], "K=400 \(long.scaleFactors[1]) vs K=50 \(prior.scaleFactors[1])")
        // Labelled faults on most of the later rows (+500 on sensor 0) must not widen its scale.
        let faulty = (0..<3).map { wanderingTask(seed: 50 + UInt64($0), faulty: 250..<750) }
        let withFaults = NormalizationPrior.learn(from: faulty, calibrationRows: 50)
        #expect(withFaults.scaleFactors[0] < 1.6, "stationary sensor factor with faults left out \(withFaults.scaleFactors[0])")
    }

    @Test("applying the prior multiplies each slot's scale and keeps centers; slots beyond the prior keep their scale")
    func applies() {
        let prior = NormalizationPrior(calibrationRows: 50, scaleFactors: [2, 0.5, .nan])
        #expect(prior.scaleFactors == [2, 1, 1])
        let fitted = Normalization(centers: [1, 2, 3, 4], scales: [0.5, 2, 3, 4])
        let widened = prior.apply(to: fitted)
        #expect(widened.centers == fitted.centers)
        #expect(widened.scales == [1, 2, 3, 4])
    }
}
