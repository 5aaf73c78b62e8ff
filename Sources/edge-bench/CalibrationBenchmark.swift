import Detection
import EdgeCore

/// `edge-bench calibration [ROWS] [SENSORS]`: time to calibrate one machine (window-deviation
/// baseline, few-shot adaptation of the shipped meta-initialization, int8 quantization,
/// thresholds) from ROWS rows (default 400) of SENSORS sensors (default 8). Target: < 2 s.
func calibrationBenchmark(_ args: [String]) throws -> Int32 {
    let rows = args.count > 0 ? Int(args[0]) ?? 400 : 400
    let sensors = args.count > 1 ? Int(args[1]) ?? 8 : 8
    var state: UInt64 = 12345
    func noise() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24) - 0.5
    }
    var values: [Float] = []
    for r in 0..<rows {
        let load = Float(r % 97) / 97
        for s in 0..<sensors { values.append(Float(10 * (s + 1)) + Float(s + 1) * load + 0.2 * noise()) }
    }
    var settings = CalibrationSettings()
    if let meta = MetaInitialization.shipped { settings.network = NetworkCalibration(initialization: meta) }
    let names = (0..<sensors).map { "s\($0)" }
    var best = Double.infinity
    for _ in 0..<3 {
        let start = SystemClock.monotonicNanoseconds()
        let outcome = Calibrator(settings: settings).calibrate(values: values[...], sensorNames: names)
        let seconds = Double(SystemClock.monotonicNanoseconds() - start) / 1e9
        best = min(best, seconds)
        precondition(outcome.detector.threshold.isFinite)
    }
    print("calibration: \(rows) rows × \(sensors) sensors, best of 3: \(EvaluationText.fixed(best * 1000, 1)) ms (target < 2000 ms)\(MetaInitialization.shipped == nil ? " [no network]" : " [with network adaptation + int8]")")
    return best < 2 ? 0 : 1
}
