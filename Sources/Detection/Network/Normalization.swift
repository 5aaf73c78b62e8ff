/// Per-sensor robust normalization taken at calibration: `z = (value - center) / scale`.
///
/// `center` is the median; `scale` is 1.4826 × MAD (the standard deviation for Gaussian
/// data), falling back to IQR / 1.349 and then to 1.2533 × the mean absolute deviation from the
/// median when the MAD is zero (sensors that sit on one value most of the time), and never below
/// `scaleFloor(center)` so a constant sensor does not divide by zero.
public struct Normalization: Sendable, Hashable {
    /// Per-sensor centers (medians).
    public let centers: [Float]
    /// Per-sensor scales (robust standard deviations, floored).
    public let scales: [Float]
    /// `1 / scales`, kept so scoring multiplies instead of dividing.
    let inverseScales: [Float]

    /// Creates a normalization from explicit centers and scales (same count; scales > 0).
    public init(centers: [Float], scales: [Float]) {
        precondition(centers.count == scales.count, "centers and scales need the same count")
        precondition(scales.allSatisfy { $0 > 0 && $0.isFinite }, "scales must be positive and finite")
        self.centers = centers
        self.scales = scales
        self.inverseScales = scales.map { 1 / $0 }
    }

    /// The identity normalization (center 0, scale 1) for `sensorCount` sensors.
    public static func identity(sensorCount: Int) -> Normalization {
        Normalization(centers: Array(repeating: 0, count: sensorCount), scales: Array(repeating: 1, count: sensorCount))
    }

    /// The number of sensors.
    public var sensorCount: Int { centers.count }

    /// The smallest scale allowed for a sensor centered at `center`: 1e-3 × max(1, |center|).
    public static func scaleFloor(center: Float) -> Float {
        1e-3 * max(1, abs(center))
    }

    /// Fits median and robust scale per sensor to every row of `windows` (duplicate rows of
    /// overlapping windows are counted as many times as they appear).
    /// - Important: all windows need the same sensor count, and there must be at least one.
    public init(fitting windows: [Window]) {
        precondition(!windows.isEmpty, "fit a normalization to at least one window")
        let c = windows[0].sensorCount
        var columns = Array(repeating: [Float](), count: c)
        for w in windows {
            precondition(w.sensorCount == c, "all windows need the same sensor count")
            for t in 0..<w.timeSteps {
                for s in 0..<c { columns[s].append(w.values[t * c + s]) }
            }
        }
        self.init(fittingColumns: columns)
    }

    /// Fits median and robust scale to each column (one array of readings per sensor).
    /// Non-finite readings are ignored; a column with none left gets center 0 and scale 1.
    public init(fittingColumns columns: [[Float]]) {
        var centers = [Float]()
        var scales = [Float]()
        for column in columns {
            let values = column.filter { $0.isFinite }.sorted()
            guard !values.isEmpty else {
                centers.append(0)
                scales.append(1)
                continue
            }
            let median = Normalization.quantile(values, 0.5)
            let deviations = values.map { abs($0 - median) }.sorted()
            var scale = 1.4826 * Normalization.quantile(deviations, 0.5)
            if !(scale > 0) {
                scale = (Normalization.quantile(values, 0.75) - Normalization.quantile(values, 0.25)) / 1.349
            }
            if !(scale > 0) {
                scale = 1.2533 * deviations.reduce(0, +) / Float(deviations.count)
            }
            centers.append(median)
            scales.append(max(scale, Normalization.scaleFloor(center: median)))
        }
        self.init(centers: centers, scales: scales)
    }

    /// Linear-interpolated quantile of sorted values (`q` in 0...1).
    static func quantile(_ sorted: [Float], _ q: Float) -> Float {
        let position = q * Float(sorted.count - 1)
        let lower = Int(position)
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Float(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }

    /// The window with every reading normalized.
    public func normalize(_ window: Window) -> Window {
        precondition(window.sensorCount == sensorCount, "window and normalization disagree on sensor count")
        var out = window
        for t in 0..<window.timeSteps {
            for s in 0..<sensorCount {
                out.values[t * sensorCount + s] = (window.values[t * sensorCount + s] - centers[s]) / scales[s]
            }
        }
        return out
    }
}
