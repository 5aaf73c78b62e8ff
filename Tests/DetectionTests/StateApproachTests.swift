@testable import Detection
import Foundation
import Testing

/// The state compensation's first-order approach (`StateCompensation.approachRows`): the time
/// constants are fitted from the calibration's own changes of state, the compensated sensors are
/// then judged on every row between changes, and detector files written before it still load
/// and compensate as they did (settling rows left out).
@Suite struct StateApproachTests {
    /// The compressor of `StateCompensationTests` polled every 100 ms: suction follows its state
    /// with a 1 s lag (10 rows), current with 0.5 s (5 rows); 30 s loaded, 30 s unloaded.
    static let values = StateCompensationTests().rows(count: 6000, loadedRows: 300, unloadedRows: 300, seed: 1, rowsPerSecond: 10)

    @Test("the approach's time constants and shifts are the simulated lags and level differences")
    func fittedTimeConstants() throws {
        let state = try #require(StateCompensation.fit(values: Self.values[...], sensorCount: 3, averagedRows: 20, fitsApproach: true))
        let approach = try #require(state.approachRows)
        #expect(approach.count == 6)
        // Suction up and down, current up and down (the generator's lags, exactly first order).
        #expect(abs(approach[1] - 10) < 0.3 && abs(approach[4] - 10) < 0.3, "\(approach)")
        #expect(abs(approach[2] - 5) < 0.2 && abs(approach[5] - 5) < 0.2, "\(approach)")
        #expect(abs(state.shift[1] - 0.75) < 0.01 && abs(state.shift[2] - 53) < 0.5, "\(state.shift)")
    }

    @Test("with the approach no compensated reading is left out between changes of state, and each sits at its unloaded level")
    func judgedOnEveryRow() throws {
        let state = try #require(StateCompensation.fit(values: Self.values[...], sensorCount: 3, averagedRows: 20, fitsApproach: true))
        let compensated = state.apply(to: Self.values[...])
        var missing = 0, largestOff: Float = 0
        for r in 0..<(compensated.count / 3) {
            let suction = compensated[r * 3 + 1]
            if suction.isNaN { missing += 1; continue }
            largestOff = max(largestOff, abs(suction - 0.25))
        }
        #expect(missing == 0)
        // The noise is ±0.003; a step left uncompensated would be 0.75.
        #expect(largestOff < 0.02, "\(largestOff)")

        // Without the approach (a file written before it) the settling rows after each change are left out.
        var old = state
        old.approachRows = nil
        old.approachLevel = nil
        let before = old.apply(to: Self.values[...])
        let left = (0..<(before.count / 3)).filter { before[$0 * 3 + 1].isNaN }.count
        #expect(left >= 19 * old.settleRows, "\(left) rows left out, settling \(old.settleRows)")
    }

    @Test("a detector file written before the approach, the spike check and the reference reads back without them and compensates as before")
    func olderFileLoads() throws {
        let names = StateCompensationTests.names
        let detector = Calibrator().calibrate(values: Self.values[...], sensorNames: names).detector
        #expect(detector.state?.approachRows != nil)
        #expect(detector.spikes?.sensors == [1, 2])
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Remove the new keys, as a file written before them has none.
        var object = try #require(try JSONSerialization.jsonObject(with: encoder.encode(detector)) as? [String: Any])
        var state = try #require(object["state"] as? [String: Any])
        #expect(state["approachRows"] != nil && object["spikes"] != nil)
        state["approachRows"] = nil
        state["approachLevel"] = nil
        object["state"] = state
        object["spikes"] = nil
        object["overReference"] = nil
        let old = try decoder.decode(MachineDetector.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.state?.approachRows == nil && old.spikes == nil && old.overReference == nil)
        // Its compensator leaves the settling rows out, as before the approach.
        let compensated = try #require(old.state).apply(to: Self.values[...])
        #expect((0..<(compensated.count / 3)).contains { compensated[$0 * 3 + 1].isNaN })
        var stream = old.makeStream()
        var scored = 0
        for r in 0..<(Self.values.count / 3) where stream.score(row: Self.values[(r * 3)..<(r * 3 + 3)]).isFinite { scored += 1 }
        #expect(scored > 0)
    }
}
