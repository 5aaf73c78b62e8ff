import Testing
@testable import Detection

/// Proximal adaptation (iMAML's inner objective, first-order): the adaptation loss plus
/// (λ/2)·‖θ − θ₀‖² around the starting weights (`AdaptationSettings.proximalWeight`).
@Suite("Proximal adaptation", .serialized)
struct ProximalAdaptationTests {
    /// The toy network and machine of `MetaLearnedRatesTests`.
    static let architecture = MetaLearnedRatesTests.architecture

    static func normalizedWindows(count: Int, seed: UInt64, sensors: Int = 4) -> [Window] {
        MetaLearnedRatesTests.normalizedWindows(count: count, seed: seed, sensors: sensors)
    }

    /// A toy machine's adaptation batch and loss for `network`.
    static func problem(_ network: Network, settings: AdaptationSettings) -> (batch: [TrainingExample], loss: LossFunction) {
        let normal = normalizedWindows(count: 8, seed: 11)
        return (FewShotAdaptation.batch(normal: normal, settings: settings),
                FewShotAdaptation.lossFunction(for: network, normal: normal, margin: settings.deviationMargin))
    }

    @Test("with λ = 0 the adapted weights are bit-identical to today's adaptation loop", arguments: [false, true])
    func zeroWeightIsToday(headOnly: Bool) {
        let network = Network(seed: 9)
        var settings = AdaptationSettings(syntheticAnomalies: 6, steps: 7)
        settings.headOnly = headOnly
        let (batch, loss) = Self.problem(network, settings: settings)
        // Today's loop, written out independently: full-batch Adam steps, gradient clipped to norm 10
        // (head-only: the gradient outside the head zeroed first).
        var today = network
        var optimizer = Adam(learningRate: settings.learningRate)
        let head = FewShotAdaptation.headParameterRange(of: network.architecture)
        for _ in 0..<settings.steps {
            if headOnly {
                var (_, gradient) = today.lossAndGradient(on: batch, lossFunction: loss)
                for k in gradient.indices where !head.contains(k) { gradient[k] = 0 }
                let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm > 10 { for k in head { gradient[k] *= 10 / norm } }
                optimizer.update(&today.parameters, gradient: gradient)
            } else {
                today.train(on: batch, lossFunction: loss, optimizer: &optimizer, maximumGradientNorm: 10)
            }
        }
        settings.proximalWeight = 0
        let zero = FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: settings).network
        #expect(zero.parameters.map(\.bitPattern) == today.parameters.map(\.bitPattern))
        #expect(zero.parameters != network.parameters, "adaptation moved the weights")
    }

    @Test("the proximal objective's gradient matches central finite differences")
    func gradientMatchesFiniteDifferences() {
        let network = Network(architecture: Self.architecture, seed: 42)
        let settings = AdaptationSettings(syntheticAnomalies: 4, steps: 0)
        let (batch, loss) = Self.problem(network, settings: settings)
        // θ₀ is the seeded network, θ a point 0.05 away in every coordinate's own direction.
        let anchor = network.parameters.map(Double.init)
        var generator = SeededGenerator(seed: 3)
        let theta = anchor.map { $0 + 0.05 * (Double(generator.nextIndex(below: 2001)) / 1000 - 1) }
        let lambda = 2.5
        func objective(_ p: [Double]) -> Double {
            Network.lossAndGradient(parameters: p, architecture: Self.architecture, batch: batch, lossFunction: loss).0
                + FewShotAdaptation.proximalTerm(parameters: p, anchor: anchor, weight: lambda).value
        }
        let data = Network.lossAndGradient(parameters: theta, architecture: Self.architecture, batch: batch, lossFunction: loss).1
        let proximal = FewShotAdaptation.proximalTerm(parameters: theta, anchor: anchor, weight: lambda).gradient
        #expect(proximal.contains { abs($0) > 0.05 }, "the proximal term matters at this point")
        let h = 1e-5
        var checked = 0
        for k in stride(from: 0, to: theta.count, by: max(1, theta.count / 60)) {
            var up = theta, down = theta
            up[k] += h
            down[k] -= h
            let numeric = (objective(up) - objective(down)) / (2 * h)
            let analytic = data[k] + proximal[k]
            #expect(abs(numeric - analytic) <= 1e-4 * abs(numeric) + 1e-6, "parameter \(k): analytic \(analytic), finite difference \(numeric)")
            checked += 1
        }
        #expect(checked >= 50)
        // The Float objective adaptation steps along is the same sum.
        var floatNetwork = network
        floatNetwork.parameters = theta.map(Float.init)
        let (_, floatGradient) = FewShotAdaptation.proximalLossAndGradient(floatNetwork, batch: batch, lossFunction: loss,
                                                                         anchor: network.parameters, weight: Float(lambda))
        for k in theta.indices {
            let expected = data[k] + proximal[k]
            #expect(abs(Double(floatGradient[k]) - expected) <= 1e-3 * abs(expected) + 1e-4, "parameter \(k)")
        }
    }

    @Test("adaptation steps along the clipped loss gradient plus λ·(θ − θ₀), θ₀ the start")
    func adaptationUsesTheProximalGradient() {
        let network = Network(seed: 9)
        var settings = AdaptationSettings(syntheticAnomalies: 6, steps: 3)
        settings.proximalWeight = 4
        let (batch, loss) = Self.problem(network, settings: settings)
        var expected = network
        var optimizer = Adam(learningRate: settings.learningRate)
        for _ in 0..<settings.steps {
            var (_, gradient) = expected.lossAndGradient(on: batch, lossFunction: loss)
            let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 10 { for k in gradient.indices { gradient[k] *= 10 / norm } }
            for k in gradient.indices { gradient[k] += 4 * (expected.parameters[k] - network.parameters[k]) }
            optimizer.update(&expected.parameters, gradient: gradient)
        }
        let adapted = FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: settings).network
        #expect(adapted.parameters.map(\.bitPattern) == expected.parameters.map(\.bitPattern))
        settings.proximalWeight = 0
        let plain = FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: settings).network
        #expect(adapted.parameters != plain.parameters, "λ = 4 changes the third step")
    }

    @Test("a larger λ keeps the adapted weights closer to the start, full and head-only", arguments: [false, true])
    func largerWeightStaysCloser(headOnly: Bool) {
        let network = Network(seed: 5)
        var settings = AdaptationSettings(syntheticAnomalies: 6, steps: 20)
        settings.headOnly = headOnly
        let (batch, loss) = Self.problem(network, settings: settings)
        var distances: [Double] = []
        for lambda: Float in [0, 0.1, 1, 10, 100] {
            settings.proximalWeight = lambda
            let adapted = FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: settings).network
            distances.append(zip(adapted.parameters, network.parameters).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) })
        }
        for i in 1..<distances.count {
            #expect(distances[i] < distances[i - 1], "‖θ − θ₀‖² by λ = 0, 0.1, 1, 10, 100: \(distances)")
        }
        #expect(distances.last! < 0.5 * distances.first!, "λ = 100 holds the weights near the start: \(distances)")
    }

    @Test("meta-training with the proximal inner loop lowers the meta-loss on held-out toy machines")
    func proximalMetaTrainingLowersMetaLoss() {
        var settings = ToyMetaTraining.settings
        settings.inner.proximalWeight = 1
        let tasks = (0..<6).map { toyTask(seed: 100 + UInt64($0)) }
        let trained = MetaTraining.train(initial: ToyMetaTraining.initial, tasks: tasks, settings: settings, monitorEpisodes: 0)
        let before = MetaTraining.metaLoss(of: ToyMetaTraining.initial, episodes: ToyMetaTraining.heldOut, inner: settings.inner)
        let after = MetaTraining.metaLoss(of: trained, episodes: ToyMetaTraining.heldOut, inner: settings.inner)
        #expect(after < before - 0.02, "meta-loss with λ = 1 before \(before), after \(after)")
        // The inner loop did use λ: the result differs from meta-training with λ = 0.
        settings.inner.proximalWeight = 0
        let plain = MetaTraining.train(initial: ToyMetaTraining.initial, tasks: tasks, settings: settings, monitorEpisodes: 0)
        #expect(plain.parameters != trained.parameters)
    }
}
