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
    /// As `sensorReference`, each contribution measured from the sensor's median contribution
    /// in the unmoved calibration windows: (contribution − baseline) / (reference − baseline).
    case sensorExcess = "sensor-excess"
    /// The network's own score of a calibration window with every sensor moved by the reference
    /// spreads at once (the larger direction of the median over at most 16 windows); no margin.
    case allSensorReference = "all-sensor-reference"

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
        let windows = referenceWindows(normal)
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

    /// The threshold of `allSensorReference`: the network's score of a calibration window whose
    /// readings (normalized) of every sensor are moved by `spreads`, the larger of the two
    /// directions of the median over at most 16 windows, scored as the detector scores.
    static func allSensorReference(of part: NetworkDetector, normal: [Window], spreads: Float) -> Float {
        var threshold: Float = 0
        for sign: Float in [1, -1] {
            let scores = referenceWindows(normal).map { window -> Float in
                var moved = window
                for k in moved.values.indices { moved.values[k] += sign * spreads }
                return (part.quantized?.score(moved) ?? part.network.score(moved)).score
            }
            let typical = RobustStatistics.median(scores)
            if typical.isFinite { threshold = max(threshold, typical) }
        }
        return max(threshold, 1e-6)
    }

    /// The calibration windows a reference is measured on: at most 16, evenly spaced.
    static func referenceWindows(_ normal: [Window]) -> [Window] {
        let step = max(1, normal.count / referenceWindows)
        return Swift.stride(from: 0, to: normal.count, by: step).map { normal[$0] }
    }

    /// Each sensor's baseline for `sensorExcess`: the median over the reference windows (unmoved)
    /// of the network's contribution for that sensor, scored as the detector scores.
    static func sensorBaselines(of part: NetworkDetector, normal: [Window]) -> [Float] {
        guard let first = normal.first else { return [] }
        let scored = referenceWindows(normal).map { (part.quantized?.score($0) ?? part.network.score($0)).contributions }
        return (0..<first.sensorCount).map { s in
            let typical = RobustStatistics.median(scored.map { $0[s] })
            return typical.isFinite ? typical : 0
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
        if let baselines = sensorBaselines, baselines.count == references.count {
            largest = -.infinity
            for i in contributions.indices { largest = max(largest, (contributions[i] - baselines[i]) / references[i]) }
            return largest
        }
        for (c, r) in zip(contributions, references) { largest = max(largest, c / r) }
        return largest
    }
}

extension NetworkThresholdRule {
    /// The reference spreads tried when learning them (`learnReferenceSpreads`).
    public static let referenceSpreadGrid: [Float] = [1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64]

    /// Learns, per K, the reference spreads of `sensorReference` for calibrations that start from
    /// `calibration.initialization` and adapt with its settings, on `tasks` (machines other than
    /// those it will calibrate, e.g. the simulated fleet): each stretch is calibrated as
    /// `calibrate` would, the next rows of the task (`settings.horizonRows`) are scored, and the
    /// result is the smallest spread on `grid` whose alerts (threshold 1, `settings.rule`) cover
    /// at most `settings.targetFalseAlarmRate` of those normal rows, pooled over all stretches
    /// (the largest on the grid when none does). The stretches are `CalibrationPrior`'s.
    /// - Returns: the learned spreads by K (K below one window are left out).
    /// With `rule` `allSensorReference` the same is done with that rule's threshold (the plain
    /// score against the score of a window with every sensor moved by the spreads).
    public static func learnReferenceSpreads(calibration: NetworkCalibration, tasks: [MetaTask],
                                             settings: CalibrationPriorSettings = CalibrationPriorSettings(),
                                             grid: [Float] = referenceSpreadGrid,
                                             rule: NetworkThresholdRule = .sensorReference) -> [Int: Float] {
        let allSensors = rule == .allSensorReference
        var calibration = calibration
        calibration.thresholdRule = .highestScore
        calibration.thresholdMargin = 1
        calibration.calibrationPrior = nil
        let a = calibration.adaptation
        var learned: [Int: Float] = [:]
        for k in settings.calibrationRowCounts where k >= a.windowRows {
            // Per stretch: the calibrated half, its normal windows, and every later row's contributions.
            var stretches: [(part: NetworkDetector, normal: [Window], contributions: [[Float]], isNormal: [Bool])] = []
            for task in tasks {
                let n = task.sensorCount
                for start in CalibrationPrior.starts(in: task, rows: k, count: settings.episodesPerTask, after: settings.settlingRows) {
                    let support = task.values[(start * n)..<((start + k) * n)]
                    guard let (part, _, _) = Calibrator.calibrateNetwork(calibration, values: support, sensorCount: n, labelledAnomalies: nil)
                    else { continue }
                    let normal = FewShotAdaptation.windows(values: support, sensorCount: n, normalization: part.normalization,
                                                           windowRows: a.windowRows, stride: a.stride, limit: a.maximumNormalWindows)
                    var stream = NetworkStream(detector: part)
                    var contributions: [[Float]] = [], isNormal: [Bool] = []
                    for r in (start + k)..<min(task.rowCount, start + k + (settings.horizonRows ?? task.rowCount)) {
                        let s = stream.score(row: task.values[(r * n)..<((r + 1) * n)])
                        contributions.append(s.isFinite ? (allSensors ? [s] : stream.contributions) : [])
                        isNormal.append(!task.anomalous[r])
                    }
                    stretches.append((part, normal, contributions, isNormal))
                }
            }
            var spreads = grid.max() ?? 1
            for c in grid.sorted() {
                var alerted = 0, total = 0
                for s in stretches {
                    let references = allSensors ? [allSensorReference(of: s.part, normal: s.normal, spreads: c)]
                        : sensorReferences(of: s.part, normal: s.normal, spreads: c)
                    var state = AlertDecisionRule.State()
                    for i in s.contributions.indices {
                        var score = Float.nan
                        if s.contributions[i].count == references.count, !references.isEmpty {
                            score = 0
                            for (x, r) in zip(s.contributions[i], references) { score = max(score, x / r) }
                        }
                        let alert = state.update(score: score, threshold: 1, rule: settings.rule)
                        if s.isNormal[i] { total += 1; if alert { alerted += 1 } }
                    }
                }
                if total > 0, Double(alerted) <= settings.targetFalseAlarmRate * Double(total) { spreads = c; break }
            }
            learned[k] = spreads
        }
        return learned
    }
}
