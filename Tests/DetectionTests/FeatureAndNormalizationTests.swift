import Foundation
import Testing
@testable import Detection

@Suite struct FeatureAndNormalizationTests {
    @Test func featuresMatchHandComputedValues() {
        // One sensor, z = 0, 1, 2, ..., 7 (slope 1 per step) and a second, constant sensor.
        let w = 8
        let window = Window(timeSteps: w, sensorCount: 2, values: (0..<w).flatMap { [Float($0), 3] })
        let f = FeatureExtractor.features(of: window)
        // last, recent mean (4,5,6,7), mean, std, slope×(W-1), mean |Δ|, max, min
        let squares: [Double] = (0..<w).map { (Double($0) - 3.5) * (Double($0) - 3.5) }
        let std = Float((squares.reduce(0, +) / Double(w)).squareRoot())
        let expected: [Float] = [7, 5.5, 3.5, std, 7, 1, 7, 0]
        for k in 0..<8 { #expect(abs(f[k] - expected[k]) < 1e-5, "feature \(k): \(f[k]) vs \(expected[k])") }
        #expect(Array(f[8..<16]) == [3, 3, 3, 0, 0, 0, 3, 3])
    }

    @Test func featuresAreClippedAndNaNBecomesZero() {
        let window = Window(timeSteps: 4, sensorCount: 1, values: [0, 0, 1e9, .nan])
        let f = FeatureExtractor.features(of: window)
        #expect(f.allSatisfy { $0.isFinite && abs($0) <= FeatureExtractor.limit })
    }

    @Test func normalizationUsesMedianAndMADAndFloorsConstantSensors() {
        let columns: [[Float]] = [
            [1, 2, 3, 4, 100],          // median 3, MAD 1 → scale 1.4826 (the outlier does not matter)
            [5, 5, 5, 5, 5],            // constant → floor 1e-3 × 5
            [0, 0, 0, 0, 0, 0, 1, 2],   // MAD 0 and IQR 0.25 → IQR / 1.349
        ]
        let n = Normalization(fittingColumns: columns)
        #expect(n.centers == [3, 5, 0])
        #expect(abs(n.scales[0] - 1.4826) < 1e-5)
        #expect(abs(n.scales[1] - 5e-3) < 1e-7)
        #expect(abs(n.scales[2] - 0.25 / 1.349) < 1e-5)
        let z = n.normalize(Window(rows: [[4, 5, 0], [3, 6, 0]]))
        #expect(abs(z[time: 0, sensor: 0] - 1 / 1.4826) < 1e-5)
        #expect(abs(z[time: 1, sensor: 1] - 200) < 1e-2)
    }

    @Test func fusedNormalizationEqualsNormalizingFirst() {
        let machine = SyntheticMachine(sensorCount: 5, seed: 3)
        let windows = machine.windows(count: 6, seed: 4)
        let n = Normalization(fitting: windows)
        let network = Network(seed: 1)
        for w in windows {
            let fused = network.score(w, normalization: n).score
            let separate = network.score(n.normalize(w)).score
            #expect(abs(fused - separate) <= 1e-4 * max(1, separate))
        }
    }

    @Test func seededGeneratorIsReproducibleAndRoughlyUniform() {
        var a = SeededGenerator(seed: 1), b = SeededGenerator(seed: 1)
        let xs = (0..<1000).map { _ in a.nextUnit() }
        #expect(xs == (0..<1000).map { _ in b.nextUnit() })
        let mean = xs.reduce(0, +) / 1000
        #expect(abs(mean - 0.5) < 0.05)
        var g = SeededGenerator(seed: 2)
        let normals = (0..<4000).map { _ in g.nextGaussian() }
        let m = normals.reduce(0, +) / 4000
        let v = normals.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 4000
        #expect(abs(m) < 0.06 && abs(v - 1) < 0.08)
    }
}
