/// The decision rule that turns per-row scores into alert states, shared by `replay` and the
/// runtime: an alert is raised after `raiseAfterRows` consecutive rows score above the threshold
/// and cleared after `clearAfterRows` consecutive rows score at or below it (hysteresis).
///
/// Why: faults on real machines last minutes, while single-row spikes are mostly sensor noise;
/// requiring persistence removes isolated false alarms, and the clear delay keeps one fault from
/// being reported as many flapping alerts. With both set to 1 the rule is a plain threshold.
public struct AlertDecisionRule: Sendable, Hashable, Codable {
    /// Consecutive rows above the threshold needed to raise an alert (≥ 1).
    public var raiseAfterRows: Int
    /// Consecutive rows at or below the threshold needed to clear a raised alert (≥ 1).
    public var clearAfterRows: Int

    /// Creates a rule; both counts are clamped to at least 1.
    public init(raiseAfterRows: Int = 1, clearAfterRows: Int = 1) {
        self.raiseAfterRows = max(1, raiseAfterRows)
        self.clearAfterRows = max(1, clearAfterRows)
    }

    /// The running state of the rule for one machine.
    public struct State: Sendable, Hashable {
        /// Whether an alert is currently raised.
        public private(set) var isAlerting = false
        private var above = 0
        private var below = 0

        /// A fresh state with no alert raised.
        public init() {}

        /// Feeds one row's score and returns whether the alert is raised after it.
        /// A NaN score (no data) counts as neither above nor below: the state holds.
        public mutating func update(score: Float, threshold: Float, rule: AlertDecisionRule) -> Bool {
            guard !score.isNaN else { return isAlerting }
            if score > threshold {
                above += 1
                below = 0
                if above >= rule.raiseAfterRows { isAlerting = true }
            } else {
                below += 1
                above = 0
                if below >= rule.clearAfterRows { isAlerting = false }
            }
            return isAlerting
        }
    }
}
