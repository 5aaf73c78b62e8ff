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
    /// Calibration rows scoring above this multiple of the median calibration score are set
    /// aside as suspect and the baseline is refitted without them (0 disables trimming). This is
    /// what keeps a short fault hidden in the calibration data from inflating the threshold.
    public var trimFactor: Float

    /// Creates settings; the defaults are the shipped ones (see README, "Calibration and evaluation").
    public init(deviation: WindowDeviationSettings = WindowDeviationSettings(),
                thresholdQuantile: Double = 1.0, thresholdMargin: Float = 2.0,
                rule: AlertDecisionRule = AlertDecisionRule(raiseAfterRows: 1, clearAfterRows: 30)) {
        self.deviation = deviation
        self.thresholdQuantile = thresholdQuantile
        self.thresholdMargin = thresholdMargin
        self.rule = rule
        self.trimFactor = 5
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
    /// Calibration rows set aside as suspect (see `CalibrationSettings.trimFactor`).
    public var trimmedRows: Int = 0
    /// Rows of labelled anomalies used.
    public var labelledAnomalyRows: Int = 0
    /// Fraction of the labelled anomaly rows scoring above the final threshold.
    public var labelledAnomalyRecall: Double = 0
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
        let rows = n > 0 ? values.count / n : 0
        var baseline = WindowDeviationBaseline.fit(values: values, sensorCount: n, settings: settings.deviation)
        var scores = Calibrator.scores(of: values, sensorCount: n, baseline: baseline)
        var trimmed = 0
        if settings.trimFactor > 0 {
            let robust = WindowDeviationBaseline.fit(values: values, sensorCount: n, settings: settings.deviation, robustSpread: true)
            let robustScores = Calibrator.scores(of: values, sensorCount: n, baseline: robust)
            let typical = RobustStatistics.median(robustScores)
            var kept = values
            for (i, s) in robustScores.enumerated() where s.isFinite && typical.isFinite && s > settings.trimFactor * max(typical, 0.1) {
                // Score i belongs to row i + windowRows - 1 (see `scores(of:)`): set that row aside.
                let r = min(rows - 1, i + settings.deviation.windowRows - 1)
                for c in 0..<n { kept[kept.startIndex + r * n + c] = .nan }
                trimmed += 1
            }
            if trimmed > 0, trimmed < rows / 2 {
                baseline = WindowDeviationBaseline.fit(values: kept, sensorCount: n, settings: settings.deviation)
                scores = Calibrator.scores(of: kept, sensorCount: n, baseline: baseline)
            } else {
                trimmed = 0
            }
        }
        var quantile = RobustStatistics.quantile(scores, settings.thresholdQuantile)
        if !quantile.isFinite { quantile = 1 }
        let threshold = max(quantile, 1e-3) * settings.thresholdMargin
        let detector = MachineDetector(sensorNames: sensorNames, baseline: baseline, threshold: threshold, rule: settings.rule)
        var report = CalibrationReport(rows: rows, threshold: threshold, scoreQuantile: quantile,
                                       expectedFalseAlarmRate: Calibrator.tailExceedance(scores, above: threshold))
        report.trimmedRows = trimmed
        return (detector, report)
    }

    /// Calibrates on the rows of `table`; when `anomalies` (same sensors) is given, the threshold
    /// is lowered toward the labelled faults' scores where that does not bring it within 10 % of
    /// the highest calibration score.
    public func calibrate(table: SensorTable, anomalies: SensorTable? = nil) -> (detector: MachineDetector, report: CalibrationReport) {
        var (detector, report) = calibrate(values: table.values[...], sensorNames: table.sensorNames)
        guard let anomalies, anomalies.sensorCount == table.sensorCount else { return (detector, report) }
        var stream = detector.makeStream()
        var faultScores: [Float] = []
        for r in 0..<anomalies.rowCount {
            let s = stream.score(row: anomalies.row(r))
            let isFault = anomalies.anomalyLabels.map { $0[r] != 0 } ?? true
            if isFault && s.isFinite { faultScores.append(s) }
        }
        guard !faultScores.isEmpty else { return (detector, report) }
        let floor = report.scoreQuantile * 1.1
        let target = RobustStatistics.quantile(faultScores, 0.2)
        if target.isFinite, target < detector.threshold {
            detector.threshold = max(floor, target)
        }
        report.threshold = detector.threshold
        report.labelledAnomalyRows = faultScores.count
        report.labelledAnomalyRecall = Double(faultScores.filter { $0 > detector.threshold }.count) / Double(faultScores.count)
        return (detector, report)
    }

    /// The scores of calibration rows once each window is full (all rows when there are fewer).
    static func scores(of values: ArraySlice<Float>, sensorCount n: Int, baseline: WindowDeviationBaseline) -> [Float] {
        var scorer = WindowDeviationScorer(baseline: baseline)
        let rows = n > 0 ? values.count / n : 0
        let w = baseline.settings.windowRows
        var scores: [Float] = []
        scores.reserveCapacity(rows)
        for r in 0..<rows {
            let start = values.startIndex + r * n
            let s = scorer.score(row: values[start..<(start + n)])
            if r + 1 >= w || rows < w { scores.append(s) }
        }
        return scores
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
