/// The int8 network repacked for the fast scoring path; built once per `QuantizedNetwork`.
///
/// - Weights are widened to 16 bits and interleaved by input pairs: for a chunk of 8 outputs
///   and input pair `p`, the 16 values `w[j][2p], w[j][2p + 1]` (j in the chunk), so that one
///   SSE2 `pmaddwd` (baseline x86-64) multiplies a broadcast input pair by the weight pairs of 4
///   outputs and adds the two products: 8 MACs per instruction. Values stay 8-bit (CMSIS-NN
///   widens q7 to q15 for its dual 16-bit MACs the same way); sums are int32.
/// - Every vector is padded to a multiple of 8 with zero weights and biases.
/// - The decoder's and the head's first layers are split by input block. The leave-one-out max
///   `M_i` equals the max over all sensors except at the channels where sensor i is the arg-max,
///   so `W_M · M_i = W_M · max + W_M · (M_i − max)`: the first product is computed once per
///   window, the second only for arg-max sensors (at most one per channel). Int32 sums wrap like
///   the reference's, so the accumulators are bit-for-bit the reference's.
/// - Requantization runs on 8 outputs at a time in double where that is exact (`Requantizer`).
///
/// `@unchecked Sendable`: the buffers are written only in `init` and read-only afterwards.
final class PackedNetwork: @unchecked Sendable {
    /// Encoder: features (int8) → hidden; hidden → embedding.
    let encoderInput: PackedLayer, encoderOutput: PackedLayer
    /// Decoder's first layer on the leave-one-out mean `m_i` (with slot biases), on the max part,
    /// and the decoder's output layer.
    let decoderContext: PackedLayer, decoderMaximum: PackedLayer, decoderOutput: PackedLayer
    /// Head's first layer on `[m_i, h_i]` (with slot biases), on the max part, and its output layer.
    let headContext: PackedLayer, headMaximum: PackedLayer, headOutput: PackedLayer
    /// `meanRequantizers[n]`: the sum of `n` embeddings → their mean, per channel.
    let meanRequantizers: [Requantizer]
    /// Per feature: 1 / input scale, padded to 8 lanes.
    let inputInverseScales: SIMD8<Float>
    /// Padded widths: embedding, encoder hidden, decoder hidden, head hidden.
    let embedding: Int, encoderHidden: Int, decoderHidden: Int, headHidden: Int
    /// Zeros, as wide as the widest padded layer (an offset that adds nothing).
    let zeros: UnsafeMutablePointer<Int32>
    private let arena: Arena

    init(layers L: [QuantizedDenseLayer], architecture a: NetworkArchitecture, inputInverseScales: [Float],
         meanMultipliers: [FixedPointMultiplier]) {
        precondition(NetworkArchitecture.featureCount == 8, "the fast path reads the 8 features as one vector")
        let arena = Arena()
        self.arena = arena
        let f = NetworkArchitecture.featureCount, e = a.embeddingWidth
        embedding = padded(e)
        encoderHidden = padded(a.encoderHiddenWidth)
        decoderHidden = padded(a.decoderHiddenWidth)
        headHidden = padded(a.headHiddenWidth)
        let ep = embedding
        // Source columns → packed input positions, per layer.
        encoderInput = PackedLayer(L[0], columns: [(0, f, 0)], inputs: padded(f), inputBound: 127, arena: arena)
        encoderOutput = PackedLayer(L[1], columns: [(0, L[1].inputCount, 0)], inputs: encoderHidden, arena: arena)
        decoderContext = PackedLayer(L[2], columns: [(0, e, 0)], inputs: ep, arena: arena)
        decoderMaximum = PackedLayer(L[2], columns: [(e, e, 0)], inputs: ep, withBiases: false, arena: arena)
        decoderOutput = PackedLayer(L[3], columns: [(0, L[3].inputCount, 0)], inputs: decoderHidden, arena: arena)
        headContext = PackedLayer(L[4], columns: [(e, e, 0), (0, e, ep)], inputs: 2 * ep, arena: arena)
        headMaximum = PackedLayer(L[4], columns: [(2 * e, e, 0)], inputs: ep, withBiases: false, arena: arena)
        headOutput = PackedLayer(L[5], columns: [(0, L[5].inputCount, 0)], inputs: headHidden, arena: arena)
        meanRequantizers = (0...a.maximumSensorCount).map { n in
            Requantizer((0..<e).map { meanMultipliers[n * e + $0] }, bounds: [Int64](repeating: 255 * Int64(n), count: e),
                        padded: ep, arena: arena)
        }
        var inverse = SIMD8<Float>(repeating: 0)
        for k in 0..<f { inverse[k] = inputInverseScales[k] }
        self.inputInverseScales = inverse
        zeros = arena.allocate(Int32.self, count: max(encoderHidden, decoderHidden, headHidden, ep, padded(f)))
    }
}

