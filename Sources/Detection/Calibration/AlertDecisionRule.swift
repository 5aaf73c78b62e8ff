/// The decision rule that turns a machine's scores into an alert state. The runtime's anomaly
/// alerts (`AnomalyAlertEngine`, set by agent.conf's `[alerts]` table), `replay` and `evaluate`
/// all decide with it, so what `evaluate` measures on labelled data is what the agent does:
///
/// - **debouncing**: raise when at least `raiseCount` of the last `raiseWindow` scores are above
///   the threshold, the latest one included;
/// - **hysteresis**: clear only after `clearCount` consecutive scores at or below `clearRatio` ×
///   threshold;
/// - **cooldown**: after a clear, nothing is raised for `cooldownScores` scores (the runtime
///   measures its cooldown in time instead and passes `mayRaise`; at one score a second the two
///   agree).
///
/// Why: faults on real machines last minutes, while single spikes are mostly noise; requiring
/// persistence removes isolated false alarms, and clearing below a lower level keeps one fault
/// hovering around its threshold from being reported as many flapping alerts.
public struct AlertDecisionRule: Sendable, Hashable {
    /// Scores above the threshold, among the last `raiseWindow`, needed to raise (1…`raiseWindow`).
    public var raiseCount: Int
    /// How many recent scores the raise count looks at (≥ 1).
    public var raiseWindow: Int
    /// A raised alert clears after `clearCount` consecutive scores at or below `clearRatio` × threshold (0 < ratio ≤ 1).
    public var clearRatio: Float
    /// Consecutive low scores needed to clear (≥ 1).
    public var clearCount: Int
    /// Scores after a clear during which no alert is raised (≥ 0).
    public var cooldownScores: Int

    /// Creates a rule. Counts are clamped to their ranges (`raiseCount` to 1…`raiseWindow`), the
    /// ratio to (0, 1].
    public init(raiseCount: Int, raiseWindow: Int, clearRatio: Float = 1, clearCount: Int, cooldownScores: Int = 0) {
        self.raiseWindow = max(1, raiseWindow)
        self.raiseCount = min(max(1, raiseCount), self.raiseWindow)
        self.clearRatio = clearRatio > 0 && clearRatio <= 1 ? clearRatio : 1
        self.clearCount = max(1, clearCount)
        self.cooldownScores = max(0, cooldownScores)
    }

    /// A plain persistence rule: raise after `raiseAfterRows` consecutive scores above the
    /// threshold, clear after `clearAfterRows` consecutive scores at or below it, no cooldown.
    /// With both set to 1 it is a plain threshold.
    public init(raiseAfterRows: Int = 1, clearAfterRows: Int = 1) {
        self.init(raiseCount: raiseAfterRows, raiseWindow: raiseAfterRows, clearRatio: 1, clearCount: clearAfterRows)
    }

    /// The `cooldownScores` that holds off a raise as the runtime's cooldown, measured in time,
    /// does when a window is judged every `judgedEveryMilliseconds` (poll interval × `hop`): the
    /// runtime may raise again at the first judged window `cooldownMilliseconds` or more after
    /// the clear, so the windows before it are held off (`replay`/`evaluate --config`).
    public static func cooldownScores(cooldownMilliseconds: Int64, judgedEveryMilliseconds: Int64) -> Int {
        let step = max(1, judgedEveryMilliseconds)
        return max(0, Int((max(0, cooldownMilliseconds) + step - 1) / step) - 1)
    }

    /// The shipped rule, the same as agent.conf's `[alerts]` defaults (raise_count 3 of
    /// raise_window 5, clear_count 10 below clear_ratio 0.8, cooldown 60 s at one score a second).
    public static let standard = AlertDecisionRule(raiseCount: 3, raiseWindow: 5, clearRatio: 0.8, clearCount: 10, cooldownScores: 60)

    /// What went wrong with the rule's numbers, or nil when they are usable (for files read back).
    public var problem: String? {
        guard raiseWindow >= 1, (1...raiseWindow).contains(raiseCount), clearCount >= 1, cooldownScores >= 0,
              clearRatio > 0, clearRatio <= 1 else {
            return "alert rule raise \(raiseCount) of \(raiseWindow), clear after \(clearCount) below \(clearRatio)×, cooldown \(cooldownScores) (expected 1 ≤ raise ≤ window, clear ≥ 1, 0 < ratio ≤ 1, cooldown ≥ 0)"
        }
        return nil
    }

