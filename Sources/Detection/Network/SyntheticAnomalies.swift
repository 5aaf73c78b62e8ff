/// Kinds of synthetic anomaly that stand in for labelled faults (magnitudes in normalized units).
public enum SyntheticAnomalyKind: String, Sendable, Hashable, CaseIterable {
    /// One reading far off (4–10 scales) in the recent quarter of the window.
    case spike
    /// From a point in the second half to the end, the sensor sits 3–8 scales higher or lower.
    case levelShift
    /// From a point in the first half, a linear ramp reaching 3–8 scales at the end.
    case drift
    /// From a point in the first half, the sensor repeats one value (a frozen transmitter).
    case stuck
    /// From a point in the second half, added Gaussian noise of 2–5 scales.
    case noiseBurst
    /// The sensor's series is replaced by its own series from another window (or mirrored when
    /// no other window is given): each sensor alone looks normal, the relation between them does not.
    case brokenCorrelation
}

/// Injects synthetic anomalies into normalized windows, deterministically for a seed.
public struct SyntheticAnomalyGenerator: Sendable {
    private var rng: SeededGenerator

    /// Creates a generator; the same seed gives the same anomalies.
    public init(seed: UInt64) {
        rng = SeededGenerator(seed: seed)
    }

    /// `window` (normalized) with an anomaly of `kind` injected into `sensor`.
    /// - Parameters:
    ///   - donor: for `.brokenCorrelation`, a window of the same machine taken at another time.
    public mutating func inject(_ kind: SyntheticAnomalyKind, into window: Window, sensor: Int, donor: Window? = nil) -> Window {
        precondition(sensor >= 0 && sensor < window.sensorCount, "sensor index out of range")
        var out = window
        let w = window.timeSteps
        let sign: Float = rng.nextUnit() < 0.5 ? -1 : 1
        switch kind {
        case .spike:
            let t = w - 1 - rng.nextIndex(below: max(1, w / 4))
            out[time: t, sensor: sensor] += sign * rng.uniform(4...10)
        case .levelShift:
            let start = w / 2 + rng.nextIndex(below: max(1, w / 2))
            let size = sign * rng.uniform(3...8)
            for t in start..<w { out[time: t, sensor: sensor] += size }
        case .drift:
            let start = rng.nextIndex(below: max(1, w / 2))
            let size = sign * rng.uniform(3...8)
            let span = Float(max(1, w - 1 - start))
            for t in start..<w { out[time: t, sensor: sensor] += size * Float(t - start) / span }
        case .stuck:
            let start = rng.nextIndex(below: max(1, w / 2))
            let value = window[time: start, sensor: sensor]
            for t in start..<w { out[time: t, sensor: sensor] = value }
        case .noiseBurst:
            let start = w / 2 + rng.nextIndex(below: max(1, w / 2))
            let size = rng.uniform(2...5)
            for t in start..<w { out[time: t, sensor: sensor] += size * rng.nextGaussian() }
        case .brokenCorrelation:
            if let donor, donor.sensorCount == window.sensorCount, donor.timeSteps == w {
                for t in 0..<w { out[time: t, sensor: sensor] = donor[time: t, sensor: sensor] }
            } else {
                for t in 0..<w { out[time: t, sensor: sensor] = -window[time: t, sensor: sensor] }
            }
        }
        return out
    }

    /// `count` anomalous examples made from randomly chosen `normals` (normalized windows of one
    /// machine), cycling through `kinds`, each in one random sensor.
    public mutating func anomalies(
        from normals: [Window], count: Int, kinds: [SyntheticAnomalyKind] = SyntheticAnomalyKind.allCases
    ) -> [TrainingExample] {
        precondition(!normals.isEmpty && !kinds.isEmpty, "need normal windows and at least one kind")
        var examples = [TrainingExample]()
        examples.reserveCapacity(count)
        for n in 0..<count {
            let base = normals[rng.nextIndex(below: normals.count)]
            // A donor far away in the list, so that its series is from another time.
            let donor = normals[(rng.nextIndex(below: normals.count) + normals.count / 2) % normals.count]
            let sensor = rng.nextIndex(below: base.sensorCount)
            let window = inject(kinds[n % kinds.count], into: base, sensor: sensor, donor: donor)
            examples.append(TrainingExample(window: window, label: .anomalous))
        }
        return examples
    }
}