/// Rounds up to a multiple of 8 (one SIMD8 chunk).
@inline(__always)
func padded(_ n: Int) -> Int { (n + 7) & ~7 }

/// Owns the packed buffers (16-byte aligned, zero-filled) and frees them together.
final class Arena {
    private var blocks = [UnsafeMutableRawPointer]()

    func allocate<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = max(1, count) * MemoryLayout<T>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(1, count))
    }

    deinit { for b in blocks { b.deallocate() } }
}

/// `(acc × M + 2^(s−1)) >> s` clamped to 0...255, for 8 outputs at a time.
///
/// In double: `acc × (M / 2^s)` is exact while `|acc × M| < 2^52`, adding `2^−(s+1)` keeps it
/// exact and moves every tie off the half-way point, and adding 1.5 × 2^52 rounds to the nearest
/// integer, which is then `floor(acc × M / 2^s + 1/2)`, the reference's result; its low 32 bits
/// are that integer while it is below 2^31 in magnitude. Both conditions are checked for every
/// accumulator the layer can produce (`bounds`); otherwise the Int64 form is used.
struct Requantizer {
    let scales: UnsafeMutablePointer<Double>
    let halves: UnsafeMutablePointer<Double>
    let multipliers: UnsafeMutablePointer<Int64>
    let roundings: UnsafeMutablePointer<Int64>
    let shifts: UnsafeMutablePointer<Int64>
    let exactInDouble: Bool

    /// - Parameter bounds: per output, the largest |accumulator| (capped at 2^31).
    init(_ source: [FixedPointMultiplier], bounds: [Int64], padded count: Int, arena: Arena) {
        scales = arena.allocate(Double.self, count: count)
        halves = arena.allocate(Double.self, count: count)
        multipliers = arena.allocate(Int64.self, count: count)
        roundings = arena.allocate(Int64.self, count: count)
        shifts = arena.allocate(Int64.self, count: count)
        var exact = true
        for j in 0..<count {
            let m = j < source.count ? source[j] : FixedPointMultiplier(0)
            let shift = Int(m.shift)
            scales[j] = Double(m.multiplier) * Double(sign: .plus, exponent: -shift, significand: 1)
            halves[j] = Double(sign: .plus, exponent: -(shift + 1), significand: 1)
            multipliers[j] = Int64(m.multiplier)
            roundings[j] = Int64(1) << Int64(shift - 1)
            shifts[j] = Int64(shift)
            let bound = Double(min(j < bounds.count ? bounds[j] : 0, Int64(1) << 31))
            if bound * Double(m.multiplier) >= 0x1p51 || bound * scales[j] >= 0x1p30 { exact = false }
        }
        exactInDouble = exact
    }

    /// Requantizes the 8 accumulators of outputs `o ..< o + 8`.
    @inline(__always)
    func apply(_ acc: SIMD8<Int32>, at o: Int) -> SIMD8<Int16> {
        guard exactInDouble else {
            var out = SIMD8<Int16>()
            for l in 0..<8 {
                // `FixedPointMultiplier.apply`, including its saturation to 32 bits.
                let q = Int32(clamping: (Int64(acc[l]) &* multipliers[o + l] &+ roundings[o + l]) &>> shifts[o + l])
                out[l] = q > 255 ? 255 : (q >= 0 ? Int16(q) : 0)
            }
            return out
        }
        return requantizeInDouble(acc, scales: scales + o, halves: halves + o)
    }
}

