/// The directions in which a machine's sensors move *together* when the plant changes how it
/// runs it (load, speed, setpoint), learned from the calibration rows.
///
/// A load change moves a pump's flow, pressure and current together along one such direction; a
/// fault moves them off it (inlet pressure falling with the flow, vibration up at constant load).
/// The window-deviation score measures each sensor's deviation *after* removing the part of the
/// machine's state that lies along these directions, so a load change like those calibration
/// saw is not an anomaly, while a broken relation between sensors still is.
///
/// Found by principal components of the calibration window means, each sensor in units of its
/// own short-term noise; kept only when a component's spread is far above noise and it involves
/// several sensors (a relation, not one sensor's drift: that is what the wander discount is for).
/// Calibration that saw a single operating point finds none, and the score is then the plain
/// per-sensor window level.
public struct OperatingSubspace: Sendable, Hashable, Codable {
    /// Per-sensor unit of the projection: the short-term noise of the sensor's window mean.
    public var noiseScale: [Float]
    /// Orthonormal directions, `directionCount × sensorCount`, row-major.
    public var directions: [Float]
    /// Spread (standard deviation, in noise units) of the calibration data along each direction.
    public var spreads: [Float]
    /// Per-sensor median of the calibration residuals (subtracted after projecting).
    public var residualCenter: [Float]

    /// Number of directions.
    public var directionCount: Int { spreads.count }

    /// Settings of the search for operating directions.
    public struct Settings: Sendable, Hashable, Codable {
        /// A component is kept when the calibration data's spread along it, in noise units, is at
        /// least this (operating changes are many times larger than noise).
        public var minimumSpread: Float
        /// ... and its participation ratio (how many sensors share it, 1…C) is at least this.
        public var minimumParticipation: Float
        /// At most this many directions.
        public var maximumDirections: Int

        /// Creates settings; the defaults are the shipped ones.
        public init(minimumSpread: Float = 6, minimumParticipation: Float = 1.5, maximumDirections: Int = 2) {
            self.minimumSpread = minimumSpread
            self.minimumParticipation = minimumParticipation
            self.maximumDirections = maximumDirections
        }
    }

    /// Finds the operating directions of calibration window means (`means[s][t]`: sensor s, window
    /// t, normalized units, NaN = missing) around `center`; nil when there are none.
    /// - Parameter lag: rows between two windows that do not overlap (the window length), for the
    ///   noise estimate.
    /// - Parameter runOfMean: the run each window mean belongs to, when the calibration rows hold
    ///   several runs (see `WindowDeviationBaseline.fit`): the noise estimate compares window
    ///   means of one run only, since a change across a stop is no noise (a machine restarting at
    ///   another load would otherwise pass for a noisy one). nil: one run.
    static func fit(means: [[Float]], center: [Float], lag: Int, settings: Settings,
                    runOfMean: [Int]? = nil) -> OperatingSubspace? {
        let n = means.count
        guard n >= 2, settings.maximumDirections > 0, let count = means.first?.count, count > 2 * lag + 2 else { return nil }
        // Short-term noise of each window mean: robust spread of its changes over one window
        // length. Setpoint changes are rare, so they hardly move this median.
        var noise = [Float](repeating: 1, count: n)
        for s in 0..<n {
            let m = means[s]
            let changes = (lag..<count).compactMap { t -> Float? in
                if let runOfMean, runOfMean[t] != runOfMean[t - lag] { return nil }
                return abs(m[t] - m[t - lag])
            }
            let spread = RobustStatistics.median(changes) * 1.4826 / Float(2).squareRoot()
            noise[s] = spread.isFinite ? max(spread, 1e-3) : 1
        }
        // Covariance of the window means in noise units (Double for the eigen-decomposition).
        var covariance = [Double](repeating: 0, count: n * n)
        var v = [Double](repeating: 0, count: n)
        var rows = 0
        for t in stride(from: 0, to: count, by: max(1, lag / 4)) {
            for s in 0..<n {
                let x = (means[s][t] - center[s]) / noise[s]
                v[s] = x.isFinite ? Double(x) : 0
            }
            for i in 0..<n { for j in i..<n { covariance[i * n + j] += v[i] * v[j] } }
            rows += 1
        }
        guard rows > 1 else { return nil }
        for i in 0..<n {
            for j in i..<n {
                covariance[i * n + j] /= Double(rows)
                covariance[j * n + i] = covariance[i * n + j]
            }
        }
        let (values, vectors) = SymmetricEigen.decompose(covariance, size: n)
        var directions: [Float] = []
        var spreads: [Float] = []
        for k in 0..<n where spreads.count < settings.maximumDirections {
            let spread = Float(max(values[k], 0).squareRoot())
            guard spread >= settings.minimumSpread else { break }
            var sumSquares = 0.0, sumFourth = 0.0
            for s in 0..<n {
                let x = vectors[s * n + k]
                sumSquares += x * x
                sumFourth += x * x * x * x
            }
            guard Float(sumSquares * sumSquares / max(sumFourth, 1e-30)) >= settings.minimumParticipation else { continue }
            for s in 0..<n { directions.append(Float(vectors[s * n + k])) }
            spreads.append(spread)
        }
        guard !spreads.isEmpty else { return nil }
        return OperatingSubspace(noiseScale: noise, directions: directions, spreads: spreads,
                                 residualCenter: [Float](repeating: 0, count: n))
    }

    /// Removes from `deviation` (per-sensor window mean minus its center, normalized units; NaN
    /// = missing, left out of the projection) its part along the operating directions, in place.
    func project(_ deviation: UnsafeMutableBufferPointer<Float>) {
        let n = noiseScale.count
        for k in 0..<directionCount {
            var a: Float = 0
            for s in 0..<n {
                let x = deviation[s] / noiseScale[s]
                if x.isFinite { a += directions[k * n + s] * x }
            }
            for s in 0..<n where deviation[s].isFinite {
                deviation[s] -= a * directions[k * n + s] * noiseScale[s]
            }
        }
        for s in 0..<n { deviation[s] -= residualCenter[s] }
    }
}

/// Eigen-decomposition of a small symmetric matrix (cyclic Jacobi rotations, Double).
enum SymmetricEigen {
    /// Eigenvalues in descending order and the matching eigenvectors as the columns of a
    /// row-major `size × size` matrix.
    static func decompose(_ matrix: [Double], size n: Int) -> (values: [Double], vectors: [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<60 {
            var off = 0.0
            for i in 0..<n { for j in 0..<n where j != i { off += a[i * n + j] * a[i * n + j] } }
            if off < 1e-22 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) {
                    let apq = a[p * n + q]
                    guard abs(apq) > 1e-300 else { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
        var vectors = [Double](repeating: 0, count: n * n)
        for (column, k) in order.enumerated() {
            for r in 0..<n { vectors[r * n + column] = v[r * n + k] }
        }
        return (order.map { a[$0 * n + $0] }, vectors)
    }
}
