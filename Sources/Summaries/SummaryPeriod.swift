import EdgeCore

/// A summary period `[start, end)`, aligned to UTC: hourly periods start on the hour, daily
/// ones at midnight UTC (or at a set time of day with `offset`), so files of different
/// machines and agents line up and the runtime can tell which periods are due.
public struct SummaryPeriod: Sendable, Equatable {
    /// The first instant of the period.
    public var start: Timestamp
    /// The first instant after it.
    public var end: Timestamp

    /// Creates a period.
    public init(start: Timestamp, end: Timestamp) {
        self.start = start
        self.end = end
    }

    /// The latest whole period of length `interval` that has ended at or before `now`.
    ///
    /// Period boundaries are the instants `offset + k × interval` since 1970-01-01T00:00:00Z,
    /// e.g. `interval` 1 d and `offset` 6 h gives periods from 06:00 UTC to 06:00 UTC.
    public static func lastComplete(before now: Timestamp, interval: Duration, offset: Duration = .zero) -> SummaryPeriod {
        let end = boundary(atOrBefore: now, interval: interval, offset: offset)
        let length = max(1, interval.wholeMilliseconds)
        return SummaryPeriod(start: Timestamp(millisecondsSinceEpoch: end.millisecondsSinceEpoch - length), end: end)
    }

    /// The first period boundary strictly after `now`: when the runtime should write next.
    public static func nextBoundary(after now: Timestamp, interval: Duration, offset: Duration = .zero) -> Timestamp {
        let length = max(1, interval.wholeMilliseconds)
        let last = boundary(atOrBefore: now, interval: interval, offset: offset)
        return Timestamp(millisecondsSinceEpoch: last.millisecondsSinceEpoch + length)
    }

    private static func boundary(atOrBefore now: Timestamp, interval: Duration, offset: Duration) -> Timestamp {
        let length = max(1, interval.wholeMilliseconds)
        let shifted = now.millisecondsSinceEpoch - offset.wholeMilliseconds
        // Floor division, correct for times before the offset's first boundary too.
        var k = shifted / length
        if shifted % length < 0 { k -= 1 }
        return Timestamp(millisecondsSinceEpoch: k * length + offset.wholeMilliseconds)
    }
}