/// The double form of `Requantizer.apply`. Not inlined: inside a small function the compiler
/// inlines the standard library's SIMD conversions (cvtdq2pd, packssdw, pmaxsw); inlined into a
/// large kernel it left them as calls.
@inline(never)
func requantizeInDouble(_ acc: SIMD8<Int32>, scales: UnsafePointer<Double>, halves: UnsafePointer<Double>) -> SIMD8<Int16> {
    let u = SIMD8<Double>(acc) * UnsafeRawPointer(scales).loadUnaligned(as: SIMD8<Double>.self)
        + UnsafeRawPointer(halves).loadUnaligned(as: SIMD8<Double>.self)
    let rounded = unsafeBitCast(u + SIMD8<Double>(repeating: 0x1.8p52), to: SIMD16<Int32>.self).evenHalf
    // Saturating to Int16 first lets the compiler use `packssdw`, then `pmaxsw`/`pminsw`.
    let narrow = SIMD8<Int16>(truncatingIfNeeded: rounded.clamped(lowerBound: SIMD8(repeating: -32768), upperBound: SIMD8(repeating: 32767)))
    return narrow.clamped(lowerBound: SIMD8(repeating: 0), upperBound: SIMD8(repeating: 255))
}

/// One dense layer (or a block of its input columns) in the pair-interleaved layout.
struct PackedLayer {
    let chunks: Int
    let pairs: Int
    /// `[chunk][pair][16]` int16 weights.
    let weights: UnsafeMutablePointer<Int16>
    /// `[row][chunks × 8]` int32 biases (one row per slot, or one row, or zeros).
    let biases: UnsafeMutablePointer<Int32>
    let biasRows: Int
    let requantizer: Requantizer
    /// Per output: accumulator → real value (output layers).
    let dequantization: UnsafeMutablePointer<Float>

    /// - Parameters:
    ///   - columns: `(source column, count, packed input position)` blocks taken from `source`.
    ///   - inputs: the packed input width (a multiple of 8).
    ///   - inputBound: the largest |input| (255 for uint8 activations, 127 for int8 features).
    init(_ source: QuantizedDenseLayer, columns: [(Int, Int, Int)], inputs: Int, inputBound: Int64 = 255,
         withBiases: Bool = true, arena: Arena) {
        let outputs = source.outputCount, n = source.inputCount
        let width = padded(outputs)
        chunks = width / 8
        pairs = inputs / 2
        weights = arena.allocate(Int16.self, count: chunks * pairs * 16)
        for (from, count, to) in columns {
            for k in 0..<count {
                let input = to + k, pair = input / 2, lane = input % 2
                for j in 0..<outputs {
                    let chunk = j / 8, within = j % 8
                    weights[(chunk * pairs + pair) * 16 + within * 2 + lane] = Int16(source.weights[j * n + from + k])
                }
            }
        }
        let rows = withBiases ? source.biases.count / outputs : 1
        biasRows = rows
        biases = arena.allocate(Int32.self, count: rows * width)
        if withBiases {
            for r in 0..<rows {
                for j in 0..<outputs { biases[r * width + j] = source.biases[r * outputs + j] }
            }
        }
        // Bound of every accumulator of the whole source layer (all columns, any slot).
        var bounds = [Int64](repeating: 0, count: outputs)
        for j in 0..<outputs {
            var b: Int64 = 0
            for r in 0..<(source.biases.count / outputs) { b = max(b, abs(Int64(source.biases[r * outputs + j]))) }
            for k in 0..<n { b += Int64(abs(Int32(source.weights[j * n + k]))) * inputBound }
            bounds[j] = b
        }
        requantizer = Requantizer(source.requantization, bounds: bounds, padded: width, arena: arena)
        dequantization = arena.allocate(Float.self, count: width)
        for j in 0..<min(outputs, source.dequantization.count) { dequantization[j] = source.dequantization[j] }
    }

