/// One sensor's part in an anomaly alert: its value, its share of the score and its normal range.
///
/// Shared by the runtime's alerts and the summaries that report them, so both write the same
/// `top_sensors` objects.
public struct SensorContribution: Sendable, Equatable {
    /// The sensor's name in agent.conf.
    public var sensor: String
    /// Its engineering value at the time.
    public var value: Double
    /// Engineering unit, for people.
    public var unit: String
    /// Its share of the anomaly score (contributions of all sensors add up to the score).
    public var contribution: Double
    /// The range the detector judges its reading against where the machine runs: the range it
    /// kept during calibration (robust, e.g. median ± 3 robust scales), moved with a two-state
    /// machine's state and a variable-speed machine's speed (see `MachineModel.normalRange`).
    public var normalLow: Double
    /// The high end of that range; infinite (`null` in JSON) when it has none: a speed the load
    /// prior compensates is normal from its minimum share of the calibration speed up.
    public var normalHigh: Double
    /// When its contribution came from how fast it rose, not from its level (a lagged
    /// temperature's rise check): the rise it judged, in `unit` per minute (the change of its
    /// one-minute mean over the check's horizon, per minute); nil otherwise.
    public var risePerMinute: Double?
    /// With `risePerMinute`: the fastest rise taken as normal at the speeds the machine ran,
    /// in `unit` per minute.
    public var normalRisePerMinute: Double?
    /// What its contribution was judged against; nil on parts recorded before it was (older
    /// alert logs and buffers).
    public var judged: SensorJudgement?
    /// With `judged` `level`, `state` or `phase`: the range of the reading over which its
    /// contribution stays at or below the threshold, with the machine's state, speed and every
    /// other sensor as they were (what the window score expected of it at that moment; for
    /// `phase`, of the mean a phase of that state was judged by: its last window's, or its
    /// whole mean on detector files written before 2026-11-30); nil otherwise.
    public var expectedLow: Double?
    /// The high end of that range.
    public var expectedHigh: Double?
    /// With `judged` `state`: the sensor its expected level depends on most, through the
    /// operating directions (a current judged by its relation to a temperature); nil when it
    /// is judged on its own level, moved only by the state or the speed.
    public var relativeTo: String?
    /// With `expectedLow`…: the mean of its readings the score judged against that range (its
    /// 20-row window's, in the machine's state now), which `value`, the last reading, may not
    /// stand for (a window that still holds rows from before a change of state); nil for a
    /// phase's mean.
    public var judgedMean: Double?
    /// With `judged` `spike` or `band`: the reading of the row the check judged (the largest
    /// departure from its recent course, or its pressure switch's band, of the rows its score
    /// still holds, which need not be the last, `value`); `expectedLow`…`expectedHigh` is then
    /// the range of readings it allowed at that row. Nil otherwise.
    public var judgedReading: Double?
    /// With `judgedReading`: when that row was read (the spike may be up to 20 rows older than
    /// the alert's own time); with `judged` `still`: when the last of the rows it moved over
    /// was. Nil otherwise, and on lines written before it was recorded.
    public var judgedAt: Timestamp?
    /// With `judged` `still`: how far its readings moved (largest minus smallest) over the
    /// `judgedRows` rows to `judgedAt`. Nil otherwise.
    public var judgedMovement: Double?
    /// With `judged` `still`: how many rows `judgedMovement` spans (the check's window). Nil otherwise.
    public var judgedRows: Int?
    /// With `judged` `still`: the least movement over as many rows that does not score (half the
    /// least calibration showed). Nil otherwise.
    public var leastMovement: Double?
    /// With `judged` `state` and no `relativeTo`: what moved the expected range, for its wording
    /// (`for this state`, `at this speed`); nil on parts recorded before it was.
    public var movedWith: ExpectedRangeCondition?

