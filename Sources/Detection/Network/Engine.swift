/// The float forward and backward passes of the compact network, written by hand.
///
/// Generic over the scalar so the same code runs in `Float` (training, float scoring) and in
/// `Double` (finite-difference gradient checks). Buffers are allocated once per sensor capacity
/// and reused: a forward pass allocates nothing.
///
/// Per sensor `i` (features `x_i`, slot embedding `s_i`):
///   `h_i = relu(W2 relu(W1 [x_i, s_i] + b1) + b2)`
///   `m_i = mean_{j≠i} h_j`, `M_i = max_{j≠i} h_j` (leave-one-out pooling; zeros when C = 1)
///   `p_i = W4 relu(W3 [m_i, M_i, s_i] + b3) + b4`, `e_i = mean_f (p_if - x_if)²`
///   `d_i = W6 relu(W5 [h_i, m_i, M_i, s_i] + b5) + b6`
///   `c_i = (ρ e_i + |d_i|) / C`, `score = Σ_i c_i` (ρ = `reconstructionWeight`, 1 unless set).
final class Engine<Scalar: BinaryFloatingPoint> {
    let layout: ParameterLayout
    private(set) var sensorCount = 0
    /// Weight of the prediction error in each sensor's contribution (see `Network.reconstructionScoreWeight`).
    var reconstructionWeight: Scalar = 1
    /// Whether the score is the largest sensor's `ρ e_i + |d_i|` instead of their mean (see
    /// `Network.scoresByLargestSensor`).
    var scoresByLargestSensor = false
    /// The sensor whose contribution was the score in the last forward pass (largest-sensor score).
    private(set) var largestSensor = 0

    // Forward state, sensor-major blocks, allocated once for the architecture's maximum sensor
    // count. `let` so the hot loops pay no dynamic exclusivity checks.
    let x: Buffer<Scalar>, u: Buffer<Scalar>, a1: Buffer<Scalar>, r1: Buffer<Scalar>
    let a2: Buffer<Scalar>, h: Buffer<Scalar>, m: Buffer<Scalar>, mx: Buffer<Scalar>
    let argMax: Buffer<Int32>, v: Buffer<Scalar>, a3: Buffer<Scalar>, r3: Buffer<Scalar>
    let p: Buffer<Scalar>, wIn: Buffer<Scalar>, a5: Buffer<Scalar>, r5: Buffer<Scalar>
    let d: Buffer<Scalar>, e: Buffer<Scalar>, contributions: Buffer<Scalar>
    let sum: Buffer<Scalar>, best1: Buffer<Scalar>, best2: Buffer<Scalar>, bestIndex: Buffer<Int32>
    // Backward scratch.
    let dh: Buffer<Scalar>, dm: Buffer<Scalar>, dmx: Buffer<Scalar>, dTemp: Buffer<Scalar>, dTemp2: Buffer<Scalar>
    // Feature scratch (always Float: features have no gradient).
    let features: Buffer<Float>, featureScratch: Buffer<Float>

    init(architecture: NetworkArchitecture) {
        let L = ParameterLayout(architecture)
        layout = L
        let c = L.maxSensors
        x = Buffer(c * L.f); u = Buffer(c * L.in1); a1 = Buffer(c * L.h1); r1 = Buffer(c * L.h1)
        a2 = Buffer(c * L.e); h = Buffer(c * L.e); m = Buffer(c * L.e); mx = Buffer(c * L.e); argMax = Buffer(c * L.e)
        v = Buffer(c * L.in3); a3 = Buffer(c * L.h3); r3 = Buffer(c * L.h3); p = Buffer(c * L.f)
        wIn = Buffer(c * L.in5); a5 = Buffer(c * L.h5); r5 = Buffer(c * L.h5)
        d = Buffer(c); e = Buffer(c); contributions = Buffer(c)
        sum = Buffer(L.e); best1 = Buffer(L.e); best2 = Buffer(L.e); bestIndex = Buffer(2 * L.e)
        dh = Buffer(c * L.e); dm = Buffer(c * L.e); dmx = Buffer(c * L.e)
        let widest = max(L.in1, L.in3, L.in5, L.h1, L.h3, L.h5, L.f, L.e)
        dTemp = Buffer(widest); dTemp2 = Buffer(widest)
        features = Buffer(c * L.f); featureScratch = Buffer(c * FeatureExtractor.scratchPerSensor)
    }

