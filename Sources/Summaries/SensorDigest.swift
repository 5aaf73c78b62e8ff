import EdgeCore

/// One sensor's readings over a period reduced as they are read: the statistics a summary
/// reports and the chart's buckets, in memory that does not grow with the period.
///
/// The one reduction behind every summary's statistics and charts. `BufferSummarySource` feeds
/// the buffer's rows into one digest per sensor instead of holding the period's samples (an
/// hour at 10 Hz is 36,000 samples per sensor, 864 KB; a digest is about 8 KB whatever the
/// period); a `SensorSeries` that holds samples (`summarize --sample`, benchmarks, tests) is fed
/// through one, in order, when its summary is computed (`SensorSeries.reduced`).
public struct SensorDigest: Sendable {
    /// The period the digest covers, `[start, end)`.
    public let start: Timestamp
    /// The end of the period (excluded).
    public let end: Timestamp
    /// Readings expected in the period: period ÷ poll interval.
    public let expected: Int
    /// Good finite values in the period, in Welford's running form.
    private(set) var running = RunningStatistics()
    /// Readings per quality, indexed by `Quality.rawValue`.
    private(set) var qualityCounts = Array(repeating: 0, count: Quality.allCases.count)
    /// Readings of any quality in the period.
    public private(set) var readings = 0
    /// The newest good value and its time.
    private(set) var last: Sample?
    /// The chart's buckets once their number is known (at once when the period expects at
    /// least `SummaryHTML.maximumBuckets` readings, else once that many values have come).
    private var buckets: Buckets?
    /// The chart's values until then: fewer than `SummaryHTML.maximumBuckets`.
    private var pending: [(time: Timestamp, value: Double)] = []

    /// An empty digest of the period `[start, end)` of a sensor polled every `pollIntervalMilliseconds`.
    public init(start: Timestamp, end: Timestamp, pollIntervalMilliseconds: Int64) {
        self.start = start
        self.end = end
        let duration = max(0, end.millisecondsSinceEpoch - start.millisecondsSinceEpoch)
        expected = Int(duration / max(1, pollIntervalMilliseconds))
        if expected >= SummaryHTML.maximumBuckets {
            buckets = Buckets(count: SummaryHTML.maximumBuckets, start: start, end: end)
        } else {
            pending.reserveCapacity(SummaryHTML.maximumBuckets)
        }
    }

    /// Good finite readings in the period (what the statistics are computed over).
    public var count: Int { running.count }

    /// Adds one reading; readings must come oldest first for the chart's means to match a
    /// series' to the last bit (the statistics' sums are order-sensitive in floating point).
    public mutating func add(_ sample: Sample) {
        if sample.time >= start && sample.time < end {
            readings += 1
            qualityCounts[Int(sample.quality.rawValue)] += 1
            if sample.quality == .good, sample.value.isFinite {
                running.add(sample.value)
                if last.map({ sample.time >= $0.time }) ?? true { last = sample }
            }
        }
        // The chart takes every good value; `Buckets` itself drops those outside the period
        // and those not finite, as it does for a series.
        guard sample.quality == .good else { return }
        if buckets != nil {
            buckets?.add(sample.value, at: sample.time)
        } else if sample.value.isFinite {
            pending.append((sample.time, sample.value))
            if running.count >= SummaryHTML.maximumBuckets { flushPending(bucketCount: SummaryHTML.maximumBuckets) }
        }
    }

    /// Adds a good reading.
    public mutating func add(_ value: Double, at time: Timestamp) {
        add(Sample(time: time, value: value, quality: .good))
    }

    /// The chart's buckets: as many as `SummaryHTML`'s page gives a series with these readings.
    func chartBuckets() -> Buckets {
        if let buckets { return buckets }
        var copy = self
        copy.flushPending(bucketCount: Self.bucketCount(expected: expected, readings: running.count))
        return copy.buckets ?? Buckets(count: 1, start: start, end: end)
    }

    /// Buckets per sensor chart: at most `SummaryHTML.maximumBuckets`, fewer when the period
    /// expects and holds fewer readings.
    static func bucketCount(expected: Int, readings: Int) -> Int {
        max(1, min(SummaryHTML.maximumBuckets, max(expected, min(readings, SummaryHTML.maximumBuckets))))
    }

    private mutating func flushPending(bucketCount: Int) {
        var filled = Buckets(count: bucketCount, start: start, end: end)
        for (time, value) in pending { filled.add(value, at: time) }
        buckets = filled
        pending = []
    }
}
