import Testing
@testable import Detection

/// The network score taken from its largest sensor (`Network.scoresByLargestSensor`).
@Suite("Largest-sensor network score")
struct LargestSensorScoreTests {
    static let architecture = NetworkArchitecture(encoderHiddenWidth: 8, embeddingWidth: 5, decoderHiddenWidth: 8,
                                                  headHiddenWidth: 5, slotWidth: 0, maximumSensorCount: 6)

    static func windows() -> [Window] {
        let raw = SyntheticMachine(sensorCount: 4, seed: 7).windows(count: 3, timeSteps: 16, stride: 9, seed: 11)
        let normalization = Normalization(fitting: raw)
        return raw.map { normalization.normalize($0) }
    }

    @Test("the score is the largest contribution, and the mean score is their mean")
    func scoreIsLargestContribution() {
        var network = Network(architecture: Self.architecture, seed: 5)
        network.reconstructionScoreWeight = 0.5
        for window in Self.windows() {
            network.scoresByLargestSensor = false
            let mean = network.score(window)
            network.scoresByLargestSensor = true
            let largest = network.score(window)
            let c = Float(window.sensorCount)
            // Mean-score contributions are the per-sensor values divided by the sensor count.
            #expect(abs(largest.score - (mean.contributions.max() ?? 0) * c) <= 1e-5 * max(1, largest.score))
            #expect(abs(mean.score - mean.contributions.reduce(0, +)) <= 1e-5 * max(1, mean.score))
            #expect(largest.score >= mean.score)
        }
    }

    @Test("its gradient matches finite differences", arguments: [0.0, 1.0])
    func gradient(_ weight: Double) {
        let windows = Self.windows()
        var generator = SyntheticAnomalyGenerator(seed: 3)
        let batch = [TrainingExample(window: windows[0], label: .normal), TrainingExample(window: windows[1], label: .normal),
                     TrainingExample(window: generator.inject(.levelShift, into: windows[2], sensor: 1), label: .anomalous)]
        let loss = LossFunction(reconstructionWeight: 1, deviation: DeviationLoss(reference: 0.01, scale: 0.2, margin: 1000))
        let theta = Network(architecture: Self.architecture, seed: 42).parameters.map(Double.init)
        func value(_ p: [Double]) -> Double {
            Network.lossAndGradient(parameters: p, architecture: Self.architecture, batch: batch, lossFunction: loss,
                                    reconstructionScoreWeight: Float(weight), largestSensorScore: true).0
        }
        let (_, analytic) = Network.lossAndGradient(parameters: theta, architecture: Self.architecture, batch: batch, lossFunction: loss,
                                                    reconstructionScoreWeight: Float(weight), largestSensorScore: true)
        var perturbed = theta
        var compared = 0
        for k in stride(from: 0, to: theta.count, by: 3) {
            let h = 1e-6
            perturbed[k] = theta[k] + h
            let up = value(perturbed)
            perturbed[k] = theta[k] - h
            let down = value(perturbed)
            perturbed[k] = theta[k]
            let numeric = (up - down) / (2 * h)
            if abs(numeric) < 1e-7, abs(analytic[k]) < 1e-7 { continue }
            #expect(abs(numeric - analytic[k]) <= 1e-3 * max(abs(numeric), abs(analytic[k])) + 1e-8,
                    "parameter \(k): analytic \(analytic[k]), numeric \(numeric)")
            compared += 1
        }
        #expect(compared > 20)
    }
}
