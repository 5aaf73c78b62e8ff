/// Settings of few-shot adaptation: how a shared initialization is fitted to one machine from
/// windows of its normal operation plus synthetic (and, when given, labelled) anomalies.
public struct AdaptationSettings: Sendable, Hashable, Codable {
    /// Rows per network window.
    public var windowRows: Int
    /// Rows between the starts of consecutive training windows.
    public var stride: Int
    /// At most this many normal windows join the adaptation batch (evenly spaced).
    public var maximumNormalWindows: Int
    /// Synthetic anomalies injected into copies of the normal windows.
    public var syntheticAnomalies: Int
    /// Adam steps on the full batch.
    public var steps: Int
    /// Adam learning rate.
    public var learningRate: Float
    /// Scales above the normal reference that anomalies are pushed (deviation loss margin).
    public var deviationMargin: Float
    /// Seed of the synthetic anomalies (adaptation is deterministic given it).
    public var seed: UInt64
    /// Whether only the deviation head (its two layers) adapts while the encoder, decoder and
    /// slot embeddings stay as initialized (ANIL: the shared representation is kept, the
    /// machine-specific read-out is fitted). False: every weight adapts.
    public var headOnly: Bool = false
    /// Per-tensor log step sizes (`AdaptationRates`): tensor k steps with `learningRate ·
    /// exp(tensorLogRates[k])`. nil (the shipped adaptation) and all zeros adapt identically.
    public var tensorLogRates: [Float]? = nil
    /// Weight λ of the proximal term (λ/2)·‖θ − θ₀‖² added to the adaptation loss, θ₀ the
    /// weights adaptation starts from (iMAML's inner objective): each Adam step's gradient is the
    /// loss's (clipped as always) plus λ·(θ − θ₀), which holds the adapted weights near the start.
    /// 0 (the shipped adaptation) adapts exactly as without it.
    public var proximalWeight: Float = 0

    /// Creates settings; the defaults are the shipped ones (see docs/detection.md, "The network half").
    public init(windowRows: Int = 32, stride: Int = 2, maximumNormalWindows: Int = 64, syntheticAnomalies: Int = 32,
                steps: Int = 20, learningRate: Float = 3e-3, deviationMargin: Float = 5, seed: UInt64 = 1) {
        self.windowRows = max(2, windowRows)
        self.stride = max(1, stride)
        self.maximumNormalWindows = max(1, maximumNormalWindows)
        self.syntheticAnomalies = max(0, syntheticAnomalies)
        self.steps = max(0, steps)
        self.learningRate = learningRate
        self.deviationMargin = deviationMargin
        self.seed = seed
    }
}

/// What one adaptation did.
public struct AdaptationReport: Sendable, Hashable, Codable {
    /// Normal windows in the batch (K windows).
    public var normalWindows: Int
    /// Anomalous windows in the batch (synthetic plus labelled).
    public var anomalousWindows: Int
    /// Adam steps taken.
    public var steps: Int
    /// Batch loss before the first step.
    public var lossBefore: Float
    /// Batch loss after the last step.
    public var lossAfter: Float
}

/// Few-shot adaptation of the compact network to one machine (the inner loop of meta-training,
/// and what `calibrate` runs): a few full-batch Adam steps of the one-class loss plus the
/// deviation loss on normal windows, synthetic anomalies and labelled anomalies.
public enum FewShotAdaptation {
    /// Normalized windows over rows `[0, rows)` of `values` (row-major), `stride` apart, at most
    /// `limit` of them (evenly spaced). Missing readings become the sensor's median (0).
    /// - Parameter runStarts: rows at which the machine runs again after a stop left out of
    ///   `values` (`SensorTable.runStarts`): no window straddles one, as no window the agent
    ///   scores does (a run shorter than a window gives none).
    public static func windows(values: ArraySlice<Float>, sensorCount: Int, normalization: Normalization,
                               windowRows: Int, stride: Int, limit: Int, runStarts: [Int] = []) -> [Window] {
        let rows = sensorCount > 0 ? values.count / sensorCount : 0
        guard rows >= windowRows else { return [] }
        var starts = Array(Swift.stride(from: 0, through: rows - windowRows, by: stride))
        if let runOfRow = CalibrationRuns.runOfRow(rows: rows, starts: runStarts) {
            starts.removeAll { runOfRow[$0] != runOfRow[$0 + windowRows - 1] }
        }
        if starts.count > limit {
            starts = (0..<limit).map { starts[$0 * starts.count / limit] }
        }
        return starts.map { start in
            var w = [Float](repeating: 0, count: windowRows * sensorCount)
            for t in 0..<windowRows {
                for s in 0..<sensorCount {
                    let v = values[values.startIndex + (start + t) * sensorCount + s]
                    let z = (v - normalization.centers[s]) / normalization.scales[s]
                    w[t * sensorCount + s] = z.isFinite ? z : 0
                }
            }
            return Window(timeSteps: windowRows, sensorCount: sensorCount, values: w)
        }
    }

