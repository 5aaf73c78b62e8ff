/// The training loss of one window, as a function of its score `s`.
///
/// - One-class term (normal windows): `reconstructionWeight × s`. The score is the mean of the
///   per-sensor prediction errors plus the deviation head's magnitudes, so minimizing it on
///   normal data teaches the network to predict each sensor from the others.
/// - Deviation term (Deviation Networks, Pang et al. 2019), with `dev = (s - reference) / scale`:
///   normal windows `weight × max(0, dev)` (pulled down to the reference when above it), anomalous
///   windows `weight × max(0, margin - dev)` (pushed at least `margin` scales above it).
///   The paper's normal term is `|dev|`; ours is one-sided because our scores are non-negative
///   errors and pushing a normal window's error *up* to the reference would unlearn prediction.
public struct LossFunction: Sendable, Hashable {
    /// Weight of the one-class term on normal windows (0 turns it off).
    public var reconstructionWeight: Float
    /// The deviation term, or nil when there are no labelled or synthetic anomalies.
    public var deviation: DeviationLoss?

    /// Creates a loss.
    public init(reconstructionWeight: Float = 1, deviation: DeviationLoss? = nil) {
        self.reconstructionWeight = reconstructionWeight
        self.deviation = deviation
    }

    /// The one-class loss only (normal-only data).
    public static let oneClass = LossFunction()

    /// The loss of one window with score `s`.
    func value<S: BinaryFloatingPoint>(score s: S, label: WindowLabel) -> S {
        var total: S = 0
        if label == .normal { total += S(reconstructionWeight) * s }
        if let dv = deviation {
            let dev = (s - S(dv.reference)) / S(dv.scale)
            switch label {
            case .normal: total += S(dv.weight) * max(0, dev)
            case .anomalous: total += S(dv.weight) * max(0, S(dv.margin) - dev)
            }
        }
        return total
    }

    /// ∂loss/∂score for one window.
    func derivative<S: BinaryFloatingPoint>(score s: S, label: WindowLabel) -> S {
        var total: S = 0
        if label == .normal { total += S(reconstructionWeight) }
        if let dv = deviation {
            let dev = (s - S(dv.reference)) / S(dv.scale)
            switch label {
            case .normal: if dev > 0 { total += S(dv.weight) / S(dv.scale) }
            case .anomalous: if S(dv.margin) - dev > 0 { total -= S(dv.weight) / S(dv.scale) }
            }
        }
        return total
    }
}

/// The settings of the deviation loss (see `LossFunction`).
public struct DeviationLoss: Sendable, Hashable {
    /// The reference score of normal windows (e.g. the median score of normal windows).
    public var reference: Float
    /// The score scale that one unit of deviation means (e.g. 1.4826 × MAD of normal scores); > 0.
    public var scale: Float
    /// How many scales above the reference anomalies must score (Deviation Networks use 5).
    public var margin: Float
    /// Weight of the deviation term relative to the one-class term.
    public var weight: Float

    /// Creates deviation-loss settings.
    public init(reference: Float, scale: Float, margin: Float = 5, weight: Float = 1) {
        precondition(scale > 0, "the deviation scale must be positive")
        self.reference = reference
        self.scale = scale
        self.margin = margin
        self.weight = weight
    }

    /// Reference = median and scale = 1.4826 × MAD (floored at 1e-3 × max(1, median)) of `scores`.
    public init(fittingNormalScores scores: [Float], margin: Float = 5, weight: Float = 1) {
        let n = Normalization(fittingColumns: [scores])
        self.init(reference: n.centers[0], scale: n.scales[0], margin: margin, weight: weight)
    }
}

/// Updates parameters from a gradient.
public protocol Optimizer: Sendable {
    /// Applies one step: `parameters` move against `gradient` (same count).
    mutating func update(_ parameters: inout [Float], gradient: [Float])
}

/// Stochastic gradient descent with optional (heavy-ball) momentum.
public struct StochasticGradientDescent: Optimizer, Hashable {
    /// Step size.
    public var learningRate: Float
    /// Momentum coefficient in [0, 1); 0 is plain SGD.
    public var momentum: Float
    private var velocity: [Float] = []

    /// Creates the optimizer.
    public init(learningRate: Float, momentum: Float = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
    }

    /// `v = momentum·v + g; p -= learningRate·v`.
    public mutating func update(_ parameters: inout [Float], gradient: [Float]) {
        precondition(parameters.count == gradient.count, "gradient and parameters need the same count")
        if velocity.count != parameters.count { velocity = [Float](repeating: 0, count: parameters.count) }
        for k in parameters.indices {
            velocity[k] = momentum * velocity[k] + gradient[k]
            parameters[k] -= learningRate * velocity[k]
        }
    }
}

/// Adam (Kingma & Ba 2015) with bias correction.
public struct Adam: Optimizer, Hashable {
    /// Step size.
    public var learningRate: Float
    /// First-moment decay.
    public var beta1: Float
    /// Second-moment decay.
    public var beta2: Float
    /// Denominator guard.
    public var epsilon: Float
    /// Per-parameter multipliers of the learning rate (nil: every parameter steps with
    /// `learningRate`; multipliers of exactly 1 step identically).
    public var rateMultipliers: [Float]? = nil
    private var firstMoment: [Float] = []
    private var secondMoment: [Float] = []
    private var step = 0

    /// Creates the optimizer (defaults from the paper, learning rate 1e-3).
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// One Adam step.
    public mutating func update(_ parameters: inout [Float], gradient: [Float]) {
        precondition(parameters.count == gradient.count, "gradient and parameters need the same count")
        if firstMoment.count != parameters.count {
            firstMoment = [Float](repeating: 0, count: parameters.count)
            secondMoment = firstMoment
            step = 0
        }
        step += 1
        let c1 = 1 - Float(_exp(Double(step) * _log(Double(beta1))))
        let c2 = 1 - Float(_exp(Double(step) * _log(Double(beta2))))
        let stepSize = learningRate * c2.squareRoot() / c1
        if let multipliers = rateMultipliers {
            precondition(multipliers.count == parameters.count, "one rate multiplier per parameter")
            for k in parameters.indices {
                let g = gradient[k]
                firstMoment[k] = beta1 * firstMoment[k] + (1 - beta1) * g
                secondMoment[k] = beta2 * secondMoment[k] + (1 - beta2) * g * g
                let step = stepSize * multipliers[k]
                parameters[k] -= step * firstMoment[k] / (secondMoment[k].squareRoot() + epsilon)
            }
            return
        }
        for k in parameters.indices {
            let g = gradient[k]
            firstMoment[k] = beta1 * firstMoment[k] + (1 - beta1) * g
            secondMoment[k] = beta2 * secondMoment[k] + (1 - beta2) * g * g
            parameters[k] -= stepSize * firstMoment[k] / (secondMoment[k].squareRoot() + epsilon)
        }
    }
}
