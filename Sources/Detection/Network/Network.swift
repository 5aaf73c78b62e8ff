/// The compact anomaly-detection network: one set of float32 weights for machines with
/// 1 through `architecture.maximumSensorCount` sensors.
///
/// All weights live in one flat vector, `parameters`, so meta-learning (Reptile) can read,
/// write and interpolate them as a whole. Windows given to `score`, `loss` and `train` are
/// normalized (see `Normalization.normalize(_:)`) unless a `Normalization` is passed.
public struct Network: Sendable, Hashable {
    /// The layer sizes.
    public let architecture: NetworkArchitecture
    /// Every weight, bias and slot embedding, in the order documented in docs/detection.md, "Model file format".
    /// - Important: the count must stay `architecture.parameterCount`.
    public var parameters: [Float] {
        didSet { precondition(parameters.count == architecture.parameterCount, "parameter count is fixed by the architecture") }
    }
    /// Weight of the decoder's prediction error in the score (1: the shipped score, prediction
    /// error plus the deviation head; 0: the deviation head alone). Below 1 a network can learn
    /// to discount what it cannot predict (a sensor's slow wander), which the prediction error
    /// alone never lets it do. Only the float path honours values other than 1: int8
    /// quantization and the model file assume 1.
    public var reconstructionScoreWeight: Float = 1
    /// Whether the score is the largest sensor's contribution instead of the mean over sensors
    /// (a fault on one of eight sensors is not diluted eightfold; the window-deviation score also
    /// takes its largest sensor). Float path only, like `reconstructionScoreWeight` ≠ 1.
    public var scoresByLargestSensor = false

    /// A freshly initialized network: He-normal weights for ReLU layers, zero biases, small
    /// output layers, N(0, 0.5²) slot embeddings. The same seed gives bit-identical weights.
    public init(architecture: NetworkArchitecture = .standard, seed: UInt64) {
        self.architecture = architecture
        let L = ParameterLayout(architecture)
        var rng = SeededGenerator(seed: seed)
        var p = [Float](repeating: 0, count: L.count)
        func fill(_ offset: Int, _ count: Int, _ std: Float) {
            for k in 0..<count { p[offset + k] = std * rng.nextGaussian() }
        }
        fill(L.w1, L.h1 * L.in1, (2 / Float(L.in1)).squareRoot())
        fill(L.w2, L.e * L.h1, (2 / Float(L.h1)).squareRoot())
        fill(L.w3, L.h3 * L.in3, (2 / Float(L.in3)).squareRoot())
        fill(L.w4, L.f * L.h3, 0.5 * (1 / Float(L.h3)).squareRoot())
        fill(L.w5, L.h5 * L.in5, (2 / Float(L.in5)).squareRoot())
        fill(L.w6, L.h5, 0.1 * (1 / Float(L.h5)).squareRoot())
        fill(L.slots, L.maxSensors * L.s, 0.5)
        parameters = p
    }

    /// A network with the given parameters.
    /// - Throws: `NetworkError` when the count does not match the architecture or a value is not finite.
    public init(architecture: NetworkArchitecture, parameters: [Float]) throws {
        guard parameters.count == architecture.parameterCount else {
            throw NetworkError(.parameterCountMismatch,
                               "expected \(architecture.parameterCount) parameters for this architecture, got \(parameters.count)")
        }
        guard parameters.allSatisfy({ $0.isFinite }) else {
            throw NetworkError(.nonFiniteParameter, "a parameter is NaN or infinite; retrain or reload the model")
        }
        self.architecture = architecture
        self.parameters = parameters
    }

    // MARK: Scoring

    /// Scores a normalized window: the anomaly score and each sensor's contribution.
    public func score(_ window: Window) -> WindowScore {
        score(window, normalization: .identity(sensorCount: window.sensorCount))
    }

    /// Scores a raw window, normalizing it with `normalization` on the fly.
    public func score(_ window: Window, normalization: Normalization) -> WindowScore {
        let workspace = ScoringWorkspace(architecture: architecture)
        let s = score(window, normalization: normalization, workspace: workspace)
        return WindowScore(score: s, contributions: workspace.contributions)
    }

