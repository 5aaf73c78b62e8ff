#if canImport(Glibc)
import Glibc
#endif
@testable import Detection
import EdgeCore
import Testing

/// `LoadCompensation.readingRange`: the readings the load compensation maps into a range of
/// compensated values, checked against the compensator itself (`LoadCompensator.apply`, what the
/// detector scores) just inside and just outside each end, and against the power law by hand.
@Suite("Load compensation: the readings behind a normal range")
struct LoadReadingRangeTests {
    static let names = ["flow", "outlet_pressure", "motor_current", "vibration_x", "oil_level", "speed"]

    /// A pump at `speed` rpm (rated 2,900) by the affinity laws, with sensor noise; `oil_level`
    /// has no role in the prior.
    static func rows(speed: Float, count: Int, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed)
        var values: [Float] = []
        let r = speed / 2900
        for _ in 0..<count {
            values += [200 * pow(r, 1.5) * (1 + 0.005 * random.signedUnitFloat()),
                       4 * pow(r, 1.3) * (1 + 0.003 * random.signedUnitFloat()),
                       60 * pow(r, 2.2) * (1 + 0.004 * random.signedUnitFloat()),
                       2 * pow(r, 1.95) * (1 + 0.03 * random.signedUnitFloat()),
                       70 + random.signedUnitFloat(),
                       speed + 1.5 * random.signedUnitFloat()]
        }
        return values
    }

    /// The compensation fitted on 600 rows at 2,900 rpm, and its compensator after those rows
    /// and 300 at 2,200 rpm (so the lagged sensors' moving averages lie between the two speeds).
    static func compensatorAtLowerSpeed() throws -> (LoadCompensation, LoadCompensator) {
        let prior = try #require(LoadPrior.shipped)
        let calibration = rows(speed: 2900, count: 600, seed: 1)
        let compensation = try #require(LoadCompensation.fit(prior: prior, values: calibration[...], sensorNames: names))
        var compensator = LoadCompensator(compensation)
        _ = rowByRow((calibration + rows(speed: 2200, count: 300, seed: 2))[...], sensorCount: names.count) { compensator.apply($0) }
        return (compensation, compensator)
    }

    /// `row` compensated by a copy of `compensator` (the original keeps its state), and the point it was judged at.
    static func compensated(_ row: [Float], by compensator: LoadCompensator) -> ([Float], LoadOperatingPoint?) {
        var copy = compensator
        let out = rowByRow(row[...], sensorCount: row.count) { copy.apply($0) }
        return (out, copy.operatingPoint)
    }

    @Test("each compensated sensor: a reading just inside either end is compensated into the range, just outside out of it")
    func endsAgreeWithTheCompensator() throws {
        let (compensation, compensator) = try Self.compensatorAtLowerSpeed()
        let probe = Self.rows(speed: 2200, count: 1, seed: 3)
        let point = try #require(Self.compensated(probe, by: compensator).1)
        #expect(point.now < -0.2 && point.lowLag < point.highLag, "\(point)")
        for s in 0..<4 {
            let level = compensation.reference[s]
            #expect(level.isFinite)
            // A range of compensated values around the calibration level, as the detector's is.
            let range = (low: Double(level) * 0.98, high: Double(level) * 1.01)
            let readings = compensation.readingRange(sensor: s, compensated: range, at: point)
            // Moved to the lower speed: wholly below the calibration range without a thermal lag;
            // a lagged sensor's reaches from there up to where its moving averages still are.
            #expect(compensation.lagged[s] ? readings.low < range.low : readings.high < range.low,
                    "\(Self.names[s]): \(readings) at 2,200 rpm, calibration \(range)")
            let margin = 1e-3 * Double(level)
            func judged(_ x: Double) -> Float {
                var row = probe
                row[s] = Float(x)
                return Self.compensated(row, by: compensator).0[s]
            }
            #expect(Double(judged(readings.low + margin)) >= range.low, "\(Self.names[s])")
            #expect(Double(judged(readings.low - margin)) < range.low, "\(Self.names[s])")
            #expect(Double(judged(readings.high - margin)) <= range.high, "\(Self.names[s])")
            #expect(Double(judged(readings.high + margin)) > range.high, "\(Self.names[s])")
        }
    }

    @Test("flow (no thermal lag) by hand: the calibration range moved to the prior's expected flow at this speed")
    func flowByHand() throws {
        let (compensation, compensator) = try Self.compensatorAtLowerSpeed()
        var probe = Self.rows(speed: 2200, count: 1, seed: 3)
        probe[5] = 2200
        let point = try #require(Self.compensated(probe, by: compensator).1)
        let level = Double(compensation.reference[0])
        let range = (low: level - 1, high: level + 2)
        let readings = compensation.readingRange(sensor: 0, compensated: range, at: point)
        // flow 1.495 ± 0.176 (instant), tolerance 0.016; Δ = ln(2200 / calibration median) < 0.
        let delta = log(2200 / Double(compensation.referenceDriver))
        let expectedLow = level * exp((1.495 + 0.176) * delta - 0.016) - 1
        let expectedHigh = level * exp((1.495 - 0.176) * delta + 0.016) + 2
        #expect(abs(readings.low - expectedLow) < 1e-3 * level, "\(readings.low) vs \(expectedLow)")
        #expect(abs(readings.high - expectedHigh) < 1e-3 * level, "\(readings.high) vs \(expectedHigh)")
    }

    @Test("the speed is normal from the prior's minimum up; a sensor without a role and a row without a speed keep the range")
    func speedUncompensatedAndMissing() throws {
        let (compensation, compensator) = try Self.compensatorAtLowerSpeed()
        let probe = Self.rows(speed: 2200, count: 1, seed: 3)
        let point = try #require(Self.compensated(probe, by: compensator).1)
        let speed = Double(compensation.referenceDriver)
        let range = (low: speed - 5, high: speed + 5)
        let readings = compensation.readingRange(sensor: 5, compensated: range, at: point)
        #expect(readings.high == .infinity)
        #expect(abs(readings.low - 0.2 * speed) < 1e-3 * speed)
        // Just above the minimum the speed is set to its calibration level; just below, the row is left alone.
        var slow = probe
        slow[5] = Float(readings.low * 1.01)
        #expect(Self.compensated(slow, by: compensator).0[5] == Float(speed))
        slow[5] = Float(readings.low * 0.99)
        let (below, belowPoint) = Self.compensated(slow, by: compensator)
        #expect(below == slow && belowPoint == nil)
        #expect(compensation.readingRange(sensor: 0, compensated: range, at: nil) == range)

        // oil_level has no role: its range is the one given, at any speed.
        #expect(!compensation.reference[4].isFinite)
        #expect(compensation.readingRange(sensor: 4, compensated: (69, 71), at: point) == (69, 71))
        // A row whose speed is missing is scored as read: no operating point, the range as given.
        var missing = probe
        missing[5] = .nan
        let (asRead, missingPoint) = Self.compensated(missing, by: compensator)
        #expect(missingPoint == nil)
        #expect(asRead[0] == missing[0])
    }

    @Test("a steady speed's point: no lag left, and none below the prior's minimum")
    func settledPoint() throws {
        let (compensation, _) = try Self.compensatorAtLowerSpeed()
        let point = try #require(compensation.settledPoint(driver: 2200))
        #expect(point.now == point.lowLag && point.now == point.highLag)
        #expect(abs(Double(point.now) - log(2200 / Double(compensation.referenceDriver))) < 1e-5)
        #expect(compensation.settledPoint(driver: 0.1 * compensation.referenceDriver) == nil)
        #expect(compensation.settledPoint(driver: .nan) == nil)
    }
}
