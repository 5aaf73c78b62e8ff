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

    /// Creates one sensor's part; `risePerMinute` and `normalRisePerMinute` only for a part
    /// that came from the rise of a temperature.
    public init(sensor: String, value: Double, unit: String = "", contribution: Double, normalLow: Double, normalHigh: Double,
                risePerMinute: Double? = nil, normalRisePerMinute: Double? = nil) {
        self.sensor = sensor
        self.value = value
        self.unit = unit
        self.contribution = contribution
        self.normalLow = normalLow
        self.normalHigh = normalHigh
        self.risePerMinute = risePerMinute
        self.normalRisePerMinute = normalRisePerMinute
    }
}

extension JSONWriter {
    /// Writes `sensors` as an array of `{sensor, value, unit, contribution, normal_low,
    /// normal_high}`, with `rise_per_minute` and `normal_rise_per_minute` on a part that came
    /// from a temperature's rise.
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
            }
        }
    }
}
