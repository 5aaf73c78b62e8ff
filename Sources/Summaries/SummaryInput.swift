import EdgeCore

/// Everything one summary is made of: one machine, one period, its sensors' readings, its
/// anomaly scores, its alerts and data-quality events, and the model in use.
///
/// The runtime builds one every `summary_interval`; `edge-agent summarize` builds one from the
/// buffer. Plain values only, so the summary writer needs neither the runtime nor a database.
public struct SummaryInput: Sendable {
    /// The machine's id in agent.conf.
    public var machine: String
    /// Free text for people (agent.conf `description`), may be empty.
    public var machineDescription: String
    /// The start of the period covered, `[start, end)`.
    public var start: Timestamp
    /// The end of the period covered (excluded).
    public var end: Timestamp
    /// The machine's poll interval: a period of `end − start` expects `(end − start) / poll` readings per sensor.
    public var pollIntervalMilliseconds: Int64
    /// The sensors in configuration order.
    public var sensors: [SensorSeries]
    /// Anomaly scores over the period, nil when nothing was scored (no model yet, or not recorded).
    public var scores: ScoreSeries?
    /// Alerts that were open at some moment of the period (raised before and cleared during it count too).
    public var alerts: [SummaryAlert]
    /// Data-quality events of the period (unit offline, sensor stale, out of range, data stopped …).
    public var dataQualityEvents: [DataQualityEvent]
    /// The model that scored the period, nil when the machine is not calibrated.
    public var model: ModelInfo?
    /// When the summary was produced (shown in the files; defaults to the period's end).
    public var generated: Timestamp

    /// Creates a summary input.
    public init(
        machine: String, machineDescription: String = "", start: Timestamp, end: Timestamp,
        pollIntervalMilliseconds: Int64, sensors: [SensorSeries], scores: ScoreSeries? = nil,
        alerts: [SummaryAlert] = [], dataQualityEvents: [DataQualityEvent] = [], model: ModelInfo? = nil,
        generated: Timestamp? = nil
    ) {
        self.machine = machine
        self.machineDescription = machineDescription
        self.start = start
        self.end = end
        self.pollIntervalMilliseconds = pollIntervalMilliseconds
        self.sensors = sensors
        self.scores = scores
        self.alerts = alerts
        self.dataQualityEvents = dataQualityEvents
        self.model = model
        self.generated = generated ?? end
    }

    /// The period's length in milliseconds (0 when `end` is not after `start`).
    public var durationMilliseconds: Int64 { max(0, end.millisecondsSinceEpoch - start.millisecondsSinceEpoch) }
}

/// One reading of one sensor as the summary sees it.
public struct Sample: Sendable, Equatable {
    /// When it was polled.
    public var time: Timestamp
    /// The engineering value; ignored unless `quality` is `.good`.
    public var value: Double
    /// Whether the value can be trusted.
    public var quality: Quality

    /// Creates a sample.
    public init(time: Timestamp, value: Double, quality: Quality = .good) {
        self.time = time
        self.value = value
        self.quality = quality
    }
}

/// One sensor's readings in the period, with what people need to read them.
public struct SensorSeries: Sendable {
    /// The sensor's name in agent.conf.
    public var name: String
    /// Engineering unit (`bar`, `A`, `°C`), may be empty.
    public var unit: String
    /// The readings, oldest first (samples outside the period are ignored); empty when `digest` is set.
    public var samples: [Sample]
    /// The readings already reduced as they were read, for the input's period (how
    /// `BufferSummarySource` gives them, so a long period is never held in memory); when set,
    /// the statistics and the chart come from it and `samples` is ignored.
    public var digest: SensorDigest?
    /// The low end of the range the sensor kept during calibration, when known (shaded in the chart).
    public var normalLow: Double?
    /// The high end of that range.
    public var normalHigh: Double?
    /// The operating point the normal range belongs to, when it depends on one: a two-state
    /// machine's state (`loaded = 1`), a variable-speed machine's speed (`speed = 1012`, the
    /// period's median), or both (`loaded = 1, loaded duty = 0.62`); nil: one range whatever the
    /// machine does.
    public var normalState: String?

    /// Creates a sensor series.
    public init(name: String, unit: String = "", samples: [Sample], normalLow: Double? = nil, normalHigh: Double? = nil) {
        self.name = name
        self.unit = unit
        self.samples = samples
        self.normalLow = normalLow
        self.normalHigh = normalHigh
    }

    /// Creates a sensor series from readings already reduced for the summary's period.
    public init(name: String, unit: String = "", digest: SensorDigest, normalLow: Double? = nil, normalHigh: Double? = nil) {
        self.init(name: name, unit: unit, samples: [], normalLow: normalLow, normalHigh: normalHigh)
        self.digest = digest
    }

    /// Readings of any quality the series holds (in its digest, or its samples).
    public var readingCount: Int { digest?.readings ?? samples.count }

    /// The level the sensor held for most of `[start, end)`: the median of its mean per chart
    /// interval (each an equal share of the period; intervals without a good reading left
    /// out), so stops, starts and short excursions do not move it as they move the mean. Nil
    /// without a good reading. Reads the whole series: for a summary's few such sensors (a
    /// machine's speed), not for every sensor.
    public func medianOverTime(start: Timestamp, end: Timestamp, pollIntervalMilliseconds: Int64) -> Double? {
        let buckets = reduced(start: start, end: end, pollIntervalMilliseconds: pollIntervalMilliseconds).chartBuckets()
        let means = (0..<buckets.count).filter { buckets.isFilled($0) }.map { buckets.mean[$0] }.sorted()
        guard !means.isEmpty else { return nil }
        let middle = means.count / 2
        return means.count % 2 == 1 ? means[middle] : (means[middle - 1] + means[middle]) / 2
    }

