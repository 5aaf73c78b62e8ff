import EdgeCore

/// Count, mean, variance, minimum and maximum of a stream of values in one pass, with
/// Welford's update so the variance stays accurate for large values with small spread
/// (a pressure of 1000.0 ± 0.001 bar loses nothing, unlike the sum of squares).
public struct RunningStatistics: Sendable, Equatable {
    /// How many values were added.
    public private(set) var count: Int = 0
    /// Their mean (0 before the first value).
    public private(set) var mean: Double = 0
    /// Sum of squared differences from the mean.
    private var m2: Double = 0
    /// The smallest value (+∞ before the first).
    public private(set) var minimum: Double = .infinity
    /// The largest value (−∞ before the first).
    public private(set) var maximum: Double = -.infinity

    /// Creates empty statistics.
    public init() {}

    /// Adds one value.
    public mutating func add(_ value: Double) {
        count += 1
        let delta = value - mean
        mean += delta / Double(count)
        m2 += delta * (value - mean)
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
    }

    /// The sample variance (divided by n − 1), nil for fewer than two values.
    public var variance: Double? { count >= 2 ? m2 / Double(count - 1) : nil }

    /// The sample standard deviation (n − 1), nil for fewer than two values.
    public var standardDeviation: Double? { variance.map { $0.squareRoot() } }
}

/// One sensor's statistics over a period.
public struct SensorStatistics: Sendable, Equatable {
    /// The sensor's name.
    public var name: String
    /// Its engineering unit.
    public var unit: String
    /// Good readings in the period (the statistics below are over these only).
    public var count: Int
    /// Readings of any quality in the period.
    public var readings: Int
    /// Readings expected in the period: period ÷ poll interval.
    public var expected: Int
    /// Good readings as a percentage of those expected, at most 100.
    public var completenessPercent: Double
    /// Smallest good value, nil without any.
    public var minimum: Double?
    /// Largest good value, nil without any.
    public var maximum: Double?
    /// Mean of the good values, nil without any.
    public var mean: Double?
    /// Sample standard deviation (n − 1) of the good values, nil for fewer than two.
    public var standardDeviation: Double?
    /// The last good value and when it was read.
    public var last: Double?
    /// When `last` was read.
    public var lastTime: Timestamp?
    /// The calibrated normal range, when known (at the operating point `normalState` names).
    public var normalLow: Double?
    /// The high end of the calibrated normal range, when known; nil with a `normalLow`: no
    /// upper end (a compensated speed).
    public var normalHigh: Double?
    /// The operating point that range belongs to (a state, a speed), when the sensor's normal
    /// level depends on it.
    public var normalState: String?
    /// Readings per quality, indexed by `Quality.rawValue`.
    public var qualityCounts: [Int]

    /// Readings of one quality in the period.
    public func count(of quality: Quality) -> Int {
        Int(quality.rawValue) < qualityCounts.count ? qualityCounts[Int(quality.rawValue)] : 0
    }

    /// Readings that were not good (timeouts, exceptions, decode errors, stale, offline).
    public var badReadings: Int { readings - count }

    /// Computes the statistics of `series` over `[start, end)` for a machine polled every
    /// `pollIntervalMilliseconds` (a series that holds a digest brings its own period).
    public init(_ series: SensorSeries, start: Timestamp, end: Timestamp, pollIntervalMilliseconds: Int64) {
        self.init(series.reduced(start: start, end: end, pollIntervalMilliseconds: pollIntervalMilliseconds),
                  name: series.name, unit: series.unit, normalLow: series.normalLow, normalHigh: series.normalHigh,
                  normalState: series.normalState)
    }
}

extension SensorStatistics {
    /// The statistics of readings reduced as they were read (the period is the digest's).
    init(_ digest: SensorDigest, name: String, unit: String, normalLow: Double?, normalHigh: Double?, normalState: String? = nil) {
        let running = digest.running
        self.name = name
        self.unit = unit
        count = running.count
        readings = digest.readings
        expected = digest.expected
        completenessPercent = digest.expected > 0 ? min(100, 100 * Double(running.count) / Double(digest.expected)) : 0
        minimum = running.count > 0 ? running.minimum : nil
        maximum = running.count > 0 ? running.maximum : nil
        mean = running.count > 0 ? running.mean : nil
        standardDeviation = running.standardDeviation
        last = digest.last?.value
        lastTime = digest.last?.time
        self.normalLow = normalLow
        self.normalHigh = normalHigh
        self.normalState = normalState
        qualityCounts = digest.qualityCounts
    }
}

