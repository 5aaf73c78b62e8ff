import Testing
@testable import Detection

/// Finite-difference checks of the hand-written backward pass, in Double.
///
/// Central differences with step 1e-6 in Double have truncation error O(h²) ≈ 1e-12 and
/// round-off ≈ 1e-16 / 1e-6 = 1e-10, far below the 1e-3 relative tolerance; components whose
/// analytic and numeric values are both below 1e-7 in magnitude are compared absolutely.
@Suite struct NetworkGradientTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let sensorCount: Int
        let labels: [WindowLabel]
        let loss: LossFunction
        var testDescription: String { "\(name), \(sensorCount) sensors" }
    }

    static let cases: [Case] = [
        Case(name: "one-class", sensorCount: 1, labels: [.normal, .normal], loss: .oneClass),
        Case(name: "one-class", sensorCount: 2, labels: [.normal, .normal], loss: .oneClass),
        Case(name: "one-class", sensorCount: 5, labels: [.normal, .normal, .normal], loss: .oneClass),
        // Reference 0 so every normal window sits above it (hinge active).
        Case(name: "deviation, normal above reference", sensorCount: 4, labels: [.normal, .normal],
             loss: LossFunction(reconstructionWeight: 0.5, deviation: DeviationLoss(reference: 0, scale: 0.5, margin: 5))),
        // A huge margin so every anomaly is below it (hinge active).
        Case(name: "deviation, anomalies below margin", sensorCount: 3, labels: [.anomalous, .normal, .anomalous],
             loss: LossFunction(reconstructionWeight: 1, deviation: DeviationLoss(reference: 0.1, scale: 0.2, margin: 1000))),
    ]

    @Test(arguments: cases)
    func gradientMatchesFiniteDifferences(_ testCase: Case) throws {
        let machine = SyntheticMachine(sensorCount: testCase.sensorCount, seed: 7)
        let raw = machine.windows(count: testCase.labels.count, timeSteps: 16, stride: 9, seed: 11)
        let normalization = Normalization(fitting: raw)
        var generator = SyntheticAnomalyGenerator(seed: 3)
        let batch = zip(raw, testCase.labels).enumerated().map { n, pair in
            let window = normalization.normalize(pair.0)
            let injected = pair.1 == .anomalous
                ? generator.inject(.levelShift, into: window, sensor: n % window.sensorCount) : window
            return TrainingExample(window: injected, label: pair.1)
        }
        // A narrower architecture than the standard one: the same code paths (every layer, both
        // poolings, slots), a quarter of the parameters, so the check runs quickly in debug builds.
        let architecture = NetworkArchitecture(encoderHiddenWidth: 8, embeddingWidth: 5, decoderHiddenWidth: 8,
                                               headHiddenWidth: 5, slotWidth: 3, maximumSensorCount: 6)
        let network = Network(architecture: architecture, seed: 42)
        let theta = network.parameters.map(Double.init)
        let (_, analytic) = Network.lossAndGradient(
            parameters: theta, architecture: architecture, batch: batch, lossFunction: testCase.loss)

        let layout = ParameterLayout(architecture)
        let groups: [(String, Range<Int>)] = [
            ("W1", layout.w1..<layout.b1), ("b1", layout.b1..<layout.w2), ("W2", layout.w2..<layout.b2),
            ("b2", layout.b2..<layout.w3), ("W3", layout.w3..<layout.b3), ("b3", layout.b3..<layout.w4),
            ("W4", layout.w4..<layout.b4), ("b4", layout.b4..<layout.w5), ("W5", layout.w5..<layout.b5),
            ("b5", layout.b5..<layout.w6), ("W6", layout.w6..<layout.b6), ("b6", layout.b6..<layout.slots),
            ("slots", layout.slots..<layout.count),
        ]
        let h = 1e-6
        var perturbed = theta
        var checked = 0
        for (name, range) in groups {
            var worst = 0.0
            for k in range {
                perturbed[k] = theta[k] + h
                let (plus, _) = Network.lossAndGradient(parameters: perturbed, architecture: architecture, batch: batch, lossFunction: testCase.loss)
                perturbed[k] = theta[k] - h
                let (minus, _) = Network.lossAndGradient(parameters: perturbed, architecture: architecture, batch: batch, lossFunction: testCase.loss)
                perturbed[k] = theta[k]
                let numeric = (plus - minus) / (2 * h)
                let a = analytic[k]
                let magnitude = max(abs(a), abs(numeric))
                let error = magnitude < 1e-7 ? abs(a - numeric) / 1e-7 * 1e-4 : abs(a - numeric) / magnitude
                worst = max(worst, error)
                checked += 1
            }
            #expect(worst < 1e-3, "\(name): worst relative error \(worst)")
        }
        #expect(checked == architecture.parameterCount)
        // The check must exercise something: a good part of the gradient is non-zero (with one
        // sensor the pooled inputs are zero, so fewer weights receive gradient).
        let nonZero = analytic[layout.w1..<layout.slots].filter { abs($0) > 1e-9 }.count
        #expect(nonZero > (layout.slots - layout.w1) / 4)
    }

    @Test func lossDerivativesMatchFiniteDifferences() {
        let loss = LossFunction(reconstructionWeight: 0.7, deviation: DeviationLoss(reference: 1.5, scale: 0.4, margin: 5, weight: 2))
        for label in [WindowLabel.normal, .anomalous] {
            for s in [0.3, 1.2, 1.9, 2.5, 3.0, 4.1] {
                let h = 1e-6
                let numeric = (loss.value(score: s + h, label: label) - loss.value(score: s - h, label: label)) / (2 * h)
                let analytic = loss.derivative(score: s, label: label)
                #expect(abs(numeric - analytic) < 1e-6 * max(1, abs(numeric)), "label \(label), score \(s)")
            }
        }
    }

    @Test func floatAndDoubleForwardAgree() {
        let machine = SyntheticMachine(sensorCount: 6, seed: 1)
        let windows = machine.windows(count: 4, seed: 2)
        let normalization = Normalization(fitting: windows)
        let network = Network(seed: 5)
        for window in windows {
            let normalized = normalization.normalize(window)
            let f = network.score(window, normalization: normalization)
            let d = Network.score(parameters: network.parameters.map(Double.init), architecture: network.architecture, window: normalized)
            #expect(abs(Double(f.score) - d) <= 1e-4 * max(1, d))
            let sum = f.contributions.reduce(0, +)
            #expect(abs(sum - f.score) <= 1e-5 * max(1, f.score))
            #expect(f.contributions.allSatisfy { $0 >= 0 })
        }
    }
}