    /// What one score did to the state.
    public enum Change: Sendable, Hashable {
        case raised, cleared
    }

    /// The running state of the rule for one machine. Allocation-free per score (the recent
    /// scores live in a ring made once).
    public struct State: Sendable, Hashable {
        /// Whether an alert is currently raised.
        public private(set) var isAlerting = false
        private var recentAbove: [Bool] = []
        private var recentIndex = 0
        /// How many of the recent scores were above the threshold.
        public private(set) var recentAboveCount = 0
        private var belowClearRun = 0
        private var cooldownLeft = 0

        /// A fresh state with no alert raised.
        public init() {}

        /// Feeds one score and returns whether the alert is raised after it.
        /// A NaN score (no data) counts as neither above nor below: the state holds.
        public mutating func update(score: Float, threshold: Float, rule: AlertDecisionRule) -> Bool {
            _ = step(score: Double(score), threshold: Double(threshold), rule: rule)
            return isAlerting
        }

        /// Feeds one score and returns the change it caused, if any. `mayRaise` false holds
        /// off a raise (the runtime's cooldown, measured in time); the score still counts
        /// toward the next one.
        public mutating func step(score: Double, threshold: Double, rule: AlertDecisionRule, mayRaise: Bool = true) -> Change? {
            guard !score.isNaN else { return nil }
            if recentAbove.count != rule.raiseWindow {
                recentAbove = Array(repeating: false, count: rule.raiseWindow)
                recentIndex = 0
                recentAboveCount = 0
            }
            let above = score > threshold
            if recentAbove[recentIndex] { recentAboveCount -= 1 }
            recentAbove[recentIndex] = above
            if above { recentAboveCount += 1 }
            recentIndex = (recentIndex + 1) % recentAbove.count

            if isAlerting {
                belowClearRun = score <= Double(rule.clearRatio) * threshold ? belowClearRun + 1 : 0
                guard belowClearRun >= rule.clearCount else { return nil }
                isAlerting = false
                forgetRecentScores()
                cooldownLeft = rule.cooldownScores
                return .cleared
            }
            if cooldownLeft > 0 {
                cooldownLeft -= 1
                return nil
            }
            guard mayRaise, above, recentAboveCount >= rule.raiseCount else { return nil }
            isAlerting = true
            belowClearRun = 0
            return .raised
        }

        /// Drops a raised alert and the recent scores without a cooldown (the machine stopped).
        public mutating func reset() {
            isAlerting = false
            forgetRecentScores()
            cooldownLeft = 0
        }

        private mutating func forgetRecentScores() {
            for i in recentAbove.indices { recentAbove[i] = false }
            recentAboveCount = 0
            belowClearRun = 0
        }
    }
}

extension AlertDecisionRule: Codable {
    private enum CodingKeys: String, CodingKey {
        case raiseCount, raiseWindow, clearRatio, clearCount, cooldownScores
        case raiseAfterRows, clearAfterRows
    }

    /// Reads the rule; detector files written before the rule had a window, a ratio and a
    /// cooldown hold `raiseAfterRows`/`clearAfterRows`, read as the persistence rule they meant.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let raiseCount = try c.decodeIfPresent(Int.self, forKey: .raiseCount) {
            self.raiseCount = raiseCount
            raiseWindow = try c.decode(Int.self, forKey: .raiseWindow)
            clearRatio = try c.decode(Float.self, forKey: .clearRatio)
            clearCount = try c.decode(Int.self, forKey: .clearCount)
            cooldownScores = try c.decode(Int.self, forKey: .cooldownScores)
        } else {
            let raise = try c.decode(Int.self, forKey: .raiseAfterRows)
            raiseCount = raise
            raiseWindow = raise
            clearRatio = 1
            clearCount = try c.decode(Int.self, forKey: .clearAfterRows)
            cooldownScores = 0
        }
    }

    /// Writes the rule.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(raiseCount, forKey: .raiseCount)
        try c.encode(raiseWindow, forKey: .raiseWindow)
        try c.encode(clearRatio, forKey: .clearRatio)
        try c.encode(clearCount, forKey: .clearCount)
        try c.encode(cooldownScores, forKey: .cooldownScores)
    }
}