    /// The training batch for one machine: its normal windows, synthetic anomalies made from
    /// them, and labelled anomalous windows.
    public static func batch(normal: [Window], labelledAnomalies: [Window] = [], settings: AdaptationSettings) -> [TrainingExample] {
        var examples = normal.map { TrainingExample(window: $0, label: .normal) }
        if !normal.isEmpty, settings.syntheticAnomalies > 0 {
            var generator = SyntheticAnomalyGenerator(seed: settings.seed)
            examples += generator.anomalies(from: normal, count: settings.syntheticAnomalies)
        }
        examples += labelledAnomalies.map { TrainingExample(window: $0, label: .anomalous) }
        return examples
    }

    /// The loss used for adaptation: one-class on normal windows plus the deviation loss with
    /// its reference fitted to `network`'s scores of the normal windows.
    public static func lossFunction(for network: Network, normal: [Window], margin: Float) -> LossFunction {
        let scores = normal.map { network.score($0).score }
        return LossFunction(reconstructionWeight: 1, deviation: DeviationLoss(fittingNormalScores: scores, margin: margin))
    }

    /// The indices of the deviation head's weights and biases in the flat parameter vector.
    public static func headParameterRange(of architecture: NetworkArchitecture) -> Range<Int> {
        let layout = ParameterLayout(architecture)
        return layout.w5..<layout.slots
    }

    /// The proximal term (λ/2)·‖θ − θ₀‖² and its gradient λ·(θ − θ₀), θ = `parameters`, θ₀ = `anchor`.
    public static func proximalTerm<S: BinaryFloatingPoint>(parameters: [S], anchor: [S], weight: S) -> (value: S, gradient: [S]) {
        precondition(parameters.count == anchor.count, "one anchor per parameter")
        var value: S = 0
        var gradient = [S](repeating: 0, count: parameters.count)
        for k in parameters.indices {
            let d = parameters[k] - anchor[k]
            value += d * d
            gradient[k] = weight * d
        }
        return (weight / 2 * value, gradient)
    }

    /// The proximal adaptation objective at `network`'s weights: the batch loss plus
    /// (λ/2)·‖θ − θ₀‖² (λ = `weight`, θ₀ = `anchor`), and its gradient (unclipped).
    public static func proximalLossAndGradient(_ network: Network, batch: [TrainingExample], lossFunction: LossFunction,
                                               anchor: [Float], weight: Float) -> (loss: Float, gradient: [Float]) {
        var (loss, gradient) = network.lossAndGradient(on: batch, lossFunction: lossFunction)
        let proximal = proximalTerm(parameters: network.parameters, anchor: anchor, weight: weight)
        for k in gradient.indices { gradient[k] += proximal.gradient[k] }
        return (loss + proximal.value, gradient)
    }

    /// Adapts `network` to `batch` for `settings.steps` full-batch Adam steps (with
    /// `settings.proximalWeight` > 0, toward the loss plus the proximal term around `network`).
    public static func adapt(_ network: Network, batch: [TrainingExample], lossFunction: LossFunction,
                             settings: AdaptationSettings) -> (network: Network, report: AdaptationReport) {
        var adapted = network
        var optimizer = Adam(learningRate: settings.learningRate)
        if let logRates = settings.tensorLogRates {
            optimizer.rateMultipliers = AdaptationRates.parameterMultipliers(logRates: logRates, architecture: network.architecture)
        }
        let before = adapted.loss(on: batch, lossFunction: lossFunction)
        let head = settings.headOnly ? headParameterRange(of: network.architecture) : nil
        let lambda = settings.proximalWeight
        let anchor = network.parameters
        for _ in 0..<settings.steps {
            if let head {
                var (_, gradient) = adapted.lossAndGradient(on: batch, lossFunction: lossFunction)
                for k in gradient.indices where !head.contains(k) { gradient[k] = 0 }
                let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm > 10 { for k in head { gradient[k] *= 10 / norm } }
                // Outside the head θ = θ₀, so the proximal term adds nothing there.
                if lambda != 0 { for k in head { gradient[k] += lambda * (adapted.parameters[k] - anchor[k]) } }
                if norm.isFinite { optimizer.update(&adapted.parameters, gradient: gradient) }
            } else if lambda != 0 {
                // As `Network.train` with the gradient clipped to norm 10, then the proximal
                // term's gradient added unclipped (clipping bounds the data term's step only).
                var (_, gradient) = adapted.lossAndGradient(on: batch, lossFunction: lossFunction)
                let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm > 10 { for k in gradient.indices { gradient[k] *= 10 / norm } }
                for k in gradient.indices { gradient[k] += lambda * (adapted.parameters[k] - anchor[k]) }
                optimizer.update(&adapted.parameters, gradient: gradient)
            } else {
                adapted.train(on: batch, lossFunction: lossFunction, optimizer: &optimizer, maximumGradientNorm: 10)
            }
        }
        let after = settings.steps > 0 ? adapted.loss(on: batch, lossFunction: lossFunction) : before
        let anomalous = batch.filter { $0.label == .anomalous }.count
        return (adapted, AdaptationReport(normalWindows: batch.count - anomalous, anomalousWindows: anomalous,
                                          steps: settings.steps, lossBefore: before, lossAfter: after))
    }
}
