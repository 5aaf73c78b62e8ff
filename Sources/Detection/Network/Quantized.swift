/// A fixed-point multiplier: `round(value × M)` computed as
/// `(Int64(value) × multiplier + 2^(shift-1)) >> shift` with `multiplier` a Q31 mantissa in
/// [2^30, 2^31) and `shift` the total right shift (TFLite / CMSIS-NN "single rounding").
public struct FixedPointMultiplier: Sendable, Hashable {
    /// The Q31 mantissa (0 when the real multiplier underflows).
    public let multiplier: Int32
    /// The total right shift, 1...62.
    public let shift: Int32

    /// Creates the multiplier closest to `real`; values outside [0, 2^30) (and NaN) are clamped
    /// into that range, so no input can trap.
    public init(_ real: Double) {
        let real = real.isNaN ? 0 : min(max(real, 0), 1_073_741_823)
        guard real > 0 else { multiplier = 0; shift = 1; return }
        // real = mantissa × 2^exponent with mantissa in [0.5, 1).
        var exponent = 0
        var mantissa = real
        while mantissa >= 1 { mantissa /= 2; exponent += 1 }
        while mantissa < 0.5 { mantissa *= 2; exponent -= 1 }
        var q = (mantissa * 2_147_483_648).rounded()
        if q == 2_147_483_648 { q /= 2; exponent += 1 }
        let total = 31 - exponent
        if total > 62 { multiplier = 0; shift = 1; return }
        multiplier = Int32(q)
        shift = Int32(max(total, 1))
    }

    /// Creates a multiplier from its stored parts (model files).
    init(multiplier: Int32, shift: Int32) {
        self.multiplier = multiplier
        self.shift = shift
    }

    /// The real value this multiplier stands for.
    public var realValue: Double { Double(multiplier) / Double(UInt64(1) << UInt64(shift)) }

    /// `round(value × M)` with ties toward +∞, in 64-bit arithmetic (no overflow for any Int32),
    /// saturated to the Int32 range: a multiplier above 1 can take the product past it, and a
    /// wrapped result would flip its sign before the int8 clamp.
    @inline(__always)
    public func apply(_ value: Int32) -> Int32 {
        let product = Int64(value) &* Int64(multiplier)
        let rounded = (product &+ (Int64(1) &<< Int64(shift &- 1))) &>> Int64(shift)
        return Int32(clamping: rounded)
    }
}

/// One dense layer in int8: weights symmetric per output channel, int32 biases, and either a
/// requantization to the next layer's int8 scale or a dequantization factor (output layers).
public struct QuantizedDenseLayer: Sendable, Hashable {
    /// Output channels.
    public let outputCount: Int
    /// Input channels.
    public let inputCount: Int
    /// Row-major int8 weights `[out][in]`, each row scaled to use ±127.
    public let weights: [Int8]
    /// Int32 biases in the accumulator's scale: `slotCount × outputCount` values (one row per
    /// sensor slot: the slot embedding's term is folded in) or `outputCount` values.
    public let biases: [Int32]
    /// Per output channel: accumulator → next int8 activation (empty for output layers).
    public let requantization: [FixedPointMultiplier]
    /// Per output channel: accumulator → real value (used by output layers).
    public let dequantization: [Float]
}

extension QuantizedNetwork {
    /// Equal when architecture, scales and layers are equal (the packed copy follows from them).
    public static func == (lhs: QuantizedNetwork, rhs: QuantizedNetwork) -> Bool {
        lhs.architecture == rhs.architecture && lhs.inputScales == rhs.inputScales
            && lhs.activationScales == rhs.activationScales && lhs.layers == rhs.layers
    }

    /// Hashes architecture, scales and layers.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(architecture)
        hasher.combine(inputScales)
        hasher.combine(activationScales)
        hasher.combine(layers)
    }
}

/// The compact network in int8: the inference path the runtime uses.
///
/// Features are computed in float (O(W·C)), quantized per feature channel, and every dense layer
/// then runs on int8 values with int32 accumulation and fixed-point requantization. The decoder's
/// and the head's last layers are dequantized so the per-sensor errors are formed in float.
public struct QuantizedNetwork: Sendable, Hashable {
    /// The float architecture this was quantized from.
    public let architecture: NetworkArchitecture
    /// Per feature channel: the real value of one int8 step.
    public let inputScales: [Float]
    /// Per channel, the real value of one uint8 step of: the encoder's hidden layer, the
    /// embedding, the leave-one-out mean of embeddings, the decoder's hidden layer and the head's
    /// hidden layer (five arrays).
    public let activationScales: [[Float]]
    /// Encoder (2), decoder (2) and head (2) layers.
    public let layers: [QuantizedDenseLayer]