    /// The series reduced over `[start, end)`: its digest when it has one (for the digest's own
    /// period), else its samples fed through a new digest in order. The one reduction every
    /// summary's statistics and charts come from, whether the readings were held or streamed.
    func reduced(start: Timestamp, end: Timestamp, pollIntervalMilliseconds: Int64) -> SensorDigest {
        if let digest { return digest }
        var reduced = SensorDigest(start: start, end: end, pollIntervalMilliseconds: pollIntervalMilliseconds)
        for sample in samples { reduced.add(sample) }
        return reduced
    }
}

/// One anomaly score of the machine.
public struct ScorePoint: Sendable, Equatable {
    /// The end of the scored window.
    public var time: Timestamp
    /// The score (0 = perfectly normal; at or above the threshold counts as anomalous).
    public var score: Double

    /// Creates a score point.
    public init(time: Timestamp, score: Double) {
        self.time = time
        self.score = score
    }
}

/// The machine's anomaly scores over the period, and the alert threshold they are judged against.
public struct ScoreSeries: Sendable {
    /// Scores, oldest first.
    public var points: [ScorePoint]
    /// The alert threshold in force.
    public var threshold: Double

    /// Creates a score series.
    public init(points: [ScorePoint], threshold: Double) {
        self.points = points
        self.threshold = threshold
    }
}

/// One sensor's part in an anomaly alert: the same type the runtime's alerts carry.
public typealias SummaryAlertSensor = SensorContribution

/// An alert as a summary reports it: the runtime's `Alert` as it is read back from the buffer's
/// `AlertRecord` and the alert-log line stored with it.
///
/// Deliberately not a shared EdgeCore type: Summaries never sees the runtime's `Alert` (only the
/// buffer's rows), and there `kind` and `severity` are free text (the Store's `AlertRecord`
/// allows `info` and kinds the runtime's `AlertKind` lacks): a typed kind and severity would have
/// to drop or rename such rows, where the summary now shows them as stored.
/// What both write identically, the `top_sensors` objects, is shared: `SensorContribution` and
/// `JSONWriter.contributions`.
public struct SummaryAlert: Sendable, Equatable {
    /// Stable id (`<machine>-<start ms>` for the runtime's alerts).
    public var id: String
    /// `anomaly`, `unit_offline`, `sensor_stale`, `out_of_range`, `data_stopped`, `data_quality`.
    public var kind: String
    /// `warning` or `critical`.
    public var severity: String
    /// When the condition started.
    public var started: Timestamp
    /// When it cleared; nil while open.
    public var ended: Timestamp?
    /// Highest anomaly score while open (0 for data alerts).
    public var peakScore: Double
    /// The threshold at the time (0 for data alerts).
    public var threshold: Double
    /// The sensors that drove the score at its peak, largest first.
    public var topSensors: [SummaryAlertSensor]
    /// One line for people.
    public var message: String
    /// Which score judged an anomaly alert; nil for data alerts and for alerts stored before
    /// the buffer recorded it. A network's alert quotes its sensors against the calibration's
    /// ranges, not the normal ranges at the machine's speed and state.
    public var scoredBy: AnomalyScorer?

    /// Creates an alert entry.
    public init(
        id: String, kind: String, severity: String, started: Timestamp, ended: Timestamp? = nil,
        peakScore: Double = 0, threshold: Double = 0, topSensors: [SummaryAlertSensor] = [], message: String = "",
        scoredBy: AnomalyScorer? = nil
    ) {
        self.id = id
        self.kind = kind
        self.severity = severity
        self.started = started
        self.ended = ended
        self.peakScore = peakScore
        self.threshold = threshold
        self.topSensors = topSensors
        self.message = message
        self.scoredBy = scoredBy
    }
}

/// Something that happened to the data itself in the period (not to the machine).
public struct DataQualityEvent: Sendable, Equatable {
    /// When it happened.
    public var time: Timestamp
    /// What happened: `unit_offline`, `sensor_stale`, `out_of_range`, `data_stopped`, `recovered` …
    public var kind: String
    /// The sensor (or Modbus unit) concerned, empty for the whole machine.
    public var subject: String
    /// One line for people.
    public var message: String

    /// Creates a data-quality event.
    public init(time: Timestamp, kind: String, subject: String = "", message: String) {
        self.time = time
        self.kind = kind
        self.subject = subject
        self.message = message
    }
}

/// The model that scored the period.
public struct ModelInfo: Sendable, Equatable {
    /// A name or version for people (e.g. `model 3` or a file name).
    public var name: String
    /// When it was calibrated.
    public var calibrated: Timestamp?
    /// How many windows it was calibrated on (0 when unknown).
    public var calibrationWindows: Int
    /// Its alert threshold.
    public var threshold: Double

    /// Creates a model description.
    public init(name: String, calibrated: Timestamp?, calibrationWindows: Int = 0, threshold: Double) {
        self.name = name
        self.calibrated = calibrated
        self.calibrationWindows = calibrationWindows
        self.threshold = threshold
    }
}