/// The distribution of the anomaly score over a period.
public struct ScoreStatistics: Sendable, Equatable {
    /// Scores in the period.
    public var count: Int
    /// Their mean.
    public var mean: Double
    /// The 95th percentile (nearest rank: the ⌈0.95·n⌉-th smallest score).
    public var p95: Double
    /// The highest score.
    public var maximum: Double
    /// The alert threshold the scores are judged against.
    public var threshold: Double
    /// Time the score spent at or above the threshold, in milliseconds.
    public var millisecondsAboveThreshold: Int64
    /// Time covered by scores, in milliseconds.
    public var millisecondsScored: Int64

    /// The fraction (0…1) of the scored time spent at or above the threshold.
    public var fractionAboveThreshold: Double {
        millisecondsScored > 0 ? Double(millisecondsAboveThreshold) / Double(millisecondsScored) : 0
    }

    /// Computes the distribution of `series` over `[start, end)`; nil when no score falls in it.
    ///
    /// Each score stands for the time until the next one, but for at most the usual spacing
    /// between scores (the median), so a pause in scoring counts neither as normal nor as anomalous.
    public init?(_ series: ScoreSeries, start: Timestamp, end: Timestamp) {
        let points = series.points.filter { $0.time >= start && $0.time < end && $0.score.isFinite }
        guard !points.isEmpty else { return nil }
        var running = RunningStatistics()
        for p in points { running.add(p.score) }
        let sorted = points.map(\.score).sorted()
        let rank = Int((0.95 * Double(sorted.count)).rounded(.up))
        var spacings: [Int64] = []
        spacings.reserveCapacity(points.count)
        for i in 1..<max(1, points.count) {
            let gap = points[i].time.millisecondsSinceEpoch - points[i - 1].time.millisecondsSinceEpoch
            if gap > 0 { spacings.append(gap) }
        }
        spacings.sort()
        let usual = spacings.isEmpty ? Int64(0) : spacings[(spacings.count - 1) / 2]
        var above: Int64 = 0
        var scored: Int64 = 0
        for (i, p) in points.enumerated() {
            let next = i + 1 < points.count ? points[i + 1].time.millisecondsSinceEpoch : end.millisecondsSinceEpoch
            let covered = max(0, min(next - p.time.millisecondsSinceEpoch, usual))
            scored += covered
            if p.score >= series.threshold { above += covered }
        }
        count = points.count
        mean = running.mean
        p95 = sorted[max(0, rank - 1)]
        maximum = running.maximum
        threshold = series.threshold
        millisecondsAboveThreshold = above
        millisecondsScored = scored
    }
}

/// Everything a summary reports, computed from a `SummaryInput`.
public struct SummaryStatistics: Sendable {
    /// Per-sensor statistics, in configuration order.
    public var sensors: [SensorStatistics]
    /// The anomaly score distribution, nil when nothing was scored in the period.
    public var scores: ScoreStatistics?
    /// Alerts that started in the period.
    public var raised: [SummaryAlert]
    /// Alerts that cleared in the period.
    public var cleared: [SummaryAlert]
    /// Alerts that touch the period at all (raised, cleared, or open throughout), by start time.
    public var alerts: [SummaryAlert]
    /// Alerts still open at the end of the period.
    public var openAtEnd: [SummaryAlert]
    /// Each sensor's readings reduced over the period, in `sensors` order: the statistics
    /// above and the HTML page's charts both come from these.
    let digests: [SensorDigest]

    /// Computes the statistics of `input`.
    public init(_ input: SummaryInput) {
        digests = input.sensors.map {
            $0.reduced(start: input.start, end: input.end, pollIntervalMilliseconds: input.pollIntervalMilliseconds)
        }
        sensors = zip(input.sensors, digests).map { series, digest in
            SensorStatistics(digest, name: series.name, unit: series.unit, normalLow: series.normalLow, normalHigh: series.normalHigh,
                             normalState: series.normalState)
        }
        scores = input.scores.flatMap { ScoreStatistics($0, start: input.start, end: input.end) }
        let inPeriod = { (t: Timestamp) in t >= input.start && t < input.end }
        alerts = input.alerts
            .filter { $0.started < input.end && ($0.ended.map { $0 >= input.start } ?? true) }
            .sorted { $0.started < $1.started }
        raised = alerts.filter { inPeriod($0.started) }
        cleared = alerts.filter { $0.ended.map(inPeriod) ?? false }
        openAtEnd = alerts.filter { $0.ended.map { $0 >= input.end } ?? true }
    }

    /// Mean completeness over the sensors, in percent (0 without sensors).
    public var meanCompletenessPercent: Double {
        sensors.isEmpty ? 0 : sensors.reduce(0) { $0 + $1.completenessPercent } / Double(sensors.count)
    }
}
