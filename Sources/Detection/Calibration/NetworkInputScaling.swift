/// How the network's inputs are scaled per sensor at calibration.
///
/// `robust` divides each reading's offset from the calibration median by the calibration MAD:
/// at K = 50 rows that MAD has not seen the machine's slow wander, so later normal windows look
/// 10–20 scales off whatever the weights, and "one scale" means something different on every
/// machine. `tolerated` uses the units the window-deviation score judges in (see
/// `WindowDeviationBaseline`): the center is the calibration level of the sensor's 20-row window
/// means, the scale their *tolerated spread* (MAD of the window means, the largest 100-row
/// change, a noise floor, 1 % of the magnitude) divided by the wander discount. A window mean of
/// 1 is then "as far as calibration tolerated" on every machine, simulated or real, so what
/// meta-training on simulated machines teaches is in the same units on a real one.
public enum NetworkInputScaling: String, Sendable, Hashable, Codable, CaseIterable {
    /// Median and MAD of the calibration readings (the scaling before 2026-11-29).
    case robust
    /// Calibration level and tolerated spread of the window-deviation score (dimensionless).
    case tolerated

    /// The window-deviation settings whose baseline gives the tolerated units: the shipped
    /// ones, per sensor (no operating directions, which would couple sensors, and no
    /// return-to-normal check, which does not change levels or spreads).
    public static let toleratedDeviationSettings = WindowDeviationSettings(operating: nil, returnCheck: nil)

    /// The per-sensor normalization of calibration rows `values` (row-major, NaN = missing).
    /// A sensor without readings gets center 0 and scale 1.
    public func normalization(values: ArraySlice<Float>, sensorCount n: Int) -> Normalization {
        let rows = n > 0 ? values.count / n : 0
        let columns = (0..<n).map { s in (0..<rows).map { values[values.startIndex + $0 * n + s] } }
        let robust = Normalization(fittingColumns: columns)
        guard self == .tolerated else { return robust }
        let baseline = WindowDeviationBaseline.fit(values: values, sensorCount: n, settings: Self.toleratedDeviationSettings)
        var centers = robust.centers, scales = robust.scales
        for s in 0..<n {
            let center = baseline.median[s] + baseline.windowCenter[s] * baseline.scale[s]
            let scale = baseline.scale[s] * baseline.windowScale[s] / max(baseline.weight[s], 1e-6)
            guard center.isFinite, scale.isFinite, scale > 0 else { continue }
            centers[s] = center
            scales[s] = max(scale, Normalization.scaleFloor(center: center))
        }
        return Normalization(centers: centers, scales: scales)
    }
}
