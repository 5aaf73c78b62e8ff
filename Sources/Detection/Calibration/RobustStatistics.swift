/// Order statistics that ignore missing values (NaN), used wherever calibration must not be
/// dragged by a few anomalous rows: median, MAD, quantiles.
public enum RobustStatistics {
    /// The median of the finite values, or NaN when there are none.
    public static func median<S: Sequence>(_ values: S) -> Float where S.Element == Float {
        quantile(values, 0.5)
    }

    /// The `q`-quantile (0…1, linear interpolation) of the finite values, or NaN when there are none.
    public static func quantile<S: Sequence>(_ values: S, _ q: Double) -> Float where S.Element == Float {
        var sorted = values.filter { $0.isFinite }
        guard !sorted.isEmpty else { return .nan }
        sorted.sort()
        let position = Double(sorted.count - 1) * min(max(q, 0), 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = Float(position - Double(lower))
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }

    /// The median absolute deviation from `center`, scaled by 1.4826 so that it estimates the
    /// standard deviation of normally distributed data; NaN when there are no finite values.
    public static func scaledMAD<S: Sequence>(_ values: S, center: Float) -> Float where S.Element == Float {
        median(values.lazy.map { abs($0 - center) }) * 1.4826
    }
}
