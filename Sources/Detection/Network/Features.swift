/// The per-sensor summary features the network reads, computed in O(W·C) from a window.
///
/// For sensor `i` with normalized series `z[0..<W]` the 8 features are: the last value, the mean
/// of the last 4 values, the window mean, the standard deviation, the least-squares slope times
/// `W - 1` (the trend's change over the window), the mean absolute step `|z[t] - z[t-1]|`
/// (roughness: noise bursts, stuck sensors), the maximum and the minimum. Each is clipped to
/// ±`FeatureExtractor.limit`; a non-finite feature becomes 0.
enum FeatureExtractor {
    /// Steps averaged by the "recent level" feature.
    static let recentSteps = 4
    /// Features are clipped to ±limit so one absurd reading cannot overflow a score.
    static let limit: Float = 64
    /// Scratch floats needed per sensor.
    static let scratchPerSensor = 7

    /// Writes `sensorCount × featureCount` features (sensor-major) into `out`.
    ///
    /// Readings are normalized on the fly: `z = (value - centers[c]) * inverseScales[c]`.
    /// `scratch` must hold `scratchPerSensor × sensorCount` floats. Allocates nothing.
    @inline(__always)
    static func extract(
        values: UnsafePointer<Float>, timeSteps w: Int, sensorCount c: Int,
        centers: UnsafePointer<Float>, inverseScales: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        let sum = scratch
        let trend = scratch + c
        let high = scratch + 2 * c
        let low = scratch + 3 * c
        let rough = scratch + 4 * c
        let recent = scratch + 5 * c
        let spread = scratch + 6 * c
        let tMean = Float(w - 1) * 0.5
        let recentStart = w - min(recentSteps, w)
        // Row 0 initializes the accumulators.
        for s in 0..<c {
            let z = (values[s] - centers[s]) * inverseScales[s]
            sum[s] = z
            trend[s] = -tMean * z
            high[s] = z
            low[s] = z
            rough[s] = 0
            recent[s] = recentStart == 0 ? z : 0
        }
        var t = 1
        while t < w {
            let row = values + t * c
            let previous = row - c
            let dt = Float(t) - tMean
            let inRecent: Float = t >= recentStart ? 1 : 0
            for s in 0..<c {
                let z = (row[s] - centers[s]) * inverseScales[s]
                let zp = (previous[s] - centers[s]) * inverseScales[s]
                sum[s] += z
                trend[s] += dt * z
                high[s] = z > high[s] ? z : high[s]
                low[s] = z < low[s] ? z : low[s]
                rough[s] += abs(z - zp)
                recent[s] += inRecent * z
            }
            t += 1
        }
        let inverseW = 1 / Float(w)
        for s in 0..<c { sum[s] *= inverseW; spread[s] = 0 }
        t = 0
        while t < w {
            let row = values + t * c
            for s in 0..<c {
                let d = (row[s] - centers[s]) * inverseScales[s] - sum[s]
                spread[s] += d * d
            }
            t += 1
        }
        // Σ (t - t̄)² = W (W² - 1) / 12.
        let wf = Float(w)
        let slopeScale = (wf - 1) * 12 / (wf * (wf * wf - 1))
        let inverseRecent = 1 / Float(w - recentStart)
        let inverseSteps = 1 / Float(w - 1)
        let last = values + (w - 1) * c
        let f = NetworkArchitecture.featureCount
        for s in 0..<c {
            let o = out + s * f
            o[0] = clip((last[s] - centers[s]) * inverseScales[s])
            o[1] = clip(recent[s] * inverseRecent)
            o[2] = clip(sum[s])
            o[3] = clip((spread[s] * inverseW).squareRoot())
            o[4] = clip(trend[s] * slopeScale)
            o[5] = clip(rough[s] * inverseSteps)
            o[6] = clip(high[s])
            o[7] = clip(low[s])
        }
    }

    @inline(__always)
    static func clip(_ x: Float) -> Float {
        if x.isNaN { return 0 }
        return x > limit ? limit : (x < -limit ? -limit : x)
    }

    /// Features of a window as an array (sensor-major), for tests and quantization calibration.
    static func features(of window: Window, normalization: Normalization? = nil) -> [Float] {
        let c = window.sensorCount
        let norm = normalization ?? .identity(sensorCount: c)
        let inverse = norm.scales.map { 1 / $0 }
        var out = [Float](repeating: 0, count: c * NetworkArchitecture.featureCount)
        var scratch = [Float](repeating: 0, count: c * scratchPerSensor)
        window.values.withUnsafeBufferPointer { v in
            norm.centers.withUnsafeBufferPointer { centers in
                inverse.withUnsafeBufferPointer { inv in
                    scratch.withUnsafeMutableBufferPointer { sc in
                        out.withUnsafeMutableBufferPointer { o in
                            extract(values: v.baseAddress!, timeSteps: window.timeSteps, sensorCount: c,
                                    centers: centers.baseAddress!, inverseScales: inv.baseAddress!,
                                    scratch: sc.baseAddress!, into: o.baseAddress!)
                        }
                    }
                }
            }
        }
        return out
    }
}