    /// Creates one sensor's part; `risePerMinute` and `normalRisePerMinute` only for a part
    /// that came from the rise of a temperature.
    public init(sensor: String, value: Double, unit: String = "", contribution: Double, normalLow: Double, normalHigh: Double,
                risePerMinute: Double? = nil, normalRisePerMinute: Double? = nil, judged: SensorJudgement? = nil,
                expectedLow: Double? = nil, expectedHigh: Double? = nil, relativeTo: String? = nil, judgedMean: Double? = nil,
                judgedReading: Double? = nil, judgedAt: Timestamp? = nil, movedWith: ExpectedRangeCondition? = nil,
                judgedMovement: Double? = nil, judgedRows: Int? = nil, leastMovement: Double? = nil) {
        self.sensor = sensor
        self.value = value
        self.unit = unit
        self.contribution = contribution
        self.normalLow = normalLow
        self.normalHigh = normalHigh
        self.risePerMinute = risePerMinute
        self.normalRisePerMinute = normalRisePerMinute
        self.judged = judged
        self.expectedLow = expectedLow
        self.expectedHigh = expectedHigh
        self.relativeTo = relativeTo
        self.judgedMean = judgedMean
        self.judgedReading = judgedReading
        self.judgedAt = judgedAt
        self.movedWith = movedWith
        self.judgedMovement = judgedMovement
        self.judgedRows = judgedRows
        self.leastMovement = leastMovement
    }

    /// What a message quotes in parentheses after the reading of a level-judged part: the mean
    /// and range it was judged against, named for how (`mean 2.99, expected 2.666…2.936 given
    /// flow`, `mean 19.7, expected 18.14…19.76 for this state`, `mean 4.1, expected 3.2…3.6 at
    /// this speed`, `mean 52.1, expected 48…51.6` for a level nothing moves); a spike, the row's
    /// reading, when it was read (time of day, UTC) and the range allowed there (`reading 61.2 at
    /// 08:14:03.200Z, expected 44…47.5 from its recent course`), or, a receiver off its pressure
    /// switch's band, `… from its pressure switch's band`; a still receiver, how far its readings
    /// moved (`moved 0 over the 20 readings to 08:14:03.200Z, expected at least 0.012`); without them (a line written before they were recorded, a
    /// compensated speed, the network's score) the normal range as before (`normal 18.01…19.79`,
    /// `normal ≥ 290`, `calibration …`). A rise-judged part is quoted by its rate instead.
    /// - Parameters:
    ///   - network: whether the int8 network scored the alert (its ranges are calibration's).
    ///   - format: how a number is written.
    ///   - separator: between the ends of a range (`…` in the log, `–` in HTML).
    public func judgedRange(network: Bool, separator: String = "…", _ format: (Double) -> String) -> String {
        func range(_ low: Double, _ high: Double) -> String {
            low.isFinite && !high.isFinite ? "≥ \(format(low))" : "\(format(low))\(separator)\(format(high))"
        }
        if !network, judged == .spike, let low = expectedLow, let high = expectedHigh, let reading = judgedReading {
            // The time of day is enough beside the alert's own time, at most 20 rows later.
            let at = judgedAt.map { " at " + $0.iso8601.dropFirst(11) } ?? ""
            return "reading \(format(reading))\(at), expected \(range(low, high)) from its recent course"
        }
        if !network, judged == .band, let low = expectedLow, let high = expectedHigh, let reading = judgedReading {
            let at = judgedAt.map { " at " + $0.iso8601.dropFirst(11) } ?? ""
            return "reading \(format(reading))\(at), expected \(range(low, high)) from its pressure switch's band"
        }
        if !network, judged == .still, let moved = judgedMovement, let rows = judgedRows, let least = leastMovement {
            let over = judgedAt.map { "the \(rows) readings to " + $0.iso8601.dropFirst(11) } ?? "its last \(rows) readings"
            return "moved \(format(moved)) over \(over), expected at least \(format(least))"
        }
        if !network, let judged, judged == .level || judged == .state || judged == .phase {
            guard let low = expectedLow, let high = expectedHigh, low.isFinite, high.isFinite else {
                return relativeTo.map { "judged relative to \($0)" } ?? "normal \(range(normalLow, normalHigh))"
            }
            // Which mean of the phase (its last window's, or on older detector files its whole
            // mean) the README says; both are a phase of the state it is in.
            if judged == .phase { return "expected \(range(low, high)) for a phase of this state" }
            // The mean judged, where it is known: the reading alone may lie inside the range.
            let mean = judgedMean.map { $0.isFinite ? "mean \(format($0)), " : "" } ?? ""
            // A level's range is its calibration's: nothing the machine does moves it.
            let condition = judged == .level ? "" : " " + (relativeTo.map { "given \($0)" } ?? movedWith?.wording ?? "for this state")
            return "\(mean)expected \(range(low, high))\(condition)"
        }
        return "\(network ? "calibration" : "normal") \(range(normalLow, normalHigh))"
    }
}

