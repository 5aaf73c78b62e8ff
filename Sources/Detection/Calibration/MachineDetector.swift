#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Settings of one machine's calibration: the score, the threshold rule and the alert rule.
public struct CalibrationSettings: Sendable, Hashable, Codable {
    /// The window-deviation score's settings.
    public var deviation: WindowDeviationSettings
    /// Quantile of the calibration rows' scores the threshold starts from (1 = their maximum).
    public var thresholdQuantile: Double
    /// Factor applied to that quantile: the headroom above anything seen in normal operation.
    public var thresholdMargin: Float
    /// How scores become alerts (persistence and clearing).
    public var rule: AlertDecisionRule

    /// Creates settings; the defaults are the shipped ones (see README, "Calibration and evaluation").
    public init(deviation: WindowDeviationSettings = WindowDeviationSettings(),
                thresholdQuantile: Double = 1.0, thresholdMargin: Float = 1.5,
                rule: AlertDecisionRule = AlertDecisionRule(raiseAfterRows: 1, clearAfterRows: 1)) {
        self.deviation = deviation
        self.thresholdQuantile = thresholdQuantile
        self.thresholdMargin = thresholdMargin
        self.rule = rule
    }
}

/// A machine's calibrated detector: what normal looks like, the alert threshold and the alert rule.
public struct MachineDetector: Sendable, Hashable, Codable {
    /// Sensor names in the order rows are given.
    public var sensorNames: [String]
    /// The machine's normal levels.
    public var baseline: WindowDeviationBaseline
    /// Scores above this count towards an alert.
    public var threshold: Float
    /// How scores become alerts.
    public var rule: AlertDecisionRule

    /// Creates a detector from its parts.
    public init(sensorNames: [String], baseline: WindowDeviationBaseline, threshold: Float, rule: AlertDecisionRule) {
        self.sensorNames = sensorNames
        self.baseline = baseline
        self.threshold = threshold
        self.rule = rule
    }

    /// A fresh streaming scorer (empty window, no alert raised).
    public func makeStream() -> DetectorStream { DetectorStream(detector: self) }
}

/// Scores one machine's rows as they arrive and applies the alert rule; allocation-free per row.
public struct DetectorStream: Sendable {
    /// The detector being applied.
    public let detector: MachineDetector
    private var deviation: WindowDeviationScorer
    private var state = AlertDecisionRule.State()

    init(detector: MachineDetector) {
        self.detector = detector
        deviation = WindowDeviationScorer(baseline: detector.baseline)
    }

    /// Per-sensor contributions to the last score (which sensors drove it).
    public var contributions: [Float] { deviation.contributions }

    /// Scores one row (one value per sensor, NaN = missing) without updating the alert state.
    public mutating func score<C: Collection>(row: C) -> Float where C.Element == Float {
        deviation.score(row: row)
    }

    /// Scores one row and updates the alert state; returns the score and whether an alert is raised.
    public mutating func process<C: Collection>(row: C) -> (score: Float, alert: Bool) where C.Element == Float {
        let s = score(row: row)
        let alert = state.update(score: s, threshold: detector.threshold, rule: detector.rule)
        return (s, alert)
    }
}

/// What calibration did, for the operator (printed by `edge-agent calibrate`).
public struct CalibrationReport: Sendable, Hashable, Codable {
    /// Calibration rows used.
    public var rows: Int
    /// Alert threshold on the score.
    public var threshold: Float
    /// The calibration-score quantile the threshold was derived from.
    public var scoreQuantile: Float
    /// Estimated probability that a normal row scores above the threshold, from an exponential
    /// tail fitted to the calibration scores above their 90th percentile (peaks over threshold).
    public var expectedFalseAlarmRate: Double
}

/// Fits a `MachineDetector` to rows of a machine's normal operation.
public struct Calibrator: Sendable {
    /// The settings used.
    public var settings: CalibrationSettings

    /// Creates a calibrator.
    public init(settings: CalibrationSettings = CalibrationSettings()) { self.settings = settings }

    /// Calibrates on `values` (row-major, `sensorNames.count` values per row, NaN = missing).
    ///
    /// The threshold is the calibration scores' `thresholdQuantile` times `thresholdMargin`: a
    /// quantile with a margin rather than a fitted extreme-value tail, because a few hundred
    /// strongly autocorrelated rows hold only a dozen independent windows, too few to fit a
    /// generalized Pareto shape reliably; the tail fit is used only to *report* the expected rate.
    public func calibrate(values: ArraySlice<Float>, sensorNames: [String]) -> (detector: MachineDetector, report: CalibrationReport) {
        let n = sensorNames.count
        let baseline = WindowDeviationBaseline.fit(values: values, sensorCount: n, settings: settings.deviation)
        var scorer = WindowDeviationScorer(baseline: baseline)
        let rows = n > 0 ? values.count / n : 0
        var scores: [Float] = []
        scores.reserveCapacity(rows)
        for r in 0..<rows {
            let start = values.startIndex + r * n
            let s = scorer.score(row: values[start..<(start + n)])
            if r + 1 >= settings.deviation.windowRows || rows < settings.deviation.windowRows { scores.append(s) }
        }
        var quantile = RobustStatistics.quantile(scores, settings.thresholdQuantile)
        if !quantile.isFinite { quantile = 1 }
        let threshold = max(quantile, 1e-3) * settings.thresholdMargin
        let detector = MachineDetector(sensorNames: sensorNames, baseline: baseline, threshold: threshold, rule: settings.rule)
        let report = CalibrationReport(rows: rows, threshold: threshold, scoreQuantile: quantile,
                                       expectedFalseAlarmRate: Calibrator.tailExceedance(scores, above: threshold))
        return (detector, report)
    }

    /// Peaks over threshold with an exponential tail: P(score > t) ≈ p_u · exp(−(t − u) / σ), where
    /// u is the 90th percentile, p_u = 0.1 and σ the mean excess above u.
    static func tailExceedance(_ scores: [Float], above threshold: Float) -> Double {
        let u = RobustStatistics.quantile(scores, 0.9)
        guard u.isFinite else { return 0 }
        let excesses = scores.filter { $0.isFinite && $0 > u }.map { Double($0 - u) }
        guard !excesses.isEmpty else { return 0 }
        let sigma = excesses.reduce(0, +) / Double(excesses.count)
        guard sigma > 0 else { return 0 }
        let tail = Double(excesses.count) / Double(scores.filter(\.isFinite).count)
        return min(1, tail * exp(-Double(threshold - u) / sigma))
    }
}