    deinit {
        for b in [x, u, a1, r1, a2, h, m, mx, v, a3, r3, p, wIn, a5, r5, d, e, contributions,
                  sum, best1, best2, dh, dm, dmx, dTemp, dTemp2] { b.free() }
        argMax.free(); bestIndex.free(); features.free(); featureScratch.free()
    }

    /// Sets the sensor count of the next pass (at most the architecture's maximum).
    func reserve(sensors c: Int) {
        precondition(c >= 1 && c <= layout.maxSensors, "sensor count outside 1...maximumSensorCount")
        sensorCount = c
    }

    /// Extracts the features of `window` (normalizing with `centers`/`inverseScales`) into `x`.
    func loadFeatures(of window: Window, centers: UnsafePointer<Float>, inverseScales: UnsafePointer<Float>) {
        reserve(sensors: window.sensorCount)
        window.values.withUnsafeBufferPointer { values in
            FeatureExtractor.extract(
                values: values.baseAddress!, timeSteps: window.timeSteps, sensorCount: window.sensorCount,
                centers: centers, inverseScales: inverseScales,
                scratch: featureScratch.pointer, into: features.pointer)
        }
        for i in 0..<(window.sensorCount * layout.f) { x[i] = Scalar(features[i]) }
    }

    /// The forward pass over the features in `x`; returns the score and fills `contributions`.
    @discardableResult
    func forward(_ P: UnsafePointer<Scalar>) -> Scalar {
        let L = layout
        let c = sensorCount
        for i in 0..<c {
            let ui = u.pointer + i * L.in1
            for k in 0..<L.f { ui[k] = x[i * L.f + k] }
            for k in 0..<L.s { ui[L.f + k] = P[L.slots + i * L.s + k] }
            dense(P + L.w1, P + L.b1, ui, L.in1, a1.pointer + i * L.h1, L.h1)
            relu(a1.pointer + i * L.h1, r1.pointer + i * L.h1, L.h1)
            dense(P + L.w2, P + L.b2, r1.pointer + i * L.h1, L.h1, a2.pointer + i * L.e, L.e)
            relu(a2.pointer + i * L.e, h.pointer + i * L.e, L.e)
        }
        pool()
        var score: Scalar = 0
        let inverseC = scoresByLargestSensor ? 1 : 1 / Scalar(c)
        largestSensor = 0
        for i in 0..<c {
            let vi = v.pointer + i * L.in3
            for k in 0..<L.e { vi[k] = m[i * L.e + k]; vi[L.e + k] = mx[i * L.e + k] }
            for k in 0..<L.s { vi[2 * L.e + k] = P[L.slots + i * L.s + k] }
            dense(P + L.w3, P + L.b3, vi, L.in3, a3.pointer + i * L.h3, L.h3)
            relu(a3.pointer + i * L.h3, r3.pointer + i * L.h3, L.h3)
            dense(P + L.w4, P + L.b4, r3.pointer + i * L.h3, L.h3, p.pointer + i * L.f, L.f)
            var err: Scalar = 0
            for f in 0..<L.f {
                let diff = p[i * L.f + f] - x[i * L.f + f]
                err += diff * diff
            }
            e[i] = err / Scalar(L.f)

            let wi = wIn.pointer + i * L.in5
            for k in 0..<L.e {
                wi[k] = h[i * L.e + k]; wi[L.e + k] = m[i * L.e + k]; wi[2 * L.e + k] = mx[i * L.e + k]
            }
            for k in 0..<L.s { wi[3 * L.e + k] = P[L.slots + i * L.s + k] }
            dense(P + L.w5, P + L.b5, wi, L.in5, a5.pointer + i * L.h5, L.h5)
            relu(a5.pointer + i * L.h5, r5.pointer + i * L.h5, L.h5)
            var out = P[L.b6]
            for j in 0..<L.h5 { out += P[L.w6 + j] * r5[i * L.h5 + j] }
            d[i] = out
            let ci = (reconstructionWeight * e[i] + abs(out)) * inverseC
            contributions[i] = ci
            if !scoresByLargestSensor {
                score += ci
            } else if i == 0 || ci > score {
                score = ci
                largestSensor = i
            }
        }
        return score
    }

