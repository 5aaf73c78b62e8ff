import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Simulator
import Store
import Testing
import TestSupport

/// A model that loads judges the next live row with a stream warmed on the rows the buffer
/// already holds (`StreamWarmUp`), as `replay`'s stream runs on from the calibration rows: the
/// end-to-end test's pump, calibrated as `calibrate` calibrates it (`EndToEndStretchTests`), its
/// rows written to a real SQLite buffer by the agent's writer.
@Suite struct StreamWarmUpTests {
    static let names = EndToEndStretchTests.names
    static let start: Int64 = 1_796_000_000_000
    static let pollMilliseconds: Int64 = 200

    static func time(_ row: Int) -> Timestamp { Timestamp(millisecondsSinceEpoch: start + Int64(row) * pollMilliseconds) }

    /// agent.conf's pump-1 as `EndToEndTests` configures it (200 ms polls), without its run
    /// signal (the calibration stretch is all running), and a second machine nothing is
    /// buffered for.
    static func configuration() -> AgentConfiguration {
        let bus = BusConfiguration(name: "bus", transport: .tcp(host: "127.0.0.1", port: 502))
        var pump = MachineConfiguration(id: "pump-1", sensors: names.enumerated().map { i, name in
            var sensor = SensorConfiguration(name: name, bus: "bus", address: i)
            if name == "supply_voltage" { sensor.tolerance = 12 }
            return sensor
        })
        pump.pollInterval = .milliseconds(Int(pollMilliseconds))
        pump.kind = .pump
        var other = MachineConfiguration(id: "pump-2", sensors: names.enumerated().map { i, name in
            SensorConfiguration(name: name, bus: "bus", address: 100 + i)
        })
        other.pollInterval = .milliseconds(Int(pollMilliseconds))
        return AgentConfiguration(sourcePath: "test.conf", agent: AgentSettings(), buses: [bus], machines: [pump, other])
    }

    /// One poll cycle of pump-1 (machine 0): row `row` of `values` at `time(row + offset)`.
    static func cycle(_ values: [Float], row: Int, at time: Timestamp) -> [Reading] {
        let n = names.count
        return (0..<n).map { Reading(machine: 0, sensor: Int32($0), time: time, value: Double(values[row * n + $0]), quality: .good) }
    }

    /// A buffer in `directory` holding `values` (pump-1's rows, one per poll from `time(0)`),
    /// written by the agent's writer.
    static func buffer(in directory: TemporaryDirectory, _ configuration: AgentConfiguration, rows values: [Float],
                       skipping skipped: Range<Int> = 0..<0) async throws -> (BufferDatabase, SensorMapping) {
        let path = Store.databasePath(dataDirectory: directory.path)
        let database = try BufferDatabase(path: path)
        let mapping = try database.registerSensors(configuration)
        let writer = try ReadingWriter(path: path, mapping: mapping)
        for r in 0..<(values.count / names.count) where !skipped.contains(r) {
            _ = writer.append(cycle(values, row: r, at: time(r)))
        }
        #expect(await writer.committed(within: .seconds(30)))
        writer.close()
        return (database, mapping)
    }

    /// Alerting rows of a run of scores under the detector's alert rule (from a fresh rule state).
    static func alertingRows(_ scores: [Float], _ detector: MachineDetector) -> Int {
        var rule = AlertDecisionRule.State()
        return scores.filter { !$0.isNaN && rule.update(score: $0, threshold: detector.alertThreshold, rule: detector.rule) }.count
    }

    /// The agent's scoring stage for pump-1's `model`, continued from `warmed` (nil: cold, as
    /// before), given `later` (rows from `time(firstRow)` on): each row's score (NaN where not judged).
    static func agentScores(_ configuration: AgentConfiguration, _ model: MachineModel, warmed: WarmedStream?,
                            later: [Float], firstRow: Int) -> (scores: [Float], events: [AlertEvent]) {
        var engine = ScoringEngine(machines: configuration.machines, models: [model, nil])
        if let warmed { engine.continueStream(machine: 0, from: warmed) }
        var scores: [Float] = []
        var events: [AlertEvent] = []
        for r in 0..<(later.count / names.count) {
            var score: Float = .nan
            events += engine.process(cycle(later, row: r, at: time(firstRow + r))) { score = Float($0.score) }
            scores.append(score)
        }
        return (scores, events)
    }

    /// The stretches whose cold stream alerted at the later loads (docs/reliability.md): seed 1's
    /// pump at 170/65/65 rows per load (hours 0 and 11), seed 6's at 250 rows per load.
    static let stretches: [(seed: UInt64, rowsPerLoad: [Int], hour: Int)] = [(1, [170, 65, 65], 0), (1, [170, 65, 65], 11), (6, [250, 250, 250], 0)]

