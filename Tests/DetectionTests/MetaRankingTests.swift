@testable import Detection
import EdgeCore
import Testing

@Suite("Ranking query loss of meta-training")
struct MetaRankingTests {
    @Test("the ranking loss's derivatives match finite differences; hand-counted value for one pair")
    func derivativesMatchFiniteDifferences() {
        // One pair, fault and normal equal: log 2.
        let single = MetaTraining.rankingLoss(scores: [1, 1], isFault: [true, false], temperature: 1)
        #expect(abs(single.loss - 0.693_147) < 1e-5)
        let scores: [Float] = [0.5, 2.0, 1.2, 0.9, 3.1]
        let labels = [false, true, false, true, false]
        let tau: Float = 0.7
        let (_, analytic) = MetaTraining.rankingLoss(scores: scores, isFault: labels, temperature: tau)
        for i in scores.indices {
            var up = scores, down = scores
            up[i] += 1e-2
            down[i] -= 1e-2
            let numeric = (MetaTraining.rankingLoss(scores: up, isFault: labels, temperature: tau).loss
                - MetaTraining.rankingLoss(scores: down, isFault: labels, temperature: tau).loss) / 2e-2
            #expect(abs(numeric - analytic[i]) < 1e-3, "score \(i): numeric \(numeric), analytic \(analytic[i])")
        }
        // Faults pushed up, normal windows pushed down.
        #expect(analytic[1] < 0 && analytic[3] < 0 && analytic[0] > 0 && analytic[2] > 0 && analytic[4] > 0)
        #expect(MetaTraining.rankingLoss(scores: [1, 2], isFault: [false, false], temperature: 1).loss.isNaN)
    }

    @Test("the gradient for given per-window score derivatives equals the loss gradient with the same derivatives")
    func gradientFromScoreDerivatives() {
        var random = SplitMix64(seed: 21)
        let windows = (0..<5).map { _ in
            Window(timeSteps: 16, sensorCount: 3, values: (0..<48).map { _ in random.signedUnitFloat() * 2 })
        }
        let network = Network(seed: 4)
        let batch = windows.map { TrainingExample(window: $0, label: .normal) }
        // The one-class loss has derivative 1 per window, averaged over the batch.
        let expected = network.lossAndGradient(on: batch, lossFunction: .oneClass).gradient
        let got = network.gradient(windows: windows, dScores: Array(repeating: 1 / Float(windows.count), count: windows.count))
        #expect(got == expected)
        #expect(expected.contains { $0 != 0 })
    }

    @Test("ranking-fomaml meta-training is deterministic and moves the weights")
    func rankingMetaTrainingRuns() {
        var settings = ToyMetaTraining.settings
        settings.algorithm = .rankingMAML
        settings.iterations = 4
        let tasks = [toyTask(seed: 7), toyTask(seed: 8)]
        let a = MetaTraining.train(initial: Network(seed: 2), tasks: tasks, settings: settings, monitorEpisodes: 0)
        let b = MetaTraining.train(initial: Network(seed: 2), tasks: tasks, settings: settings, monitorEpisodes: 0)
        #expect(a.parameters == b.parameters)
        #expect(a.parameters != Network(seed: 2).parameters)
    }
}
