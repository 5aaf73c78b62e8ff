import Detection
import EdgeCore
@testable import Runtime
import Summaries
import Testing
import TestSupport

/// An alert on a compressor quotes the normal range of the state it is in: the loaded level while
/// loaded, the unloaded level while unloaded (two-state compensation, `MachineModel.normalRange`).
@Suite("Normal ranges follow a two-state machine's state")
struct StateNormalRangeTests {
    @Test("a loaded row's range is the calibration range moved by the loaded shift; an unloaded row's is not")
    func rangeFollowsTheState() throws {
        var random = SplitMix64(seed: 9)
        var values: [Float] = []
        for r in 0..<600 {
            let loaded = r % 60 < 30
            values += [loaded ? 1 : 0, (loaded ? 1.0 : 0.25) + 0.003 * Float(random.uniform(-1...1)), 50 + 0.2 * Float(random.uniform(-1...1))]
        }
        var settings = CalibrationSettings()
        settings.compensateStates = true
        let (detector, report) = Calibrator(settings: settings).calibrate(values: values[...], sensorNames: ["loaded", "suction_pressure", "oil"])
        let shift = try #require(detector.state?.shift[1])
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try TextFile.makeDirectory(directory.path + "/models")
        try DetectorFile(machine: "c", calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
            .write(to: MachineModel.modelPath(machine: "c", dataDirectory: directory.path))
        let model = try #require(try MachineModel.load(machine: "c", dataDirectory: directory.path))

        let unloaded = model.normalRange(column: 1, row: [0, 0.25, 50])
        let loaded = model.normalRange(column: 1, row: [1, 1.0, 50])
        #expect(unloaded.low < 0.25 && 0.25 < unloaded.high, "unloaded range \(unloaded)")
        #expect(loaded.low < 1.0 && 1.0 < loaded.high, "loaded range \(loaded)")
        #expect(abs(loaded.low - unloaded.low - Double(shift)) < 1e-6)
        // A sensor the state does not move keeps one range.
        #expect(model.normalRange(column: 2, row: [1, 1.0, 50]) == model.normalRange(column: 2, row: [0, 0.25, 50]))
    }

    @Test("a discharge temperature judged over the oil is quoted in readings: its range and judged mean move with the oil")
    func sensorOverReferenceIsQuotedInReadings() throws {
        var random = SplitMix64(seed: 4)
        func row(loaded: Bool, oil: Float) -> [Float] {
            let o = oil + 0.2 * Float(random.uniform(-1...1))
            return [loaded ? 1 : 0, o, o + (loaded ? 20 : 12) + 0.2 * Float(random.uniform(-1...1))]
        }
        var values: [Float] = []
        for r in 0..<900 { values += row(loaded: r % 60 < 30, oil: 80) }
        var settings = CalibrationSettings()
        settings.compensateStates = true
        // The window mean's quote is under test: in this quiet stretch every part is small, and
        // the single-row spike check's can be the larger (it then quotes a reading, no mean).
        settings.checkRowSpikes = false
        let (detector, report) = Calibrator(settings: settings)
            .calibrate(values: values[...], sensorNames: ["loaded", "oil_temperature", "discharge_temperature"])
        let reference = try #require(detector.overReference, "the discharge temperature is not judged over the oil: not the case under test")
        #expect(reference.sensor == 2 && reference.reference == 1)
        let model = MachineModel(path: "memory", file: DetectorFile(machine: "c", calibratedAt: "2026-11-29T00:00:00.000Z",
                                                                    detector: detector, report: report))

        // The oil 6 °C above calibration's: a discharge temperature 12 °C over it is its normal
        // rise, so its normal range is the calibrated one moved by the oil's 6 °C.
        let atCalibration = model.normalRange(column: 2, row: [0, 80, 92])
        let warmer = model.normalRange(column: 2, row: [0, 86, 98])
        #expect(atCalibration.low < 92 && 92 < atCalibration.high, "\(atCalibration)")
        #expect(abs(warmer.low - atCalibration.low - 6) < 0.01 && abs(warmer.high - atCalibration.high - 6) < 0.01,
                "range \(warmer) against \(atCalibration) at the calibration's oil")

        // The quote of a scored stretch: the mean judged is the discharge temperature's own
        // (about 98), inside the range expected of it. It is turned into readings with the oil's
        // last reading, so it carries that reading's noise (± 0.2) beside the window mean's;
        // quoted as judged (over the oil) it would read about 92.
        var scorer = model.makeScorer()
        for r in 0..<120 { _ = scorer.score(row: row(loaded: r % 60 < 30, oil: 80)) }
        var last: [Float] = []
        for _ in 0..<100 { last = row(loaded: false, oil: 86); _ = scorer.score(row: last) }
        let quote = try #require(model.quote(column: 2, scorer: scorer, row: last))
        let mean = try #require(quote.mean)
        #expect(abs(mean - 98) < 0.5, "judged mean \(mean) of readings about 98")
        #expect(quote.low < mean && mean < quote.high, "expected \(quote.low)…\(quote.high), mean \(mean)")
    }

