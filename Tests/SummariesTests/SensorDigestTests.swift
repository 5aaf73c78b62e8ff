import Configuration
import EdgeCore
import Foundation
import Store
import Testing
import TestSupport

@testable import Summaries

/// Every summary reduces its readings through `SensorDigest`: the buffer's as they are read,
/// in-memory samples when the statistics are computed. These tests check that both give the
/// same files byte for byte, and the reduction against arithmetic done here, sample by sample.
@Suite struct SensorDigestTests {
    /// One case: a machine polled every `pollMilliseconds` whose readings are written every
    /// `stepMilliseconds`, summarized over `[periodStartSeconds, periodEndSeconds)` of the data.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var pollMilliseconds: Int64
        var data: Source
        var periodStartSeconds: Int64
        var periodEndSeconds: Int64
        var testDescription: String { name }

        enum Source: Sendable {
            /// The sample pump hour (`SampleSummary`: five sensors at 1 s, a flow-meter outage
            /// with timeouts, a bearing fault).
            case pumpHour
            /// `sensors` noisy signals every `stepMilliseconds` for `seconds`, each with a
            /// 20 s gap at its own place and a few timeouts.
            case synthetic(sensors: Int, stepMilliseconds: Int64, seconds: Int64)
        }
    }

    static let cases: [Case] = [
        // 3,600 expected: the chart's 160 buckets are known from the start.
        Case(name: "pump hour at 1 s", pollMilliseconds: 1000, data: .pumpHour, periodStartSeconds: 0, periodEndSeconds: 3600),
        // Ten minutes of it around the outage, with a 10 s poll interval: 60 expected, 600 read,
        // so the digest holds values until 160 have come and then fills 160 buckets.
        Case(name: "pump 10 min, readings faster than the poll", pollMilliseconds: 10_000, data: .pumpHour,
             periodStartSeconds: 600, periodEndSeconds: 1200),
        // A minute of it at a 2 s poll: 30 expected, 60 read: 60 buckets, only known at the end.
        Case(name: "pump 1 min, fewer than 160", pollMilliseconds: 2000, data: .pumpHour, periodStartSeconds: 1800, periodEndSeconds: 1860),
        // Ten sensors at 10 Hz, a period cut inside the data on both sides.
        Case(name: "10 sensors at 10 Hz, 5 min", pollMilliseconds: 100, data: .synthetic(sensors: 10, stepMilliseconds: 100, seconds: 360),
             periodStartSeconds: 30, periodEndSeconds: 330),
    ]

    @Test(arguments: cases)
    func bufferSummaryFilesEqualThoseOfHeldSamples(_ testCase: Case) async throws {
        let dir = try TemporaryDirectory(prefix: "summaries-digest")
        defer { dir.remove() }
        let t0 = Timestamp(iso8601: "2026-11-29T01:00:00Z")!.millisecondsSinceEpoch
        let series = Self.series(testCase.data, start: t0)
        let bus = BusConfiguration(name: "bus", transport: .tcp(host: "127.0.0.1", port: 502))
        var sensors: [SensorConfiguration] = []
        for (i, s) in series.enumerated() {
            var sensor = SensorConfiguration(name: s.name, bus: "bus", address: i)
            sensor.unit = s.unit
            sensors.append(sensor)
        }
        var machine = MachineConfiguration(id: "pump-1", sensors: sensors)
        machine.pollInterval = .milliseconds(testCase.pollMilliseconds)
        // A second machine polled at the same times: its rows sit between the first one's.
        let other = MachineConfiguration(id: "fan-1", sensors: [SensorConfiguration(name: "speed", bus: "bus", address: 900)])
        let configuration = AgentConfiguration(sourcePath: "test.conf", agent: AgentSettings(), buses: [bus], machines: [machine, other])
        let path = Store.databasePath(dataDirectory: dir.path)
        let database = try BufferDatabase(path: path)
        let mapping = try database.registerSensors(configuration)
        let writer = try ReadingWriter(path: path, mapping: mapping)
        // Every sensor's samples share their times (one poll cycle per time).
        for k in series[0].samples.indices {
            var cycle = series.indices.map { i in
                let s = series[i].samples[k]
                return Reading(machine: 0, sensor: Int32(i), time: s.time, value: s.value, quality: s.quality)
            }
            cycle.append(Reading(machine: 1, sensor: 0, time: series[0].samples[k].time, value: 1000 + Double(k), quality: .good))
            while case .rejectedQueueFull = writer.append(cycle) { _ = await writer.committed(within: .seconds(30)) }
        }
        #expect(await writer.committed(within: .seconds(60)))
        _ = writer.close()

        let reader = try BufferDatabase(path: path, access: .readOnly)
        let from = Timestamp(millisecondsSinceEpoch: t0 + testCase.periodStartSeconds * 1000)
        let until = Timestamp(millisecondsSinceEpoch: t0 + testCase.periodEndSeconds * 1000)
        let generated = Timestamp(iso8601: "2026-11-29T09:00:00Z")!
        let digested = try BufferSummarySource.input(
            machine: "pump-1", configuration: configuration, from: from, until: until, database: reader, generated: generated)
        // Nothing of the period is held: each sensor is a digest.
        #expect(digested.sensors.allSatisfy { $0.samples.isEmpty && $0.digest != nil })

        // The same rows held as samples in memory (as BufferSummarySource read the buffer before
        // the digests), every reading with its quality as the agent's own summaries count them.
        var held = digested
        var samples: [[Sample]] = Array(repeating: [], count: series.count)
        let index = try #require(mapping.machineIndex(named: "pump-1"))
        try reader.forEachRowWithQualities(machines: [index], mapping: try reader.lookUpSensors(configuration), from: from, until: until) { _, time, values, qualities in
            for column in values.indices where column < samples.count {
                guard let quality = qualities[column] else { continue }
                samples[column].append(Sample(time: time, value: values[column], quality: quality))
            }
        }
        held.sensors = series.indices.map { SensorSeries(name: series[$0].name, unit: series[$0].unit, samples: samples[$0]) }
        // Every reading of the period is counted with the quality it was written with (before,
        // a summary from the buffer counted good readings only).
        let digestedStatistics = SummaryStatistics(digested).sensors
        for i in series.indices {
            let written = series[i].samples.filter { $0.time >= from && $0.time < until }
            for quality in Quality.allCases {
                #expect(digestedStatistics[i].count(of: quality) == written.filter { $0.quality == quality }.count, "\(series[i].name) \(quality.name)")
            }
        }
        #expect(held.sensors.reduce(0) { $0 + $1.samples.count } == digested.sensors.reduce(0) { $0 + $1.readingCount })

        // The runtime adds normal ranges and scores after reading the buffer: both paths get them.
        var inputs = [digested, held]
        for k in inputs.indices {
            for i in inputs[k].sensors.indices {
                inputs[k].sensors[i].normalLow = series[i].normalLow
                inputs[k].sensors[i].normalHigh = series[i].normalHigh
            }
        }
        #expect(SummaryStatistics(inputs[0]).sensors == SummaryStatistics(inputs[1]).sensors)
        let a = try SummaryWriter.write(inputs[0], to: dir.file("digested"))
        let b = try SummaryWriter.write(inputs[1], to: dir.file("held"))
        for (x, y) in [(a.json, b.json), (a.csv, b.csv), (a.html, b.html)] {
            let left = try String(contentsOfFile: x, encoding: .utf8)
            let right = try String(contentsOfFile: y, encoding: .utf8)
            #expect(left == right, "\(URL(fileURLWithPath: x).lastPathComponent) differs between the buffer's digest and held samples")
        }
        // The report has a chart per sensor with data in it (a vacuous comparison would pass too).
        let html = try String(contentsOfFile: a.html, encoding: .utf8)
        #expect(html.components(separatedBy: "class=\"band\"").count - 1 >= series.count)
    }

    /// In-memory samples with bad readings, infinities and readings outside the period (which
    /// the buffer never returns): the statistics and the chart's buckets are what plain
    /// arithmetic over the good finite samples of the period gives.
    @Test(arguments: [(Int64(1000), 10), (Int64(100), 3000), (Int64(5000), 400), (Int64(1000), 170)])
    func heldSamplesAreReducedAsArithmeticSays(pollMilliseconds: Int64, readings: Int) throws {
        let t0 = Timestamp(iso8601: "2026-11-29T02:00:00Z")!.millisecondsSinceEpoch
        var random = SplitMix64(seed: UInt64(readings))
        let step: Int64 = 1000
        var samples: [Sample] = []
        for k in -5..<(readings + 5) {
            let time = Timestamp(millisecondsSinceEpoch: t0 + Int64(k) * step)
            switch random.index(below: 20) {
            case 0: samples.append(Sample(time: time, value: .nan, quality: .timeout))
            case 1: samples.append(Sample(time: time, value: 3, quality: .stale))
            case 2: samples.append(Sample(time: time, value: .infinity, quality: .good))
            default: samples.append(Sample(time: time, value: 1e6 + random.gaussian(), quality: .good))
            }
        }
        let start = Timestamp(millisecondsSinceEpoch: t0)
        let end = Timestamp(millisecondsSinceEpoch: t0 + Int64(readings) * step)
        let input = SummaryInput(machine: "m", start: start, end: end, pollIntervalMilliseconds: pollMilliseconds,
                                 sensors: [SensorSeries(name: "p", unit: "bar", samples: samples, normalLow: 1e6 - 1, normalHigh: 1e6 + 1)])
        let statistics = SummaryStatistics(input)
        let s = statistics.sensors[0]

        let inPeriod = samples.filter { $0.time >= start && $0.time < end }
        let good = inPeriod.filter { $0.quality == .good && $0.value.isFinite }
        let values = good.map(\.value)
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let sd = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
        let expected = Int(Int64(readings) * step / pollMilliseconds)
        #expect(s.readings == inPeriod.count && s.count == values.count && s.badReadings > 0)
        #expect(s.expected == expected)
        for quality in Quality.allCases {
            #expect(s.count(of: quality) == inPeriod.filter { $0.quality == quality }.count)
        }
        #expect(s.minimum == values.min() && s.maximum == values.max())
        #expect(abs((s.mean ?? 0) - mean) <= 1e-9 * mean)
        #expect(abs((s.standardDeviation ?? 0) - sd) <= 1e-6 * sd)
        #expect(s.last == good.last?.value && s.lastTime == good.last?.time)

        // The chart: 160 buckets, or fewer when the period expects and holds fewer readings.
        let buckets = statistics.digests[0].chartBuckets()
        #expect(buckets.count == min(160, max(expected, min(values.count, 160))))
        let duration = Int64(readings) * step
        for i in 0..<buckets.count {
            let inBucket = good.filter { Int(($0.time.millisecondsSinceEpoch - t0) * Int64(buckets.count) / duration) == i }.map(\.value)
            if inBucket.isEmpty {
                #expect(!buckets.isFilled(i) && buckets.mean[i].isNaN)
                continue
            }
            #expect(buckets.minimum[i] == inBucket.min() && buckets.maximum[i] == inBucket.max())
            #expect(abs(buckets.mean[i] - inBucket.reduce(0, +) / Double(inBucket.count)) <= 1e-9 * 1e6)
        }
        #expect((0..<buckets.count).contains { buckets.isFilled($0) })
    }

    /// The series a case writes to the buffer, all sensors at the same times.
    static func series(_ data: Case.Source, start t0: Int64) -> [SensorSeries] {
        switch data {
        case .pumpHour:
            return SampleSummary.input(start: Timestamp(millisecondsSinceEpoch: t0)).sensors
        case .synthetic(let count, let step, let seconds):
            var random = SplitMix64(seed: 11)
            let n = Int(seconds * 1000 / step)
            return (0..<count).map { i in
                let gap = (n / (count + 1) * (i + 1))..<(n / (count + 1) * (i + 1) + Int(20_000 / step))
                let samples = (0..<n).map { k -> Sample in
                    let time = Timestamp(millisecondsSinceEpoch: t0 + Int64(k) * step)
                    if gap.contains(k) || random.chance(0.002) { return Sample(time: time, value: .nan, quality: .timeout) }
                    let value = 100 * Double(i + 1) + 5 * sin(Double(k) / 500) + random.gaussian()
                    return Sample(time: time, value: value, quality: .good)
                }
                return SensorSeries(name: "sensor_\(i)", unit: "bar", samples: samples, normalLow: 100 * Double(i + 1) - 4,
                                    normalHigh: 100 * Double(i + 1) + 4)
            }
        }
    }
}
