/// Point-wise confusion counts of alert decisions against labels, and the SKAB metrics built
/// on them. Counts add across files (`+`), which is how SKAB totals are computed.
public struct ConfusionCounts: Sendable, Hashable, Codable {
    /// Rows alerted and labelled anomalous.
    public var truePositives: Int
    /// Rows alerted but labelled normal.
    public var falsePositives: Int
    /// Rows not alerted but labelled anomalous.
    public var falseNegatives: Int
    /// Rows not alerted and labelled normal.
    public var trueNegatives: Int

    /// Creates counts (all zero by default).
    public init(truePositives: Int = 0, falsePositives: Int = 0, falseNegatives: Int = 0, trueNegatives: Int = 0) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.trueNegatives = trueNegatives
    }

    /// Counts the rows of `predictions` against `labels`, skipping the first `skip` rows
    /// (the calibration rows, which SKAB does not score).
    /// - Important: `predictions` and `labels` must have the same length.
    public init(predictions: [Bool], labels: [Bool], skip: Int = 0) {
        precondition(predictions.count == labels.count, "one prediction per label")
        self.init()
        for i in min(skip, labels.count)..<labels.count { record(prediction: predictions[i], label: labels[i]) }
    }

    /// Adds one row's decision.
    public mutating func record(prediction: Bool, label: Bool) {
        switch (prediction, label) {
        case (true, true): truePositives += 1
        case (true, false): falsePositives += 1
        case (false, true): falseNegatives += 1
        case (false, false): trueNegatives += 1
        }
    }

    /// The sum of two sets of counts.
    public static func + (lhs: ConfusionCounts, rhs: ConfusionCounts) -> ConfusionCounts {
        ConfusionCounts(truePositives: lhs.truePositives + rhs.truePositives,
                        falsePositives: lhs.falsePositives + rhs.falsePositives,
                        falseNegatives: lhs.falseNegatives + rhs.falseNegatives,
                        trueNegatives: lhs.trueNegatives + rhs.trueNegatives)
    }

    /// Total rows counted.
    public var total: Int { truePositives + falsePositives + falseNegatives + trueNegatives }

    /// TP / (TP + FP); 0 when nothing was alerted.
    public var precision: Double { ratio(truePositives, truePositives + falsePositives) }
    /// TP / (TP + FN); 0 when nothing is labelled anomalous.
    public var recall: Double { ratio(truePositives, truePositives + falseNegatives) }
    /// SKAB's F1 = TP / (TP + (FP + FN) / 2); 0 when there is nothing to find and nothing found.
    public var f1: Double {
        let denominator = Double(truePositives) + Double(falsePositives + falseNegatives) / 2
        return denominator > 0 ? Double(truePositives) / denominator : 0
    }
    /// False alarm rate in percent: 100 · FP / (FP + TN).
    public var falseAlarmRatePercent: Double { 100 * ratio(falsePositives, falsePositives + trueNegatives) }
    /// Missed alarm rate in percent: 100 · FN / (FN + TP).
    public var missedAlarmRatePercent: Double { 100 * ratio(falseNegatives, falseNegatives + truePositives) }

    private func ratio(_ a: Int, _ b: Int) -> Double { b > 0 ? Double(a) / Double(b) : 0 }
}
