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
}