    /// Leave-one-out mean and max of the embeddings `h` into `m` and `mx` (with arg-max).
    private func pool() {
        let L = layout
        let c = sensorCount
        guard c > 1 else {
            for k in 0..<(c * L.e) { m[k] = 0; mx[k] = 0; argMax[k] = -1 }
            return
        }
        for k in 0..<L.e {
            sum[k] = 0; best1[k] = -1; best2[k] = -1; bestIndex[k] = -1; bestIndex[L.e + k] = -1
        }
        for i in 0..<c {
            for k in 0..<L.e {
                let value = h[i * L.e + k]
                sum[k] += value
                if value > best1[k] {
                    best2[k] = best1[k]; bestIndex[L.e + k] = bestIndex[k]
                    best1[k] = value; bestIndex[k] = Int32(i)
                } else if value > best2[k] {
                    best2[k] = value; bestIndex[L.e + k] = Int32(i)
                }
            }
        }
        let inverse = 1 / Scalar(c - 1)
        for i in 0..<c {
            for k in 0..<L.e {
                let o = i * L.e + k
                m[o] = (sum[k] - h[o]) * inverse
                if bestIndex[k] == Int32(i) {
                    mx[o] = best2[k]; argMax[o] = bestIndex[L.e + k]
                } else {
                    mx[o] = best1[k]; argMax[o] = bestIndex[k]
                }
            }
        }
    }

    /// Back-propagates `dScore` (∂loss/∂score) through the last forward pass, adding the
    /// parameter gradient into `G` (which must hold `layout.count` values).
    func backward(_ P: UnsafePointer<Scalar>, dScore: Scalar, into G: UnsafeMutablePointer<Scalar>) {
        let L = layout
        let c = sensorCount
        for k in 0..<(c * L.e) { dh[k] = 0; dm[k] = 0; dmx[k] = 0 }
        let dp = dTemp.pointer, dHidden = dTemp2.pointer
        for i in 0..<c {
            // The largest-sensor score depends on that sensor's contribution only.
            if scoresByLargestSensor, i != largestSensor { continue }
            let dc = scoresByLargestSensor ? dScore : dScore / Scalar(c)
            // Decoder: e_i = mean_f (p - x)².
            for f in 0..<L.f { dp[f] = dc * reconstructionWeight * 2 * (p[i * L.f + f] - x[i * L.f + f]) / Scalar(L.f) }
            denseBackward(P + L.w4, input: r3.pointer + i * L.h3, inCount: L.h3, dOut: dp, outCount: L.f,
                          dW: G + L.w4, db: G + L.b4, dIn: dHidden)
            reluBackward(a3.pointer + i * L.h3, dHidden, L.h3)
            let dv = dp  // reuse: width in3 ≥ f is guaranteed by the allocation (widest).
            denseBackward(P + L.w3, input: v.pointer + i * L.in3, inCount: L.in3, dOut: dHidden, outCount: L.h3,
                          dW: G + L.w3, db: G + L.b3, dIn: dv)
            for k in 0..<L.e { dm[i * L.e + k] += dv[k]; dmx[i * L.e + k] += dv[L.e + k] }
            for k in 0..<L.s { G[L.slots + i * L.s + k] += dv[2 * L.e + k] }

            // Head: contribution |d_i|.
            let di = d[i]
            let dd: Scalar = di > 0 ? dc : (di < 0 ? -dc : 0)
            G[L.b6] += dd
            for j in 0..<L.h5 {
                G[L.w6 + j] += dd * r5[i * L.h5 + j]
                dHidden[j] = a5[i * L.h5 + j] > 0 ? P[L.w6 + j] * dd : 0
            }
            let dw = dp
            denseBackward(P + L.w5, input: wIn.pointer + i * L.in5, inCount: L.in5, dOut: dHidden, outCount: L.h5,
                          dW: G + L.w5, db: G + L.b5, dIn: dw)
            for k in 0..<L.e {
                dh[i * L.e + k] += dw[k]; dm[i * L.e + k] += dw[L.e + k]; dmx[i * L.e + k] += dw[2 * L.e + k]
            }
            for k in 0..<L.s { G[L.slots + i * L.s + k] += dw[3 * L.e + k] }
        }
        // Pooling.
        if c > 1 {
            let inverse = 1 / Scalar(c - 1)
            for k in 0..<L.e {
                var total: Scalar = 0
                for i in 0..<c { total += dm[i * L.e + k] }
                for j in 0..<c { dh[j * L.e + k] += (total - dm[j * L.e + k]) * inverse }
            }
            for o in 0..<(c * L.e) {
                let k = o % L.e
                dh[Int(argMax[o]) * L.e + k] += dmx[o]
            }
        }
        // Encoder.
        for i in 0..<c {
            let da2 = dHidden
            for k in 0..<L.e { da2[k] = a2[i * L.e + k] > 0 ? dh[i * L.e + k] : 0 }
            let dr1 = dp
            denseBackward(P + L.w2, input: r1.pointer + i * L.h1, inCount: L.h1, dOut: da2, outCount: L.e,
                          dW: G + L.w2, db: G + L.b2, dIn: dr1)
            reluBackward(a1.pointer + i * L.h1, dr1, L.h1)
            let du = dHidden
            denseBackward(P + L.w1, input: u.pointer + i * L.in1, inCount: L.in1, dOut: dr1, outCount: L.h1,
                          dW: G + L.w1, db: G + L.b1, dIn: du)
            for k in 0..<L.s { G[L.slots + i * L.s + k] += du[L.f + k] }
        }
    }

