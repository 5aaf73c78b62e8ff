import Testing
@testable import Detection

/// The few-shot experiments' switches: a score without the prediction error (the deviation
/// head alone, `Network.reconstructionScoreWeight`), head-only adaptation (ANIL) and fleet scales.
@Suite("Head score, head-only adaptation and fleet scales", .serialized)
struct MetaHeadScoreTests {
    static let architecture = NetworkArchitecture(encoderHiddenWidth: 8, embeddingWidth: 5, decoderHiddenWidth: 8,
                                                  headHiddenWidth: 5, slotWidth: 3, maximumSensorCount: 6)

    static func normalizedWindows(count: Int, sensors: Int = 4) -> [Window] {
        let raw = SyntheticMachine(sensorCount: sensors, seed: 7).windows(count: count, timeSteps: 16, stride: 9, seed: 11)
        let normalization = Normalization(fitting: raw)
        return raw.map { normalization.normalize($0) }
    }

    @Test("the score is linear in the prediction error's weight: weight ½ scores halfway between 0 and 1")
    func scoreIsLinearInWeight() {
        var network = Network(architecture: Self.architecture, seed: 5)
        for window in Self.normalizedWindows(count: 4) {
            network.reconstructionScoreWeight = 1
            let full = network.score(window).score
            network.reconstructionScoreWeight = 0
            let head = network.score(window).score
            network.reconstructionScoreWeight = 0.5
            let half = network.score(window).score
            #expect(full > head, "the prediction error adds to the score (\(full) vs \(head))")
            #expect(abs(half - (full + head) / 2) <= 1e-4 * max(1, full), "\(half) vs \((full + head) / 2)")
        }
    }

    @Test("with a prediction-error weight the gradient matches finite differences", arguments: [0.0, 0.25])
    func gradientWithWeight(_ weight: Double) {
        let windows = Self.normalizedWindows(count: 3)
        var generator = SyntheticAnomalyGenerator(seed: 3)
        let batch = [TrainingExample(window: windows[0], label: .normal), TrainingExample(window: windows[1], label: .normal),
                     TrainingExample(window: generator.inject(.levelShift, into: windows[2], sensor: 1), label: .anomalous)]
        let loss = LossFunction(reconstructionWeight: 1, deviation: DeviationLoss(reference: 0.01, scale: 0.2, margin: 1000))
        let theta = Network(architecture: Self.architecture, seed: 42).parameters.map(Double.init)
        func value(_ p: [Double]) -> Double {
            Network.lossAndGradient(parameters: p, architecture: Self.architecture, batch: batch, lossFunction: loss,
                                    reconstructionScoreWeight: Float(weight)).0
        }
        let (_, analytic) = Network.lossAndGradient(parameters: theta, architecture: Self.architecture, batch: batch,
                                                    lossFunction: loss, reconstructionScoreWeight: Float(weight))
        let layout = ParameterLayout(Self.architecture)
        // Every decoder weight (whose gradient the weight scales) and every head weight.
        let checked = Array(layout.w3..<layout.slots)
        var perturbed = theta
        var decoderGradient = 0.0
        for k in checked {
            let h = 1e-6
            perturbed[k] = theta[k] + h
            let up = value(perturbed)
            perturbed[k] = theta[k] - h
            let down = value(perturbed)
            perturbed[k] = theta[k]
            let numeric = (up - down) / (2 * h)
            if k < layout.w5 { decoderGradient += abs(analytic[k]) }
            if abs(numeric) < 1e-7, abs(analytic[k]) < 1e-7 { continue }
            #expect(abs(numeric - analytic[k]) <= 1e-3 * max(abs(numeric), abs(analytic[k])) + 1e-8,
                    "parameter \(k): analytic \(analytic[k]), numeric \(numeric)")
        }
        // Weight 0: the decoder does not reach the score, so it gets no gradient from the deviation
        // term; only the one-class term's prediction error would, and that is weighted by 0 too.
        if weight == 0 { #expect(decoderGradient == 0) } else { #expect(decoderGradient > 0) }
    }