    /// Scores a raw window without allocating (after the workspace has seen this sensor count);
    /// the per-sensor contributions stay in `workspace.contributions` until the next call.
    /// - Important: `window.sensorCount` must equal `normalization.sensorCount` and be at most
    ///   `architecture.maximumSensorCount`.
    public func score(_ window: Window, normalization: Normalization, workspace: ScoringWorkspace) -> Float {
        precondition(window.sensorCount == normalization.sensorCount, "window and normalization disagree on sensor count")
        precondition(window.sensorCount <= architecture.maximumSensorCount, "more sensors than the architecture's slots")
        let engine = workspace.floatEngine(for: architecture)
        engine.reconstructionWeight = reconstructionScoreWeight
        engine.scoresByLargestSensor = scoresByLargestSensor
        normalization.centers.withUnsafeBufferPointer { centers in
            normalization.inverseScales.withUnsafeBufferPointer { inverse in
                engine.loadFeatures(of: window, centers: centers.baseAddress!, inverseScales: inverse.baseAddress!)
            }
        }
        let s = parameters.withUnsafeBufferPointer { engine.forward($0.baseAddress!) }
        workspace.lastSensorCount = window.sensorCount
        workspace.lastContributionsFromFloat = true
        return s
    }

    // MARK: Loss and training

    /// The mean loss over `batch` (windows normalized).
    public func loss(on batch: [TrainingExample], lossFunction: LossFunction) -> Float {
        let engine = Engine<Float>(architecture: architecture)
        engine.reconstructionWeight = reconstructionScoreWeight
        engine.scoresByLargestSensor = scoresByLargestSensor
        var total: Float = 0
        parameters.withUnsafeBufferPointer { P in
            for example in batch {
                loadIdentity(example.window, into: engine)
                let s = engine.forward(P.baseAddress!)
                total += lossFunction.value(score: s, label: example.label)
            }
        }
        return batch.isEmpty ? 0 : total / Float(batch.count)
    }

    /// The mean loss over `batch` and its gradient with respect to `parameters`.
    public func lossAndGradient(on batch: [TrainingExample], lossFunction: LossFunction) -> (loss: Float, gradient: [Float]) {
        let (loss, gradient) = Network.lossAndGradient(
            parameters: parameters, architecture: architecture, batch: batch, lossFunction: lossFunction,
            reconstructionScoreWeight: reconstructionScoreWeight, largestSensorScore: scoresByLargestSensor)
        return (loss, gradient)
    }

    /// One optimizer step on `batch`; returns the batch's mean loss before the step.
    /// - Parameters:
    ///   - maximumGradientNorm: when set, the gradient is rescaled to at most this L2 norm.
    @discardableResult
    public mutating func train<O: Optimizer>(
        on batch: [TrainingExample], lossFunction: LossFunction, optimizer: inout O, maximumGradientNorm: Float? = nil
    ) -> Float {
        var (loss, gradient) = lossAndGradient(on: batch, lossFunction: lossFunction)
        if let limit = maximumGradientNorm {
            let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > limit {
                let factor = limit / norm
                for k in gradient.indices { gradient[k] *= factor }
            }
        }
        optimizer.update(&parameters, gradient: gradient)
        return loss
    }

    /// Generic loss and gradient: `Float` for training, `Double` for gradient checks.
    static func lossAndGradient<S: BinaryFloatingPoint>(
        parameters: [S], architecture: NetworkArchitecture, batch: [TrainingExample], lossFunction: LossFunction,
        reconstructionScoreWeight: Float = 1, largestSensorScore: Bool = false
    ) -> (S, [S]) {
        let engine = Engine<S>(architecture: architecture)
        engine.reconstructionWeight = S(reconstructionScoreWeight)
        engine.scoresByLargestSensor = largestSensorScore
        var gradient = [S](repeating: 0, count: parameters.count)
        var total: S = 0
        guard !batch.isEmpty else { return (0, gradient) }
        let scale = 1 / S(batch.count)
        parameters.withUnsafeBufferPointer { P in
            gradient.withUnsafeMutableBufferPointer { G in
                for example in batch {
                    loadIdentity(example.window, into: engine)
                    let s = engine.forward(P.baseAddress!)
                    total += lossFunction.value(score: s, label: example.label)
                    let dScore = lossFunction.derivative(score: s, label: example.label) * scale
                    if dScore != 0 { engine.backward(P.baseAddress!, dScore: dScore, into: G.baseAddress!) }
                }
            }
        }
        return (total * scale, gradient)
    }

