/// A meta-learned correction of the network's input normalization for short calibrations: per
/// sensor slot, how much wider a machine's normal operation turns out to be than the median/MAD
/// of its first K rows suggests.
///
/// Why: K = 50 rows (under a minute) see a sensor's noise but not its slow wander (temperatures
/// warming up, pressure following the load), so every later normal reading looks many "scales"
/// away and the network alarms. How much a sensor of a given slot wanders is a property of the
/// kind of machine, not of one machine: it is learned across machines (tasks) and carried to a
/// new one, where only the first K rows are known.
public struct NormalizationPrior: Sendable, Hashable, Codable {
    /// Calibration rows this prior was learned for.
    public var calibrationRows: Int
    /// Per slot (sensor position), the factor applied to the calibration scale (≥ 1); slots
    /// beyond the list keep their scale.
    public var scaleFactors: [Float]
    /// Per slot, a fleet scale in the sensor's own unit (nil: none): how far, in absolute terms,
    /// a machine of this kind's normal readings stray from the median of its first K rows. When
    /// set, a calibration's scale is at least this, so a window's normalized features mean the
    /// same physical change on every machine of the fleet (what lets weights learned on other
    /// machines read them) instead of "multiples of this calibration's noise".
    public var absoluteScales: [Float]? = nil

    /// Creates a prior from its factors.
    public init(calibrationRows: Int, scaleFactors: [Float], absoluteScales: [Float]? = nil) {
        self.calibrationRows = calibrationRows
        self.scaleFactors = scaleFactors.map { $0.isFinite ? max(1, $0) : 1 }
        self.absoluteScales = absoluteScales
    }

    /// `normalization` with each sensor's scale multiplied by its slot's factor, and raised to
    /// its slot's fleet scale when there is one.
    public func apply(to normalization: Normalization) -> Normalization {
        let scales = normalization.scales.enumerated().map { s, scale in
            let widened = s < scaleFactors.count ? scale * scaleFactors[s] : scale
            guard let absolute = absoluteScales, s < absolute.count, absolute[s].isFinite, absolute[s] > 0 else { return widened }
            return max(widened, absolute[s])
        }
        return Normalization(centers: normalization.centers, scales: scales)
    }

    /// Learns the factors from `tasks` (machines other than the one to be calibrated): for every
    /// stretch of `calibrationRows` normal rows (the task's first rows, and then every
    /// `max(calibrationRows, 200)` rows), the robust spread of the task's later normal rows
    /// around that stretch's median, in units of the stretch's own scale
    /// (1.4826 × median |x − median| / scale); a slot's factor is the median of these ratios
    /// over all stretches of all tasks that have the slot. Faults (labelled rows) are left out.
    ///
    /// With `absolute`, the factors stay 1 and the same spreads, in the sensor's unit rather than
    /// in units of the stretch's scale, give the slot's fleet scale (`absoluteScales`).
    public static func learn(from tasks: [MetaTask], calibrationRows k: Int, absolute: Bool = false) -> NormalizationPrior {
        let k = max(2, k)
        let slots = tasks.map(\.sensorCount).max() ?? 0
        var ratios = Array(repeating: [Float](), count: slots)
        for task in tasks {
            let n = task.sensorCount
            var start = 0
            while start + k + 1 < task.rowCount {
                defer { start += max(k, 200) }
                guard !task.anomalous[start..<(start + k)].contains(true) else { continue }
                let columns = (0..<n).map { s in (start..<(start + k)).map { task.values[$0 * n + s] } }
                let normalization = Normalization(fittingColumns: columns)
                for s in 0..<n {
                    var deviations: [Float] = []
                    for r in (start + k)..<task.rowCount where !task.anomalous[r] {
                        let v = task.values[r * n + s]
                        if v.isFinite { deviations.append(abs(v - normalization.centers[s])) }
                    }
                    guard deviations.count >= 20 else { continue }
                    let spread = 1.4826 * RobustStatistics.median(deviations)
                    let ratio = absolute ? spread : spread / normalization.scales[s]
                    if ratio.isFinite { ratios[s].append(ratio) }
                }
            }
        }
        let learned = ratios.map { $0.isEmpty ? Float.nan : RobustStatistics.median($0) }
        if absolute {
            return NormalizationPrior(calibrationRows: k, scaleFactors: [], absoluteScales: learned)
        }
        return NormalizationPrior(calibrationRows: k, scaleFactors: learned.map { $0.isFinite ? $0 : 1 })
    }
}
