/// How calibration sets the network half's alert threshold.
///
/// The network's output scale differs from one set of weights to another (a meta-learned head
/// and a random one answer the same deviation with scores an order of magnitude apart), so a
/// margin over the highest calibration score means something different for every network. The
/// two rules other than the shipped one express the threshold in the network's *own* response to
/// a known deviation, the same way for every initialization, with no margin learned anywhere:
///
/// - `sensorReference`: each sensor's contribution is divided by that sensor's reference, the
///   network's contribution for it in a calibration window with only that sensor moved by
///   `NetworkCalibration.referenceSpreads` input units (tolerated spreads with tolerated input
///   scaling); the score is the largest ratio and the threshold is 1.
/// - `anomalyMidpoint`: the threshold is the geometric mean of the highest calibration score and
///   the median score of the adaptation's synthetic anomalies (both scale with the network).
public enum NetworkThresholdRule: String, Sendable, Hashable, Codable, CaseIterable {
    /// Highest calibration score × the margin (the shipped rule).
    case highestScore = "highest-score"
    /// Per-sensor scores relative to each sensor's response to a moved calibration window; threshold 1.
    case sensorReference = "sensor-reference"
    /// Geometric mean of the highest calibration score and the median synthetic-anomaly score.
    case anomalyMidpoint = "anomaly-midpoint"

    /// At most this many calibration windows (evenly spaced) are moved to measure a reference.
    static let referenceWindows = 16

    /// Each sensor's reference for `sensorReference`: the contribution the network gives sensor
    /// `s` in a calibration window whose readings of `s` (normalized) are all moved by
    /// `spreads`, the larger of the two directions of the median over at most 16 windows,
    /// never below 1e-6. Scored as the detector scores (int8 when quantized).
    /// - Parameters:
    ///   - part: the calibrated network half (its normalization is not used: `normal` is normalized).
    ///   - normal: the calibration windows, normalized.
    ///   - spreads: how far each sensor is moved, in input units.
    static func sensorReferences(of part: NetworkDetector, normal: [Window], spreads: Float) -> [Float] {
        guard let first = normal.first else { return [] }
        let step = max(1, normal.count / referenceWindows)
        let windows = Swift.stride(from: 0, to: normal.count, by: step).map { normal[$0] }
        return (0..<first.sensorCount).map { s in
            var reference: Float = 0
            for sign: Float in [1, -1] {
                let contributions = windows.map { window -> Float in
                    var moved = window
                    for t in 0..<moved.timeSteps { moved.values[t * moved.sensorCount + s] += sign * spreads }
                    let scored = part.quantized?.score(moved) ?? part.network.score(moved)
                    return scored.contributions[s]
                }
                let typical = RobustStatistics.median(contributions)
                if typical.isFinite { reference = max(reference, typical) }
            }
            return max(reference, 1e-6)
        }
    }

    /// The reference for `anomalyMidpoint`: √(highest calibration score × median score of the
    /// synthetic anomalies the adaptation makes from `normal` with `settings`' seed and count),
    /// scored as the detector scores; `highest` alone when there are no synthetic anomalies.
    static func anomalyMidpoint(of part: NetworkDetector, normal: [Window], highest: Float,
                                settings: AdaptationSettings) -> Float {
        let anomalies = FewShotAdaptation.batch(normal: normal, settings: settings).filter { $0.label == .anomalous }
        let scores = anomalies.map { (part.quantized?.score($0.window) ?? part.network.score($0.window)).score }
        let median = RobustStatistics.median(scores.filter(\.isFinite))
        guard median.isFinite, median > 0, highest > 0 else { return highest }
        return (highest * median).squareRoot()
    }
}

extension NetworkDetector {
    /// The score of the window just scored into `workspace` (whose plain score is `score`) under
    /// the detector's per-sensor references: the largest contribution / reference, or `score`
    /// itself without references.
    func referencedScore(_ score: Float, workspace: ScoringWorkspace) -> Float {
        guard let references = sensorReferences, score.isFinite else { return score }
        let contributions = workspace.contributions
        guard contributions.count == references.count else { return .nan }
        var largest: Float = 0
        for (c, r) in zip(contributions, references) { largest = max(largest, c / r) }
        return largest
    }
}
