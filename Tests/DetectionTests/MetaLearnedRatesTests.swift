import Testing
@testable import Detection

/// First-order Meta-SGD: per-tensor adaptation rates meta-learned with the initialization
/// (`AdaptationRates`, `MetaTrainingSettings.learnAdaptationRates`).
@Suite("Meta-learned adaptation rates", .serialized)
struct MetaLearnedRatesTests {
    static let architecture = NetworkArchitecture(encoderHiddenWidth: 8, embeddingWidth: 5, decoderHiddenWidth: 8,
                                                  headHiddenWidth: 5, slotWidth: 3, maximumSensorCount: 6)

    static func normalizedWindows(count: Int, seed: UInt64, sensors: Int = 4) -> [Window] {
        let raw = SyntheticMachine(sensorCount: sensors, seed: 7).windows(count: count, timeSteps: 16, stride: 9, seed: seed)
        let normalization = Normalization(fitting: raw)
        return raw.map { normalization.normalize($0) }
    }

    /// One adaptation step from a seeded network with the given log rates, and a fixed, kink-free
    /// query loss (reference 0 and margin 1000: every normal window is above the reference and
    /// every fault below the margin, so the loss is linear in each score).
    struct OneStep {
        let network = Network(architecture: MetaLearnedRatesTests.architecture, seed: 42)
        let batch: [TrainingExample]
        let loss: LossFunction
        let query: [TrainingExample]
        let queryLoss = LossFunction(reconstructionWeight: 0, deviation: DeviationLoss(reference: 0, scale: 0.5, margin: 1000))
        let settings: AdaptationSettings

        init() {
            let normal = MetaLearnedRatesTests.normalizedWindows(count: 6, seed: 11)
            var settings = AdaptationSettings(syntheticAnomalies: 4, steps: 1, learningRate: 0.05)
            settings.seed = 5
            self.settings = settings
            batch = FewShotAdaptation.batch(normal: normal, settings: settings)
            loss = FewShotAdaptation.lossFunction(for: network, normal: normal, margin: settings.deviationMargin)
            let held = MetaLearnedRatesTests.normalizedWindows(count: 6, seed: 23)
            var generator = SyntheticAnomalyGenerator(seed: 9)
            query = held.prefix(4).map { TrainingExample(window: $0, label: .normal) } + generator.anomalies(from: Array(held.suffix(2)), count: 3)
        }

        func adapted(logRates: [Float]) -> Network {
            var s = settings
            s.tensorLogRates = logRates
            return FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: s).network
        }

