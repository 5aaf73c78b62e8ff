import EdgeCore
import Testing

@testable import Summaries

private func at(_ seconds: Double) -> Timestamp {
    Timestamp(millisecondsSinceEpoch: 1_796_000_000_000 + Int64(seconds * 1000))  // 2026-11-30T00:53:20Z + s
}

@Suite struct StatisticsTests {
    /// 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x − mean)² = 32, sample variance 32/7.
    static let values: [Double] = [2, 4, 4, 4, 5, 5, 7, 9]

    @Test(arguments: [0.0, 1e9])
    func sensorStatisticsMatchHandComputedValues(offset: Double) {
        var samples = Self.values.enumerated().map { Sample(time: at(Double($0.offset)), value: $0.element + offset) }
        samples.insert(Sample(time: at(8), value: .nan, quality: .timeout), at: 8)  // bad: not in the statistics
        samples.insert(Sample(time: at(-1), value: 1000), at: 0)  // before the period
        samples.append(Sample(time: at(10), value: -1000))  // at the period's end: excluded
        let series = SensorSeries(name: "pressure", unit: "bar", samples: samples)
        let s = SensorStatistics(series, start: at(0), end: at(10), pollIntervalMilliseconds: 1000)
        #expect(s.count == 8)
        #expect(s.readings == 9)
        #expect(s.badReadings == 1)
        #expect(s.count(of: .timeout) == 1)
        #expect(s.expected == 10)
        #expect(s.completenessPercent == 80)
        #expect(s.minimum == 2 + offset)
        #expect(s.maximum == 9 + offset)
        #expect(s.mean == 5 + offset)
        // Welford keeps the spread exact even on top of 1e9 (a sum of squares would lose it).
        #expect(abs((s.standardDeviation ?? 0) - (32.0 / 7).squareRoot()) < 1e-6)
        #expect(s.last == 9 + offset)
        #expect(s.lastTime == at(7))
    }

    @Test func emptyAndSingleValueSeries() {
        let none = SensorStatistics(SensorSeries(name: "x", samples: []), start: at(0), end: at(60), pollIntervalMilliseconds: 2000)
        #expect(none.count == 0 && none.expected == 30 && none.completenessPercent == 0)
        #expect(none.mean == nil && none.minimum == nil && none.standardDeviation == nil && none.last == nil)
        let one = SensorStatistics(SensorSeries(name: "x", samples: [Sample(time: at(1), value: 3.5)]), start: at(0), end: at(60), pollIntervalMilliseconds: 2000)
        #expect(one.mean == 3.5 && one.minimum == 3.5 && one.maximum == 3.5 && one.standardDeviation == nil)
        #expect(abs(one.completenessPercent - 100.0 / 30) < 1e-12)
    }

    @Test func completenessIsCappedAt100() {
        let samples = (0..<25).map { Sample(time: at(Double($0) * 0.4), value: 1) }  // faster than the poll interval
        let s = SensorStatistics(SensorSeries(name: "x", samples: samples), start: at(0), end: at(10), pollIntervalMilliseconds: 1000)
        #expect(s.count == 25 && s.expected == 10 && s.completenessPercent == 100)
    }

    /// Scores 1, 2, 5, 6, 1 one second apart, then 7 after a 6 s pause; threshold 5; period 12 s.
    /// Sorted: 1 1 2 5 6 7 → p95 is the ⌈0.95·6⌉ = 6th → 7; mean 22/6. The usual spacing is 1 s,
    /// so each score stands for 1 s (the pause counts neither way): 3 of 6 s at or above 5.
    @Test func scoreDistributionAndTimeAboveThreshold() throws {
        let points = [(0.0, 1.0), (1, 2), (2, 5), (3, 6), (4, 1), (10, 7), (12, 100), (-1, 100)].map {
            ScorePoint(time: at($0.0), score: $0.1)
        }
        let s = try #require(ScoreStatistics(ScoreSeries(points: points, threshold: 5), start: at(0), end: at(12)))
        #expect(s.count == 6)
        #expect(abs(s.mean - 22.0 / 6) < 1e-12)
        #expect(s.p95 == 7)
        #expect(s.maximum == 7)
        #expect(s.millisecondsScored == 6000)
        #expect(s.millisecondsAboveThreshold == 3000)
        #expect(s.fractionAboveThreshold == 0.5)
        #expect(ScoreStatistics(ScoreSeries(points: points, threshold: 5), start: at(20), end: at(30)) == nil)
    }

    /// Scores 0, 1, …, n − 1: the p95 is the ⌈0.95·n⌉-th smallest, i.e. ⌈0.95·n⌉ − 1.
    @Test(arguments: [(20, 18.0), (100, 94.0), (101, 95.0), (1, 0.0)])
    func p95IsTheNearestRank(count: Int, expected: Double) throws {
        let points = (0..<count).map { ScorePoint(time: at(Double($0)), score: Double($0)) }
        let s = try #require(ScoreStatistics(ScoreSeries(points: points, threshold: 1000), start: at(0), end: at(1000)))
        #expect(s.p95 == expected)
    }