    let inputInverseScales: [Float]
    /// `meanMultipliers[n × E + k]`: a sum of `n` embeddings' channel k → their mean (mean scale).
    let meanMultipliers: [FixedPointMultiplier]
    /// The same layers repacked for the fast kernels.
    let packed: PackedNetwork

    init(architecture: NetworkArchitecture, inputScales: [Float], activationScales: [[Float]], layers: [QuantizedDenseLayer]) {
        self.architecture = architecture
        self.inputScales = inputScales
        self.activationScales = activationScales
        self.layers = layers
        inputInverseScales = inputScales.map { 1 / $0 }
        let e = architecture.embeddingWidth
        meanMultipliers = (0...architecture.maximumSensorCount).flatMap { n in
            (0..<e).map { k in
                FixedPointMultiplier(n == 0 ? 0 : Double(activationScales[1][k]) / Double(activationScales[2][k]) / Double(n))
            }
        }
        packed = PackedNetwork(layers: layers, architecture: architecture, inputInverseScales: inputInverseScales,
                               meanMultipliers: meanMultipliers)
    }

    /// Bytes of int8 weights, int32 biases, multipliers and scales (the size of the int8 model).
    public var byteCount: Int {
        var n = 4 * (inputScales.count + activationScales.reduce(0) { $0 + $1.count })
        for layer in layers {
            n += layer.weights.count + 4 * layer.biases.count + 8 * layer.requantization.count + 4 * layer.dequantization.count
        }
        return n
    }

    /// Scores a raw window (normalized on the fly) with the int8 path, without allocating once
    /// the workspace has seen this sensor count; contributions stay in `workspace.contributions`.
    /// - Important: `window.sensorCount` must equal `normalization.sensorCount` and be at most
    ///   `architecture.maximumSensorCount`.
    public func score(_ window: Window, normalization: Normalization, workspace: ScoringWorkspace) -> Float {
        precondition(window.sensorCount == normalization.sensorCount, "window and normalization disagree on sensor count")
        precondition(window.sensorCount <= architecture.maximumSensorCount, "more sensors than the architecture's slots")
        return score(window, normalization: normalization, workspace: workspace, fast: true)
    }

    /// The straightforward (unpacked, scalar) int8 path; the fast path must match it bit for bit.
    func scoreReference(_ window: Window, normalization: Normalization, workspace: ScoringWorkspace) -> Float {
        score(window, normalization: normalization, workspace: workspace, fast: false)
    }

    private func score(_ window: Window, normalization: Normalization, workspace: ScoringWorkspace, fast: Bool) -> Float {
        let storage = workspace.quantizedStorage(for: architecture)
        let s = window.values.withUnsafeBufferPointer { values in
            normalization.centers.withUnsafeBufferPointer { centers in
                normalization.inverseScales.withUnsafeBufferPointer { inverse in
                    fast
                        ? runPacked(values: values.baseAddress!, timeSteps: window.timeSteps, sensorCount: window.sensorCount,
                                    centers: centers.baseAddress!, inverseScales: inverse.baseAddress!, storage: storage)
                        : run(values: values.baseAddress!, timeSteps: window.timeSteps, sensorCount: window.sensorCount,
                              centers: centers.baseAddress!, inverseScales: inverse.baseAddress!, storage: storage)
                }
            }
        }
        workspace.lastSensorCount = window.sensorCount
        workspace.lastContributionsFromFloat = false
        return s
    }

    /// Scores a normalized window with the int8 path (allocates a workspace; for tests and tools).
    public func score(_ window: Window) -> WindowScore {
        let workspace = ScoringWorkspace(architecture: architecture)
        let s = score(window, normalization: .identity(sensorCount: window.sensorCount), workspace: workspace)
        return WindowScore(score: s, contributions: workspace.contributions)
    }