        func queryValue(logRates: [Float]) -> Double {
            let p = adapted(logRates: logRates).parameters.map(Double.init)
            return Network.lossAndGradient(parameters: p, architecture: MetaLearnedRatesTests.architecture, batch: query,
                                           lossFunction: queryLoss).0
        }
    }

    @Test("the hypergradient matches a finite-difference derivative of the query loss for every tensor's log rate")
    func hypergradientMatchesFiniteDifferences() {
        let step = OneStep()
        let base: [Float] = [0.3, -0.5, 0, 0.2, -0.1, 0.4, 0, -0.3, 0.5, 0.1, -0.2, 0, 0.25]
        let adapted = step.adapted(logRates: base)
        let (_, queryGradient) = adapted.lossAndGradient(on: step.query, lossFunction: step.queryLoss)
        let analytic = AdaptationRates.hypergradient(initial: step.network.parameters, adapted: adapted.parameters,
                                                     queryGradient: queryGradient, architecture: Self.architecture)
        #expect(analytic.count == AdaptationRates.tensorNames.count)
        #expect(analytic.contains { abs($0) > 1e-4 }, "the query loss depends on the rates: \(analytic)")
        // Tolerance: 2 % of the derivative plus 2e-5 (Float adaptation, central difference with h = 0.01;
        // one step, so the first-order hypergradient is exact up to rounding).
        let h: Float = 0.01
        for k in base.indices {
            var up = base, down = base
            up[k] += h
            down[k] -= h
            let numeric = (step.queryValue(logRates: up) - step.queryValue(logRates: down)) / Double(2 * h)
            #expect(abs(numeric - Double(analytic[k])) <= 0.02 * abs(numeric) + 2e-5,
                    "\(AdaptationRates.tensorNames[k]): hypergradient \(analytic[k]), finite difference \(numeric)")
        }
    }

    @Test("with every log rate 0 the adaptation is bit-identical to adaptation without rates", arguments: [false, true])
    func zeroRatesAreToday(headOnly: Bool) {
        let network = Network(seed: 9)
        let normal = Self.normalizedWindows(count: 8, seed: 11)
        var settings = AdaptationSettings(syntheticAnomalies: 6, steps: 7)
        settings.headOnly = headOnly
        let batch = FewShotAdaptation.batch(normal: normal, settings: settings)
        let loss = FewShotAdaptation.lossFunction(for: network, normal: normal, margin: settings.deviationMargin)
        let (today, todayReport) = FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: settings)
        settings.tensorLogRates = Array(repeating: 0, count: AdaptationRates.tensorNames.count)
        let (zero, zeroReport) = FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: settings)
        #expect(today.parameters.map(\.bitPattern) == zero.parameters.map(\.bitPattern))
        #expect(todayReport.lossAfter.bitPattern == zeroReport.lossAfter.bitPattern)
        #expect(today.parameters != network.parameters, "adaptation moved the weights")
        // A rate below 0 on one tensor slows exactly that tensor.
        let heads = AdaptationRates.tensorRanges(of: network.architecture)[10]
        settings.tensorLogRates?[10] = -4
        let (slow, _) = FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: settings)
        let moved = { (n: Network, range: Range<Int>) in range.reduce(0.0) { $0 + abs(Double(n.parameters[$1] - network.parameters[$1])) } }
        #expect(moved(slow, heads) < 0.1 * moved(today, heads), "head W6 moved \(moved(slow, heads)) against \(moved(today, heads))")
    }

    @Test("on a toy fleet, learned rates lower the held-out query loss below rates fixed at 0")
    func learnedRatesLowerHeldOutQueryLoss() {
        var settings = ToyMetaTraining.settings
        settings.iterations = 60
        settings.learnAdaptationRates = true
        settings.rateLearningRate = 0.05
        let tasks = (0..<6).map { toyTask(seed: 100 + UInt64($0)) }
        let trained = MetaTraining.trainWithRates(initial: ToyMetaTraining.initial, tasks: tasks, settings: settings, monitorEpisodes: 0)
        let rates = try! #require(trained.tensorLogRates)
        #expect(rates.count == AdaptationRates.tensorNames.count)
        #expect(rates.allSatisfy { AdaptationRates.logRateRange.contains($0) })
        #expect(rates.contains { abs($0) > 0.1 }, "rates moved: \(rates)")
        // Without learning, the same call gives exactly `train`'s network and no rates.
        var plain = settings
        plain.learnAdaptationRates = false
        plain.iterations = 10
        let reference = MetaTraining.train(initial: ToyMetaTraining.initial, tasks: tasks, settings: plain, monitorEpisodes: 0)
        let same = MetaTraining.trainWithRates(initial: ToyMetaTraining.initial, tasks: tasks, settings: plain, monitorEpisodes: 0)
        #expect(same.tensorLogRates == nil)
        #expect(same.network.parameters == reference.parameters)
        // Held-out machines: the mean query loss after adaptation from the trained weights.
        func heldOutLoss(_ logRates: [Float]?) -> Float {
            var inner = settings.inner
            inner.tensorLogRates = logRates
            var total: Float = 0
            for episode in ToyMetaTraining.heldOut {
                let (adapted, _) = MetaTraining.adaptAndMeasure(trained.network, episode: episode, inner: inner)
                total += MetaTraining.deviationQueryLoss(of: adapted, episode: episode, margin: inner.deviationMargin).loss
            }
            return total / Float(ToyMetaTraining.heldOut.count)
        }
        let learned = heldOutLoss(rates), fixed = heldOutLoss(nil)
        #expect(learned < 0.9 * fixed, "held-out query loss with learned rates \(learned), with rates 0 \(fixed)")
    }
}
