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
        let inverseW = 1 / Float(w)
        // Four sensors at a time in SIMD lanes (rows are contiguous in the time-major window);
        // every lane does exactly the scalar arithmetic, in the same order.
        var s0 = 0
        while s0 < c {
            let lanes = min(4, c - s0)
            @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
                if lanes == 4 { return UnsafeRawPointer(p + s0).loadUnaligned(as: SIMD4<Float>.self) }
                var v = SIMD4<Float>(repeating: 0)
                for l in 0..<lanes { v[l] = p[s0 + l] }
                return v
            }
            let center = load(centers), inverse = load(inverseScales)
            var z = (load(values) - center) * inverse
            var vSum = z, vTrend = -tMean * z, vHigh = z, vLow = z
            var vRough = SIMD4<Float>(repeating: 0)
            var vRecent = recentStart == 0 ? z : SIMD4<Float>(repeating: 0)
            var t = 1
            while t < w {
                let zp = z
                z = (load(values + t * c) - center) * inverse
                vSum += z
                vTrend += (Float(t) - tMean) * z
                vHigh = vHigh.replacing(with: z, where: z .> vHigh)
                vLow = vLow.replacing(with: z, where: z .< vLow)
                let step = z - zp
                vRough += step.replacing(with: -step, where: step .< 0)
                if t >= recentStart { vRecent += z }
                t += 1
            }
            let mean = vSum * inverseW
            var vSpread = SIMD4<Float>(repeating: 0)
            t = 0
            while t < w {
                let dz = (load(values + t * c) - center) * inverse - mean
                vSpread += dz * dz
                t += 1
            }
            for l in 0..<lanes {
                sum[s0 + l] = mean[l]; trend[s0 + l] = vTrend[l]; high[s0 + l] = vHigh[l]; low[s0 + l] = vLow[l]
                rough[s0 + l] = vRough[l]; recent[s0 + l] = vRecent[l]; spread[s0 + l] = vSpread[l]
            }
            s0 += 4
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
