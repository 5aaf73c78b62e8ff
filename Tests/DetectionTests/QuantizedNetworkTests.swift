import Testing
@testable import Detection

@Suite struct QuantizedNetworkTests {
    /// A trained 8-sensor network, its normalization, calibration windows and a held-out set of
    /// normal and synthetic-anomaly windows (raw and labelled), built once.
    struct Fixture: Sendable {
        let network: Network
        let normalization: Normalization
        let calibration: [Window]
        let heldOut: [(window: Window, anomalous: Bool)]

        static let eightSensors = make(sensorCount: 8, seed: 31)
        static let fourSensors = make(sensorCount: 4, seed: 51)

        static func make(sensorCount: Int, seed: UInt64) -> Fixture {
            // One stretch of operation: calibration on the first 1,200 rows, held out the next 900.
            let machine = SyntheticMachine(sensorCount: sensorCount, seed: seed)
            let rows = machine.series(rows: 2100, seed: seed + 1)
            let raw = stride(from: 0, through: 1200 - 32, by: 4).map { Window(rows: Array(rows[$0..<($0 + 32)])) }
            let heldRaw = stride(from: 1200, through: 2100 - 32, by: 2).map { Window(rows: Array(rows[$0..<($0 + 32)])) }
            let normalization = Normalization(fitting: raw)
            let normals = raw.map { normalization.normalize($0) }
            var generator = SyntheticAnomalyGenerator(seed: seed + 2)
            let anomalies = generator.anomalies(from: normals, count: 64)
            var network = Network(seed: seed + 3)
            var adam = Adam(learningRate: 5e-3)
            var rng = SeededGenerator(seed: seed + 4)
            let normalExamples = normals.map { TrainingExample(window: $0, label: .normal) }
            for _ in 0..<120 {
                let batch = (0..<16).map { _ in normalExamples[rng.nextIndex(below: normalExamples.count)] }
                network.train(on: batch, lossFunction: .oneClass, optimizer: &adam, maximumGradientNorm: 10)
            }
            let deviation = DeviationLoss(fittingNormalScores: normals.map { network.score($0).score })
            for _ in 0..<60 {
                let batch = (0..<12).map { _ in normalExamples[rng.nextIndex(below: normalExamples.count)] }
                    + (0..<4).map { _ in anomalies[rng.nextIndex(below: anomalies.count)] }
                network.train(on: batch, lossFunction: LossFunction(deviation: deviation), optimizer: &adam, maximumGradientNorm: 10)
            }
            // Held out: a fresh stretch of the machine, and anomalies injected into it (raw units).
            var heldGenerator = SyntheticAnomalyGenerator(seed: seed + 6)
            var held = heldRaw.map { (window: $0, anomalous: false) }
            for (n, w) in heldRaw.prefix(100).enumerated() {
                let z = normalization.normalize(w)
                let kind = SyntheticAnomalyKind.allCases[n % SyntheticAnomalyKind.allCases.count]
                let injected = heldGenerator.inject(kind, into: z, sensor: n % sensorCount, donor: heldRaw[(n + 200) % heldRaw.count].normalized(normalization))
                held.append((window: injected.denormalized(normalization), anomalous: true))
            }
            return Fixture(network: network, normalization: normalization, calibration: raw, heldOut: held)
        }
    }

    @Test func fixedPointMultiplierRoundsLikeExactArithmetic() {
        var rng = SeededGenerator(seed: 1)
        for _ in 0..<2000 {
            let real = Double(rng.nextUnit()) * (rng.nextUnit() < 0.5 ? 1e-3 : 2)
            let m = FixedPointMultiplier(real)
            #expect(abs(m.realValue - real) <= real * 1e-9)
            let value = Int32(rng.nextIndex(below: 2_000_001)) - 1_000_000
            let exact = Double(value) * m.realValue
            // Half-up rounding of the represented product: |result - exact| ≤ 0.5.
            #expect(abs(Double(m.apply(value)) - exact) <= 0.5 + 1e-9, "real \(real), value \(value)")
        }
        #expect(FixedPointMultiplier(0).apply(12345) == 0)
        #expect(FixedPointMultiplier(0.5).apply(3) == 2)   // 1.5 rounds half up
        #expect(FixedPointMultiplier(0.5).apply(-3) == -1) // -1.5 rounds half up
        // Products beyond Int32 saturate instead of wrapping to the other sign.
        #expect(FixedPointMultiplier(3).apply(1_000_000_000) == Int32.max)
        #expect(FixedPointMultiplier(3).apply(-1_000_000_000) == Int32.min)
        #expect(FixedPointMultiplier(1_000).apply(Int32.max) == Int32.max)
    }

