import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Simulator
import Summaries
import Testing

/// A variable-speed pump calibrated at one speed and running at another: its alerts and
/// summaries quote each speed-compensated sensor's normal range at the speed it runs at (what
/// the load compensation judges the reading against), not the range at the calibration's speed.
@Suite("Normal ranges follow a variable-speed machine's speed")
struct SpeedNormalRangeTests {
    /// A simulated pump (seed 21, as `LoadPriorSimulatorTests`) polled every second and held at
    /// its top load, calibrated on its first 10 minutes as `calibrate` does (the poll interval
    /// as the time between rows, its `kind`, the detector without the network), then run
    /// through the agent's `ScoringEngine`: 5 more minutes at the top speed, 20 minutes at the
    /// middle of its speed range, then an imbalance there.
    struct Run {
        let machine: MachineConfiguration
        let model: MachineModel
        var engine: ScoringEngine
        let names: [String]
        /// The rows at the middle speed before the fault, and the first 300 with the fault.
        var normal: [[Double]] = [], faulted: [[Double]] = []
        var normalTimes: [Timestamp] = [], faultedTimes: [Timestamp] = []
        /// The anomaly events before the fault, and the first alert raised after it.
        var eventsBeforeFault: [AlertEvent] = []
        var faultAlert: Alert?
        /// The operating point the last normal row was judged at, and that row (model order).
        var normalPoint = MachineModel.OperatingPoint.asRead
        var normalModelRow: [Float] = []
        /// Per sensor (model order), whether its load-prior role follows speed through a thermal lag.
        var lagged: [Bool] = []
        /// The calibration's median speed and the middle speed the pump then ran at.
        var calibrationSpeed = 0.0, middleSpeed = 0.0

        /// The median of sensor `name` over `rows`.
        func median(_ name: String, of rows: [[Double]]) -> Double {
            let column = names.firstIndex(of: name)!
            let values = rows.map { $0[column] }.sorted()
            return values[values.count / 2]
        }
    }

