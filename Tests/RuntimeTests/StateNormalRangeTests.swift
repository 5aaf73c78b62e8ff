import Detection
import EdgeCore
import Runtime
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
}