    /// The gradient with respect to `parameters` of a loss whose derivative with respect to
    /// each window's score is given (`dScores[i]` for `windows[i]`, windows normalized): for
    /// losses that couple windows, such as a ranking loss over pairs.
    func gradient(windows: [Window], dScores: [Float]) -> [Float] {
        precondition(windows.count == dScores.count, "one derivative per window")
        let engine = Engine<Float>(architecture: architecture)
        engine.reconstructionWeight = reconstructionScoreWeight
        engine.scoresByLargestSensor = scoresByLargestSensor
        var gradient = [Float](repeating: 0, count: parameters.count)
        parameters.withUnsafeBufferPointer { P in
            gradient.withUnsafeMutableBufferPointer { G in
                for (window, d) in zip(windows, dScores) where d != 0 {
                    Network.loadIdentity(window, into: engine)
                    engine.forward(P.baseAddress!)
                    engine.backward(P.baseAddress!, dScore: d, into: G.baseAddress!)
                }
            }
        }
        return gradient
    }

    /// Generic score of a normalized window (for gradient checks).
    static func score<S: BinaryFloatingPoint>(parameters: [S], architecture: NetworkArchitecture, window: Window) -> S {
        let engine = Engine<S>(architecture: architecture)
        loadIdentity(window, into: engine)
        return parameters.withUnsafeBufferPointer { engine.forward($0.baseAddress!) }
    }

    private static func loadIdentity<S>(_ window: Window, into engine: Engine<S>) {
        let c = window.sensorCount
        let zeros = [Float](repeating: 0, count: c), ones = [Float](repeating: 1, count: c)
        zeros.withUnsafeBufferPointer { z in
            ones.withUnsafeBufferPointer { o in engine.loadFeatures(of: window, centers: z.baseAddress!, inverseScales: o.baseAddress!) }
        }
    }

    private func loadIdentity(_ window: Window, into engine: Engine<Float>) {
        Network.loadIdentity(window, into: engine)
    }
}

/// Reusable buffers for scoring one window after another without allocating.
///
/// - Important: not thread-safe; use one workspace per thread (it is a class so the scoring
///   loop can keep it across calls).
public final class ScoringWorkspace {
    private var engine: Engine<Float>?
    var quantized: QuantizedWorkspaceStorage?
    var lastSensorCount = 0
    var lastContributionsFromFloat = true

    /// Creates an empty workspace; buffers are made on first use, and only those of the path
    /// used (a runtime that scores int8 never pays for the float engine's buffers).
    public init(architecture: NetworkArchitecture = .standard) {}

    func floatEngine(for architecture: NetworkArchitecture) -> Engine<Float> {
        if let engine, engine.layout.count == architecture.parameterCount,
           engine.layout.h1 == architecture.encoderHiddenWidth, engine.layout.e == architecture.embeddingWidth,
           engine.layout.h3 == architecture.decoderHiddenWidth, engine.layout.h5 == architecture.headHiddenWidth,
           engine.layout.s == architecture.slotWidth {
            return engine
        }
        let fresh = Engine<Float>(architecture: architecture)
        engine = fresh
        return fresh
    }

    /// The per-sensor contributions of the last window scored with this workspace.
    public var contributions: [Float] {
        if lastContributionsFromFloat {
            guard let engine else { return [] }
            return (0..<lastSensorCount).map { engine.contributions[$0] }
        }
        return quantized?.contributions(count: lastSensorCount) ?? []
    }
}

/// A network or model error with a code callers can switch on and a message saying what to do.
public struct NetworkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Hashable {
        /// The parameter vector does not fit the architecture.
        case parameterCountMismatch
        /// A parameter is NaN or infinite.
        case nonFiniteParameter
        /// The window does not fit the model (sensor count, time steps).
        case windowMismatch
        /// Quantization needs at least one calibration window.
        case noCalibrationData
    }

    /// The error code.
    public let code: Code
    /// A sentence saying what happened and what to do next.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
