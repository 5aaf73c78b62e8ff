import Testing
@testable import Detection

@Suite struct NetworkTrainingTests {
    /// Normal windows of a correlated 4-sensor machine, normalized with their own statistics.
    static func normalExamples(count: Int, seed: UInt64) -> (Normalization, [TrainingExample]) {
        let machine = SyntheticMachine(sensorCount: 4, seed: 21)
        let raw = machine.windows(count: count, stride: 3, seed: seed)
        let normalization = Normalization(fitting: raw)
        return (normalization, raw.map { TrainingExample(window: normalization.normalize($0), label: .normal) })
    }

    @Test func sameSeedGivesBitIdenticalWeights() {
        let (_, batch) = Self.normalExamples(count: 16, seed: 1)
        func trained(seed: UInt64) -> [Float] {
            var network = Network(seed: seed)
            var adam = Adam(learningRate: 3e-3)
            for _ in 0..<10 { network.train(on: batch, lossFunction: .oneClass, optimizer: &adam) }
            return network.parameters
        }
        let a = trained(seed: 9), b = trained(seed: 9), c = trained(seed: 10)
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
        #expect(a != c)
        #expect(Network(seed: 9).parameters.map(\.bitPattern) == Network(seed: 9).parameters.map(\.bitPattern))
    }

    @Test func adamTrainingLearnsToPredictEachSensorFromTheOthers() {
        let (_, examples) = Self.normalExamples(count: 64, seed: 2)
        var network = Network(seed: 3)
        let before = network.loss(on: examples, lossFunction: .oneClass)
        var adam = Adam(learningRate: 5e-3)
        var rng = SeededGenerator(seed: 4)
        for _ in 0..<300 {
            let batch = (0..<16).map { _ in examples[rng.nextIndex(below: examples.count)] }
            network.train(on: batch, lossFunction: .oneClass, optimizer: &adam, maximumGradientNorm: 10)
        }
        let after = network.loss(on: examples, lossFunction: .oneClass)
        // Features are O(1) and strongly correlated across sensors: the mean squared prediction
        // error must fall well below its starting value.
        #expect(after < 0.25 * before, "loss \(before) → \(after)")
        #expect(after < 0.5)
    }

    @Test func sgdTrainingLowersTheLoss() {
        let (_, examples) = Self.normalExamples(count: 24, seed: 5)
        var network = Network(seed: 6)
        let before = network.loss(on: examples, lossFunction: .oneClass)
        var sgd = StochasticGradientDescent(learningRate: 0.01, momentum: 0.9)
        for _ in 0..<100 { network.train(on: examples, lossFunction: .oneClass, optimizer: &sgd, maximumGradientNorm: 5) }
        let after = network.loss(on: examples, lossFunction: .oneClass)
        #expect(after < 0.5 * before, "loss \(before) → \(after)")
    }

    @Test func deviationLossSeparatesSyntheticAnomalies() {
        let (_, normals) = Self.normalExamples(count: 64, seed: 7)
        var generator = SyntheticAnomalyGenerator(seed: 8)
        let anomalies = generator.anomalies(from: normals.map(\.window), count: 64)
        var network = Network(seed: 9)
        var adam = Adam(learningRate: 5e-3)
        // First fit normal behaviour, then add the deviation term with a reference from normal scores.
        var rng = SeededGenerator(seed: 10)
        for _ in 0..<150 {
            let batch = (0..<16).map { _ in normals[rng.nextIndex(below: normals.count)] }
            network.train(on: batch, lossFunction: .oneClass, optimizer: &adam, maximumGradientNorm: 10)
        }
        let reference = DeviationLoss(fittingNormalScores: normals.map { network.score($0.window).score }, margin: 5)
        let loss = LossFunction(reconstructionWeight: 1, deviation: reference)
        for _ in 0..<150 {
            let batch = (0..<10).map { _ in normals[rng.nextIndex(below: normals.count)] }
                + (0..<6).map { _ in anomalies[rng.nextIndex(below: anomalies.count)] }
            network.train(on: batch, lossFunction: loss, optimizer: &adam, maximumGradientNorm: 10)
        }

        let normalScores = normals.map { network.score($0.window).score }.sorted()
        let anomalyScores = anomalies.map { network.score($0.window).score }
        let threshold = normalScores[Int(0.95 * Double(normalScores.count - 1))]
        let detected = anomalyScores.filter { $0 > threshold }.count
        #expect(detected >= anomalyScores.count * 9 / 10, "detected \(detected) of \(anomalyScores.count)")
    }

    @Test(arguments: SyntheticAnomalyKind.allCases)
    func syntheticAnomalyChangesOnlyItsSensor(_ kind: SyntheticAnomalyKind) {
        let (_, normals) = Self.normalExamples(count: 8, seed: 10)
        var generator = SyntheticAnomalyGenerator(seed: 11)
        let window = normals[0].window
        let injected = generator.inject(kind, into: window, sensor: 2, donor: normals[7].window)
        for sensor in 0..<window.sensorCount where sensor != 2 {
            #expect(injected.series(ofSensor: sensor) == window.series(ofSensor: sensor))
        }
        #expect(injected.series(ofSensor: 2) != window.series(ofSensor: 2))
    }
}
