@testable import Detection
import Glibc
import Testing

/// Where a two-state compensation's approach begins after a stop
/// (`StateCompensator.carryApproach(from:)`): a sensor the start's settling rows read between the
/// two states' levels is read from them; one the stop moved beyond both levels (a compressor's
/// oil, cooled below its unloaded level) keeps the approach its run before the stop ended with.
@Suite struct StateApproachAfterStopTests {
    /// State in column 0; two sensors with a 2-unit shift above a state-0 level of 70, approached
    /// with time constants of 40 rows (to state 1) and 150 rows (to state 0); 3 settling rows.
    static let compensation = StateCompensation(state: 0, shift: [0, 2, 2], settleRows: 3,
                                                approachRows: [0, 40, 40, 0, 150, 150], approachLevel: [.nan, 70, 70])

    /// Compensates `rows` with a compensator for a run after a stop, carrying the approach of a
    /// run that ended at half-way (its first row read 71: half the shift) when `carrying`.
    static func afterStop(_ rows: [[Float]], carrying: Bool) -> [[Float]] {
        var before = StateCompensator(compensation)
        var first: [Float] = [1, 71, 71]
        first.withUnsafeMutableBufferPointer { before.apply($0) }
        var after = StateCompensator(compensation, settled: false)
        if carrying { after.carryApproach(from: before) }
        return rows.map { row in
            var row = row
            row.withUnsafeMutableBufferPointer { after.apply($0) }
            return row
        }
    }

    @Test("a sensor the stop left beyond both states' levels keeps the approach of the run before the stop")
    func beyondBothLevelsKeepsTheApproach() {
        // Unloaded throughout: sensor 1 at 69.6 (0.2 of the shift below the unloaded level),
        // sensor 2 at 70.6 (0.3 of the way to the loaded one).
        let rows = [[Float]](repeating: [0, 69.6, 70.6], count: 5)
        let carried = Self.afterStop(rows, carrying: true), plain = Self.afterStop(rows, carrying: false)
        // Settling rows are left out.
        for r in 0..<3 { #expect(carried[r][1].isNaN && carried[r][2].isNaN) }
        // Judging begins at row 3: the run before ended at 0.5, carried toward state 0 over rows 0–3.
        let share = 1 - StateCompensation.step(150)
        for r in 3..<5 {
            let state = 0.5 * Float(pow(Double(share), Double(r + 1)))
            #expect(abs(carried[r][1] - (69.6 - 2 * state)) < 1e-4, "row \(r): \(carried[r][1])")
        }
        // Read from its settling rows, as it was before the stop was carried: fully unloaded.
        #expect(abs(plain[3][1] - 69.6) < 1e-4)
        // Between the levels, the settling rows say where the sensor is, carried or not.
        for r in 3..<5 { #expect(carried[r][2] == plain[r][2]) }
        #expect(abs(plain[3][2] - (70.6 - 2 * 0.3)) < 0.01)
    }
}

/// The spike check after a stop (`RowSpikeScorer.push(_:recovering:)`): a sensor warming back
/// toward its level before the stop runs ahead of its course by the warm-up's pace; that is the
/// recovery, judged by the window score's allowance, not a spike. A departure the other way
/// still is one.
@Suite struct SpikeCheckRecoveryTests {
    /// One checked sensor (column 1) with a tolerance of 0.3 over a 20-row course.
    static let check = RowSpikeCheck(sensors: [1], tolerance: [0.3], windowRows: 20)

    /// The held score after rows rising by `pace` per row, then `last`, with `recovering`.
    static func held(pace: Float, last: Float? = nil, recovering: [Float]) -> Float {
        var scorer = RowSpikeScorer(check)
        var x: Float = 60
        for _ in 0..<40 {
            x += pace
            scorer.push([1, x], recovering: recovering)
        }
        if let last { scorer.push([1, last], recovering: recovering) }
        return scorer.score
    }

    @Test("a sensor warming back up after a stop is not a spike; a drop while it does still is")
    func warmingIsNotASpike() {
        // 0.04 per row: its 20-row course lags by about 0.42, above the tolerance.
        #expect(Self.held(pace: 0.04, recovering: []) > 1, "without the recovery, the warm-up is judged a spike")
        #expect(Self.held(pace: 0.04, recovering: [0, 1]) == 0)
        // Recovering down (the stop moved it up), a rise is still judged.
        #expect(Self.held(pace: 0.04, recovering: [0, -1]) > 1)
        // A drop of 1 while warming up: a spike.
        #expect(Self.held(pace: 0.04, last: 60.2, recovering: [0, 1]) > 1)
    }
}
