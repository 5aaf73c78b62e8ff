import Testing
@testable import Detection

/// The network's dimensionless inputs (`NetworkInputScaling.tolerated`): readings in units of the
/// window-deviation score's tolerated spread, so "1" means the same on every machine.
@Suite("Tolerated network inputs")
struct ToleratedInputTests {
    /// Rows of a machine whose sensors sit at very different magnitudes, noise levels and wander.
    static func rows(count: Int, seed: UInt64) -> [Float] {
        var random = SeededGenerator(seed: seed)
        var values: [Float] = []
        var walk: Float = 0
        for r in 0..<count {
            walk = 0.99 * walk + 0.05 * random.nextGaussian()
            values.append(1000 + 5 * random.nextGaussian())                 // a pressure in Pa
            values.append(0.2 + 0.001 * random.nextGaussian())              // a current in A
            values.append(40 + walk + 0.02 * random.nextGaussian())         // a wandering temperature
            values.append(r % 2 == 0 ? 7 : 7.001)                           // a coarsely quantized level
        }
        return values
    }

    @Test("a window mean of 1 in tolerated units is the window-deviation score's contribution of 1")
    func unitsMatchTheDeviationScore() {
        let n = 4
        let calibration = Self.rows(count: 200, seed: 1)
        let normalization = NetworkInputScaling.tolerated.normalization(values: calibration[...], sensorCount: n)
        let baseline = WindowDeviationBaseline.fit(values: calibration[...], sensorCount: n,
                                                   settings: NetworkInputScaling.toleratedDeviationSettings)
        var scorer = WindowDeviationScorer(baseline: baseline)
        let later = Self.rows(count: 300, seed: 2)
        let w = baseline.settings.windowRows
        var checked = 0
        for r in 0..<300 {
            // Shift every sensor in the second half, so large offsets are compared too.
            var row = Array(later[(r * n)..<((r + 1) * n)])
            if r >= 150 { for s in 0..<n { row[s] += 3 * baseline.scale[s] * Float(s + 1) } }
            _ = scorer.score(row: row)
            guard r + 1 >= w, r % 7 == 0 else { continue }
            for s in 0..<n {
                // The mean of the last w normalized readings, as the network's features see them.
                var sum: Float = 0
                for t in (r + 1 - w)...r {
                    var v = later[t * n + s]
                    if t >= 150 { v += 3 * baseline.scale[s] * Float(s + 1) }
                    sum += (v - normalization.centers[s]) / normalization.scales[s]
                }
                let mean = abs(sum / Float(w))
                let expected = scorer.contributions[s]
                #expect(abs(mean - expected) <= 2e-3 * max(1, expected), "row \(r) sensor \(s): \(mean) vs \(expected)")
                checked += 1
            }
        }
        #expect(checked > 100)
    }

    @Test("robust scaling is the calibration median and MAD, as before")
    func robustIsMedianAndMAD() {
        let n = 4
        let values = Self.rows(count: 120, seed: 3)
        let columns = (0..<n).map { s in (0..<120).map { values[$0 * n + s] } }
        #expect(NetworkInputScaling.robust.normalization(values: values[...], sensorCount: n) == Normalization(fittingColumns: columns))
    }
}
