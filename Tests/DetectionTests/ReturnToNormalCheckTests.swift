@testable import Detection
import EdgeCore
import Foundation
import Testing

/// The early return-to-normal check: an alert ends soon after the machine is back to normal,
/// instead of waiting for the whole window to flush, and the check never raises a score.
@Suite("Return-to-normal check of the window-deviation score")
struct ReturnToNormalCheckTests {
    static let names = ["flow", "pressure", "vibration"]

    /// Rows of a pump at one operating point (flow 10 ± 0.2, pressure 5 ± 0.05, vibration 1 ±
    /// 0.02); `flowOffset(row)` is added to the flow (a leak: the flow drops while it lasts).
    static func rows(_ count: Int, seed: UInt64, flowOffset: (Int) -> Float = { _ in 0 }) -> [Float] {
        var random = SplitMix64(seed: seed)
        var values: [Float] = []
        values.reserveCapacity(count * 3)
        for r in 0..<count {
            values += [10 + flowOffset(r) + 0.2 * Float(random.gaussian()),
                       5 + 0.05 * Float(random.gaussian()),
                       1 + 0.02 * Float(random.gaussian())]
        }
        return values
    }

    /// Which rows alert, streaming `values` through a fresh stream of `detector`.
    static func alerts(_ detector: MachineDetector, _ values: [Float]) -> [Bool] {
        var stream = detector.makeStream()
        return (0..<(values.count / 3)).map { stream.process(row: values[($0 * 3)..<($0 * 3 + 3)]).alert }
    }

    static func detector(returnCheck: Bool) -> MachineDetector {
        var settings = CalibrationSettings()
        if !returnCheck { settings.deviation.returnCheck = nil }
        let calibration = rows(400, seed: 1)
        return Calibrator(settings: settings).calibrate(values: calibration[...], sensorNames: names).detector
    }

    @Test("after a leak ends, the alert clears within the recent part plus the clear count, not a whole window later")
    func alertEndsSoonAfterTheFault() throws {
        // 300 normal rows, a 200-row leak (flow 3 lower: 15 noise units), 300 normal rows.
        let faultStart = 300, faultEnd = 500
        let test = Self.rows(800, seed: 2) { (faultStart..<faultEnd).contains($0) ? -3 : 0 }
        let with = Self.detector(returnCheck: true)
        let without = Self.detector(returnCheck: false)
        let check = try #require(with.baseline.returnCheck)
        #expect(check.rows == 5)
        #expect(without.baseline.returnCheck == nil)

        let a = Self.alerts(with, test), b = Self.alerts(without, test)
        // Same normal behaviour and the same detection: no alert before the leak, raised at the same row.
        #expect(!a[..<faultStart].contains(true))
        #expect(!b[..<faultStart].contains(true))
        let raisedWith = try #require(a.firstIndex(of: true)), raisedWithout = try #require(b.firstIndex(of: true))
        #expect(raisedWith == raisedWithout)
        #expect(raisedWith < faultStart + 10)
        #expect(!a[raisedWith..<faultEnd].contains(false), "the alert must hold for the whole leak")
        // How long the alert outlives the leak.
        let after = { (alerts: [Bool]) in alerts[faultEnd...].prefix(while: { $0 }).count }
        let lateWith = after(a), lateWithout = after(b)
        // Without the check the 20-row window still holds leak rows for ~20 rows, then 10 clear rows.
        #expect(lateWithout >= 25, "without the check: \(lateWithout) rows")
        // With it: 5 recent rows, then the 10 clear rows (and a row or two while the change shows).
        #expect(lateWith <= 18, "with the check: \(lateWith) rows")
        #expect(!a[(faultEnd + lateWith)...].contains(true))
    }

    @Test("the check only lowers scores: row by row, never above the plain window score")
    func neverRaisesAScore() throws {
        let with = Self.detector(returnCheck: true)
        var plainBaseline = with.baseline
        plainBaseline.returnCheck = nil
        // Steps up and down of several sizes, so the check fires often, in both directions.
        let test = Self.rows(1200, seed: 3) { r in [0, 2, -1, 4, 0, -6, 1, 0][(r / 150) % 8] }
        var checked = WindowDeviationScorer(baseline: with.baseline)
        var plain = WindowDeviationScorer(baseline: plainBaseline)
        var lowered = 0
        for r in 0..<1200 {
            let row = test[(r * 3)..<(r * 3 + 3)]
            let s = checked.score(row: row), p = plain.score(row: row)
            #expect(s <= p, "row \(r): \(s) > \(p)")
            if s < p * 0.9 { lowered += 1 }
        }
        // And it does fire: after each step back toward normal the score drops early.
        #expect(lowered >= 20, "lowered \(lowered) rows")
    }

    @Test("a detector saved before the check existed reads back without it and scores as before")
    func olderDetectorFilesHaveNoCheck() throws {
        let detector = Self.detector(returnCheck: true)
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Round trip keeps the check.
        let data = try encoder.encode(detector)
        #expect(try decoder.decode(MachineDetector.self, from: data) == detector)
        // Remove both keys, as a file written before the check has neither.
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var baseline = try #require(object["baseline"] as? [String: Any])
        var settings = try #require(baseline["settings"] as? [String: Any])
        #expect(baseline.removeValue(forKey: "returnCheck") != nil)
        #expect(settings.removeValue(forKey: "returnCheck") != nil)
        baseline["settings"] = settings
        object["baseline"] = baseline
        let old = try decoder.decode(MachineDetector.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.baseline.returnCheck == nil)
        #expect(old.baseline.settings.returnCheck == nil)
    }
}