    @inline(__always)
    private func dense(_ W: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, _ input: UnsafePointer<Scalar>, _ n: Int,
                       _ out: UnsafeMutablePointer<Scalar>, _ outCount: Int) {
        for j in 0..<outCount {
            let row = W + j * n
            var acc = b[j]
            for k in 0..<n { acc += row[k] * input[k] }
            out[j] = acc
        }
    }

    @inline(__always)
    private func relu(_ a: UnsafePointer<Scalar>, _ r: UnsafeMutablePointer<Scalar>, _ n: Int) {
        for k in 0..<n { r[k] = a[k] > 0 ? a[k] : 0 }
    }

    @inline(__always)
    private func reluBackward(_ a: UnsafePointer<Scalar>, _ grad: UnsafeMutablePointer<Scalar>, _ n: Int) {
        for k in 0..<n where !(a[k] > 0) { grad[k] = 0 }
    }

    /// For `out = W in + b`: adds `dOut ⊗ in` to dW and `dOut` to db, and writes `Wᵀ dOut` to dIn.
    @inline(__always)
    private func denseBackward(_ W: UnsafePointer<Scalar>, input: UnsafePointer<Scalar>, inCount n: Int,
                               dOut: UnsafePointer<Scalar>, outCount: Int,
                               dW: UnsafeMutablePointer<Scalar>, db: UnsafeMutablePointer<Scalar>,
                               dIn: UnsafeMutablePointer<Scalar>) {
        for k in 0..<n { dIn[k] = 0 }
        for j in 0..<outCount {
            let g = dOut[j]
            db[j] += g
            let row = W + j * n
            let dRow = dW + j * n
            for k in 0..<n {
                dRow[k] += g * input[k]
                dIn[k] += row[k] * g
            }
        }
    }
}

/// A fixed-size, manually managed buffer of trivial values (no copy-on-write, no bounds checks in
/// release builds); its owner frees it in `deinit`.
struct Buffer<Element> {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    /// Allocates `count` elements, zero-filled (elements are plain numbers).
    init(_ count: Int) {
        self.count = count
        pointer = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
        UnsafeMutableRawPointer(pointer).initializeMemory(as: UInt8.self, repeating: 0,
                                                          count: max(count, 1) * MemoryLayout<Element>.stride)
    }

    func free() { pointer.deallocate() }

    subscript(_ i: Int) -> Element {
        @inline(__always) get { pointer[i] }
        @inline(__always) nonmutating set { pointer[i] = newValue }
    }
}