    @Test("head-only adaptation changes the deviation head and nothing else")
    func headOnlyAdaptation() {
        let network = Network(seed: 9)
        let normal = Self.normalizedWindows(count: 6)
        var settings = AdaptationSettings(syntheticAnomalies: 6, steps: 5)
        settings.headOnly = true
        let batch = FewShotAdaptation.batch(normal: normal, settings: settings)
        let loss = FewShotAdaptation.lossFunction(for: network, normal: normal, margin: settings.deviationMargin)
        let (adapted, report) = FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: settings)
        let head = FewShotAdaptation.headParameterRange(of: network.architecture)
        let changed = network.parameters.indices.filter { network.parameters[$0] != adapted.parameters[$0] }
        #expect(!changed.isEmpty)
        #expect(changed.allSatisfy { head.contains($0) }, "\(changed.filter { !head.contains($0) }.count) parameters outside the head moved")
        #expect(report.lossAfter < report.lossBefore)
        settings.headOnly = false
        let (full, _) = FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: settings)
        #expect(full.parameters[0..<head.lowerBound] != network.parameters[0..<head.lowerBound])
    }

    @Test("fleet scales are learned in the sensor's unit and raise a calibration's scale to them")
    func fleetScales() throws {
        // Two machines whose second sensor wanders by ±2 units around a still start; the first is still.
        func task(_ seed: UInt64) -> MetaTask {
            var random = SeededGenerator(seed: seed)
            var values: [Float] = []
            for r in 0..<1000 {
                values.append(10 + 0.01 * random.nextGaussian())
                values.append(r < 100 ? 50 + 0.01 * random.nextGaussian() : 50 + 2 * Float(r % 2 == 0 ? 1 : -1))
            }
            return MetaTask(name: "m\(seed)", values: values, sensorCount: 2, anomalous: Array(repeating: false, count: 1000))
        }
        let prior = NormalizationPrior.learn(from: [task(1), task(2)], calibrationRows: 50, absolute: true)
        let scales = try #require(prior.absoluteScales)
        #expect(scales.count == 2)
        #expect(scales[0] < 0.05, "still sensor: \(scales[0])")
        #expect(abs(scales[1] - 2 * 1.4826) < 0.1, "wandering sensor: \(scales[1]) (1.4826 × 2)")
        let applied = prior.apply(to: Normalization(centers: [10, 50], scales: [1, 0.01]))
        #expect(applied.scales[0] == 1, "a calibration scale already wider than the fleet's is kept")
        #expect(applied.scales[1] == scales[1])
        #expect(applied.centers == [10, 50])
    }

    @Test("meta-training with the head score beats random initializations with it on held-out machines")
    func headScoreMetaInitBeatsRandom() {
        var settings = ToyMetaTraining.settings
        settings.iterations = 60
        var initial = Network(seed: 3)
        initial.reconstructionScoreWeight = 0
        let trained = MetaTraining.train(initial: initial, tasks: (0..<6).map { toyTask(seed: 100 + UInt64($0)) },
                                         settings: settings, monitorEpisodes: 0)
        #expect(trained.reconstructionScoreWeight == 0, "meta-training keeps the score it was given")
        var inner = settings.inner
        inner.maximumNormalWindows = 12
        let meta = MetaTraining.metaLoss(of: trained, episodes: ToyMetaTraining.heldOut, inner: inner)
        var losses: [Float] = []
        for seed: UInt64 in [11, 12, 13] {
            var random = Network(seed: seed)
            random.reconstructionScoreWeight = 0
            let loss = MetaTraining.metaLoss(of: random, episodes: ToyMetaTraining.heldOut, inner: inner)
            #expect(meta < loss, "meta-init \(meta), random init (seed \(seed)) \(loss)")
            losses.append(loss)
        }
        // Beats every random start, and their mean by a clear margin (1 − AUC, so 0.03 is 3 % of pairs).
        let mean = losses.reduce(0, +) / Float(losses.count)
        #expect(meta < mean - 0.03, "meta-init \(meta), mean of random inits \(mean) (\(losses))")
    }
}
