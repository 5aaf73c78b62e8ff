import EdgeCore
import Foundation
import Testing
import TestSupport
@testable import Detection

/// A three-sensor machine: seeded noise around fixed levels, with sensor 1 stepped by `step`
/// over rows `faultRows` (labelled anomalous there).
private func machine(rows: Int, seed: UInt64, faultRows: Range<Int>, step: Float = 6) -> SensorTable {
    var random = SplitMix64(seed: seed)
    var values: [Float] = []
    var labels: [UInt8] = []
    for r in 0..<rows {
        let fault = faultRows.contains(r)
        values.append(10 + random.signedUnitFloat())
        values.append(60 + 2 * random.signedUnitFloat() + (fault ? step * 2 : 0))
        values.append(-5 + 0.5 * random.signedUnitFloat())
        labels.append(fault ? 1 : 0)
    }
    return SensorTable(sensorNames: ["a", "b", "c"], timestamps: (0..<rows).map { "\($0)" }, values: values, anomalyLabels: labels)
}

/// Calibration of the network alone, head score, as the k-fold table calibrates every member.
private func networkOnly(_ initialization: Network) -> CalibrationSettings {
    var settings = CalibrationSettings()
    settings.useDeviation = false
    settings.network = NetworkCalibration(initialization: initialization, adaptation: AdaptationSettings(steps: 3),
                                          thresholdMargin: 1, quantize: false)
    return settings
}

/// A network scoring with the deviation head alone (the k-fold design's score).
private func headScored(seed: UInt64) -> Network {
    var network = Network(seed: seed)
    network.reconstructionScoreWeight = 0
    return network
}

/// Whether two score arrays agree: NaN at the same rows, finite values within `tolerance` (relative).
private func agree(_ x: [Float], _ y: [Float], tolerance: Float) -> Bool {
    x.count == y.count && zip(x, y).allSatisfy { a, b in
        (a.isNaN && b.isNaN) || (a.isFinite && b.isFinite && abs(a - b) <= tolerance * max(1, abs(b)))
    }
}

@Suite("k-fold ensembles in the few-shot table")
struct KFoldEnsembleTests {
    @Test("one member scores exactly as Replay; identical members score as one network")
    func identicalMembers() throws {
        let table = machine(rows: 400, seed: 21, faultRows: 250..<300)
        let network = headScored(seed: 11)
        let settings = networkOnly(network)
        let replay = try Replay.run(table, calibrationRows: 100, settings: settings).scores
        let one = try FewShotEvaluation.relativeScores(of: table, calibrationRows: 100, members: [network], settings: settings)
        #expect(one.count == 400)
        #expect(zip(one, replay).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "one member must be the single-network path itself")
        let two = try FewShotEvaluation.relativeScores(of: table, calibrationRows: 100, members: [network, network], settings: settings)
        let four = try FewShotEvaluation.relativeScores(of: table, calibrationRows: 100, members: Array(repeating: network, count: 4), settings: settings)
        #expect(zip(two, four).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "identical ensembles of 2 and 4 must score alike exactly")
        // Relative to the ensemble's own highest calibration score, which is one network's threshold (float rounding only).
        #expect(agree(four, one, tolerance: 1e-5))
        #expect(four.prefix(100).filter(\.isFinite).max() == 1)
    }

    @Test("members from different seeds: the row score is their mean relative to its highest calibration score")
    func membersAreAveraged() throws {
        let table = machine(rows: 400, seed: 22, faultRows: 250..<300)
        let k = 100
        let members = NetworkEnsemble.memberSeeds(from: 3, count: 3).map { headScored(seed: $0) }
        let settings = networkOnly(members[0])
        let ensemble = try FewShotEvaluation.relativeScores(of: table, calibrationRows: k, members: members, settings: settings)
        // Independently: each member replayed on its own, raw scores averaged in Double.
        var raw: [[Double]] = []
        for member in members {
            let replay = try Replay.run(table, calibrationRows: k, settings: networkOnly(member))
            let threshold = Double(try #require(replay.detector.network?.threshold))
            raw.append(replay.scores.map { Double($0) * threshold })
        }
        let mean = (0..<table.rowCount).map { r in raw.allSatisfy { $0[r].isFinite } ? raw.map { $0[r] }.reduce(0, +) / Double(raw.count) : .nan }
        let reference = mean.prefix(k).filter(\.isFinite).max() ?? 1
        let expected = mean.map { Float($0 / reference) }
        #expect(agree(ensemble, expected, tolerance: 1e-5))
        // And it is none of its members: each member's own relative scores differ on most rows.
        for member in members {
            let alone = try FewShotEvaluation.relativeScores(of: table, calibrationRows: k, members: [member], settings: settings)
            let differing = zip(alone, ensemble).filter { $0.isFinite && $1.isFinite && abs($0 - $1) > 1e-3 * max(1, abs($1)) }.count
            #expect(differing > 200, "member differs from the ensemble on \(differing) rows only")
        }
    }

    @Test("the k-fold table meta-trains M members per fold with seeds 100·seed + m + fold, and counts every test row")
    func foldsTrainMembers() throws {
        let directory = try TemporaryDirectory(prefix: "kfold-ensemble")
        defer { directory.remove() }
        for i in 0..<4 {
            let table = machine(rows: 320, seed: 40 + UInt64(i), faultRows: (200 + 10 * i)..<(260 + 10 * i))
            var text = "timestamp,a,b,c,anomaly\n"
            for r in 0..<table.rowCount {
                text += "\(r)," + table.row(r).map { "\($0)" }.joined(separator: ",") + ",\(table.anomalyLabels?[r] ?? 0)\n"
            }
            try text.write(toFile: directory.file("m\(i).csv"), atomically: true, encoding: .utf8)
        }
        var settings = FewShotEvaluationSettings(calibrationRowCounts: [50], testStartRow: 120, folds: 2,
                                                 metaTraining: MetaTrainingSettings(iterations: 3, supportRows: 50, queryWindows: 2, seed: 2),
                                                 adaptation: AdaptationSettings(steps: 2), thresholdMargin: 1.5, quantize: false, randomSeed: 5)
        settings.metaTraining.inner.steps = 2
        settings.scoreReconstructionWeight = 0
        settings.learnThresholdMargin = true
        settings.learnNormalizationPrior = true
        settings.ensembleMembers = 2
        var lines: [String] = []
        let results = try FewShotEvaluation.run(directory: directory.path, initialization: nil, settings: settings) { lines.append($0) }
        let seeds = lines.compactMap { line -> UInt64? in
            guard let range = line.range(of: "member seed ") else { return nil }
            return UInt64(line[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(seeds == [201, 202, 202, 203], "progress: \(lines)")
        #expect(Set(results.map(\.method)) == Set(FewShotMethod.allCases.filter { $0 != .randomAdaptedWithLearnedRates }))
        for result in results {
            let c = result.counts
            #expect(c.truePositives + c.falsePositives + c.falseNegatives + c.trueNegatives == 4 * (320 - 120))
            #expect(result.thresholdMargins.count == 2)
        }
        // Without folds the k-fold ensemble does not apply (the simulator-only one is `runEnsemble`).
        settings.folds = 0
        #expect(throws: ReplayError.self) { try FewShotEvaluation.run(directory: directory.path, initialization: Network(seed: 1), settings: settings) }
    }
}
