/// Per-tensor step sizes of few-shot adaptation, meta-learned with the initialization
/// (first-order Meta-SGD, Li et al. 2017): adaptation's Adam steps move tensor k with the
/// learning rate `lr · exp(logRates[k])` instead of `lr`, so meta-training can teach calibration
/// which parts of the network to move fast on a new machine and which to leave nearly alone.
///
/// The log rates are learned by the first-order hypergradient (Baydin et al. 2018): after an
/// inner adaptation θ_0 → θ_T with per-step Adam directions u_t, θ_T − θ_0 = −lr·exp(ρ_k)·Σ_t u_t
/// on tensor k, so, treating the directions as fixed, ∂L_q(θ_T)/∂ρ_k ≈ ⟨θ_T − θ_0, g_q⟩ restricted
/// to tensor k, g_q the query loss's gradient at θ_T. With one inner step the directions do not
/// depend on ρ and the hypergradient is exact. An evaluation option for now
/// (`evaluate --few-shot --meta-learn-rates`): `calibrate`, the model file and the shipped
/// initialization know no rates.
public enum AdaptationRates {
    /// Names of the network's parameter tensors, in `Network.parameters` order (one log rate each).
    public static let tensorNames = ["encoder W1", "encoder b1", "encoder W2", "encoder b2",
                                     "decoder W3", "decoder b3", "decoder W4", "decoder b4",
                                     "head W5", "head b5", "head W6", "head b6", "slot embeddings"]

    /// Log rates are kept in this range (rates exp(−4) ≈ 0.018 … exp(2) ≈ 7.4 times the base rate).
    public static let logRateRange: ClosedRange<Float> = -4...2

    /// The index range of each tensor in the flat parameter vector, in `tensorNames` order.
    public static func tensorRanges(of architecture: NetworkArchitecture) -> [Range<Int>] {
        let l = ParameterLayout(architecture)
        let starts = [l.w1, l.b1, l.w2, l.b2, l.w3, l.b3, l.w4, l.b4, l.w5, l.b5, l.w6, l.b6, l.slots]
        let ends = Array(starts.dropFirst()) + [l.count]
        return zip(starts, ends).map { $0..<$1 }
    }

    /// One multiplier per parameter: exp(logRates[k]) for every parameter of tensor k.
    /// - Important: `logRates` has one entry per tensor (`tensorNames.count`).
    public static func parameterMultipliers(logRates: [Float], architecture: NetworkArchitecture) -> [Float] {
        let ranges = tensorRanges(of: architecture)
        precondition(logRates.count == ranges.count, "one log rate per parameter tensor")
        var multipliers = [Float](repeating: 1, count: architecture.parameterCount)
        for (range, rho) in zip(ranges, logRates) {
            let m = Float(_exp(Double(rho)))
            for i in range { multipliers[i] = m }
        }
        return multipliers
    }

    /// The first-order hypergradient of a query loss with respect to each tensor's log rate:
    /// Σ over the tensor's parameters of (adapted − initial) × queryGradient (see the type's
    /// comment), accumulated in Double.
    public static func hypergradient(initial: [Float], adapted: [Float], queryGradient: [Float],
                                     architecture: NetworkArchitecture) -> [Float] {
        precondition(initial.count == adapted.count && adapted.count == queryGradient.count, "one value per parameter")
        return tensorRanges(of: architecture).map { range in
            var sum = 0.0
            for i in range { sum += Double(adapted[i] - initial[i]) * Double(queryGradient[i]) }
            return Float(sum)
        }
    }

    /// `logRates` clamped to `logRateRange`.
    public static func clamped(_ logRates: [Float]) -> [Float] {
        logRates.map { min(max($0, logRateRange.lowerBound), logRateRange.upperBound) }
    }
}