    /// Scores a raw window with the int8 path (allocates a workspace; for tests and tools).
    public func score(_ window: Window, normalization: Normalization) -> WindowScore {
        let workspace = ScoringWorkspace(architecture: architecture)
        let s = score(window, normalization: normalization, workspace: workspace)
        return WindowScore(score: s, contributions: workspace.contributions)
    }

    private func run(values: UnsafePointer<Float>, timeSteps: Int, sensorCount c: Int,
                     centers: UnsafePointer<Float>, inverseScales: UnsafePointer<Float>,
                     storage S: QuantizedWorkspaceStorage) -> Float {
        let f = NetworkArchitecture.featureCount
        let h1 = architecture.encoderHiddenWidth, e = architecture.embeddingWidth
        let h3 = architecture.decoderHiddenWidth, h5 = architecture.headHiddenWidth
        FeatureExtractor.extract(values: values, timeSteps: timeSteps, sensorCount: c, centers: centers,
                                 inverseScales: inverseScales, scratch: S.featureScratch.pointer, into: S.features.pointer)
        inputInverseScales.withUnsafeBufferPointer { inv in
            for i in 0..<c {
                for k in 0..<f { S.xq[i * f + k] = roundToInt8(S.features[i * f + k] * inv[k]) }
            }
        }
        let L = layers
        // Encoder, per sensor.
        for i in 0..<c {
            L[0].forward(S.xq.pointer + i * f, slot: i, into: S.r1.pointer + i * h1)
            L[1].forward(S.r1.pointer + i * h1, slot: 0, into: S.h.pointer + i * e)
        }
        // Leave-one-out mean (requantized to its own scale) and max of the uint8 embeddings.
        let in3 = 2 * e, in5 = 3 * e
        if c > 1 {
            for k in 0..<e {
                let toMean = meanMultipliers[(c - 1) * e + k]
                var total: Int32 = 0, best1: UInt8 = 0, best2: UInt8 = 0, bestIndex = -1
                for i in 0..<c {
                    let value = S.h[i * e + k]
                    total &+= Int32(value)
                    if value > best1 { best2 = best1; best1 = value; bestIndex = i } else if value > best2 { best2 = value }
                }
                for i in 0..<c {
                    let own = S.h[i * e + k]
                    let q = toMean.apply(total &- Int32(own))
                    let mean = UInt8(min(max(q, 0), 255))
                    let maximum = i == bestIndex ? best2 : best1
                    S.v[i * in3 + k] = mean
                    S.v[i * in3 + e + k] = maximum
                    S.w[i * in5 + k] = own
                    S.w[i * in5 + e + k] = mean
                    S.w[i * in5 + 2 * e + k] = maximum
                }
            }
        } else {
            for k in 0..<e {
                S.v[k] = 0; S.v[e + k] = 0
                S.w[k] = S.h[k]; S.w[e + k] = 0; S.w[2 * e + k] = 0
            }
        }
        // Decoder and head, per sensor; errors in float.
        var score: Float = 0
        let inverseF = 1 / Float(f), inverseC = 1 / Float(c)
        for i in 0..<c {
            L[2].forward(S.v.pointer + i * in3, slot: i, into: S.r3.pointer + i * h3)
            L[3].forwardReal(S.r3.pointer + i * h3, into: S.prediction.pointer)
            var err: Float = 0
            for k in 0..<f {
                let diff = S.prediction[k] - S.features[i * f + k]
                err += diff * diff
            }
            L[4].forward(S.w.pointer + i * in5, slot: i, into: S.r5.pointer + i * h5)
            L[5].forwardReal(S.r5.pointer + i * h5, into: S.prediction.pointer + f)
            S.errors[i] = err * inverseF
            S.deviations[i] = S.prediction[f]
            let contribution = (err * inverseF + abs(S.prediction[f])) * inverseC
            S.contributions[i] = contribution
            score += contribution
        }
        return score
    }
}

/// Round to nearest (ties to even) and saturate to ±127, without a libm call.
@inline(__always)
func roundToInt8(_ x: Float) -> Int8 {
    let clamped = x > 127 ? 127 : (x < -127 ? -127 : x)
    // Adding and subtracting 1.5 × 2^23 rounds any |x| < 2^22 to an integer in the FPU.
    let rounded = (clamped + 12_582_912) - 12_582_912
    return Int8(rounded.isNaN ? 0 : rounded)
}

