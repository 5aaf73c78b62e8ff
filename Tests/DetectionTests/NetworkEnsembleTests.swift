import EdgeCore
import Testing
@testable import Detection

/// Rows of a three-sensor machine in normal operation: levels with seeded noise.
private func normalRows(rows: Int, seed: UInt64) -> [Float] {
    var random = SplitMix64(seed: seed)
    var values: [Float] = []
    for _ in 0..<rows {
        values.append(10 + random.signedUnitFloat())
        values.append(60 + 2 * random.signedUnitFloat())
        values.append(-5 + 0.5 * random.signedUnitFloat())
    }
    return values
}

/// A detector of `network` with the robust normalization of `values` (three sensors).
private func detector(_ network: Network, values: [Float]) -> NetworkDetector {
    let columns = (0..<3).map { s in stride(from: s, to: values.count, by: 3).map { values[$0] } }
    return NetworkDetector(network: network, normalization: Normalization(fittingColumns: columns), windowRows: 32, threshold: 1)
}

/// Every finite score of a stream over `values` (three sensors per row).
private func scores(_ score: (ArraySlice<Float>) -> Float, values: [Float]) -> [Float] {
    stride(from: 0, to: values.count, by: 3).map { score(values[$0..<($0 + 3)]) }
}

/// Standard deviation / mean of the finite values.
private func coefficientOfVariation(_ values: [Float]) -> Double {
    let finite = values.filter(\.isFinite).map(Double.init)
    let mean = finite.reduce(0, +) / Double(finite.count)
    let variance = finite.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(finite.count)
    return variance.squareRoot() / mean
}

@Suite("Ensembles of network detectors")
struct NetworkEnsembleTests {
    @Test("an ensemble of identical members scores exactly as one member, and its relative scores too")
    func identicalMembers() {
        let values = normalRows(rows: 300, seed: 3)
        var network = Network(seed: 11)
        network.reconstructionScoreWeight = 0
        network.scoresByLargestSensor = true
        let one = detector(network, values: values)
        var single = NetworkStream(detector: one)
        var ensemble = NetworkEnsembleStream(detectors: [one, one, one])
        let alone = scores({ single.score(row: $0) }, values: values)
        let mean = scores({ ensemble.score(row: $0) }, values: values)
        #expect(alone.filter(\.isFinite).count == 300 - 31)
        #expect(zip(alone, mean).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
        let relative = alone.map { $0 / 2.5 }
        let fromOne = NetworkEnsemble.relativeScores(memberRelativeScores: [relative], memberThresholds: [2.5], calibrationRows: 100)
        let fromThree = NetworkEnsemble.relativeScores(memberRelativeScores: [relative, relative, relative],
                                                       memberThresholds: [2.5, 2.5, 2.5], calibrationRows: 100)
        #expect(zip(fromOne, fromThree).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
        // Relative to the highest of the first 100 rows: that row is exactly 1, none of the first 100 above it.
        #expect(fromOne.prefix(100).filter(\.isFinite).max() == 1)
    }

    @Test("members from different derived seeds differ; the derived seeds are 100·seed + 1 … + M")
    func differentSeedsDiffer() {
        #expect(NetworkEnsemble.memberSeeds(from: 7, count: 4) == [701, 702, 703, 704])
        #expect(NetworkEnsemble.memberSeeds(from: 1, count: 2) == [101, 102])
        let values = normalRows(rows: 200, seed: 4)
        let seeds = NetworkEnsemble.memberSeeds(from: 7, count: 3)
        let perMember = seeds.map { seed -> [Float] in
            var stream = NetworkStream(detector: detector(Network(seed: seed), values: values))
            return scores({ stream.score(row: $0) }, values: values)
        }
        for i in perMember.indices {
            for j in perMember.indices where j > i {
                let differing = zip(perMember[i], perMember[j]).filter { $0.isFinite && $1.isFinite && abs($0 - $1) > 1e-4 * max(abs($0), 1e-6) }.count
                #expect(differing > 150, "members \(seeds[i]) and \(seeds[j]) differ on \(differing) of 169 windows")
            }
        }
    }

    @Test("the ensemble mean varies less over normal windows than any of its members (relative to its level)")
    func meanVariesLess() {
        let values = normalRows(rows: 800, seed: 5)
        var detectors: [NetworkDetector] = []
        var memberVariation: [Double] = []
        for seed in NetworkEnsemble.memberSeeds(from: 9, count: 4) {
            var network = Network(seed: seed)
            network.reconstructionScoreWeight = 0
            network.scoresByLargestSensor = true
            let d = detector(network, values: values)
            detectors.append(d)
            var stream = NetworkStream(detector: d)
            memberVariation.append(coefficientOfVariation(scores({ stream.score(row: $0) }, values: values)))
        }
        var ensemble = NetworkEnsembleStream(detectors: detectors)
        let variation = coefficientOfVariation(scores({ ensemble.score(row: $0) }, values: values))
        #expect(variation < 0.9 * (memberVariation.min() ?? 0), "ensemble CV \(variation), members \(memberVariation)")
    }

    @Test("the ensemble calibration prior with one member learns what the single-network prior learns")
    func priorOfOneMember() {
        func machine(seed: UInt64, wander: Bool) -> MetaTask {
            var random = SplitMix64(seed: seed)
            var values: [Float] = []
            for r in 0..<700 {
                values.append(10 + random.signedUnitFloat() + (wander ? 0.01 * Float(r) : 0))
                values.append(60 + random.signedUnitFloat() + (wander ? 0.02 * Float(r) : 0))
            }
            return MetaTask(name: "machine-\(seed)", values: values, sensorCount: 2, anomalous: Array(repeating: false, count: 700))
        }
        let tasks = (0..<3).map { machine(seed: 30 + UInt64($0), wander: $0 == 1) }
        let network = Network(seed: 5)
        let calibration = NetworkCalibration(initialization: network, adaptation: AdaptationSettings(steps: 2),
                                             thresholdMargin: 1, quantize: false)
        let settings = CalibrationPriorSettings(calibrationRowCounts: [50, 100], targetFalseAlarmRate: 0.05, episodesPerTask: 2)
        let single = CalibrationPrior.learn(initialization: network, calibration: calibration, tasks: tasks, settings: settings)
        let ensemble = CalibrationPrior.learnForEnsemble(initializations: [network], calibration: calibration, tasks: tasks, settings: settings)
        #expect(single.entries.count == 2)
        #expect(single == ensemble, "single \(single.entries), ensemble \(ensemble.entries)")
        let three = CalibrationPrior.learnForEnsemble(initializations: NetworkEnsemble.memberSeeds(from: 5, count: 3).map { Network(seed: $0) },
                                                      calibration: calibration, tasks: tasks, settings: settings)
        #expect(three.entries.map(\.calibrationRows) == [50, 100])
    }
}