    @Test("a summary gives a sensor the state moves the range of the state the period was mostly in, and says which", arguments: [0.8, 0.2])
    func summaryRangeFollowsTheState(loadedShare: Double) throws {
        let model = try Self.compressorModel()
        let loadedMostly = loadedShare >= 0.5
        // An hour of the compressor's readings, one a minute, loaded for `loadedShare` of them.
        let start = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
        let end = Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + 3_600_000)
        let minutes = 0..<60
        func samples(_ value: (Bool) -> Double) -> [Sample] {
            minutes.map { m in
                let loaded = Double(m) < loadedShare * 60
                return Sample(time: Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(m) * 60_000), value: value(loaded))
            }
        }
        var input = SummaryInput(machine: "c", start: start, end: end, pollIntervalMilliseconds: 60_000, sensors: [
            SensorSeries(name: "loaded", samples: samples { $0 ? 1 : 0 }),
            SensorSeries(name: "suction_pressure", unit: "bar", samples: samples { $0 ? 1.0 : 0.25 }),
            SensorSeries(name: "oil", unit: "°C", samples: samples { _ in 50 }),
        ])
        PeriodicSummaries.setNormalRanges(of: &input, from: model)

        let suction = input.sensors[1]
        // At the period's duty cycle (the compressor kind's duty prior): suction pressure's role
        // follows no duty (elasticity and band 0) but is allowed its 2 % tolerance at any duty.
        let duty = try #require(model.settledOperatingPoint(driver: loadedShare))
        let expected = model.normalRange(column: 1, stateOn: loadedMostly, at: duty)
        #expect(expected == model.normalRange(column: 1, stateOn: loadedMostly, at: try #require(model.settledOperatingPoint(driver: 0.5))))
        #expect(suction.normalLow == expected.low && suction.normalHigh == expected.high)
        #expect(suction.normalState == (loadedMostly ? "loaded = 1" : "loaded = 0"))
        let level = loadedMostly ? 1.0 : 0.25
        #expect(try #require(suction.normalLow) < level && level < (try #require(suction.normalHigh)))
        // A sensor the state does not move keeps its one range, without a state.
        #expect(input.sensors[2].normalState == nil)
        #expect(input.sensors[2].normalLow == model.normalLow[2] && input.sensors[2].normalHigh == model.normalHigh[2])

        // The files say which state the range belongs to.
        let statistics = SummaryStatistics(input)
        let state = loadedMostly ? "loaded = 1" : "loaded = 0"
        #expect(SummaryJSON.render(input, statistics: statistics).contains("\"normal_state\":\"\(state)\""))
        let csv = SummaryCSV.render(input, statistics: statistics).split(separator: "\n")
        #expect(csv[0].hasSuffix(",normal_high,normal_state"))
        #expect(csv[2].hasSuffix("," + state))
        #expect(csv[3].hasSuffix(","))
        #expect(SummaryHTML.render(input, statistics: statistics).contains("while \(state)"))
    }

    /// A compressor (loaded, suction_pressure, oil) calibrated on 600 rows switching state every 30
    /// rows, loaded suction pressure 1.0 bar, unloaded 0.25 bar.
    static func compressorModel() throws -> MachineModel {
        var random = SplitMix64(seed: 9)
        var values: [Float] = []
        for r in 0..<600 {
            let loaded = r % 60 < 30
            values += [loaded ? 1 : 0, (loaded ? 1.0 : 0.25) + 0.003 * Float(random.uniform(-1...1)), 50 + 0.2 * Float(random.uniform(-1...1))]
        }
        let (detector, report) = Calibrator().calibrate(values: values[...], sensorNames: ["loaded", "suction_pressure", "oil"])
        #expect(detector.state != nil)
        return MachineModel(path: "memory", file: DetectorFile(machine: "c", calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report))
    }
}