/// What a sensor's contribution to an anomaly alert was judged against: the `judged` field of a
/// `top_sensors` entry.
public enum SensorJudgement: String, Sendable, CaseIterable, Equatable {
    /// Its window's level against its calibrated level, which nothing the machine does moves.
    case level
    /// Against a level that depends on the machine's state: moved with a two-state machine's
    /// state or a load-compensated machine's speed, or set by the other sensors through the
    /// operating directions. The alert quotes the range expected then (`expectedLow`…).
    case state
    /// A two-state machine's mean over a whole phase of one state, against the phase means
    /// calibration saw.
    case phase
    /// How fast it rose (a lagged temperature's rise check), not its level.
    case rise
    /// One row's departure from its recent course (a two-state machine's compensated sensor,
    /// `RowSpikeCheck`; a compressor receiver's sawtooth, `ReceiverBandCheck`): a spike a window
    /// mean would dilute. Quoted by that row's reading (`judgedReading`) and the range allowed there.
    case spike
    /// A compressor receiver's reading against its pressure switch's band, widened by its
    /// tolerances (`ReceiverBandCheck`). Quoted by that row's reading and that range.
    case band
    /// A compressor receiver's readings moving less over 20 rows than calibration allows (a
    /// transmitter stuck at one reading, `ReceiverBandCheck`). Quoted by how far they moved
    /// (`judgedMovement`) and the least allowed (`leastMovement`).
    case still
    /// The int8 network's score, against the calibration's readings.
    case network
}

/// What moved the range a `state`-judged sensor was expected in: the `moved_with` field of a
/// `top_sensors` entry.
public enum ExpectedRangeCondition: String, Sendable, CaseIterable, Equatable {
    /// A two-state machine's state (a compressor loaded or not, and its duty cycle).
    case state
    /// The speed a load compensation follows (a pump's or fan motor's).
    case speed

    /// How a message says it, after the range.
    public var wording: String {
        switch self {
        case .state: "for this state"
        case .speed: "at this speed"
        }
    }
}

extension JSONWriter {
    /// Writes `sensors` as an array of `{sensor, value, unit, contribution, normal_low,
    /// normal_high}`, with `rise_per_minute` and `normal_rise_per_minute` on a part that came
    /// from a temperature's rise, and `judged`, `expected_low`/`expected_high`, `relative_to`,
    /// `judged_mean`, `judged_reading`, `judged_at`, `moved_with`, `judged_movement`,
    /// `judged_rows`, `least_movement` where they are known.
    public mutating func contributions(_ name: String, _ sensors: [SensorContribution]) {
        array(name, sensors) { json, s in
            json.object {
                $0.field("sensor", s.sensor)
                $0.field("value", s.value)
                $0.field("unit", s.unit)
                $0.field("contribution", s.contribution)
                $0.field("normal_low", s.normalLow)
                $0.field("normal_high", s.normalHigh)
                if let rise = s.risePerMinute {
                    $0.field("rise_per_minute", rise)
                    $0.field("normal_rise_per_minute", s.normalRisePerMinute)
                }
                if let judged = s.judged { $0.field("judged", judged.rawValue) }
                if let low = s.expectedLow, let high = s.expectedHigh {
                    $0.field("expected_low", low)
                    $0.field("expected_high", high)
                }
                if let partner = s.relativeTo { $0.field("relative_to", partner) }
                if let mean = s.judgedMean { $0.field("judged_mean", mean) }
                if let reading = s.judgedReading { $0.field("judged_reading", reading) }
                if let time = s.judgedAt { $0.field("judged_at", time.iso8601) }
                if let condition = s.movedWith { $0.field("moved_with", condition.rawValue) }
                if let movement = s.judgedMovement { $0.field("judged_movement", movement) }
                if let rows = s.judgedRows { $0.field("judged_rows", rows) }
                if let least = s.leastMovement { $0.field("least_movement", least) }
            }
        }
    }
}
