// `edge-bench scoring [--quick] [--repeats N]`: time to score one window (32 steps) with the
// int8 network and with the float32 network (same model, same binary, same windows), for 4, 8,
// 16 and 64 sensors (or `--sensors C`); median and spread over repeats of the calling thread's
// CPU time (so preemption on a shared machine does not count); and the int8 model's size.
import Detection
import EdgeCore

#if canImport(Glibc)
import Glibc
#endif

func scoringBenchmark(_ args: [String]) throws -> Int32 {
    var repeats = 31
    var windowsPerRepeat = 2_000
    var sensorCounts = [4, 8, 16, 64]
    var i = 0
    while i < args.count {
        switch args[i] {
        case "--quick": repeats = 9; windowsPerRepeat = 500
        case "--repeats": i += 1; repeats = max(1, Int(args[i]) ?? repeats)
        case "--windows": i += 1; windowsPerRepeat = max(1, Int(args[i]) ?? windowsPerRepeat)
        case "--sensors": i += 1; sensorCounts = [max(1, min(64, Int(args[i]) ?? 8))]
        default:
            printToStandardError("usage: edge-bench scoring [--quick] [--repeats N] [--windows N] [--sensors C]")
            return 2
        }
        i += 1
    }
    let timeSteps = 32
    print("scoring: thread CPU ns per window of \(timeSteps) steps, \(repeats) repeats × \(windowsPerRepeat) windows (median [min–max])")
    print("sensors  float32 ns/window          int8 ns/window             float32/int8")
    var sink: Float = 0
    for sensors in sensorCounts {
        let (network, normalization, windows) = try benchModel(sensors: sensors, timeSteps: timeSteps)
        let quantized = try network.quantize(calibrationWindows: windows, normalization: normalization)
        let workspace = ScoringWorkspace()
        // Warm up both paths (workspace buffers grow on first use).
        for w in windows.prefix(8) {
            sink += network.score(w, normalization: normalization, workspace: workspace)
            sink += quantized.score(w, normalization: normalization, workspace: workspace)
        }
        var floatTimes = [Double](), int8Times = [Double](), ratios = [Double]()
        for _ in 0..<repeats {
            // Alternate the two paths so that load on the machine affects both alike.
            var start = threadCPUNanoseconds()
            for n in 0..<windowsPerRepeat { sink += network.score(windows[n % windows.count], normalization: normalization, workspace: workspace) }
            let f = Double(threadCPUNanoseconds() - start) / Double(windowsPerRepeat)
            start = threadCPUNanoseconds()
            for n in 0..<windowsPerRepeat { sink += quantized.score(windows[n % windows.count], normalization: normalization, workspace: workspace) }
            let q = Double(threadCPUNanoseconds() - start) / Double(windowsPerRepeat)
            floatTimes.append(f)
            int8Times.append(q)
            ratios.append(f / q)
        }
        func summary(_ xs: [Double]) -> String {
            let s = xs.sorted()
            return "\(format(s[s.count / 2])) [\(format(s.first!))–\(format(s.last!))]"
        }
        print("\(pad(String(sensors), 7))  \(pad(summary(floatTimes), 25))  \(pad(summary(int8Times), 25))  \(format(ratios.sorted()[ratios.count / 2], decimals: 2))×")
    }
    // Size of the int8 model for 8 sensors: the model file without and with the float weights.
    let (network, normalization, windows) = try benchModel(sensors: 8, timeSteps: timeSteps)
    let quantized = try network.quantize(calibrationWindows: windows, normalization: normalization)
    let metadata = ModelMetadata(machineID: "bench", sensorNames: (1...8).map { "s\($0)" }, timeSteps: timeSteps,
                                 calibrationWindowCount: windows.count, createdAt: Timestamp(millisecondsSinceEpoch: 0))
    let slim = NetworkModel(metadata: metadata, normalization: normalization, threshold: 1, quantized: quantized)
    let full = NetworkModel(metadata: metadata, normalization: normalization, threshold: 1, quantized: quantized, network: network)
    print("int8 model, 8 sensors: \(slim.encoded().count) bytes as a file (int8 weights, int32 biases, scales: \(quantized.byteCount) bytes); with float weights for re-adaptation: \(full.encoded().count) bytes")
    if sink.isNaN { print("(checksum NaN)") }
    return 0
}

/// A network trained briefly on a simulated machine, its normalization and 256 distinct windows.
private func benchModel(sensors: Int, timeSteps: Int) throws -> (Network, Normalization, [Window]) {
    var rng = SeededGenerator(seed: UInt64(sensors))
    let gains = (0..<sensors).map { _ in rng.uniform(-3...3) }
    let offsets = (0..<sensors).map { _ in rng.uniform(-50...50) }
    var load: Float = 0
    var rows = [[Float]]()
    for t in 0..<(timeSteps + 255 * 2) {
        load = 0.98 * load + 0.2 * rng.nextGaussian()
        let level = load + Float(t % 200) / 100
        rows.append((0..<sensors).map { offsets[$0] + gains[$0] * level + 0.1 * rng.nextGaussian() })
    }
    let windows = (0..<256).map { Window(rows: Array(rows[($0 * 2)..<($0 * 2 + timeSteps)])) }
    let normalization = Normalization(fitting: windows)
    var network = Network(seed: 1)
    var adam = Adam(learningRate: 3e-3)
    let examples = windows.map { TrainingExample(window: normalization.normalize($0), label: .normal) }
    for step in 0..<30 {
        let batch = (0..<16).map { examples[(step * 16 + $0 * 7) % examples.count] }
        network.train(on: batch, lossFunction: .oneClass, optimizer: &adam)
    }
    return (network, normalization, windows)
}

private func format(_ x: Double, decimals: Int = 0) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let r = (x * scale).rounded() / scale
    if decimals == 0 { return String(Int(r)) }
    let whole = Int(r), fraction = Int(((r - Double(whole)) * scale).rounded())
    let digits = String(fraction)
    return "\(whole).\(String(repeating: "0", count: max(0, decimals - digits.count)))\(digits)"
}

private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

/// CPU time of the calling thread: time while the thread was preempted (the machine is shared)
/// does not count, unlike wall-clock time.
private func threadCPUNanoseconds() -> UInt64 {
    var t = timespec()
    guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0 else { return 0 }
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}
