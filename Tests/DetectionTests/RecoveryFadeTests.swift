@testable import Detection
import EdgeCore
import Foundation
import Testing

/// The restart allowance (`WindowDeviationScorer.allowRecovery`) fades only while a sensor stops
/// coming back: a recovery keeps going, a fault holds still. The rule it replaces faded by e
/// every `recoveryRows` rows whatever the sensor did, so a sensor recovering on a time of its
/// own, slower than the machine's settling (a compressor's oil re-warming after a stop), was
/// judged by most of its remaining gap long before it was back.
@Suite("Fade of the restart allowance")
struct RecoveryFadeTests {
    /// The machine's settling time after a start, in rows.
    static let recoveryRows = 50

    /// One sensor, judged in its own units: normal level 0, tolerated spread of a window mean 1.
    static func baseline() -> WindowDeviationBaseline {
        var random = SplitMix64(seed: 7)
        let values = (0..<400).map { _ in Float(random.gaussian()) }
        var baseline = WindowDeviationBaseline.fit(values: values[...], sensorCount: 1)
        baseline.median = [0]
        baseline.scale = [1]
        baseline.windowCenter = [0]
        baseline.windowScale = [1]
        baseline.weight = [1]
        baseline.operating = nil
        baseline.deadBand = nil
        baseline.returnCheck = nil
        return baseline
    }

    /// The sensor's deviation on each row after a stop that left it 10 spreads below its level
    /// before the stop (0), reading `after(row)` plus uniform noise of ±`noise` from the start on.
    static func deviations(after: (Int) -> Float, rows: Int, noise: Double = 0.05) -> [Float] {
        var before = WindowDeviationScorer(baseline: baseline())
        var random = SplitMix64(seed: 11)
        for _ in 0..<40 { _ = before.score(row: [Float(random.uniform(-0.05...0.05))]) }
        var scorer = WindowDeviationScorer(baseline: baseline())
        scorer.allowRecovery(before: before, stopped: [Float(-10)], recoveryRows: recoveryRows)
        return (0..<rows).map { r in
            _ = scorer.score(row: [after(r) + Float(random.uniform(-noise...noise))])
            return scorer.contributions[0]
        }
    }

    @Test("a slow but steady recovery keeps its allowance")
    func slowRecoveryKeepsItsAllowance() {
        // Back by e every 3 settling times: the old fade left 3-4 spreads of it unexcused.
        let tau = Float(3 * Self.recoveryRows)
        let d = Self.deviations(after: { -10 * exp(-Float($0) / tau) }, rows: 1_000)
        let peak = d[20...].max() ?? .nan
        print("slow recovery: peak deviation \(peak) spreads")
        #expect(peak < 1)
    }

    @Test("an offset held after the stop is judged once the allowance has faded",
          arguments: [(Float(-10), 0.05), (-4, 0.05), (-4, 0.8)])
    func heldOffsetIsJudged(held: Float, noise: Double) {
        // From the stop's level (-10) the sensor comes back to `held` within 60 rows and stays
        // there (a fault that began during the stop, on the stop's side). Noise of ±0.8 a row
        // makes the window mean wobble by 0.1 spread and set new closest returns now and then.
        let d = Self.deviations(after: { r in r < 60 ? min(held, -10 + Float(r) / 6) : held }, rows: 400, noise: noise)
        // The first 20 rows fill the window (judged from then on).
        let judged = d.indices.dropFirst(20).first { d[$0] > 0.8 * abs(held) } ?? d.count
        print("held at \(held), noise ±\(noise): judged at 80 % from row \(judged); from row 210 on, lowest \(d[210...].min()!)")
        // Its last return ends by row 60 at the latest; about 2 settling times of fade later
        // (e^-2 of the gap still excused) the held offset counts nearly in full, and from 3 on
        // it stays so (a noisy window mean's new closest returns buy back a little fade: ±0.8
        // a row dips to 66 % once, at row 180).
        #expect(judged <= 60 + 2 * Self.recoveryRows)
        #expect(d[(60 + 3 * Self.recoveryRows)...].allSatisfy { $0 > 0.8 * abs(held) })
    }

    @Test("no allowance without a settling time or a full window before the stop")
    func noAllowance() {
        // A plain scorer's deviations of a sensor 10 below its level, and the same after an
        // allowRecovery that gives none (the agent's restart with settle_after_start 0, or
        // after a run shorter than a window).
        var plain = WindowDeviationScorer(baseline: Self.baseline())
        var noSettling = plain, notFull = plain
        var before = WindowDeviationScorer(baseline: Self.baseline())
        for _ in 0..<40 { _ = before.score(row: [Float(0)]) }
        noSettling.allowRecovery(before: before, stopped: [Float(-10)], recoveryRows: 0)
        var short = WindowDeviationScorer(baseline: Self.baseline())
        for _ in 0..<5 { _ = short.score(row: [Float(0)]) }
        notFull.allowRecovery(before: short, stopped: [Float(-10)], recoveryRows: Self.recoveryRows)
        for _ in 0..<30 {
            let expected = plain.score(row: [Float(-10)])
            #expect(noSettling.score(row: [Float(-10)]) == expected)
            #expect(notFull.score(row: [Float(-10)]) == expected)
        }
    }
}
