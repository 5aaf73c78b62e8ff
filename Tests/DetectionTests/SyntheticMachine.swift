import Foundation
@testable import Detection

/// A deterministic toy machine for tests: every sensor follows a shared load (a slow sinusoid
/// plus a random walk) with its own gain, offset and noise, so sensors are correlated.
struct SyntheticMachine {
    let sensorCount: Int
    let gains: [Float]
    let offsets: [Float]
    let noise: [Float]

    init(sensorCount: Int, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.sensorCount = sensorCount
        gains = (0..<sensorCount).map { k in (k % 3 == 2 ? -1 : 1) * rng.uniform(0.5...3) }
        offsets = (0..<sensorCount).map { _ in rng.uniform(-50...50) }
        noise = (0..<sensorCount).map { _ in rng.uniform(0.05...0.3) }
    }

    /// `rows` consecutive time-major rows of raw readings.
    func series(rows: Int, seed: UInt64) -> [[Float]] {
        var rng = SeededGenerator(seed: seed)
        var walk: Float = 0
        var out = [[Float]]()
        for t in 0..<rows {
            walk = 0.98 * walk + 0.2 * rng.nextGaussian()
            let load = Float(sin(Double(t) * 0.05)) + walk
            out.append((0..<sensorCount).map { k in offsets[k] + gains[k] * load + noise[k] * rng.nextGaussian() })
        }
        return out
    }

    /// Sliding windows (stride `stride`) over a fresh series.
    func windows(count: Int, timeSteps: Int = 32, stride: Int = 4, seed: UInt64) -> [Window] {
        let rows = series(rows: timeSteps + stride * (count - 1), seed: seed)
        return (0..<count).map { n in Window(rows: Array(rows[(n * stride)..<(n * stride + timeSteps)])) }
    }
}
