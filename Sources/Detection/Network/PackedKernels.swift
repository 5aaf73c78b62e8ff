/// The int8 layers repacked for speed: weights transposed to `[input][output]` and widened to
/// 16-bit lanes, outputs padded to a multiple of 8, so that each input adds one broadcast
/// product to 8 int32 accumulators at a time (SSE2 `pmaddwd`: values stay 8-bit, as in CMSIS-NN,
/// which widens q7 to q15 for its dual 16-bit MACs). Built once per `QuantizedNetwork`.
///
/// `@unchecked Sendable`: the buffers are written only in `init` and read-only afterwards.
final class PackedLayers: @unchecked Sendable {
    struct Layer {
        let outputs: Int
        let paddedOutputs: Int
        let inputs: Int
        /// `[input][paddedOutputs]` weights.
        let weights: UnsafeMutablePointer<Int16>
        /// `[biasRows][paddedOutputs]` biases.
        let biases: UnsafeMutablePointer<Int32>
        let biasRows: Int
        /// Per output: Q31 multiplier, rounding term and shift (hidden layers).
        let multipliers: UnsafeMutablePointer<Int64>
        let roundings: UnsafeMutablePointer<Int64>
        let shifts: UnsafeMutablePointer<Int64>
        /// Per output: accumulator → real value (output layers).
        let dequantization: UnsafeMutablePointer<Float>
    }

    let layers: [Layer]
    /// Scratch accumulators, sized for the widest padded layer (one workspace per thread, so the
    /// accumulators live in the workspace storage, not here).
    let widestPaddedOutputs: Int

    init(_ source: [QuantizedDenseLayer]) {
        var built = [Layer]()
        for layer in source {
            let padded = (layer.outputCount + 7) / 8 * 8
            let n = layer.inputCount
            let weights = UnsafeMutablePointer<Int16>.allocate(capacity: max(1, n * padded))
            weights.initialize(repeating: 0, count: max(1, n * padded))
            for j in 0..<layer.outputCount {
                for k in 0..<n { weights[k * padded + j] = Int16(layer.weights[j * n + k]) }
            }
            let rows = layer.biases.count / layer.outputCount
            let biases = UnsafeMutablePointer<Int32>.allocate(capacity: rows * padded)
            biases.initialize(repeating: 0, count: rows * padded)
            for r in 0..<rows {
                for j in 0..<layer.outputCount { biases[r * padded + j] = layer.biases[r * layer.outputCount + j] }
            }
            let multipliers = UnsafeMutablePointer<Int64>.allocate(capacity: padded)
            let roundings = UnsafeMutablePointer<Int64>.allocate(capacity: padded)
            let shifts = UnsafeMutablePointer<Int64>.allocate(capacity: padded)
            let dequantization = UnsafeMutablePointer<Float>.allocate(capacity: padded)
            for j in 0..<padded {
                if j < layer.requantization.count {
                    let r = layer.requantization[j]
                    multipliers[j] = Int64(r.multiplier)
                    shifts[j] = Int64(r.shift)
                    roundings[j] = Int64(1) << Int64(r.shift - 1)
                } else {
                    multipliers[j] = 0; shifts[j] = 1; roundings[j] = 1
                }
                dequantization[j] = j < layer.dequantization.count ? layer.dequantization[j] : 0
            }
            built.append(Layer(outputs: layer.outputCount, paddedOutputs: padded, inputs: n, weights: weights,
                               biases: biases, biasRows: rows, multipliers: multipliers, roundings: roundings,
                               shifts: shifts, dequantization: dequantization))
        }
        layers = built
        widestPaddedOutputs = built.map(\.paddedOutputs).max() ?? 8
    }

    deinit {
        for l in layers {
            l.weights.deallocate(); l.biases.deallocate(); l.multipliers.deallocate()
            l.roundings.deallocate(); l.shifts.deallocate(); l.dequantization.deallocate()
        }
    }
}