    /// `bias[slot] + offset + W · x` for the outputs of chunk `q`; `x` holds `2 × pairs` int16.
    @inline(__always)
    func accumulate(chunk q: Int, _ x: UnsafePointer<Int16>, slot: Int, offset: UnsafePointer<Int32>) -> SIMD8<Int32> {
        let o = q * 8
        let bias = UnsafeRawPointer(biases + (biasRows > 1 ? slot * chunks * 8 : 0) + o)
        let add = UnsafeRawPointer(offset + o)
        var a0 = bias.loadUnaligned(as: SIMD4<Int32>.self) &+ add.loadUnaligned(as: SIMD4<Int32>.self)
        var a1 = bias.loadUnaligned(fromByteOffset: 16, as: SIMD4<Int32>.self)
            &+ add.loadUnaligned(fromByteOffset: 16, as: SIMD4<Int32>.self)
        var w = UnsafeRawPointer(weights + q * pairs * 16)
        let input = UnsafeRawPointer(x)
        for p in 0..<pairs {
            let pair = unsafeBitCast(SIMD4<Int32>(repeating: input.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self)),
                                     to: SIMD8<Int16>.self)
            a0 &+= multiplyAddPairs(w.load(as: SIMD8<Int16>.self), pair)
            a1 &+= multiplyAddPairs(w.load(fromByteOffset: 16, as: SIMD8<Int16>.self), pair)
            w += 32
        }
        return SIMD8(lowHalf: a0, highHalf: a1)
    }

    /// Hidden layer: accumulate, requantize, ReLU to 0...255 (int16 lanes).
    @inline(__always)
    func forward(_ x: UnsafePointer<Int16>, slot: Int, offset: UnsafePointer<Int32>, into out: UnsafeMutablePointer<Int16>) {
        for q in 0..<chunks {
            let acc = accumulate(chunk: q, x, slot: slot, offset: offset)
            UnsafeMutableRawPointer(out + q * 8).storeBytes(of: requantizer.apply(acc, at: q * 8), as: SIMD8<Int16>.self)
        }
    }

    /// The raw accumulators (no bias when built without), for the max parts.
    @inline(__always)
    func accumulate(_ x: UnsafePointer<Int16>, offset: UnsafePointer<Int32>, into out: UnsafeMutablePointer<Int32>) {
        for q in 0..<chunks {
            UnsafeMutableRawPointer(out + q * 8).storeBytes(of: accumulate(chunk: q, x, slot: 0, offset: offset), as: SIMD8<Int32>.self)
        }
    }

    /// Output layer: accumulate and dequantize to real values.
    @inline(__always)
    func forwardReal(_ x: UnsafePointer<Int16>, offset: UnsafePointer<Int32>, into out: UnsafeMutablePointer<Float>) {
        for q in 0..<chunks {
            let acc = accumulate(chunk: q, x, slot: 0, offset: offset)
            let real = SIMD8<Float>(acc) * UnsafeRawPointer(dequantization + q * 8).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(out + q * 8).storeBytes(of: real, as: SIMD8<Float>.self)
        }
    }
}

/// `w[0]·x[0] + w[1]·x[1], w[2]·x[2] + w[3]·x[3], …`: one SSE2 `pmaddwd`.
@inline(__always)
func multiplyAddPairs(_ w: SIMD8<Int16>, _ x: SIMD8<Int16>) -> SIMD4<Int32> {
    let products = SIMD8<Int32>(truncatingIfNeeded: w) &* SIMD8<Int32>(truncatingIfNeeded: x)
    return products.evenHalf &+ products.oddHalf
}