    @Test func alertsAreSortedIntoRaisedClearedAndOpen() {
        let alerts = [
            SummaryAlert(id: "before-cleared-in", kind: "anomaly", severity: "warning", started: at(-50), ended: at(5)),
            SummaryAlert(id: "in-in", kind: "anomaly", severity: "critical", started: at(10), ended: at(20)),
            SummaryAlert(id: "in-open", kind: "sensor_stale", severity: "warning", started: at(30)),
            SummaryAlert(id: "in-after", kind: "anomaly", severity: "warning", started: at(40), ended: at(200)),
            SummaryAlert(id: "old", kind: "anomaly", severity: "warning", started: at(-90), ended: at(-10)),
            SummaryAlert(id: "later", kind: "anomaly", severity: "warning", started: at(100)),
        ]
        let input = SummaryInput(machine: "m", start: at(0), end: at(60), pollIntervalMilliseconds: 1000, sensors: [], alerts: alerts)
        let s = SummaryStatistics(input)
        #expect(s.alerts.map(\.id) == ["before-cleared-in", "in-in", "in-open", "in-after"])
        #expect(s.raised.map(\.id) == ["in-in", "in-open", "in-after"])
        #expect(s.cleared.map(\.id) == ["before-cleared-in", "in-in"])
        #expect(s.openAtEnd.map(\.id) == ["in-open", "in-after"])
    }

    @Test func bucketsKeepMinimumMeanAndMaximum() {
        var b = Buckets(count: 4, start: at(0), end: at(8))
        for (t, v) in [(0.0, 1.0), (1, 3), (2.5, 10), (7.9, -2), (8, 99), (-1, 99)] { b.add(v, at: at(t)) }
        #expect(b.minimum[0] == 1 && b.maximum[0] == 3 && b.mean[0] == 2)
        #expect(b.mean[1] == 10)
        #expect(!b.isFilled(2))
        #expect(b.mean[3] == -2)
        #expect(b.filledRuns == [0..<2, 3..<4])
        #expect(b.emptyRuns == [2..<3])
        #expect(b.range?.low == -2 && b.range?.high == 10)
    }

    @Test(arguments: [
        (0.0, 10.0, [0.0, 2.5, 5, 7.5, 10]),
        (0.2, 0.93, [0.2, 0.4, 0.6, 0.8, 1.0]),
        (52.0, 61.0, [50.0, 52.5, 55, 57.5, 60, 62.5]),
    ])
    func axisTicksAreRound(low: Double, high: Double, ticks: [Double]) {
        let axis = AxisTicks.values(low: low, high: high)
        #expect(axis.ticks.count == ticks.count)
        for (a, b) in zip(axis.ticks, ticks) { #expect(abs(a - b) < 1e-9) }
    }

    @Test(arguments: [
        (3.14159, 2, "3.14"), (-0.004, 2, "0.00"), (-2.5, 1, "-2.5"), (1234.5, 0, "1235"), (0.05, 3, "0.050"), (Double.nan, 2, "–"),
    ])
    func fixedDecimals(value: Double, decimals: Int, text: String) {
        #expect(NumberText.fixed(value, decimals: decimals) == text)
    }
}

@Suite struct SummaryPeriodTests {
    private func t(_ iso: String) -> Timestamp { Timestamp(iso8601: Substring(iso))! }

    @Test(arguments: [
        ("2026-11-29T01:59:59.999Z", 3600, 0, "2026-11-29T00:00:00.000Z", "2026-11-29T01:00:00.000Z"),
        ("2026-11-29T02:00:00.000Z", 3600, 0, "2026-11-29T01:00:00.000Z", "2026-11-29T02:00:00.000Z"),
        ("2026-11-29T05:59:00.000Z", 86_400, 21_600, "2026-11-27T06:00:00.000Z", "2026-11-28T06:00:00.000Z"),
        ("2026-11-29T06:00:00.000Z", 86_400, 21_600, "2026-11-28T06:00:00.000Z", "2026-11-29T06:00:00.000Z"),
        ("2026-11-29T01:07:00.000Z", 900, 0, "2026-11-29T00:45:00.000Z", "2026-11-29T01:00:00.000Z"),
    ])
    func periodsAreAlignedToUTC(now: String, intervalSeconds: Int64, offsetSeconds: Int64, start: String, end: String) {
        let period = SummaryPeriod.lastComplete(before: t(now), interval: .seconds(intervalSeconds), offset: .seconds(offsetSeconds))
        #expect(period.start.iso8601 == start)
        #expect(period.end.iso8601 == end)
        let next = SummaryPeriod.nextBoundary(after: t(now), interval: .seconds(intervalSeconds), offset: .seconds(offsetSeconds))
        #expect(next.millisecondsSinceEpoch == period.end.millisecondsSinceEpoch + intervalSeconds * 1000)
        #expect(next > t(now))
    }
}
