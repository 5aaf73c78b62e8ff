import Configuration
import Detection
import EdgeCore

/// When an anomaly alert is raised, escalated and cleared.
public struct AlertPolicy: Sendable, Equatable {
    /// Raise when at least `raiseCount` of the last `raiseWindow` windows score above threshold (debouncing).
    public var raiseCount: Int = 3
    public var raiseWindow: Int = 5
    /// Clear only after `clearCount` consecutive windows below `clearRatio × threshold` (hysteresis).
    public var clearRatio: Double = 0.8
    public var clearCount: Int = 10
    /// After a clear, no new alert for this machine for this long (cooldown).
    public var cooldown: Duration = .seconds(60)
    /// `critical` when the score reaches `criticalRatio × threshold`, else `warning`.
    public var criticalRatio: Double = 2.0
    /// An `updated` event is written when severity rises, or when the peak has grown by this
    /// fraction and the last event is at least `updateInterval` old (a fault that ramps up must
    /// not flood the log).
    public var updateGrowth: Double = 0.25
    public var updateInterval: Duration = .seconds(30)
    /// How many sensors an alert names.
    public var topSensorCount: Int = 3

    public init() {}

    /// The debouncing and hysteresis part, as the rule `replay` and `evaluate` apply. Its
    /// cooldown is 0 scores: the engine measures `cooldown` in time.
    public var decisionRule: AlertDecisionRule {
        AlertDecisionRule(raiseCount: raiseCount, raiseWindow: raiseWindow, clearRatio: Float(clearRatio), clearCount: clearCount)
    }

    /// The policy agent.conf's `[alerts]` table describes.
    public init(_ settings: AlertSettings) {
        raiseCount = settings.raiseCount
        raiseWindow = settings.raiseWindow
        clearRatio = settings.clearRatio
        clearCount = settings.clearCount
        cooldown = settings.cooldown
        criticalRatio = settings.criticalRatio
    }
}

/// The anomaly alert state machine of one machine: debouncing (k of n), hysteresis, cooldown, severity.
///
/// Feed it every scored window in time order; it returns the event (if any) that window causes.
/// It is a value type with no I/O, so the runtime, `replay` and tests all use the same logic.
public struct AnomalyAlertEngine: Sendable {
    public let machine: String
    public let policy: AlertPolicy
    /// The open alert, if any.
    public private(set) var open: Alert?
    /// Debouncing and hysteresis: the same rule `replay` and `evaluate` apply.
    private let rule: AlertDecisionRule
    private var decision = AlertDecisionRule.State()
    private var cooldownUntil: Timestamp?
    private var lastReportedPeak = 0.0
    private var lastEventTime = Timestamp(millisecondsSinceEpoch: .min)
    /// When the first over-threshold window of the current run was seen (the alert's start).
    private var firstAboveInRun: Timestamp?
    /// A speed outside the steady speeds calibration held, for an alert's message.
    public struct UnseenSpeed: Sendable, Equatable {
        /// The speed sensor's name.
        public var sensor: String
        /// Its reading.
        public var speed: Double
        /// The steady speeds calibration held, lowest first.
        public var calibrated: [Float]

        /// Creates the context.
        public init(sensor: String, speed: Double, calibrated: [Float]) {
            self.sensor = sensor
            self.speed = speed
            self.calibrated = calibrated
        }
    }

    /// The sensors of one scored window as an alert raised or updated by it names them, with
    /// what its message says of the window: assembled by the scoring stage only when `observe`
    /// asks for them (an alert raised, or reaching a new peak), not for every judged window.
    public struct WindowSensors {
        /// Every sensor's contribution to the window's score (the alert keeps the largest).
        public var contributions: [SensorContribution]
        /// For each of `contributions`, the caller's handle on that sensor (the scoring stage:
        /// its model column), handed back with the parts kept to `observe`'s `quote`.
        public var keys: [Int]
        /// Which score is the window's alerting score: the window-deviation score or the int8
        /// network's (`alert_score = network`, or `either` with the network further past its
        /// threshold). The alert records it (`Alert.scoredBy`); when it is the network, the
        /// message says so and calls the quoted ranges the calibration's (the network judges
        /// readings as read, not moved to the speed).
        public var scoredBy: AnomalyScorer
        /// Set while the machine runs at a speed its calibration never held: the message then
        /// says so, since the load prior alone compensated that speed's readings.
        public var unseenSpeed: UnseenSpeed?

        /// Creates a window's sensors; `keys` defaults to the positions in `contributions`.
        public init(contributions: [SensorContribution], keys: [Int]? = nil, scoredBy: AnomalyScorer = .windowDeviation,
                    unseenSpeed: UnseenSpeed? = nil) {
            self.contributions = contributions
            self.keys = keys ?? Array(contributions.indices)
            self.scoredBy = scoredBy
            self.unseenSpeed = unseenSpeed
        }
    }