    /// Stated bounds, with the threshold at the 99th percentile of float scores on calibration windows:
    /// - held-out normal windows: |int8 - float| ≤ 0.1 × threshold + 0.1 × float score;
    /// - held-out anomalies: inputs beyond the calibration range saturate, so the int8 score may be
    ///   lower, but every window whose float score exceeds 2 × threshold also alerts in int8;
    /// - alert decisions (score > threshold) differ on under 1% of all held-out windows.
    @Test(arguments: [8, 4])
    func int8ScoresAgreeWithFloatAndAlertDecisionsMatch(sensorCount: Int) throws {
        let fx = sensorCount == 8 ? Fixture.eightSensors : Fixture.fourSensors
        let quantized = try fx.network.quantize(calibrationWindows: fx.calibration, normalization: fx.normalization)
        let calibrationScores = fx.calibration.map { fx.network.score($0, normalization: fx.normalization).score }.sorted()
        let threshold = calibrationScores[Int(0.99 * Double(calibrationScores.count - 1))]
        let workspace = ScoringWorkspace()
        var disagreements = 0, worst: Float = 0, alerts = 0
        for (window, anomalous) in fx.heldOut {
            let f = fx.network.score(window, normalization: fx.normalization).score
            let q = quantized.score(window, normalization: fx.normalization, workspace: workspace)
            let contributions = workspace.contributions
            #expect(abs(contributions.reduce(0, +) - q) <= 1e-4 * max(1, q))
            #expect(contributions.allSatisfy { $0 >= 0 })
            if !anomalous {
                let bound = 0.1 * threshold + 0.1 * f
                worst = max(worst, abs(q - f) / bound)
                #expect(abs(q - f) <= bound, "float \(f), int8 \(q), threshold \(threshold)")
            }
            if f > 2 * threshold { #expect(q > threshold, "float \(f), int8 \(q), threshold \(threshold)") }
            if (f > threshold) != (q > threshold) { disagreements += 1 }
            if f > threshold { alerts += 1 }
        }
        print("int8 vs float: worst |Δ|/bound \(worst), decisions differ on \(disagreements) of \(fx.heldOut.count), float alerts \(alerts), threshold \(threshold)")
        #expect(Double(disagreements) < 0.01 * Double(fx.heldOut.count))
        // The held-out anomalies are mostly detected, so the decision test is not trivially all-normal.
        #expect(alerts >= 60)
    }

    @Test func int8ModelForEightSensorsFitsIn32KB() throws {
        let fx = Fixture.eightSensors
        let quantized = try fx.network.quantize(calibrationWindows: fx.calibration, normalization: fx.normalization)
        #expect(quantized.byteCount <= 32 * 1024)
    }

    @Test(arguments: [1, 2, 64])
    func int8RunsForAnySensorCount(_ sensorCount: Int) throws {
        let machine = SyntheticMachine(sensorCount: sensorCount, seed: UInt64(sensorCount))
        let raw = machine.windows(count: 20, seed: 5)
        let normalization = Normalization(fitting: raw)
        let network = Network(seed: 6)
        let quantized = try network.quantize(calibrationWindows: raw, normalization: normalization)
        for window in raw.prefix(5) {
            let f = network.score(window, normalization: normalization).score
            let q = quantized.score(window, normalization: normalization)
            #expect(q.contributions.count == sensorCount)
            #expect(abs(q.score - f) <= 0.1 * f + 0.05, "float \(f), int8 \(q.score)")
        }
    }

    @Test(arguments: [1, 3, 8, 13, 64])
    func fastKernelsMatchTheReferenceInt8PathBitForBit(_ sensorCount: Int) throws {
        let machine = SyntheticMachine(sensorCount: sensorCount, seed: 70 + UInt64(sensorCount))
        let raw = machine.windows(count: 12, seed: 71)
        let normalization = Normalization(fitting: raw)
        let quantized = try Network(seed: 72).quantize(calibrationWindows: raw, normalization: normalization)
        var generator = SyntheticAnomalyGenerator(seed: 73)
        let fast = ScoringWorkspace(), reference = ScoringWorkspace()
        for (n, window) in raw.enumerated() {
            // Half the windows anomalous, so saturation paths are exercised too.
            let scored = n % 2 == 0 ? window
                : generator.inject(.levelShift, into: normalization.normalize(window), sensor: n % sensorCount).denormalized(normalization)
            let a = quantized.score(scored, normalization: normalization, workspace: fast)
            let b = quantized.scoreReference(scored, normalization: normalization, workspace: reference)
            #expect(a.bitPattern == b.bitPattern)
            #expect(fast.contributions.map(\.bitPattern) == reference.contributions.map(\.bitPattern))
        }
    }

    /// Widths that are not multiples of 8 (padding) and an embedding wider than 8 (two channel
    /// blocks in the pooling) take the same fast path and must match the reference too.
    @Test(arguments: [
        NetworkArchitecture(encoderHiddenWidth: 10, embeddingWidth: 5, decoderHiddenWidth: 9, headHiddenWidth: 3, slotWidth: 2, maximumSensorCount: 20),
        NetworkArchitecture(encoderHiddenWidth: 24, embeddingWidth: 11, decoderHiddenWidth: 17, headHiddenWidth: 12, slotWidth: 0, maximumSensorCount: 20),
    ])
    func fastKernelsMatchTheReferenceForOtherArchitectures(_ architecture: NetworkArchitecture) throws {
        for sensorCount in [1, 2, 7, 20] {
            let machine = SyntheticMachine(sensorCount: sensorCount, seed: 80 + UInt64(sensorCount))
            let raw = machine.windows(count: 8, seed: 81)
            let normalization = Normalization(fitting: raw)
            let quantized = try Network(architecture: architecture, seed: 82).quantize(calibrationWindows: raw, normalization: normalization)
            var generator = SyntheticAnomalyGenerator(seed: 83)
            let fast = ScoringWorkspace(architecture: architecture), reference = ScoringWorkspace(architecture: architecture)
            for (n, window) in raw.enumerated() {
                let scored = n % 2 == 0 ? window
                    : generator.inject(.spike, into: normalization.normalize(window), sensor: n % sensorCount).denormalized(normalization)
                let a = quantized.score(scored, normalization: normalization, workspace: fast)
                let b = quantized.scoreReference(scored, normalization: normalization, workspace: reference)
                #expect(a.bitPattern == b.bitPattern, "\(sensorCount) sensors")
                #expect(fast.contributions.map(\.bitPattern) == reference.contributions.map(\.bitPattern))
            }
        }
    }

    /// The fast path requantizes in double only where that is exact; a layer with a huge bias and a
    /// mean with a huge multiplier take the Int64 form, which must match the reference too.
    @Test func fastKernelsMatchTheReferenceWhenRequantizationFallsBackToInt64() throws {
        let sensorCount = 6
        let machine = SyntheticMachine(sensorCount: sensorCount, seed: 90)
        let raw = machine.windows(count: 12, seed: 91)
        let normalization = Normalization(fitting: raw)
        let base = try Network(seed: 92).quantize(calibrationWindows: raw, normalization: normalization)
        #expect(base.packed.encoderInput.requantizer.exactInDouble)
        #expect(base.packed.meanRequantizers[sensorCount - 1].exactInDouble)
        var layers = base.layers
        let first = layers[0]
        var biases = first.biases
        for slot in 0..<(biases.count / first.outputCount) { biases[slot * first.outputCount] = 1_900_000_000 }
        layers[0] = QuantizedDenseLayer(outputCount: first.outputCount, inputCount: first.inputCount, weights: first.weights,
                                        biases: biases, requantization: first.requantization, dequantization: first.dequantization)
        var scales = base.activationScales
        scales[2] = scales[2].map { $0 * 1e-7 }
        let extreme = QuantizedNetwork(architecture: base.architecture, inputScales: base.inputScales,
                                       activationScales: scales, layers: layers)
        #expect(!extreme.packed.encoderInput.requantizer.exactInDouble)
        #expect(!extreme.packed.meanRequantizers[sensorCount - 1].exactInDouble)
        let fast = ScoringWorkspace(), reference = ScoringWorkspace()
        for window in raw {
            let a = extreme.score(window, normalization: normalization, workspace: fast)
            let b = extreme.scoreReference(window, normalization: normalization, workspace: reference)
            #expect(a.bitPattern == b.bitPattern)
            #expect(fast.contributions.map(\.bitPattern) == reference.contributions.map(\.bitPattern))
        }
    }

    @Test func quantizingWithoutCalibrationDataThrows() {
        #expect(throws: NetworkError.self) { try Network(seed: 1).quantize(calibrationWindows: []) }
    }
}

extension Window {
    func normalized(_ n: Normalization) -> Window { n.normalize(self) }

    func denormalized(_ n: Normalization) -> Window {
        var out = self
        for t in 0..<timeSteps {
            for s in 0..<sensorCount { out[time: t, sensor: s] = self[time: t, sensor: s] * n.scales[s] + n.centers[s] }
        }
        return out
    }
}