extension QuantizedNetwork {
    /// The fast int8 path (see `PackedNetwork`); bit for bit the reference `run`.
    func runPacked(values: UnsafePointer<Float>, timeSteps: Int, sensorCount c: Int,
                           centers: UnsafePointer<Float>, inverseScales: UnsafePointer<Float>,
                           storage S: QuantizedWorkspaceStorage) -> Float {
        let f = NetworkArchitecture.featureCount
        FeatureExtractor.extract(values: values, timeSteps: timeSteps, sensorCount: c, centers: centers,
                                 inverseScales: inverseScales, scratch: S.featureScratch.pointer, into: S.features.pointer)
        let P = packed
        let ep = P.embedding, blocks = ep / 8, stride = 2 * ep
        let u = S.context.pointer, zeros = UnsafePointer(P.zeros)
        let total = S.total.pointer, best1 = S.best1.pointer, best2 = S.best2.pointer, bestIndex = S.bestIndex.pointer
        for b in 0..<ep { total[b] = 0; best1[b] = 0; best2[b] = 0; bestIndex[b] = -1 }
        // Encoder per sensor, with the pooling statistics (sum, top two, arg-max) on the way.
        for i in 0..<c {
            let x = UnsafeRawPointer(S.features.pointer + i * f).loadUnaligned(as: SIMD8<Float>.self) * P.inputInverseScales
            UnsafeMutableRawPointer(S.inputs.pointer).storeBytes(of: quantizeToInt8Lanes(x), as: SIMD8<Int16>.self)
            P.encoderInput.forward(S.inputs.pointer, slot: i, offset: zeros, into: S.hidden.pointer)
            let h = u + i * stride + ep
            P.encoderOutput.forward(S.hidden.pointer, slot: 0, offset: zeros, into: h)
            for b in 0..<blocks {
                pool(UnsafeRawPointer(h + 8 * b).loadUnaligned(as: SIMD8<Int16>.self), sensor: i, total: total + 8 * b,
                     best1: best1 + 8 * b, best2: best2 + 8 * b, bestIndex: bestIndex + 8 * b)
            }
        }
        // The max parts of the decoder's and the head's first layers, once per window. With one
        // sensor there are no other sensors: mean and max are 0.
        let shared3 = S.shared3.pointer, shared5 = S.shared5.pointer
        let e = architecture.embeddingWidth
        if c > 1 {
            P.decoderMaximum.accumulate(best1, offset: zeros, into: shared3)
            P.headMaximum.accumulate(best1, offset: zeros, into: shared5)
            for k in 0..<e where best1[k] != best2[k] && bestIndex[k] >= 0 { S.flags[Int(bestIndex[k])] = 1 }
        } else {
            for j in 0..<P.decoderHidden { shared3[j] = 0 }
            for j in 0..<P.headHidden { shared5[j] = 0 }
        }
        let toMean = P.meanRequantizers[c - 1]
        // Decoder and head, per sensor; errors in float.
        var score: Float = 0
        let inverseF = 1 / Float(f), inverseC = 1 / Float(c)
        for i in 0..<c {
            let ui = u + i * stride
            // Leave-one-out mean of the embeddings, requantized to its own scale.
            for b in 0..<blocks {
                let own = SIMD8<Int32>(truncatingIfNeeded: UnsafeRawPointer(ui + ep + 8 * b).loadUnaligned(as: SIMD8<Int16>.self))
                let others = UnsafeRawPointer(total + 8 * b).loadUnaligned(as: SIMD8<Int32>.self) &- own
                UnsafeMutableRawPointer(ui + 8 * b).storeBytes(of: c > 1 ? toMean.apply(others, at: 8 * b) : SIMD8(), as: SIMD8<Int16>.self)
            }
            var offset3 = UnsafePointer(shared3), offset5 = UnsafePointer(shared5)
            if S.flags[i] != 0 {
                // Sensor i is the arg-max of some channels: there its max is the second best.
                S.flags[i] = 0
                let index = SIMD8<Int16>(repeating: Int16(truncatingIfNeeded: i))
                for b in 0..<blocks {
                    let b1 = UnsafeRawPointer(best1 + 8 * b).loadUnaligned(as: SIMD8<Int16>.self)
                    let b2 = UnsafeRawPointer(best2 + 8 * b).loadUnaligned(as: SIMD8<Int16>.self)
                    let mine = UnsafeRawPointer(bestIndex + 8 * b).loadUnaligned(as: SIMD8<Int16>.self) .== index
                    UnsafeMutableRawPointer(S.inputs.pointer + 8 * b).storeBytes(of: SIMD8<Int16>().replacing(with: b2 &- b1, where: mine), as: SIMD8<Int16>.self)
                }
                P.decoderMaximum.accumulate(S.inputs.pointer, offset: shared3, into: S.offset3.pointer)
                P.headMaximum.accumulate(S.inputs.pointer, offset: shared5, into: S.offset5.pointer)
                offset3 = UnsafePointer(S.offset3.pointer)
                offset5 = UnsafePointer(S.offset5.pointer)
            }
            P.decoderContext.forward(ui, slot: i, offset: offset3, into: S.hidden.pointer)
            P.decoderOutput.forwardReal(S.hidden.pointer, offset: zeros, into: S.prediction.pointer)
            var err: Float = 0
            for k in 0..<f {
                let diff = S.prediction[k] - S.features[i * f + k]
                err += diff * diff
            }
            P.headContext.forward(ui, slot: i, offset: offset5, into: S.hidden.pointer)
            P.headOutput.forwardReal(S.hidden.pointer, offset: zeros, into: S.prediction.pointer + padded(f))
            let deviation = S.prediction[padded(f)]
            S.errors[i] = err * inverseF
            S.deviations[i] = deviation
            let contribution = (err * inverseF + abs(deviation)) * inverseC
            S.contributions[i] = contribution
            score += contribution
        }
        return score
    }
}


