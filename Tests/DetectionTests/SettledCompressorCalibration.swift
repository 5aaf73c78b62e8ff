@testable import Detection
import Simulator

/// A simulated compressor (plant-driven operation off) settled at one load and calibrated on its
/// next rows with the shipped settings for its kind, ready to run on at other loads.
struct SettledCompressorCalibration {
    /// The machine, positioned after its calibration rows.
    var sim: SimulatedMachine
    /// The detector calibrated on those rows.
    let detector: MachineDetector
    /// The channels' names, in column order.
    var names: [String] { sim.channels.map(\.name) }

    /// Settles compressor `seed` at `load`, then calibrates on its next `rows` rows polled every
    /// `stepMilliseconds`; `configure` adjusts the calibration settings beyond the kind and poll.
    init(seed: UInt64, stepMilliseconds: Int64, load: Double, rows: Int,
         configure: (inout CalibrationSettings) -> Void = { _ in }) {
        var options = MachineOptions()
        options.stepMilliseconds = stepMilliseconds
        options.automaticOperation = false
        sim = SimulatedMachine(kind: .compressor, id: "compressor-1", seed: seed, options: options)
        sim.setOperatingPoint(running: true, load: load)
        sim.settle()
        var row: [Double] = [], calibration: [Float] = []
        for _ in 0..<rows {
            _ = sim.step(into: &row)
            calibration += row.map(Float.init)
        }
        var settings = CalibrationSettings()
        settings.secondsPerRow = Float(stepMilliseconds) / 1000
        settings.machineKind = "compressor"
        configure(&settings)
        detector = Calibrator(settings: settings).calibrate(values: calibration[...], sensorNames: sim.channels.map(\.name)).detector
    }
}
