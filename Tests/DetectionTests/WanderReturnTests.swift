@testable import Detection
import EdgeCore
import Testing

/// The wander discount tells a level that drifts away from one that follows a cycle longer than
/// the drift horizon (`WindowDeviationBaseline.returnsWithinHorizon`): both change about five
/// times more over 100 rows than over 20, but only the drift keeps changing more over 400.
@Suite("Wander discount: drift against a cycle longer than the horizon")
struct WanderReturnTests {
    /// Window-mean-like series: `level(t)` plus small white noise.
    func series(count: Int = 6000, seed: UInt64, noise: Float = 0.002, level: (Int) -> Float) -> [Float] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { level($0) + noise * random.signedUnitFloat() }
    }

    /// Typical (80th percentile) absolute change over `lag`, computed here on its own.
    func typicalChange(_ m: [Float], lag: Int) -> Float {
        var changes = (lag..<m.count).map { abs(m[$0] - m[$0 - lag]) }
        changes.sort()
        return changes[Int(Double(changes.count - 1) * 0.8)]
    }

    /// The receiver's band: up for `up` rows, down for `down`, amplitude 1.
    func sawtooth(seed: UInt64, up: Int, down: Int) -> [Float] {
        series(seed: seed) { t in
            let phase = t % (up + down)
            return phase < up ? Float(phase) / Float(up) : 1 - Float(phase - up) / Float(down)
        }
    }

    @Test("sawtooth cycles of 400 and 600 rows return within the horizon; a trend and a random walk do not")
    func cycleAgainstDrift() {
        let exact = sawtooth(seed: 1, up: 300, down: 100), cycle = sawtooth(seed: 2, up: 400, down: 200)
        let trend = series(seed: 3) { Float($0) / 600 }
        var random = SplitMix64(seed: 4)
        var walk: Float = 0
        let randomWalk = (0..<6000).map { _ in walk += 0.05 * random.signedUnitFloat(); return walk }
        // Independent arithmetic: growth from 100 to 400 rows of the typical change. A cycle of
        // exactly 400 rows is back where it was (noise only); a trend grows 4 times, a random walk 2.
        let growth = [exact, cycle, trend, randomWalk].map { typicalChange($0, lag: 400) / typicalChange($0, lag: 100) }
        #expect(growth[0] < 0.1, "400-row cycle growth \(growth[0])")
        #expect(growth[2] > 3.5 && growth[2] < 4.5, "trend growth \(growth[2])")
        #expect(growth[3] > 1.6 && growth[3] < 2.5, "random walk growth \(growth[3])")
        #expect(WindowDeviationBaseline.returnsWithinHorizon(exact, horizon: 100))
        #expect(WindowDeviationBaseline.returnsWithinHorizon(cycle, horizon: 100), "600-row cycle growth \(growth[1])")
        #expect(!WindowDeviationBaseline.returnsWithinHorizon(trend, horizon: 100))
        #expect(!WindowDeviationBaseline.returnsWithinHorizon(randomWalk, horizon: 100))
        // The cycles and the trend all look like wander over the horizon itself (the ratio the
        // discount is set by, above its limit 2; 2.3 for the 600-row cycle): the ratio alone cannot tell them apart.
        for (name, m) in [("400-row cycle", exact), ("600-row cycle", cycle), ("trend", trend)] {
            let ratio = WindowDeviationBaseline.residualWanderRatio(m, window: 20, horizon: 100)
            #expect(ratio > 2, "\(name): ratio \(ratio)")
        }
    }

    @Test("fewer than 800 window means (twice four horizons): no verdict, the discount applies as before")
    func shortSeries() {
        let short = Array(sawtooth(seed: 5, up: 300, down: 100).prefix(799))
        #expect(WindowDeviationBaseline.returnsWithinHorizon(Array(sawtooth(seed: 5, up: 300, down: 100).prefix(800)), horizon: 100))
        #expect(!WindowDeviationBaseline.returnsWithinHorizon(short, horizon: 100))
    }

    @Test("calibration keeps a cycling sensor at weight 1 and still discounts a drifting one")
    func calibrationWeights() {
        // Sensor 0 ramps with a 600-row cycle (10 rows a second for a minute), sensor 1 drifts.
        var random = SplitMix64(seed: 5)
        var values: [Float] = []
        for t in 0..<6000 {
            let phase = t % 600
            let band: Float = phase < 400 ? Float(phase) / 400 : 1 - Float(phase - 400) / 200
            values += [6.5 + band + 0.005 * random.signedUnitFloat(), 70 + Float(t) / 100 + 0.05 * random.signedUnitFloat()]
        }
        let baseline = WindowDeviationBaseline.fit(values: values[...], sensorCount: 2)
        #expect(baseline.weight[0] == 1, "cycling weight \(baseline.weight[0])")
        #expect(baseline.weight[1] < 0.1, "drifting weight \(baseline.weight[1])")
    }
}
