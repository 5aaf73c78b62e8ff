import Foundation
import Testing
@testable import Detection

/// Threshold rules expressed in the network's own response (`NetworkThresholdRule`): per-sensor
/// references from moved calibration windows, and the synthetic-anomaly midpoint.
@Suite("Network threshold rules")
struct NetworkThresholdRuleTests {
    static let architecture = NetworkArchitecture(encoderHiddenWidth: 12, embeddingWidth: 8, decoderHiddenWidth: 12,
                                                  headHiddenWidth: 8, slotWidth: 0, maximumSensorCount: 8)
    static let sensors = 4

    /// Row-major readings of a toy machine (correlated sensors, noise, a slow load).
    static func rows(_ count: Int, seed: UInt64) -> [Float] {
        SyntheticMachine(sensorCount: sensors, seed: 21).series(rows: count, seed: seed).flatMap { $0 }
    }

    /// Row-major readings of a toy machine held at one operating point: a fast cycle every
    /// calibration sees, noise, and a slow wander of `wander` noise levels that it does not.
    static func steadyRows(_ count: Int, seed: UInt64, wander: Float = 0.5) -> [Float] {
        var random = SeededGenerator(seed: seed)
        var values: [Float] = []
        var walk: Float = 0
        for t in 0..<count {
            walk = 0.995 * walk + 0.1 * wander * random.nextGaussian()
            let cycle = Float(sin(Double(t) * 0.4))
            for k in 0..<sensors { values.append(Float(10 * k) + Float(k + 1) * (cycle + walk) + 0.3 * random.nextGaussian()) }
        }
        return values
    }

    /// A random head-only, largest-sensor network (the score family the rules were designed for).
    static func network(seed: UInt64) -> Network {
        var network = Network(architecture: architecture, seed: seed)
        network.reconstructionScoreWeight = 0
        network.scoresByLargestSensor = true
        return network
    }

    static func calibrate(_ network: Network, rule: NetworkThresholdRule, spreads: Float = 1, steps: Int = 0,
                          values: [Float]) throws -> NetworkDetector {
        var calibration = NetworkCalibration(initialization: network, adaptation: AdaptationSettings(steps: steps),
                                             thresholdMargin: 1.5, quantize: false)
        calibration.inputScaling = .tolerated
        calibration.thresholdRule = rule
        calibration.referenceSpreads = spreads
        let calibrated = Calibrator.calibrateNetwork(calibration, values: values[...], sensorCount: sensors, labelledAnomalies: nil)
        return try #require(calibrated).0
    }

    /// The detector's scores of `values` (NaN until its window is full).
    static func scores(_ part: NetworkDetector, _ values: [Float]) -> [Float] {
        var stream = NetworkStream(detector: part)
        return (0..<(values.count / sensors)).map { stream.score(row: values[($0 * sensors)..<(($0 + 1) * sensors)]) }
    }