    /// Creates the state machine for `machine`.
    public init(machine: String, policy: AlertPolicy = AlertPolicy()) {
        self.machine = machine
        self.policy = policy
        self.rule = policy.decisionRule
    }

    /// Takes one scored window whose sensors are known (tests, and callers that have them at
    /// hand) and returns the event it causes, if any: `observe(score:threshold:time:sensors:quote:)`
    /// with nothing quoted, scored by the window-deviation score, at a calibrated speed.
    public mutating func observe(score: Double, threshold: Double, time: Timestamp, contributions: [SensorContribution]) -> AlertEvent? {
        observe(score: score, threshold: threshold, time: time, sensors: { WindowSensors(contributions: contributions) }, quote: { _, _ in })
    }

    /// Takes one scored window and returns the event it causes, if any.
    ///
    /// Most windows change nothing an alert says: below the threshold with no alert open, or
    /// an open alert's window under its peak. The sensors are therefore asked for, and the
    /// parts kept quoted, only when an alert is raised or reaches a new peak.
    /// - Parameters:
    ///   - score: the window's anomaly score.
    ///   - threshold: the machine's current threshold.
    ///   - time: the window's end time.
    ///   - sensors: the window's sensors (`WindowSensors`); called at most once.
    ///   - quote: fills in what each kept part was judged against (`judged`, `expectedLow`…),
    ///     given the parts an alert keeps and their `keys`; called right after `sensors`.
    public mutating func observe(score: Double, threshold: Double, time: Timestamp, sensors: () -> WindowSensors,
                                 quote: (_ parts: inout [SensorContribution], _ keys: [Int]) -> Void) -> AlertEvent? {
        let coolingDown = cooldownUntil.map { time < $0 } ?? false
        let change = decision.step(score: score, threshold: threshold, rule: rule, mayRaise: !coolingDown)
        if score > threshold {
            if firstAboveInRun == nil { firstAboveInRun = time }
        } else if decision.recentAboveCount == 0 {
            firstAboveInRun = nil
        }

        switch change {
        case .cleared?:
            guard var alert = open else { return nil }
            alert.ended = time
            open = nil
            firstAboveInRun = nil
            cooldownUntil = Timestamp(millisecondsSinceEpoch: time.millisecondsSinceEpoch + policy.cooldown.wholeMilliseconds)
            return AlertEvent(change: .cleared, time: time, alert: alert)
        case .raised?:
            let started = firstAboveInRun ?? time
            let window = sensors()
            var alert = Alert(
                id: "\(machine)-\(started.millisecondsSinceEpoch)", machine: machine, kind: .anomaly,
                severity: severityFor(score: score, threshold: threshold), started: started,
                peakScore: score, threshold: threshold, topSensors: top(window, quote: quote), message: "",
                scoredBy: window.scoredBy
            )
            alert.message = message(alert, unseenSpeed: window.unseenSpeed)
            open = alert
            lastReportedPeak = score
            lastEventTime = time
            return AlertEvent(change: .raised, time: time, alert: alert)
        case nil:
            break
        }

        guard var alert = open, score > alert.peakScore else { return nil }
        let severity = severityFor(score: score, threshold: threshold)
        let escalated = severity > alert.severity
        alert.peakScore = score
        alert.threshold = threshold
        alert.severity = max(alert.severity, severity)
        let window = sensors()
        alert.topSensors = top(window, quote: quote)
        alert.scoredBy = window.scoredBy
        alert.message = message(alert, unseenSpeed: window.unseenSpeed)
        open = alert
        let quietLongEnough = time.millisecondsSinceEpoch - lastEventTime.millisecondsSinceEpoch >= policy.updateInterval.wholeMilliseconds
        if escalated || (quietLongEnough && score >= lastReportedPeak * (1 + policy.updateGrowth)) {
            lastReportedPeak = score
            lastEventTime = time
            return AlertEvent(change: .updated, time: time, alert: alert)
        }
        return nil
    }

    /// Clears the open alert, if any, because the machine stopped (its run signal went off): a
    /// stopped machine is not scored, so the alert could not clear by itself. The next run
    /// starts afresh, whether or not an alert was open: no recent scores and no cooldown (neither
    /// a new one nor what is left of an earlier one), so if the fault is still there after the
    /// restart and settling, a new alert is raised; this is what `replay` and `evaluate` do at a
    /// restart (`DetectorStream.restart`).
    /// - Parameter reason: what showed the stop, for the message (`running off`,
    ///   `motor_current below 25 A`).
    public mutating func clearBecauseStopped(at time: Timestamp, reason: @autoclosure () -> String) -> AlertEvent? {
        clearAndStartAfresh(at: time) { machine in "\(machine) stopped (\(reason()))" }
    }