extension PackedLayers.Layer {
    /// `accumulators[j] = bias[slot][j] + Σ_k W[j][k] × input[k]` for all padded outputs.
    @inline(__always)
    func accumulate<Input: FixedWidthInteger>(_ input: UnsafePointer<Input>, slot: Int,
                                              into accumulators: UnsafeMutablePointer<Int32>) {
        let bias = biases + (biasRows > 1 ? slot * paddedOutputs : 0)
        if paddedOutputs == 16 {
            // Both 8-wide halves in one pass: each input is broadcast once.
            var acc0 = UnsafeRawPointer(bias).loadUnaligned(as: SIMD8<Int32>.self)
            var acc1 = UnsafeRawPointer(bias + 8).loadUnaligned(as: SIMD8<Int32>.self)
            var w = UnsafeRawPointer(weights)
            for k in 0..<inputs {
                let x = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: input[k]))
                acc0 &+= SIMD8<Int32>(truncatingIfNeeded: w.loadUnaligned(as: SIMD8<Int16>.self)) &* x
                acc1 &+= SIMD8<Int32>(truncatingIfNeeded: w.loadUnaligned(fromByteOffset: 16, as: SIMD8<Int16>.self)) &* x
                w += 32
            }
            UnsafeMutableRawPointer(accumulators).storeBytes(of: acc0, as: SIMD8<Int32>.self)
            UnsafeMutableRawPointer(accumulators + 8).storeBytes(of: acc1, as: SIMD8<Int32>.self)
            return
        }
        var chunk = 0
        while chunk < paddedOutputs {
            var acc = UnsafeRawPointer(bias + chunk).loadUnaligned(as: SIMD8<Int32>.self)
            var w = UnsafeRawPointer(weights + chunk)
            let stride = paddedOutputs * MemoryLayout<Int16>.stride
            for k in 0..<inputs {
                let wk = SIMD8<Int32>(truncatingIfNeeded: w.loadUnaligned(as: SIMD8<Int16>.self))
                acc &+= wk &* SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: input[k]))
                w += stride
            }
            UnsafeMutableRawPointer(accumulators + chunk).storeBytes(of: acc, as: SIMD8<Int32>.self)
            chunk += 8
        }
    }

    /// `accumulate` for two sensors at once (inputs `inputA`/`inputB`, slots `slotA`/`slotB`):
    /// each weight vector is loaded and widened once for both. Results go to `accumulators` and
    /// `accumulators + paddedOutputs`.
    @inline(__always)
    func accumulatePair<Input: FixedWidthInteger>(_ inputA: UnsafePointer<Input>, _ inputB: UnsafePointer<Input>,
                                                  slotA: Int, slotB: Int, into accumulators: UnsafeMutablePointer<Int32>) {
        let biasA = biases + (biasRows > 1 ? slotA * paddedOutputs : 0)
        let biasB = biases + (biasRows > 1 ? slotB * paddedOutputs : 0)
        let outB = accumulators + paddedOutputs
        if paddedOutputs == 16 {
            var a0 = UnsafeRawPointer(biasA).loadUnaligned(as: SIMD8<Int32>.self)
            var a1 = UnsafeRawPointer(biasA + 8).loadUnaligned(as: SIMD8<Int32>.self)
            var b0 = UnsafeRawPointer(biasB).loadUnaligned(as: SIMD8<Int32>.self)
            var b1 = UnsafeRawPointer(biasB + 8).loadUnaligned(as: SIMD8<Int32>.self)
            var w = UnsafeRawPointer(weights)
            for k in 0..<inputs {
                let w0 = SIMD8<Int32>(truncatingIfNeeded: w.loadUnaligned(as: SIMD8<Int16>.self))
                let w1 = SIMD8<Int32>(truncatingIfNeeded: w.loadUnaligned(fromByteOffset: 16, as: SIMD8<Int16>.self))
                let xa = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: inputA[k]))
                let xb = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: inputB[k]))
                a0 &+= w0 &* xa; a1 &+= w1 &* xa
                b0 &+= w0 &* xb; b1 &+= w1 &* xb
                w += 32
            }
            UnsafeMutableRawPointer(accumulators).storeBytes(of: a0, as: SIMD8<Int32>.self)
            UnsafeMutableRawPointer(accumulators + 8).storeBytes(of: a1, as: SIMD8<Int32>.self)
            UnsafeMutableRawPointer(outB).storeBytes(of: b0, as: SIMD8<Int32>.self)
            UnsafeMutableRawPointer(outB + 8).storeBytes(of: b1, as: SIMD8<Int32>.self)
            return
        }
        var chunk = 0
        let stride = paddedOutputs * MemoryLayout<Int16>.stride
        while chunk < paddedOutputs {
            var a = UnsafeRawPointer(biasA + chunk).loadUnaligned(as: SIMD8<Int32>.self)
            var b = UnsafeRawPointer(biasB + chunk).loadUnaligned(as: SIMD8<Int32>.self)
            var w = UnsafeRawPointer(weights + chunk)
            for k in 0..<inputs {
                let wk = SIMD8<Int32>(truncatingIfNeeded: w.loadUnaligned(as: SIMD8<Int16>.self))
                a &+= wk &* SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: inputA[k]))
                b &+= wk &* SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: inputB[k]))
                w += stride
            }
            UnsafeMutableRawPointer(accumulators + chunk).storeBytes(of: a, as: SIMD8<Int32>.self)
            UnsafeMutableRawPointer(outB + chunk).storeBytes(of: b, as: SIMD8<Int32>.self)
            chunk += 8
        }
    }

    /// `forward` for two sensors at once; `scratch` must hold 2 × `paddedOutputs` values.
    @inline(__always)
    func forwardPair<Input: FixedWidthInteger>(_ inputA: UnsafePointer<Input>, _ inputB: UnsafePointer<Input>,
                                               slotA: Int, slotB: Int, scratch: UnsafeMutablePointer<Int32>,
                                               intoA outA: UnsafeMutablePointer<UInt8>, intoB outB: UnsafeMutablePointer<UInt8>) {
        accumulatePair(inputA, inputB, slotA: slotA, slotB: slotB, into: scratch)
        let scratchB = scratch + paddedOutputs
        for j in 0..<outputs {
            let m = multipliers[j], r = roundings[j], sh = shifts[j]
            let qa = (Int64(scratch[j]) &* m &+ r) &>> sh
            let qb = (Int64(scratchB[j]) &* m &+ r) &>> sh
            outA[j] = UInt8(truncatingIfNeeded: qa > 255 ? 255 : (qa < 0 ? 0 : qa))
            outB[j] = UInt8(truncatingIfNeeded: qb > 255 ? 255 : (qb < 0 ? 0 : qb))
        }
    }

    /// Hidden layer: accumulate, requantize (Q31 multiplier, round half up), ReLU to uint8.
    @inline(__always)
    func forward<Input: FixedWidthInteger>(_ input: UnsafePointer<Input>, slot: Int,
                                           scratch: UnsafeMutablePointer<Int32>, into out: UnsafeMutablePointer<UInt8>) {
        accumulate(input, slot: slot, into: scratch)
        for j in 0..<outputs {
            // `&>>`: one arithmetic shift (shifts are 1...62, so masking never changes the result).
            let q = (Int64(scratch[j]) &* multipliers[j] &+ roundings[j]) &>> shifts[j]
            out[j] = UInt8(truncatingIfNeeded: q > 255 ? 255 : (q < 0 ? 0 : q))
        }
    }

    /// Output layer: accumulate and dequantize to real values.
    @inline(__always)
    func forwardReal(_ input: UnsafePointer<UInt8>, scratch: UnsafeMutablePointer<Int32>, into out: UnsafeMutablePointer<Float>) {
        accumulate(input, slot: 0, into: scratch)
        for j in 0..<outputs { out[j] = Float(scratch[j]) * dequantization[j] }
    }
}
