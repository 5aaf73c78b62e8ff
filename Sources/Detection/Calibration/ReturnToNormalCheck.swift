#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sees a sensor's return to its normal level before the window mean does.
///
/// The window-deviation score averages each sensor over the last `windowRows` rows to keep noise
/// out of the alert decision. When a fault ends (a valve reopens, a leak is closed) the level
/// steps back within a few rows, yet the window still holds fault rows for up to `windowRows`
/// rows, and the alert can only start clearing once they have left it: on a 1 s machine, a
/// 20-row window and a 10-row clear keep an alert about 28 rows beyond every clean fault end.
///
/// The check splits the window into its last `rows` rows (the recent part) and the rows before
/// them (the older part). When the two means differ by more than anything calibration saw
/// (`changeMargin` × the largest such difference in the calibration rows, per sensor), the window
/// holds a change of level and the recent mean is the better estimate of where the sensor is now.
/// The sensor's deviation is then the *smaller* of its window deviation and its recent-mean
/// deviation, the latter in units of the recent mean's own tolerated spread (measured on the
/// calibration rows the same way as the window's: MAD, wander over the drift horizon, noise floor,
/// tolerance floor). Only lowering is allowed: raising stays with the full window, whose noise
/// reduction is what the threshold was set for, so the check can shorten an alert after a return
/// but never raise one (nor fire earlier) on noise.
public struct ReturnToNormalCheck: Sendable, Hashable, Codable {
    /// Settings of the check.
    public struct Settings: Sendable, Hashable, Codable {
        /// Length of the recent part as a fraction of the window (rounded, at least 2 rows and
        /// less than the window): short against the clear count, long enough to average a little.
        public var windowFraction: Float
        /// The recent and older means differ "more than calibration saw" when their difference is
        /// above this multiple of the largest difference in the calibration rows (the headroom the
        /// threshold rule also uses).
        public var changeMargin: Float

        /// Creates settings; the defaults are the shipped ones (a quarter of the window, margin 2).
        public init(windowFraction: Float = 0.25, changeMargin: Float = 2) {
            self.windowFraction = windowFraction
            self.changeMargin = changeMargin
        }

        /// Rows of the recent part for a window of `windowRows` rows (0: the window is too short).
        public func recentRows(windowRows: Int) -> Int {
            let rows = Int((Float(windowRows) * windowFraction).rounded())
            return windowRows >= 3 ? min(max(rows, 2), windowRows - 1) : 0
        }
    }

    /// Rows of the recent part.
    public var rows: Int
    /// Per-sensor tolerated spread of the recent mean, normalized units (as `windowScale`).
    public var scale: [Float]
    /// Per-sensor difference between the recent and older means above which the window holds a
    /// change of level, normalized units.
    public var changeBound: [Float]

    /// Fits the check to the calibration rows the baseline was fitted on (row-major, NaN = missing).
    /// - Parameter robustSpread: measure wander by the median change over the drift horizon, as the
    ///   baseline's first, robust pass does.
    /// - Returns: nil when the window is too short to split or there are too few rows.
    static func fit(values: ArraySlice<Float>, sensorCount n: Int, baseline: WindowDeviationBaseline,
                    settings: Settings, robustSpread: Bool, runStarts: [Int] = []) -> ReturnToNormalCheck? {
        let w = baseline.settings.windowRows
        let k = settings.recentRows(windowRows: w)
        let rows = n > 0 ? values.count / n : 0
        guard k > 0, rows > w else { return nil }
        var plain = baseline
        plain.returnCheck = nil
        var scorer = WindowDeviationScorer(baseline: plain)
        var recent: [[Float]] = Array(repeating: [], count: n)
        var largestChange = [Float](repeating: 0, count: n)
        var offsets = [Float](repeating: 0, count: n)
        // Windows start afresh at each run start (no window straddles a stop).
        let runOfRow = CalibrationRuns.runOfRow(rows: rows, starts: runStarts)
        var sinceStart = 0
        for r in 0..<rows {
            if let runOfRow, r > 0, runOfRow[r] != runOfRow[r - 1] {
                scorer = WindowDeviationScorer(baseline: plain)
                sinceStart = 0
            }
            let start = values.startIndex + r * n
            scorer.push(row: values[start..<(start + n)])
            sinceStart += 1
            guard sinceStart >= w else { continue }
            for s in 0..<n {
                let (recentMean, olderMean) = scorer.recentAndOlderMeans(sensor: s, recentRows: k)
                let change = abs(recentMean - olderMean)
                if change.isFinite { largestChange[s] = max(largestChange[s], change) }
                offsets[s] = recentMean - baseline.windowCenter[s]
            }
            if let operating = baseline.operating {
                offsets.withUnsafeMutableBufferPointer { operating.project($0) }
            }
            for s in 0..<n { recent[s].append(offsets[s]) }
        }
        let noiseFloor = 0.5 / Float(k).squareRoot()
        var scale = [Float](repeating: 1, count: n)
        var changeBound = [Float](repeating: .greatestFiniteMagnitude, count: n)
        for s in 0..<n {
            let m = recent[s]
            guard m.contains(where: \.isFinite) else { continue }
            var spread = RobustStatistics.scaledMAD(m, center: 0)
            if !spread.isFinite { spread = 0 }
            let h = min(baseline.settings.driftHorizonRows, m.count - 1)
            if h > 0 {
                let changes = (h..<m.count).map { abs(m[$0] - m[$0 - h]) }
                let drift = robustSpread ? RobustStatistics.median(changes) : changes.lazy.filter(\.isFinite).max() ?? 0
                if drift.isFinite { spread = max(spread, drift) }
            }
            let relativeFloor = baseline.settings.relativeToleranceFloor * abs(baseline.median[s]) / baseline.scale[s]
            scale[s] = max(spread, noiseFloor, relativeFloor.isFinite ? relativeFloor : 0)
            changeBound[s] = settings.changeMargin * largestChange[s]
        }
        return ReturnToNormalCheck(rows: k, scale: scale, changeBound: changeBound)
    }
}