    /// 300 rows at another load before the calibration, the calibration rows, 40 rows while the
    /// model is written and loaded, then the later loads live.
    @Test("a model loaded with the calibration rows buffered scores the later rows as replay does", arguments: stretches.indices)
    func warmedStreamScoresAsReplay(stretch: Int) async throws {
        let (seed, rowsPerLoad, hour) = Self.stretches[stretch]
        let directory = try TemporaryDirectory(prefix: "warm-up")
        defer { directory.remove() }
        var options = MachineOptions()
        options.startTime = Timestamp(millisecondsSinceEpoch: Self.start + Int64(hour) * 3_600_000)
        let (calibration, gap, later) = EndToEndStretchTests.scenario(rowsPerLoad: rowsPerLoad, hour: hour, seed: seed)
        // Rows before the calibration's stretch (the pump at 0.3 for a minute) are in the buffer
        // too: calibration's stream, and replay's, never saw them.
        var machine = Fleet(seed: 2, count: 3, options: options).machines[0]
        machine.setOperatingPoint(running: true, load: 0.3)
        let before = EndToEndStretchTests.rows(&machine, 300)
        let n = Self.names.count
        let beforeRows = before.count / n, calibrationRows = calibration.count / n, gapRows = gap.count / n
        let (detector, report) = EndToEndStretchTests.calibration(calibration)
        let file = DetectorFile(machine: "pump-1", calibratedAt: Self.time(beforeRows + calibrationRows).iso8601,
                                detector: detector, report: report, dataFrom: Self.time(beforeRows).iso8601)
        let model = MachineModel(path: "memory", file: file)
        let configuration = Self.configuration()
        let (database, mapping) = try await Self.buffer(in: directory, configuration, rows: before + calibration + gap)

        // The model takes over at the first later row.
        let firstLater = beforeRows + calibrationRows + gapRows
        let streams = try StreamWarmUp.warm(database: database, mapping: mapping, configuration: configuration,
                                            models: [model, model], until: [Self.time(firstLater), Self.time(firstLater)],
                                            dataPolicy: DataQualityPolicy())
        let warmed = try #require(streams[0], "pump-1's stream was not warmed")
        #expect(streams[1] == nil, "pump-2 has nothing buffered: its stream starts cold")
        #expect(warmed.first == Self.time(beforeRows), "the warm-up starts at calibration's first row")
        #expect(warmed.rows == calibrationRows + gapRows)

        // replay: one stream through the calibration rows (not judged) and on into the later ones.
        var stream = detector.makeStream()
        for r in 0..<(calibrationRows + gapRows) { _ = stream.score(row: (calibration + gap)[(r * n)..<((r + 1) * n)]) }
        let replay = (0..<(later.count / n)).map { stream.score(row: later[($0 * n)..<(($0 + 1) * n)]) }

        let warm = Self.agentScores(configuration, model, warmed: warmed, later: later, firstRow: firstLater)
        let cold = Self.agentScores(configuration, model, warmed: nil, later: later, firstRow: firstLater)
        let differing = zip(warm.scores, replay).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) of \(replay.count) later rows scored otherwise than by replay")
        let replayAlerting = Self.alertingRows(replay, detector)
        let warmAlerting = Self.alertingRows(warm.scores, detector)
        let coldAlerting = Self.alertingRows(cold.scores, detector)
        print("seed \(seed), \(rowsPerLoad) rows per load, hour \(hour): alerting rows at the later loads: replay \(replayAlerting), warmed agent \(warmAlerting), cold agent \(coldAlerting); anomaly alerts raised: warmed \(warm.events.filter { $0.change == .raised }.count), cold \(cold.events.filter { $0.change == .raised }.count)")
        #expect(warmAlerting == replayAlerting)
        // What the warm-up is for: the cold stream judges the still-settling temperatures
        // against the current speed alone, so its scores are not replay's. (It alerted on more
        // rows too, 135 and 54 against 85 and none, until calibration referred a lagged
        // temperature to its settled level, `LoadCompensation.fit`: now as many as replay.)
        let coldDiffering = zip(cold.scores, replay).filter { !($0.isNaN && $1.isNaN) && $0 != $1 }.count
        #expect(coldDiffering > 0, "the cold stream scored every later row as replay (cold \(coldAlerting), replay \(replayAlerting) alerting rows)")
        #expect(coldAlerting >= replayAlerting, "cold \(coldAlerting), replay \(replayAlerting)")
    }

    /// Rows that alert when judged live raise nothing, score nothing and store nothing when they
    /// only warm a stream.
    @Test func warmingRaisesScoresAndStoresNothing() async throws {
        let directory = try TemporaryDirectory(prefix: "warm-up")
        defer { directory.remove() }
        let (calibration, gap, later) = EndToEndStretchTests.scenario(rowsPerLoad: [170, 65, 65], hour: 0)
        let n = Self.names.count
        let (detector, report) = EndToEndStretchTests.calibration(calibration)
        let file = DetectorFile(machine: "pump-1", calibratedAt: Self.time(0).iso8601, detector: detector, report: report)
        let model = MachineModel(path: "memory", file: file)
        let configuration = Self.configuration()
        // The later rows (the cold stream alerts on them) are in the buffer; the model takes over after them.
        let rows = gap + later
        let (database, mapping) = try await Self.buffer(in: directory, configuration, rows: rows)
        let end = rows.count / n
        let live = Self.agentScores(configuration, model, warmed: nil, later: rows, firstRow: 0)
        #expect(live.events.contains { $0.change == .raised && $0.alert.kind == .anomaly }, "the rows must alert when judged live")
        let statistics = try database.statistics()

        let streams = try StreamWarmUp.warm(database: database, mapping: mapping, configuration: configuration,
                                            models: [model, nil], until: [Self.time(end), nil], dataPolicy: DataQualityPolicy())
        let warmed = try #require(streams[0])
        #expect(warmed.rows == end)
        // The warm-up judged no window: no score, no step of the alert rule.
        #expect(warmed.state.windowsScored == 0)
        #expect(warmed.state.lastScore == nil)
        #expect(warmed.state.anomalies.open == nil)
        var engine = ScoringEngine(machines: configuration.machines, models: [model, nil])
        engine.continueStream(machine: 0, from: warmed)
        #expect(engine.windowsScored == 0)
        #expect(engine.lastScore(machine: 0) == nil)
        #expect(engine.openAlerts.isEmpty)
        #expect(try database.alerts().isEmpty)
        #expect(try database.statistics() == statistics, "the buffer changed")
        // The next live row is judged at once: the warmed windows are full.
        var scored = 0
        var pump = Fleet(seed: 1, count: 3).machines[0]
        let next = EndToEndStretchTests.rows(&pump, 1)
        _ = engine.process(Self.cycle(next, row: 0, at: Self.time(end))) { _ in scored += 1 }
        #expect(scored == 1)
    }

    /// A first start (nothing of the machine in the buffer), rows too old, and a gap the agent
    /// did not poll through: the stream starts as it did before there was a warm-up, or after the gap.
    @Test func nothingRecentInTheBufferLeavesTheStreamCold() async throws {
        let directory = try TemporaryDirectory(prefix: "warm-up")
        defer { directory.remove() }
        let (calibration, _, later) = EndToEndStretchTests.scenario(rowsPerLoad: [65, 65, 65], hour: 0)
        let n = Self.names.count
        let (detector, report) = EndToEndStretchTests.calibration(calibration)
        let file = DetectorFile(machine: "pump-1", calibratedAt: Self.time(0).iso8601, detector: detector, report: report)
        let model = MachineModel(path: "memory", file: file)
        let configuration = Self.configuration()
        // 2,000 rows of the pump at 0.7, rows 600..<1,300 missing (140 s, more than the 120 s bridged).
        var pump = Fleet(seed: 1, count: 3).machines[0]
        pump.setOperatingPoint(running: true, load: 0.7)
        let rows = EndToEndStretchTests.rows(&pump, 2000)
        let (database, mapping) = try await Self.buffer(in: directory, configuration, rows: rows, skipping: 600..<1300)
        let total = rows.count / n
        func warm(until: Timestamp) throws -> [WarmedStream?] {
            try StreamWarmUp.warm(database: database, mapping: mapping, configuration: configuration, models: [model, model],
                                  until: [until, until], dataPolicy: DataQualityPolicy())
        }
        // First start: nothing of pump-2 in the buffer.
        let now = try warm(until: Self.time(total))
        #expect(now[1] == nil)
        // Only the rows after the gap warm pump-1.
        let after = try #require(now[0])
        #expect(after.first == Self.time(1300))
        #expect(after.rows == total - 1300)
        // The model takes over 121 s after the last row: nothing recent to continue.
        let late = try warm(until: Timestamp(millisecondsSinceEpoch: Self.time(total - 1).millisecondsSinceEpoch + 121_000))
        #expect(late[0] == nil)
        // Nothing to continue: the stream starts cold, filling its windows before it judges.
        let cold = Self.agentScores(configuration, model, warmed: late[0], later: later, firstRow: total + 1000)
        let filling = cold.scores.prefix(model.windowRows - 1).allSatisfy { $0.isNaN }
        #expect(filling, "a cold stream fills its windows first")
        #expect(!cold.scores[model.windowRows - 1].isNaN)
    }
}