extension QuantizedDenseLayer {
    /// Hidden layer: int8 or uint8 inputs → ReLU → uint8 (0...255, i.e. int8 with zero point -128).
    @inline(__always)
    func forward<Input: FixedWidthInteger>(_ input: UnsafePointer<Input>, slot: Int, into out: UnsafeMutablePointer<UInt8>) {
        let n = inputCount
        weights.withUnsafeBufferPointer { W in
            biases.withUnsafeBufferPointer { B in
                requantization.withUnsafeBufferPointer { R in
                    let bias = B.baseAddress! + (B.count > outputCount ? slot * outputCount : 0)
                    for j in 0..<outputCount {
                        let row = W.baseAddress! + j * n
                        var acc: Int32 = 0
                        for k in 0..<n { acc &+= Int32(row[k]) &* Int32(truncatingIfNeeded: input[k]) }
                        let q = R[j].apply(acc &+ bias[j])
                        out[j] = UInt8(truncatingIfNeeded: q > 255 ? 255 : (q < 0 ? 0 : q))
                    }
                }
            }
        }
    }

    /// Output layer: uint8 inputs → real values.
    @inline(__always)
    func forwardReal(_ input: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<Float>) {
        let n = inputCount
        weights.withUnsafeBufferPointer { W in
            biases.withUnsafeBufferPointer { B in
                dequantization.withUnsafeBufferPointer { D in
                    for j in 0..<outputCount {
                        let row = W.baseAddress! + j * n
                        var acc: Int32 = B[j]
                        for k in 0..<n { acc &+= Int32(row[k]) &* Int32(input[k]) }
                        out[j] = Float(acc) * D[j]
                    }
                }
            }
        }
    }
}

/// Scratch for int8 scoring, kept in a `ScoringWorkspace`.
final class QuantizedWorkspaceStorage {
    let architecture: NetworkArchitecture
    // Allocated once for the architecture's maximum sensor count; `let` so the hot loops pay no
    // dynamic exclusivity checks.
    let features: Buffer<Float>, featureScratch: Buffer<Float>, contributions: Buffer<Float>
    let prediction: Buffer<Float>, errors: Buffer<Float>, deviations: Buffer<Float>
    let xq: Buffer<Int8>, r1: Buffer<UInt8>, h: Buffer<UInt8>, v: Buffer<UInt8>, w: Buffer<UInt8>
    let r3: Buffer<UInt8>, r5: Buffer<UInt8>
    // The fast path: per sensor `[m_i, h_i]` in int16 lanes, one sensor's layer inputs and
    // outputs, pooling statistics, the max parts and which sensors need their own max part.
    let context: Buffer<Int16>, inputs: Buffer<Int16>, hidden: Buffer<Int16>
    let total: Buffer<Int32>, best1: Buffer<Int16>, best2: Buffer<Int16>, bestIndex: Buffer<Int16>
    let shared3: Buffer<Int32>, shared5: Buffer<Int32>, offset3: Buffer<Int32>, offset5: Buffer<Int32>
    let flags: Buffer<UInt8>

    init(architecture a: NetworkArchitecture) {
        architecture = a
        let c = a.maximumSensorCount, f = NetworkArchitecture.featureCount
        features = Buffer(c * f); featureScratch = Buffer(c * FeatureExtractor.scratchPerSensor); contributions = Buffer(c)
        prediction = Buffer(padded(f) + padded(1)); errors = Buffer(c); deviations = Buffer(c)
        xq = Buffer(c * f); r1 = Buffer(c * a.encoderHiddenWidth); h = Buffer(c * a.embeddingWidth)
        v = Buffer(c * 2 * a.embeddingWidth); w = Buffer(c * 3 * a.embeddingWidth)
        r3 = Buffer(c * a.decoderHiddenWidth); r5 = Buffer(c * a.headHiddenWidth)
        let ep = padded(a.embeddingWidth)
        let widest = padded(max(a.encoderHiddenWidth, a.decoderHiddenWidth, a.headHiddenWidth, 2 * a.embeddingWidth, f))
        context = Buffer(c * 2 * ep); inputs = Buffer(widest); hidden = Buffer(widest)
        total = Buffer(ep); best1 = Buffer(ep); best2 = Buffer(ep); bestIndex = Buffer(ep)
        shared3 = Buffer(padded(a.decoderHiddenWidth)); offset3 = Buffer(padded(a.decoderHiddenWidth))
        shared5 = Buffer(padded(a.headHiddenWidth)); offset5 = Buffer(padded(a.headHiddenWidth))
        flags = Buffer(c)
    }

