@testable import Detection
import EdgeCore
import Testing
import TestSupport

/// Operating directions: a load change like those calibration saw is not an anomaly, a broken
/// relation between sensors is, and a machine calibrated at one operating point is scored as before.
@Suite("Operating directions of the window-deviation score")
struct OperatingSubspaceTests {
    @Test("the Jacobi eigen-decomposition recovers a known spectrum")
    func eigenDecomposition() {
        // Q diag(9, 4, 1) Qᵀ with Q a rotation about the z axis by 30°.
        let c = 0.8660254037844386, s = 0.5
        let q: [Double] = [c, -s, 0, s, c, 0, 0, 0, 1]
        let d: [Double] = [9, 4, 1]
        var m = [Double](repeating: 0, count: 9)
        for i in 0..<3 { for j in 0..<3 { for k in 0..<3 { m[i * 3 + j] += q[i * 3 + k] * d[k] * q[j * 3 + k] } } }
        let (values, vectors) = SymmetricEigen.decompose(m, size: 3)
        for (found, expected) in zip(values, d) { #expect(abs(found - expected) < 1e-9) }
        // First eigenvector is ± the first column of Q.
        let dot = vectors[0] * q[0] + vectors[3] * q[3] + vectors[6] * q[6]
        #expect(abs(abs(dot) - 1) < 1e-9)
    }

    /// Rows of a machine whose load moves flow and current together (current = 0.1 × flow), with
    /// an independent pressure; `loads` gives the flow level of consecutive stretches.
    func rows(loads: [Float], rowsPerLoad: Int, seed: UInt64, current: (Float) -> Float = { 0.1 * $0 }) -> [Float] {
        var random = SplitMix64(seed: seed)
        var values: [Float] = []
        for load in loads {
            for _ in 0..<rowsPerLoad {
                let flow = load + 0.2 * random.signedUnitFloat()
                values += [flow, current(flow) + 0.02 * random.signedUnitFloat(), 5 + 0.05 * random.signedUnitFloat()]
            }
        }
        return values
    }

    func alerts(_ detector: MachineDetector, _ values: [Float]) -> Int {
        var stream = detector.makeStream()
        var count = 0
        for r in 0..<(values.count / 3) where stream.process(row: values[(r * 3)..<(r * 3 + 3)]).alert { count += 1 }
        return count
    }

    @Test("calibrated across loads: another load is normal, current off the flow relation is not")
    func loadChangesVersusBrokenRelation() throws {
        let names = ["flow", "current", "pressure"]
        let calibration = rows(loads: [20, 30, 25, 35], rowsPerLoad: 150, seed: 3)
        let detector = Calibrator().calibrate(values: calibration[...], sensorNames: names).detector
        let subspace = try #require(detector.baseline.operating, "no operating direction found")
        #expect(subspace.directionCount >= 1)
        // A load between and slightly beyond the calibrated ones, same relation: no alert.
        #expect(alerts(detector, rows(loads: [28, 38, 22], rowsPerLoad: 150, seed: 4)) == 0)
        // The same loads with the current 15 % above its relation to flow: alerts.
        let broken = rows(loads: [28, 38, 22], rowsPerLoad: 150, seed: 4) { 0.115 * $0 }
        #expect(alerts(detector, broken) > 100)
        // Without operating directions the level detector must tolerate the whole load range
        // for every sensor, and so misses most of the broken relation.
        var settings = CalibrationSettings()
        settings.deviation.operating = nil
        let plain = Calibrator(settings: settings).calibrate(values: calibration[...], sensorNames: names).detector
        #expect(plain.baseline.operating == nil)
        #expect(alerts(plain, broken) * 2 < alerts(detector, broken))
    }

    @Test("what the score expected of a sensor off its relation: a window mean at either end gives its contribution at the threshold")
    func expectedRangeMatchesTheScore() throws {
        let names = ["flow", "current", "pressure"], n = 3, current = 1
        let calibration = rows(loads: [20, 30, 25, 35], rowsPerLoad: 150, seed: 3)
        let detector = Calibrator().calibrate(values: calibration[...], sensorNames: names).detector
        let subspace = try #require(detector.baseline.operating, "no operating direction found")
        // Current 15 % above its relation to flow, at a load calibration saw between others.
        let broken = rows(loads: [28], rowsPerLoad: 200, seed: 4) { 0.115 * $0 }
        var stream = detector.makeStream()
        for r in 0..<(broken.count / n) { _ = stream.score(row: broken[(r * n)..<(r * n + n)]) }
        #expect(stream.contributions[current] > detector.threshold, "the broken relation does not alert: \(stream.contributions)")
        let expected = try #require(stream.expectation(column: current))
        // Judged relative to flow, which it moves with; a change of current alone is seen in part.
        #expect(expected.relativeTo == 0)
        #expect(expected.seen > 0 && expected.seen < 1, "\(expected.seen)")
        var share: Float = 0
        for k in 0..<subspace.directionCount { share += subspace.directions[k * n + current] * subspace.directions[k * n + current] }
        #expect(abs(expected.seen - (1 - share)) < 1e-6, "\(expected.seen), share \(share)")
        // The reading lies inside the calibrated range (median ± 3 scales: what alerts called
        // normal), the expected range does not hold it: that is what alerted.
        let last = broken[broken.count - n + current]
        let median = detector.baseline.median[current], scale = detector.baseline.scale[current]
        #expect(abs(last - median) < 3 * scale, "\(last) outside \(median) ± 3 × \(scale)")
        #expect(last > expected.high, "\(last) inside the expected \(expected.low)…\(expected.high)")
        // The same last window again with current held at a value: its contribution at the
        // expected range's ends is the threshold, halfway it is nothing, and beyond it is more.
        let tail = Array(broken.suffix(detector.baseline.settings.windowRows * n))
        func contribution(at value: Float) -> Float {
            var copy = stream
            for r in 0..<(tail.count / n) {
                var row = Array(tail[(r * n)..<(r * n + n)])
                row[current] = value
                _ = copy.score(row: row)
            }
            return copy.contributions[current]
        }
        let threshold = detector.threshold, width = expected.high - expected.low
        #expect(abs(contribution(at: expected.low) - threshold) < 1e-3 * threshold, "\(contribution(at: expected.low)) at \(expected.low)")
        #expect(abs(contribution(at: expected.high) - threshold) < 1e-3 * threshold, "\(contribution(at: expected.high)) at \(expected.high)")
        #expect(contribution(at: (expected.low + expected.high) / 2) < 1e-3 * threshold)
        #expect(contribution(at: expected.high + 0.1 * width) > threshold)
        #expect(contribution(at: expected.low - 0.1 * width) > threshold)
    }

    @Test("calibrated at one operating point: no directions, scored per sensor level as before")
    func singleOperatingPoint() {
        let calibration = rows(loads: [20], rowsPerLoad: 600, seed: 5)
        let detector = Calibrator().calibrate(values: calibration[...], sensorNames: ["flow", "current", "pressure"]).detector
        #expect(detector.baseline.operating == nil)
        #expect(alerts(detector, rows(loads: [20], rowsPerLoad: 300, seed: 6)) == 0)
        #expect(alerts(detector, rows(loads: [26], rowsPerLoad: 300, seed: 6)) > 100)
    }

    @Test("a sensor's level within 1 % of its magnitude is tolerated however still it sat in calibration")
    func relativeToleranceFloor() {
        var random = SplitMix64(seed: 8)
        var calibration: [Float] = []
        for _ in 0..<400 { calibration += [400 + 0.05 * random.signedUnitFloat(), 10 + 0.2 * random.signedUnitFloat()] }
        let detector = Calibrator().calibrate(values: calibration[...], sensorNames: ["voltage", "flow"]).detector
        func later(voltage: Float) -> [Float] {
            var r = SplitMix64(seed: 9)
            var values: [Float] = []
            for _ in 0..<200 { values += [voltage + 0.05 * r.signedUnitFloat(), 10 + 0.2 * r.signedUnitFloat()] }
            return values
        }
        func count(_ values: [Float]) -> Int {
            var stream = detector.makeStream()
            var n = 0
            for r in 0..<(values.count / 2) where stream.process(row: values[(r * 2)..<(r * 2 + 2)]).alert { n += 1 }
            return n
        }
        #expect(count(later(voltage: 401.5)) == 0)  // 0.4 %: normal grid wander
        #expect(count(later(voltage: 412)) > 100)   // 3 %: something is wrong
    }
}