    static func run(seed: UInt64 = 21) throws -> Run {
        var options = MachineOptions()
        options.automaticOperation = false
        var sim = SimulatedMachine(kind: .pump, id: "pump-1", seed: seed, options: options)
        let top = sim.loadRange.upperBound, middle = (sim.loadRange.lowerBound + top) / 2
        sim.setOperatingPoint(running: true, load: top)
        var machine = MachineConfiguration(id: "pump-1", sensors: sim.channels.enumerated().map { i, channel in
            var sensor = SensorConfiguration(name: channel.name, bus: "b", address: i)
            sensor.unit = channel.unit
            return sensor
        })
        machine.pollInterval = .seconds(1)
        machine.kind = .pump
        let names = sim.channels.map(\.name)
        var calibration: [Float] = [], times: [String] = [], row: [Double] = []
        for _ in 0..<600 {
            times.append(sim.time.iso8601)
            _ = sim.step(into: &row)
            calibration += row.map(Float.init)
        }
        var settings = CalibrationSettings()
        settings.secondsPerRow = 1
        settings.machineKind = machine.kind?.rawValue
        let (calibrated, report) = Calibrator(settings: settings)
            .calibrate(table: SensorTable(sensorNames: names, timestamps: times, values: calibration))
        var detector = calibrated
        detector.network = nil
        #expect(detector.load?.kind == "pump")
        let model = MachineModel(path: "memory", file: DetectorFile(machine: machine.id, calibratedAt: "2026-11-29T00:00:00.000Z",
                                                                    detector: detector, report: report))
        var run = Run(machine: machine, model: model, engine: ScoringEngine(machines: [machine], models: [model]), names: names)
        run.calibrationSpeed = Double(try #require(detector.load).referenceDriver)
        run.lagged = try #require(detector.load).lagged

        func step() -> [AlertEvent] {
            let time = sim.time
            _ = sim.step(into: &row)
            return run.engine.process(row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) })
                .filter { $0.alert.kind == .anomaly }
        }
        for _ in 0..<300 { run.eventsBeforeFault += step() }
        sim.setOperatingPoint(running: true, load: middle)
        for _ in 0..<1200 {
            let time = sim.time
            run.eventsBeforeFault += step()
            run.normal.append(row)
            run.normalTimes.append(time)
        }
        run.middleSpeed = run.median("speed", of: run.normal)
        run.normalPoint = try #require(run.engine.machines[0].scorer).operatingPoint
        run.normalModelRow = run.engine.machines[0].modelRow
        try sim.inject(.imbalance, severity: 0.8, durationSeconds: 900, profile: .step)
        for _ in 0..<300 {
            let time = sim.time
            let events = step()
            run.faulted.append(row)
            run.faultedTimes.append(time)
            if run.faultAlert == nil { run.faultAlert = events.first { $0.change == .raised }?.alert }
        }
        return run
    }

    @Test("an alert at the middle speed quotes the faulted vibration's range there: it holds the normal reading, not the faulted one")
    func alertQuotesTheRangeAtTheCurrentSpeed() throws {
        let run = try Self.run()
        #expect(run.middleSpeed < 0.85 * run.calibrationSpeed, "middle \(run.middleSpeed), calibration \(run.calibrationSpeed)")
        let alert = try #require(run.faultAlert, "the imbalance raises an alert")
        let vibration = try #require(alert.topSensors.first { $0.sensor.hasPrefix("vibration") }, "\(alert.message)")
        let normal = run.median(vibration.sensor, of: run.normal)
        // Vibration follows speed²: at the middle speed its normal reading lies well below the
        // calibration's range (what the alert quoted before), and inside the one quoted now.
        let column = try #require(run.model.sensorNames.firstIndex(of: vibration.sensor))
        #expect(normal < run.model.normalLow[column], "\(vibration.sensor): \(normal), calibration range \(run.model.normalLow[column])…")
        #expect(vibration.normalLow <= normal && normal <= vibration.normalHigh,
                "\(vibration.sensor): normal \(normal) at \(run.middleSpeed) rpm, quoted \(vibration.normalLow)…\(vibration.normalHigh): \(alert.message)")
        #expect(vibration.value > vibration.normalHigh, "the faulted reading \(vibration.value) is outside the quoted range: \(alert.message)")
        // The speed adds nothing to the score (it is compensated): it is not named as driving it.
        #expect(!alert.topSensors.contains { $0.sensor == "speed" }, "\(alert.message)")
    }

    @Test("at the end of 20 normal minutes at the middle speed, every compensated sensor's range holds its normal reading")
    func everyCompensatedSensorAtTheCurrentSpeed() throws {
        let run = try Self.run()
        #expect(run.eventsBeforeFault.isEmpty, "\(run.eventsBeforeFault.map(\.alert.message))")
        // The ranges quoted for the last normal row, at the point the scorer judged it at.
        let point = run.normalPoint, modelRow = run.normalModelRow
        var compensated = 0
        for (column, name) in run.model.sensorNames.enumerated() where run.model.loadMovesRange(column: column) && name != "speed" {
            compensated += 1
            let range = run.model.normalRange(column: column, row: modelRow, at: point)
            let normal = run.median(name, of: Array(run.normal.suffix(120)))
            #expect(range.low <= normal && normal <= range.high, "\(name): \(normal) at \(run.middleSpeed) rpm, range \(range)")
        }
        #expect(compensated >= 6)
        // The speed: normal from the prior's minimum share of the calibration speed up.
        let speed = try #require(run.model.loadDriverColumn)
        let range = run.model.normalRange(column: speed, row: modelRow, at: point)
        #expect(range.high == .infinity && abs(range.low - 0.2 * run.calibrationSpeed) < 0.01 * run.calibrationSpeed, "\(range)")

        // A row whose speed is not read is scored as read, so its ranges are the calibration's.
        var engine = ScoringEngine(machines: [run.machine], models: [run.model])
        for (row, time) in zip(run.normal, run.normalTimes) {
            _ = engine.process(row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) })
        }
        let last = try #require(run.normal.last)
        let time = Timestamp(millisecondsSinceEpoch: try #require(run.normalTimes.last).millisecondsSinceEpoch + 1000)
        _ = engine.process(last.enumerated().map { s, value in
            Reading(machine: 0, sensor: Int32(s), time: time, value: s == speed ? .nan : value, quality: s == speed ? .timeout : .good)
        })
        let unread = try #require(engine.machines[0].scorer).operatingPoint
        for column in run.model.sensorNames.indices {
            let range = run.model.normalRange(column: column, row: engine.machines[0].modelRow, at: unread)
            #expect(range == (run.model.normalLow[column], run.model.normalHigh[column]), "\(run.model.sensorNames[column])")
        }
    }

    /// A summary input of `rows` (one a second from `times`), as the buffer gives it.
    static func summary(_ run: Run, rows: [[Double]], times: [Timestamp]) -> SummaryInput {
        let start = times[0], end = Timestamp(millisecondsSinceEpoch: times[times.count - 1].millisecondsSinceEpoch + 1000)
        return SummaryInput(machine: "pump-1", start: start, end: end, pollIntervalMilliseconds: 1000, sensors: run.names.indices.map { s in
            SensorSeries(name: run.names[s], samples: zip(rows, times).map { Summaries.Sample(time: $1, value: $0[s]) })
        })
    }

    @Test("a summary of the middle speed quotes the ranges at the period's median speed and says so; the imbalance's vibration lies outside")
    func summaryQuotesTheRangeAtTheMedianSpeed() throws {
        let run = try Self.run()
        var normal = Self.summary(run, rows: run.normal, times: run.normalTimes)
        PeriodicSummaries.setNormalRanges(of: &normal, from: run.model)
        var compensated = 0
        for (s, series) in normal.sensors.enumerated() {
            let column = try #require(run.model.sensorNames.firstIndex(of: series.name))
            guard run.model.loadMovesRange(column: column), series.name != "speed" else {
                #expect(series.normalState == nil, "\(series.name)")
                continue
            }
            compensated += 1
            let median = run.median(run.names[s], of: run.normal)
            let low = try #require(series.normalLow), high = try #require(series.normalHigh)
            // The range is the settled one at the median speed. A sensor with a thermal lag was
            // judged, in these first 20 minutes after the speed change, against a wider range
            // (its moving averages), which held it (the alert test above); settled, this pump's
            // outlet and inlet pressure lie just outside their prior's band (measured: 2.595 bar
            // against 2.289–2.536, 1.251 against 1.256–1.288), where the detector holds them
            // once the lags catch up. Every sensor without a lag lies inside.
            if !run.lagged[column] {
                #expect(low <= median && median <= high, "\(series.name): median \(median), range \(low)…\(high)")
            }
            let label = try #require(series.normalState)
            #expect(label.hasPrefix("speed = "), "\(label)")
            let labelled = try #require(Double(label.dropFirst("speed = ".count)))
            #expect(abs(labelled - run.middleSpeed) < 0.01 * run.middleSpeed, "\(label) vs \(run.middleSpeed)")
        }
        #expect(compensated >= 6)
        #expect(run.lagged.indices.contains { !run.lagged[$0] && run.model.loadMovesRange(column: $0) })
        let speed = try #require(normal.sensors.first { $0.name == "speed" })
        #expect(speed.normalHigh == nil && speed.normalState == nil)
        #expect(abs(try #require(speed.normalLow) - 0.2 * run.calibrationSpeed) < 0.01 * run.calibrationSpeed)
        // The files: JSON null for the missing upper end, CSV an empty cell, HTML "≥".
        let statistics = SummaryStatistics(normal)
        #expect(SummaryJSON.render(normal, statistics: statistics).contains("\"normal_state\":\"speed = "))
        #expect(SummaryHTML.render(normal, statistics: statistics).contains("normal <b>≥ "))

        var faulted = Self.summary(run, rows: run.faulted, times: run.faultedTimes)
        PeriodicSummaries.setNormalRanges(of: &faulted, from: run.model)
        let vibration = try #require(faulted.sensors.first { $0.name == "vibration_x" })
        let level = run.median("vibration_x", of: run.faulted)
        #expect(level > (try #require(vibration.normalHigh)), "faulted vibration_x \(level), range \(String(describing: vibration.normalLow))…\(String(describing: vibration.normalHigh))")
    }
}