/// `roundToInt8` on 8 lanes, as int16: the features are finite (clipped, NaN → 0) and the
/// inverse scales finite, so the NaN case of the scalar version cannot occur.
@inline(never)
func quantizeToInt8Lanes(_ x: SIMD8<Float>) -> SIMD8<Int16> {
    // Clamp to ±127 with bit masks (`clamped` here compiled to calls).
    let limit = unsafeBitCast(SIMD8<Float>(repeating: 127), to: SIMD8<Int32>.self)
    let above = unsafeBitCast(x .> 127, to: SIMD8<Int32>.self), below = unsafeBitCast(x .< -127, to: SIMD8<Int32>.self)
    let sign = unsafeBitCast(x, to: SIMD8<Int32>.self) & SIMD8(repeating: Int32.min)
    let inside = unsafeBitCast(x, to: SIMD8<Int32>.self) & ~(above | below)
    let clamped = unsafeBitCast(inside | ((above | below) & (limit | sign)), to: SIMD8<Float>.self)
    // Adding 1.5 × 2^23 rounds to an integer (ties to even) held in the low mantissa bits.
    let bits = unsafeBitCast(clamped + SIMD8(repeating: 12_582_912), to: SIMD8<Int32>.self) &- 0x4B40_0000
    return SIMD8<Int16>(truncatingIfNeeded: bits)
}

/// Adds 8 channels of sensor `index`'s embedding to the pooling statistics: the sum, the largest
/// and second-largest values, and the first sensor holding the largest (strictly greater wins,
/// as in the reference). Not inlined, so that the SIMD min/max become single instructions.
@inline(never)
func pool(_ value: SIMD8<Int16>, sensor index: Int, total: UnsafeMutablePointer<Int32>, best1: UnsafeMutablePointer<Int16>,
          best2: UnsafeMutablePointer<Int16>, bestIndex: UnsafeMutablePointer<Int16>) {
    let sum = UnsafeMutableRawPointer(total), first = UnsafeMutableRawPointer(best1)
    let second = UnsafeMutableRawPointer(best2), argMax = UnsafeMutableRawPointer(bestIndex)
    sum.storeBytes(of: sum.loadUnaligned(as: SIMD8<Int32>.self) &+ SIMD8<Int32>(truncatingIfNeeded: value), as: SIMD8<Int32>.self)
    let b1 = first.loadUnaligned(as: SIMD8<Int16>.self), b2 = second.loadUnaligned(as: SIMD8<Int16>.self)
    let greater = value .> b1
    argMax.storeBytes(of: argMax.loadUnaligned(as: SIMD8<Int16>.self).replacing(with: Int16(truncatingIfNeeded: index), where: greater),
                      as: SIMD8<Int16>.self)
    second.storeBytes(of: pointwiseMax(b2, pointwiseMin(b1, value)), as: SIMD8<Int16>.self)
    first.storeBytes(of: pointwiseMax(b1, value), as: SIMD8<Int16>.self)
}