    /// Clears the open alert, if any, because the machine went into an operating state its
    /// calibration never saw (a compressor calibrated unloaded that loads): such rows are not
    /// scored, so the alert could not clear by itself. Scoring starts afresh when the machine is
    /// back in a calibrated state, as after a stop.
    /// - Parameter state: the state, for the message (`loaded on`).
    public mutating func clearBecauseUncalibratedState(at time: Timestamp, state: @autoclosure () -> String) -> AlertEvent? {
        clearAndStartAfresh(at: time) { machine in "\(machine) went into an operating state its calibration never saw (\(state()))" }
    }

    /// Restarts the rule (no recent scores, no cooldown) and clears the open alert, if any,
    /// with `because(machine)` at the end of its message (only put together when one is open).
    private mutating func clearAndStartAfresh(at time: Timestamp, because: (String) -> String) -> AlertEvent? {
        decision.reset()
        cooldownUntil = nil
        firstAboveInRun = nil
        guard var alert = open else { return nil }
        alert.ended = time
        alert.message += "; cleared because \(because(machine))"
        open = nil
        return AlertEvent(change: .cleared, time: time, alert: alert)
    }

    /// Ends the open alert, if any, with a `cleared` event that gives `reason` (see
    /// `AlertEvent.ending`), and restarts the rule: no recent scores, no cooldown. Used when what
    /// judged the alert goes away: the machine's model is replaced, or the agent stops.
    /// - Parameter time: when it ends (the event's time too).
    public mutating func end(at time: Timestamp, reason: String) -> AlertEvent? {
        restartRule()
        guard let alert = open else { return nil }
        open = nil
        return AlertEvent.ending(alert, at: time, time: time, reason: reason)
    }

    /// Forgets what the rule has seen: recent scores, the start of the current run over
    /// threshold, the cooldown and what the last event reported.
    private mutating func restartRule() {
        decision.reset()
        cooldownUntil = nil
        firstAboveInRun = nil
        lastReportedPeak = 0
        lastEventTime = Timestamp(millisecondsSinceEpoch: .min)
    }

    private func severityFor(score: Double, threshold: Double) -> AlertSeverity {
        score >= policy.criticalRatio * threshold ? .critical : .warning
    }

    /// The sensors with the largest contributions, at most `topSensorCount`, only those that
    /// contributed (> 0), but at least the largest: a sensor that added nothing did not drive it.
    /// Quoted with `quote`, given their keys.
    private func top(_ window: WindowSensors, quote: (inout [SensorContribution], [Int]) -> Void) -> [SensorContribution] {
        let parts = window.contributions
        // Positions, sorted as the parts themselves would be (the same comparisons, so the same order).
        let sorted = parts.indices.sorted { parts[$0].contribution > parts[$1].contribution }
        let contributing = sorted.prefix(policy.topSensorCount).filter { parts[$0].contribution > 0 }
        let kept = contributing.isEmpty ? Array(sorted.prefix(1)) : contributing
        var quoted = kept.map { parts[$0] }
        quote(&quoted, kept.map { window.keys[$0] })
        return quoted
    }

    private func message(_ alert: Alert, unseenSpeed: UnseenSpeed?) -> String {
        let ratio = alert.threshold > 0 ? alert.peakScore / alert.threshold : 0
        var text = "\(alert.machine): anomaly score \(Self.format(alert.peakScore)) is \(Self.format(ratio))× threshold"
        let byNetwork = alert.scoredBy == .network
        if byNetwork { text += " (int8 network)" }
        if !alert.topSensors.isEmpty {
            text += "; driven by "
            text += alert.topSensors.map { s in
                let reading = "\(s.sensor)=\(Self.format(s.value))\(s.unit.isEmpty ? "" : " " + s.unit)"
                // Judged by how fast it rose, not by its level: the rate and its normal limit.
                if let rise = s.risePerMinute, let normal = s.normalRisePerMinute {
                    let perMinute = s.unit.isEmpty ? "/min" : " \(s.unit)/min"
                    return "\(reading) rising \(Self.format(rise))\(perMinute) (normal ≤ \(Self.format(normal)) at this speed)"
                }
                // The range it was judged against: its calibrated range, or what was expected of
                // it in the machine's state (a compensated speed: normal from the prior's minimum up).
                return "\(reading) (\(s.judgedRange(network: byNetwork, Self.format)))"
            }.joined(separator: ", ")
        }
        if let unseen = unseenSpeed {
            let calibrated = unseen.calibrated.map { Self.format(Double($0)) }.joined(separator: ", ")
            let judged = byNetwork ? "the network judges readings against calibration's" : "judged through the load prior alone"
            text += "; at \(unseen.sensor) \(Self.format(unseen.speed)), a speed calibration never held (it held \(calibrated)): \(judged); if \(alert.machine) runs at this speed normally, calibrate over a stretch that includes it"
        }
        return text
    }

    /// Formats a number with three significant decimals for messages.
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return String(value) }
        let rounded = (value * 1000).rounded() / 1000
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
        return String(rounded)
    }
}