    @Test("multiplying the head's output by 7 multiplies references and midpoint by 7 and leaves referenced scores")
    func rulesAreFreeOfTheHeadsScale() throws {
        let calibration = Self.rows(200, seed: 1), later = Self.rows(300, seed: 2)
        let a = Self.network(seed: 5)
        var b = a
        let layout = ParameterLayout(Self.architecture)
        for k in layout.w6..<(layout.w6 + Self.architecture.headHiddenWidth) { b.parameters[k] *= 7 }
        b.parameters[layout.b6] *= 7

        let referencedA = try Self.calibrate(a, rule: .sensorReference, values: calibration)
        let referencedB = try Self.calibrate(b, rule: .sensorReference, values: calibration)
        let referencesA = try #require(referencedA.sensorReferences), referencesB = try #require(referencedB.sensorReferences)
        #expect(referencesA.count == Self.sensors)
        for (ra, rb) in zip(referencesA, referencesB) { #expect(abs(rb - 7 * ra) <= 1e-4 * rb, "\(ra) × 7 vs \(rb)") }
        #expect(referencedA.threshold == 1 && referencedB.threshold == 1)
        var compared = 0
        for (sa, sb) in zip(Self.scores(referencedA, later), Self.scores(referencedB, later)) where sa.isFinite {
            #expect(abs(sa - sb) <= 1e-4 * max(1, sa), "\(sa) vs \(sb)")
            compared += 1
        }
        #expect(compared > 250)

        let midpointA = try Self.calibrate(a, rule: .anomalyMidpoint, values: calibration)
        let midpointB = try Self.calibrate(b, rule: .anomalyMidpoint, values: calibration)
        #expect(abs(midpointB.threshold - 7 * midpointA.threshold) <= 1e-4 * midpointB.threshold)
    }

    @Test("the reference is the median contribution of a moved calibration window; the midpoint √(highest × median anomaly)")
    func referencesAreTheNetworksResponse() throws {
        let calibration = Self.rows(200, seed: 3)
        let network = Self.network(seed: 9)
        let spreads: Float = 3
        let part = try Self.calibrate(network, rule: .sensorReference, spreads: spreads, values: calibration)
        let references = try #require(part.sensorReferences)
        let settings = AdaptationSettings(steps: 0)
        let windows = FewShotAdaptation.windows(values: calibration[...], sensorCount: Self.sensors, normalization: part.normalization,
                                                windowRows: settings.windowRows, stride: settings.stride, limit: settings.maximumNormalWindows)
        let step = max(1, windows.count / 16)
        for s in 0..<Self.sensors {
            var expected: Float = 0
            for sign: Float in [1, -1] {
                var contributions: [Float] = []
                for w in Swift.stride(from: 0, to: windows.count, by: step) {
                    var moved = windows[w]
                    for t in 0..<moved.timeSteps { moved.values[t * Self.sensors + s] += sign * spreads }
                    contributions.append(network.score(moved).contributions[s])
                }
                contributions.sort()
                let m = contributions.count
                expected = max(expected, m % 2 == 1 ? contributions[m / 2] : (contributions[m / 2 - 1] + contributions[m / 2]) / 2)
            }
            #expect(abs(references[s] - expected) <= 1e-5 * max(1, expected), "sensor \(s): \(references[s]) vs \(expected)")
        }
        // The referenced score of a row is its largest contribution / reference.
        var plain = part
        plain.sensorReferences = nil
        var referenced = NetworkStream(detector: part), unreferenced = NetworkStream(detector: plain)
        for r in 0..<200 {
            let row = calibration[(r * Self.sensors)..<((r + 1) * Self.sensors)]
            let s = referenced.score(row: row)
            _ = unreferenced.score(row: row)
            guard s.isFinite else { continue }
            let expected = zip(unreferenced.contributions, references).map { $0 / $1 }.max() ?? .nan
            #expect(abs(s - expected) <= 1e-5 * max(1, expected))
        }

        // sensor-excess: scores and references measured from the median unmoved contribution.
        let excess = try Self.calibrate(network, rule: .sensorExcess, spreads: spreads, values: calibration)
        let baselines = try #require(excess.sensorBaselines), excessReferences = try #require(excess.sensorReferences)
        for s in 0..<Self.sensors {
            var unmoved = Swift.stride(from: 0, to: windows.count, by: step).map { network.score(windows[$0]).contributions[s] }.sorted()
            let m = unmoved.count
            let expected = m % 2 == 1 ? unmoved[m / 2] : (unmoved[m / 2 - 1] + unmoved[m / 2]) / 2
            unmoved.removeAll()
            #expect(abs(baselines[s] - expected) <= 1e-5 * max(1, expected))
            #expect(abs(excessReferences[s] - max(references[s] - expected, 1e-6)) <= 1e-5 * max(1, references[s]))
        }
        var excessStream = NetworkStream(detector: excess), plainStream = NetworkStream(detector: plain)
        var checked = 0
        for r in 0..<200 {
            let row = calibration[(r * Self.sensors)..<((r + 1) * Self.sensors)]
            let s = excessStream.score(row: row)
            _ = plainStream.score(row: row)
            guard s.isFinite else { continue }
            let expected = (0..<Self.sensors).map { (plainStream.contributions[$0] - baselines[$0]) / excessReferences[$0] }.max() ?? .nan
            #expect(abs(s - expected) <= 1e-5 * max(1, abs(expected)))
            checked += 1
        }
        #expect(checked > 150)

        // all-sensor-reference: the plain score of windows with every sensor moved, larger direction of the median.
        let allMoved = try Self.calibrate(network, rule: .allSensorReference, spreads: spreads, values: calibration)
        #expect(allMoved.sensorReferences == nil)
        var expectedAll: Float = 0
        for sign: Float in [1, -1] {
            var scores = Swift.stride(from: 0, to: windows.count, by: step).map { w -> Float in
                var moved = windows[w]
                moved.values = moved.values.map { $0 + sign * spreads }
                return network.score(moved).score
            }.sorted()
            let m = scores.count
            expectedAll = max(expectedAll, m % 2 == 1 ? scores[m / 2] : (scores[m / 2 - 1] + scores[m / 2]) / 2)
            scores.removeAll()
        }
        #expect(abs(allMoved.threshold - expectedAll) <= 1e-5 * max(1, expectedAll), "\(allMoved.threshold) vs \(expectedAll)")

        let midpoint = try Self.calibrate(network, rule: .anomalyMidpoint, values: calibration)
        let highest = Self.scores(plain, calibration).filter(\.isFinite).max() ?? .nan
        let anomalies = FewShotAdaptation.batch(normal: windows, settings: settings).filter { $0.label == .anomalous }
        #expect(anomalies.count == settings.syntheticAnomalies)
        var anomalyScores = anomalies.map { network.score($0.window).score }.sorted()
        let m = anomalyScores.count
        let median = m % 2 == 1 ? anomalyScores[m / 2] : (anomalyScores[m / 2 - 1] + anomalyScores[m / 2]) / 2
        anomalyScores.removeAll()
        let expected = (highest * median).squareRoot()
        #expect(abs(midpoint.threshold - expected) <= 1e-5 * expected, "\(midpoint.threshold) vs \(expected)")
    }

    @Test("an adapted head with references: a sensor moved well past them alerts, later normal rows mostly do not")
    func movedSensorAlerts() throws {
        let calibration = Self.rows(200, seed: 5), later = Self.rows(400, seed: 6)
        let part = try Self.calibrate(Self.network(seed: 11), rule: .sensorReference, spreads: 2, steps: 20, values: calibration)
        let normal = Self.scores(part, later).filter(\.isFinite)
        var moved = later
        for r in 0..<400 { moved[r * Self.sensors + 2] += 8 * part.normalization.scales[2] }
        let faulty = Self.scores(part, moved).filter(\.isFinite)
        let normalAlerts = Double(normal.filter { $0 > 1 }.count) / Double(normal.count)
        let faultAlerts = Double(faulty.filter { $0 > 1 }.count) / Double(faulty.count)
        #expect(faultAlerts >= 0.9)
        #expect(normalAlerts <= 0.2)
    }

    @Test("learned reference spreads are the smallest on the grid that keep later normal rows under the target",
          arguments: [NetworkThresholdRule.sensorReference, .allSensorReference])
    func learnedSpreadsMeetTheTarget(_ rule: NetworkThresholdRule) throws {
        let tasks = (0..<2).map { t in
            MetaTask(name: "toy \(t)", values: Self.steadyRows(500, seed: 40 + UInt64(t)), sensorCount: Self.sensors,
                     anomalous: Array(repeating: false, count: 500))
        }
        var settings = CalibrationPriorSettings(calibrationRowCounts: [60], targetFalseAlarmRate: 0.05, episodesPerTask: 2)
        settings.horizonRows = 200
        var calibration = NetworkCalibration(initialization: Self.network(seed: 13), adaptation: AdaptationSettings(steps: 5),
                                             thresholdMargin: 1.5, quantize: false)
        calibration.inputScaling = .tolerated
        let grid = NetworkThresholdRule.referenceSpreadGrid
        let learned = try #require(NetworkThresholdRule.learnReferenceSpreads(calibration: calibration, tasks: tasks, settings: settings,
                                                                              rule: rule)[60])
        // The false-alarm rate of spreads c, recomputed through calibration and the detector's own stream.
        func falseAlarmRate(_ c: Float) throws -> Double {
            var referenced = calibration
            referenced.thresholdRule = rule
            referenced.referenceSpreads = c
            var alerted = 0, total = 0
            for task in tasks {
                for start in CalibrationPrior.starts(in: task, rows: 60, count: 2) {
                    let support = task.values[(start * Self.sensors)..<((start + 60) * Self.sensors)]
                    let part = try #require(Calibrator.calibrateNetwork(referenced, values: support, sensorCount: Self.sensors,
                                                                        labelledAnomalies: nil)).0
                    var stream = NetworkStream(detector: part)
                    var state = AlertDecisionRule.State()
                    for r in (start + 60)..<min(task.rowCount, start + 260) {
                        let s = stream.score(row: task.values[(r * Self.sensors)..<((r + 1) * Self.sensors)])
                        if state.update(score: s, threshold: part.threshold, rule: settings.rule) { alerted += 1 }
                        total += 1
                    }
                }
            }
            return Double(alerted) / Double(total)
        }
        #expect(try falseAlarmRate(learned) <= 0.05, "spreads \(learned)")
        let index = try #require(grid.firstIndex(of: learned))
        #expect(index > 0, "the toy fleet should need more than the smallest spread")
        if index > 0 { #expect(try falseAlarmRate(grid[index - 1]) > 0.05, "spreads \(grid[index - 1])") }
    }
}