    deinit {
        for b in [features, featureScratch, contributions, prediction, errors, deviations] { b.free() }
        xq.free()
        for b in [r1, h, v, w, r3, r5, flags] { b.free() }
        for b in [context, inputs, hidden, best1, best2, bestIndex] { b.free() }
        for b in [total, shared3, shared5, offset3, offset5] { b.free() }
    }

    func contributions(count: Int) -> [Float] { (0..<count).map { contributions[$0] } }
}

extension ScoringWorkspace {
    func quantizedStorage(for architecture: NetworkArchitecture) -> QuantizedWorkspaceStorage {
        if let quantized, quantized.architecture == architecture { return quantized }
        let fresh = QuantizedWorkspaceStorage(architecture: architecture)
        quantized = fresh
        return fresh
    }
}

extension Network {
    /// Post-training quantization to int8, with activation ranges taken from `calibrationWindows`
    /// (normalized windows of normal operation; the more varied, the better).
    ///
    /// Weights: symmetric int8 per output channel (scale = max |w| / 127). Input features: one
    /// scale per feature channel (1.5 × max |x| / 127), folded into the first layer's weights.
    /// Activations: ReLU outputs in uint8 0...255 (int8 with zero point -128), one scale per
    /// tensor (max over the calibration windows / 255; stored per channel, folded into the next
    /// layer's weight columns); the leave-one-out mean of embeddings has its own scale, reached
    /// from the int32 sum by a fixed-point multiplier per sensor count. Biases: int32 in the accumulator's scale, with each sensor slot's embedding
    /// term folded in. Requantization: Q31 multiplier and right shift, rounding half up.
    /// - Throws: `NetworkError.noCalibrationData` when `calibrationWindows` is empty.
    public func quantize(calibrationWindows: [Window]) throws -> QuantizedNetwork {
        guard let first = calibrationWindows.first else {
            throw NetworkError(.noCalibrationData, "quantization needs at least one calibration window of normal operation")
        }
        _ = first
        let L = ParameterLayout(architecture)
        let P = parameters
        // 1. Activation ranges from the float forward pass.
        var inputMax = [Float](repeating: 0, count: L.f)
        var r1Max = [Float](repeating: 0, count: L.h1), hMax = [Float](repeating: 0, count: L.e)
        var mMax = [Float](repeating: 0, count: L.e), r3Max = [Float](repeating: 0, count: L.h3)
        var r5Max = [Float](repeating: 0, count: L.h5)
        let engine = Engine<Float>(architecture: architecture)
        for window in calibrationWindows {
            precondition(window.sensorCount <= architecture.maximumSensorCount, "more sensors than the architecture's slots")
            let c = window.sensorCount
            let zeros = [Float](repeating: 0, count: c), ones = [Float](repeating: 1, count: c)
            zeros.withUnsafeBufferPointer { z in
                ones.withUnsafeBufferPointer { o in engine.loadFeatures(of: window, centers: z.baseAddress!, inverseScales: o.baseAddress!) }
            }
            P.withUnsafeBufferPointer { _ = engine.forward($0.baseAddress!) }
            for i in 0..<c {
                for k in 0..<L.f { inputMax[k] = max(inputMax[k], abs(engine.x[i * L.f + k])) }
                for k in 0..<L.h1 { r1Max[k] = max(r1Max[k], engine.r1[i * L.h1 + k]) }
                for k in 0..<L.e { hMax[k] = max(hMax[k], engine.h[i * L.e + k]); mMax[k] = max(mMax[k], engine.m[i * L.e + k]) }
                for k in 0..<L.h3 { r3Max[k] = max(r3Max[k], engine.r3[i * L.h3 + k]) }
                for k in 0..<L.h5 { r5Max[k] = max(r5Max[k], engine.r5[i * L.h5 + k]) }
            }
        }
        // Inputs get 1.5× headroom: features of drifting but normal operation leave the
        // calibration range first, and input saturation was the largest int8-vs-float error.
        let inputScales = inputMax.map { max($0, 1e-6) * 1.5 / 127 }
        // One step per tensor (every channel gets the tensor's max): per-channel steps were no
        // more accurate on held-out data and saturate more often when operation drifts.
        func steps(_ channelMax: [Float]) -> [Float] {
            let tensorMax = max(channelMax.max() ?? 0, 1e-6)
            return channelMax.map { _ in tensorMax / 255 }
        }
        let s1 = steps(r1Max), sh = steps(hMax), sm = steps(mMax), s3 = steps(r3Max), s5 = steps(r5Max)

        // 2. Layers. `columnScale[k]` is the real value of one int8 step of input k.
        func layer(weightsAt w: Int, biasAt b: Int, outputs: Int, inputs: Int, stride: Int,
                   columnScale: (Int) -> Float, outputScale: [Float]?,
                   slotColumns: Int = 0) -> QuantizedDenseLayer {
            var q = [Int8](repeating: 0, count: outputs * inputs)
            var weightScales = [Float](repeating: 0, count: outputs)
            for j in 0..<outputs {
                var m: Float = 0
                for k in 0..<inputs { m = max(m, abs(P[w + j * stride + k] * columnScale(k))) }
                let scale = max(m, 1e-12) / 127
                weightScales[j] = scale
                for k in 0..<inputs { q[j * inputs + k] = roundToInt8(P[w + j * stride + k] * columnScale(k) / scale) }
            }
            // Biases, per slot when the layer reads the slot embedding.
            let rows = slotColumns > 0 ? L.maxSensors : 1
            var biases = [Int32](repeating: 0, count: rows * outputs)
            for r in 0..<rows {
                for j in 0..<outputs {
                    var real = Double(P[b + j])
                    for k in 0..<slotColumns {
                        real += Double(P[w + j * stride + inputs + k]) * Double(P[L.slots + r * L.s + k])
                    }
                    let value = (real / Double(weightScales[j])).rounded()
                    biases[r * outputs + j] = Int32(max(-2_000_000_000, min(2_000_000_000, value)))
                }
            }
            let requant = outputScale.map { out in (0..<outputs).map { FixedPointMultiplier(Double(weightScales[$0]) / Double(out[$0])) } } ?? []
            return QuantizedDenseLayer(
                outputCount: outputs, inputCount: inputs, weights: q, biases: biases,
                requantization: requant, dequantization: outputScale == nil ? weightScales : [])
        }
        let layers = [
            layer(weightsAt: L.w1, biasAt: L.b1, outputs: L.h1, inputs: L.f, stride: L.in1,
                  columnScale: { inputScales[$0] }, outputScale: s1, slotColumns: L.s),
            layer(weightsAt: L.w2, biasAt: L.b2, outputs: L.e, inputs: L.h1, stride: L.h1,
                  columnScale: { s1[$0] }, outputScale: sh),
            layer(weightsAt: L.w3, biasAt: L.b3, outputs: L.h3, inputs: 2 * L.e, stride: L.in3,
                  columnScale: { $0 < L.e ? sm[$0] : sh[$0 - L.e] }, outputScale: s3, slotColumns: L.s),
            layer(weightsAt: L.w4, biasAt: L.b4, outputs: L.f, inputs: L.h3, stride: L.h3,
                  columnScale: { s3[$0] }, outputScale: nil),
            layer(weightsAt: L.w5, biasAt: L.b5, outputs: L.h5, inputs: 3 * L.e, stride: L.in5,
                  columnScale: { $0 < L.e ? sh[$0] : ($0 < 2 * L.e ? sm[$0 - L.e] : sh[$0 - 2 * L.e]) },
                  outputScale: s5, slotColumns: L.s),
            layer(weightsAt: L.w6, biasAt: L.b6, outputs: 1, inputs: L.h5, stride: L.h5,
                  columnScale: { s5[$0] }, outputScale: nil),
        ]
        return QuantizedNetwork(architecture: architecture, inputScales: inputScales,
                                activationScales: [s1, sh, sm, s3, s5], layers: layers)
    }

    /// Quantizes with calibration windows given raw, normalizing them with `normalization`.
    public func quantize(calibrationWindows: [Window], normalization: Normalization) throws -> QuantizedNetwork {
        try quantize(calibrationWindows: calibrationWindows.map { normalization.normalize($0) })
    }
}
