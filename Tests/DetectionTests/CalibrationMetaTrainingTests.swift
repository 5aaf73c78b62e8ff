import Detection
import EdgeCore
import Testing

/// A toy fleet for meta-training tests: each machine's sensors follow one shared load with their
/// own gains, offsets and noise; its faults break a sensor's relation to the load for a while.
func toyTask(seed: UInt64, rows: Int = 1200, sensors: Int = 4) -> MetaTask {
    var random = SplitMix64(seed: seed)
    let gains = (0..<sensors).map { _ in 0.5 + 2 * abs(random.signedUnitFloat()) }
    let offsets = (0..<sensors).map { _ in 50 * random.signedUnitFloat() }
    let noise = (0..<sensors).map { _ in 0.05 + 0.1 * abs(random.signedUnitFloat()) }
    var values: [Float] = []
    var anomalous: [Bool] = []
    var load: Float = 0
    let faultStart = 700 + Int(abs(random.signedUnitFloat()) * 200)
    let faultSensor = Int(abs(random.signedUnitFloat()) * Float(sensors)) % sensors
    for r in 0..<rows {
        load = 0.97 * load + 0.1 * random.signedUnitFloat()
        let fault = r >= faultStart && r < faultStart + 150
        for s in 0..<sensors {
            var v = offsets[s] + gains[s] * load + noise[s] * random.signedUnitFloat()
            if fault && s == faultSensor { v += 6 * noise[s] + 0.8 * gains[s] }
            values.append(v)
        }
        anomalous.append(fault)
    }
    return MetaTask(name: "toy-\(seed)", values: values, sensorCount: sensors, anomalous: anomalous)
}

/// One meta-training run shared by the tests below (it is the slow part).
enum ToyMetaTraining {
    static let settings = MetaTrainingSettings(iterations: 60, supportRows: 100, labelledSupportWindows: 4,
                                               inner: AdaptationSettings(maximumNormalWindows: 24, syntheticAnomalies: 12, steps: 5),
                                               outerStepSize: 0.5, queryWindows: 12, seed: 3, algorithm: .reptile)
    static let initial = Network(seed: 3)
    static let trained = MetaTraining.train(initial: initial, tasks: (0..<6).map { toyTask(seed: 100 + UInt64($0)) },
                                            settings: settings, monitorEpisodes: 0)
    /// Support/query episodes of machines meta-training never saw.
    static let heldOut: [TaskEpisode] = {
        var random = SeededGenerator(seed: 42)
        return (0..<4).compactMap { MetaTraining.episode(from: toyTask(seed: 900 + UInt64($0)), settings: settings, random: &random) }
    }()
}

@Suite("Meta-training and few-shot adaptation", .serialized)
struct CalibrationMetaTrainingTests {
    @Test("meta-training on a small simulated fleet lowers the meta-loss on held-out machines")
    func metaLossDecreases() {
        let episodes = ToyMetaTraining.heldOut
        #expect(episodes.count == 4)
        let inner = ToyMetaTraining.settings.inner
        let before = MetaTraining.metaLoss(of: ToyMetaTraining.initial, episodes: episodes, inner: inner)
        let after = MetaTraining.metaLoss(of: ToyMetaTraining.trained, episodes: episodes, inner: inner)
        #expect(after < before - 0.02, "meta-loss before \(before), after \(after)")
    }

    @Test("adaptation from the meta-initialization beats random initializations at small K on held-out machines")
    func metaInitBeatsRandom() {
        var inner = ToyMetaTraining.settings.inner
        inner.maximumNormalWindows = 12  // small K: 12 windows from 100 rows
        let meta = MetaTraining.metaLoss(of: ToyMetaTraining.trained, episodes: ToyMetaTraining.heldOut, inner: inner)
        for seed: UInt64 in [11, 12, 13] {
            let random = MetaTraining.metaLoss(of: Network(seed: seed), episodes: ToyMetaTraining.heldOut, inner: inner)
            #expect(meta < random - 0.02, "meta-init \(meta), random init (seed \(seed)) \(random)")
        }
    }

    @Test("meta-training is deterministic for a seed")
    func deterministic() {
        var settings = ToyMetaTraining.settings
        settings.iterations = 3
        let tasks = [toyTask(seed: 5), toyTask(seed: 6)]
        let a = MetaTraining.train(initial: Network(seed: 1), tasks: tasks, settings: settings, monitorEpisodes: 0)
        let b = MetaTraining.train(initial: Network(seed: 1), tasks: tasks, settings: settings, monitorEpisodes: 0)
        #expect(a.parameters == b.parameters)
        #expect(a.parameters != Network(seed: 1).parameters)
    }
}
