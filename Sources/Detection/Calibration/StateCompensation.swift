#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A machine that switches between two states while it runs (a compressor loaded and unloaded):
/// what each sensor reads in the second state relative to the first, learned from the
/// calibration rows themselves, so that window means compare like with like.
///
/// A compressor's discharge pressure, suction pressure and current jump between two levels
/// every minute or so; a window mean then mostly measures how many of its rows were loaded, and
/// the tolerated spread grows until a valve fault (suction 40 % down while loaded) is lost in
/// it. Moving the rows of the second state by the difference of the two states' medians turns
/// such a sensor into one steady level in which the fault stands out. Found only when a 0/1
/// sensor took both values for at least `minimumRows` settled rows each during calibration.
public struct StateCompensation: Sendable, Hashable, Codable {
    /// Column of the 0/1 state sensor.
    public var state: Int
    /// Per sensor: subtracted from its reading while the state is 1 (0: not compensated).
    public var shift: [Float]
    /// Rows after a change of state in which compensated sensors are still moving between the
    /// two levels: they are left out (missing) rather than compared with either level.
    public var settleRows: Int
    /// Per sensor, how fast it approaches the new state's level after a change of state: the
    /// time constant in rows of a first-order lag, index `s` after a change to state 1 and
    /// `shift.count + s` after a change to state 0 (0: at once). With it the compensator
    /// subtracts the part of `shift` the sensor is expected to have covered by each row, and the
    /// compensated sensors are judged on every row between changes of state (only a start after
    /// a stop keeps its `settleRows`; a sensor the fit found no lag for keeps its constants with
    /// a shift of 0, `minimumExpectedStateSpan`). Nil (detectors calibrated before it): the compensated
    /// sensors are left out for `settleRows` rows after each change of state.
    public var approachRows: [Float]?
    /// Per sensor with `approachRows`: its fitted level in state 0 (its unit; NaN: not
    /// compensated), from which the compensator reads how far along its approach a sensor is
    /// when its judging begins.
    public var approachLevel: [Float]?

    /// Finds the state sensor and the per-sensor shifts in calibration rows (row-major, NaN =
    /// missing); nil when no 0/1 sensor took both values long enough or no sensor depends on it.
    /// - Parameters:
    ///   - settleRows: the fewest rows after a change of state left out; more when the calibration's
    ///     own changes of state show the sensors take longer to reach the new level.
    ///   - minimumRows: settled rows needed in each state.
    ///   - minimumSeparation: a sensor is compensated when its two medians differ by more than
    ///     this many within-state spreads of its mean over `averagedRows` rows.
    ///   - averagedRows: rows the score averages before comparing levels (the window-deviation
    ///     score's `windowRows`). The spread of such a mean is the single rows' spread ÷
    ///     √averagedRows, so a noisy sensor whose step between the states single rows hide (a
    ///     compressor's vibration, 25 % higher loaded, at 2.6 row spreads) is still compared
    ///     within its state: its window mean would otherwise follow how many loaded rows the
    ///     window holds, and calibration would take that for wander. 1: judged on single rows.
    ///   - runStarts: rows at which the machine runs again after a stop left out of `values`:
    ///     as in the agent (whose compensator starts afresh after a stop), the first
    ///     `settleRows` rows of a run count as just after a change of state (the start's
    ///     settling may have ended just after one), and a state that differs across a stop is
    ///     no change of state. The first row of `values` counts as settled.
    ///   - fitsApproach: whether to fit `approachRows` (and with them the shifts) too.
    ///   - approachBounds: with `fitsApproach`, per sensor the time constants (rows) the machine's
    ///     kind shows toward state 1 (index `s`) and state 0 (`n + s`), nil where unknown (the load
    ///     prior's `LoadPrior.Approach`): where the calibration's phases end before the approach
    ///     does, the fit keeps its time constants within them (see `fitApproach`).
    public static func fit(values: ArraySlice<Float>, sensorCount n: Int, settleRows: Int = 5, minimumRows: Int = 60,
                           minimumSeparation: Float = 3, averagedRows: Int = 1, runStarts: [Int] = [],
                           fitsApproach: Bool = false, approachBounds: [ClosedRange<Float>?] = []) -> StateCompensation? {
        guard n > 1 else { return nil }
        let rows = values.count / n
        let runOfRow = CalibrationRuns.runOfRow(rows: rows, starts: runStarts)
        func startsRun(_ r: Int) -> Bool { r > 0 && runOfRow.map { $0[r] != $0[r - 1] } ?? false }
        func value(_ r: Int, _ s: Int) -> Float { values[values.startIndex + r * n + s] }
        var best: (column: Int, balance: Int)? = nil
        for s in 0..<n {
            var ones = 0, zeros = 0, other = 0
            for r in 0..<rows {
                let x = value(r, s)
                if x == 1 { ones += 1 } else if x == 0 { zeros += 1 } else if x.isFinite { other += 1 }
            }
            guard other == 0, min(ones, zeros) >= minimumRows else { continue }
            if best == nil || min(ones, zeros) > best!.balance { best = (s, min(ones, zeros)) }
        }
        guard let state = best?.column else { return nil }
        // Settled rows of each state: the same state for the last `settle` rows.
        func settledRows(after settle: Int) -> [[Int]] {
            var settled: [[Int]] = [[], []]
            var run = 0
            for r in 0..<rows {
                let x = value(r, state)
                run = startsRun(r) ? 0 : r > 0 && x == value(r - 1, state) ? run + 1 : 0
                if x.isFinite, run >= settle { settled[x == 1 ? 1 : 0].append(r) }
            }
            return settled
        }
        let resolution = Float(max(1, averagedRows)).squareRoot()
        // Each state's median per sensor, and the larger of the two within-state spreads.
        func levels(_ settled: [[Int]]) -> (zero: [Float], one: [Float], spread: [Float], shift: [Float]) {
            var zero = [Float](repeating: .nan, count: n), one = zero, spread = zero
            var shift = [Float](repeating: 0, count: n)
            for s in 0..<n where s != state {
                let z = settled[0].map { value($0, s) }, o = settled[1].map { value($0, s) }
                let m0 = RobustStatistics.median(z), m1 = RobustStatistics.median(o)
                let d = max(RobustStatistics.scaledMAD(z, center: m0), RobustStatistics.scaledMAD(o, center: m1))
                zero[s] = m0; one[s] = m1; spread[s] = d
                guard m0.isFinite, m1.isFinite, d.isFinite, abs(m1 - m0) > minimumSeparation * d / resolution else { continue }
                shift[s] = m1 - m0
            }
            return (zero, one, spread, shift)
        }
        var settled = settledRows(after: settleRows)
        guard settled[0].count >= minimumRows, settled[1].count >= minimumRows else { return nil }
        var fitted = levels(settled)
        guard fitted.shift.contains(where: { $0 != 0 }) else { return nil }
        // How long the compensated sensors really take to reach the new state's level: a few
        // rows at one row a second, ten times as many when the machine is polled every 100 ms.
        // Rows still in that transition would be compared with the wrong level, so the settling
        // time is measured on the calibration's own changes of state: after each change, the
        // rows until every compensated sensor is within `minimumSeparation` spreads, or a tenth of
        // its shift, of its new state's median (a run that ends first counts whole); the 90th
        // percentile × 1.5.
        var transitions: [Int] = []
        var r = 1
        while r < rows {
            let x = value(r, state), before = value(r - 1, state)
            guard x.isFinite, before.isFinite, x != before, !startsRun(r) else { r += 1; continue }
            let level = x == 1 ? fitted.one : fitted.zero
            var t = r
            while t < rows, value(t, state) == x, t == r || !startsRun(t) {
                let arrived = (0..<n).allSatisfy { s in
                    fitted.shift[s] == 0 || !value(t, s).isFinite
                        || abs(value(t, s) - level[s]) <= max(minimumSeparation * fitted.spread[s], 0.1 * abs(fitted.shift[s]))
                }
                if arrived { break }
                t += 1
            }
            transitions.append(t - r)
            // After an arrival, look for the next change beyond it; a run that ended is itself one.
            r = t < rows && value(t, state) == x ? t + 1 : max(t, r + 1)
        }
        var settle = settleRows
        if !transitions.isEmpty {
            transitions.sort()
            let p90 = transitions[min(transitions.count - 1, (transitions.count * 9) / 10)]
            settle = max(settleRows, Int((Float(p90) * 1.5).rounded(.up)))
        }
        if settle != settleRows {
            // Refit the levels on rows past the measured settling where enough remain; otherwise
            // the first fit's medians stand (they are robust to the minority of transition rows).
            settled = settledRows(after: settle)
            if settled[0].count >= minimumRows, settled[1].count >= minimumRows {
                let refitted = levels(settled)
                if refitted.shift.contains(where: { $0 != 0 }) { fitted = refitted }
            }
        }
        var compensation = StateCompensation(state: state, shift: fitted.shift, settleRows: settle)
        if fitsApproach {
            compensation.fitApproach(values: values, sensorCount: n, runOfRow: runOfRow, bounds: approachBounds)
            guard compensation.shift.contains(where: { $0 != 0 }) else { return nil }
        }
        return compensation
    }

    /// Candidate time constants (rows) of the approach fit, steps of about √2.
    static let approachCandidates: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 90, 128, 180, 256, 362, 512]

    /// Fits `approachRows`, `approachLevel` and, with them, each compensated sensor's shift.
    ///
    /// A compressor's compensated sensors are first-order lags toward a level the state switches
    /// (its separator's pressure fills in about 2 s and blows down in about 8; the suction
    /// follows the inlet valve in about 1 s; the discharge temperature in tens of seconds), so
    /// the reading is taken as a level plus `shift` times the expected state: the 0/1 state
    /// passed through a first-order lag, one time constant per direction. The pair of time
    /// constants (coordinate descent over `approachCandidates`, then a golden-section search on
    /// their logarithm: a fast sensor's large shift turns even a tenth of a row of error into a
    /// visible offset of its window mean after every change) and the level and shift (least
    /// squares) are those that leave the smallest squared residual over the calibration rows,
    /// the first `settleRows` of a run after a stop left out. A sensor whose expected state
    /// spreads over less than `minimumExpectedStateSpan` is not compensated (shift 0; its time
    /// constants are kept): the state sets which way it moves, not a level it reaches.
    ///
    /// Where a sensor's approach does not end within the calibration's phases (3 time constants
    /// beyond the median phase of the state it approaches), its level in that state is never
    /// reached and the fit trades the level against the time constant: a compressor calibrated
    /// at a low duty, its loaded phases 10–50 s, had its discharge temperature (a 20 s approach)
    /// fitted at 8.9 rows up and 39.8 down, a loaded level 4.6 °C short of where it settles in
    /// the long loaded phases of a higher duty (docs/load-prior.md, "A compressor calibrated at
    /// a low duty"). There `bounds` (per sensor and direction, in rows: what the machine's kind
    /// shows, nil where unknown) hold both its time constants, and the level and shift follow.
    mutating func fitApproach(values: ArraySlice<Float>, sensorCount n: Int, runOfRow: [Int]?, bounds: [ClosedRange<Float>?] = []) {
        let rows = values.count / n
        func value(_ r: Int, _ s: Int) -> Float { values[values.startIndex + r * n + s] }
        // The median length of each state's phases that begin and end with a change of state
        // within one run (0: none).
        var phases: [[Int]] = [[], []]
        var phaseStart: Int? = nil
        for r in 1..<max(1, rows) {
            let x = value(r, state), before = value(r - 1, state)
            if let runOfRow, runOfRow[r] != runOfRow[r - 1] { phaseStart = nil; continue }
            guard x.isFinite, before.isFinite else { phaseStart = nil; continue }
            guard x != before else { continue }
            if let start = phaseStart { phases[before >= 0.5 ? 1 : 0].append(r - start) }
            phaseStart = r
        }
        let medianPhase = phases.map { $0.isEmpty ? Float(0) : RobustStatistics.median($0.map(Float.init)) }
        var approach = [Float](repeating: 0, count: 2 * n)
        var level = [Float](repeating: .nan, count: n)
        var fittedShift = shift
        typealias Fit = (sse: Double, slope: Double, level: Double)
        for s in 0..<n where shift[s] != 0 {
            func residual(_ up: Float, _ down: Float) -> Fit {
                var sg = 0.0, sy = 0.0, sgg = 0.0, sgy = 0.0, syy = 0.0, count = 0.0
                forEachExpectedState(up: up, down: down, sensor: s, values: values, sensorCount: n, runOfRow: runOfRow) { (g: Double, reading) in
                    let y = Double(reading)
                    sg += g; sy += y; sgg += g * g; sgy += g * y; syy += y * y; count += 1
                }
                guard count > 2 else { return (.infinity, 0, 0) }
                let vg = sgg - sg * sg / count, cgy = sgy - sg * sy / count, vy = syy - sy * sy / count
                guard vg > 0 else { return (.infinity, 0, 0) }
                return (vy - cgy * cgy / vg, cgy / vg, (sy - cgy / vg * sg) / count)
            }
            func search(_ upBound: ClosedRange<Float>?, _ downBound: ClosedRange<Float>?) -> (up: Float, down: Float, best: Fit) {
                func inUp(_ tau: Float) -> Float { upBound.map { min(max(tau, $0.lowerBound), $0.upperBound) } ?? tau }
                func inDown(_ tau: Float) -> Float { downBound.map { min(max(tau, $0.lowerBound), $0.upperBound) } ?? tau }
                var up = inUp(8), down = inDown(8)
                var best = residual(up, down)
                for _ in 0..<2 {
                    for c in Self.approachCandidates.map(inUp) { let f = residual(c, down); if f.sse < best.sse { best = f; up = c } }
                    for c in Self.approachCandidates.map(inDown) { let f = residual(up, c); if f.sse < best.sse { best = f; down = c } }
                }
                for _ in 0..<2 {
                    let u = inUp(refine(up) { residual(inUp($0), down) })
                    if residual(u, down).sse < best.sse { up = u; best = residual(up, down) }
                    let d = inDown(refine(down) { residual(up, inDown($0)) })
                    if residual(up, d).sse < best.sse { down = d; best = residual(up, down) }
                }
                return (up, down, best)
            }
            func refine(_ tau: Float, _ f: (Float) -> Fit) -> Float {
                guard tau > 0 else { return tau }
                var a = log(tau / 1.5), b = log(tau * 1.5)
                let golden: Float = 0.618034
                var c = b - golden * (b - a), d = a + golden * (b - a)
                var fc = f(exp(c)).sse, fd = f(exp(d)).sse
                for _ in 0..<14 {
                    if fc < fd {
                        b = d; d = c; fd = fc; c = b - golden * (b - a); fc = f(exp(c)).sse
                    } else {
                        a = c; c = d; fc = fd; d = a + golden * (b - a); fd = f(exp(d)).sse
                    }
                }
                return exp((a + b) / 2)
            }
            var (up, down, best) = search(nil, nil)
            // Its phases end before its approach does: the kind's time constants, both ways.
            let upBound = bounds.count == 2 * n ? bounds[s] : nil, downBound = bounds.count == 2 * n ? bounds[n + s] : nil
            if upBound != nil || downBound != nil, 3 * up > medianPhase[1] || 3 * down > medianPhase[0] {
                (up, down, best) = search(upBound, downBound)
            }
            guard best.sse.isFinite, best.slope.isFinite, best.slope != 0 else { continue }
            guard expectedStateSpan(up: up, down: down, sensor: s, values: values, sensorCount: n, runOfRow: runOfRow)
                    >= Self.minimumExpectedStateSpan else {
                // The state sets which way the sensor moves, not a level it goes to: an
                // integrator (a receiver filling while loaded and draining while unloaded). Its
                // lag never comes near either level, so the fit is a ramp that holds only at the
                // calibration's duty; the sensor is judged on its readings as they are. Its time
                // constants stay: the phase means still leave out a sensor whose course a phase
                // does not complete (`StatePhaseMeans.fit`), as they did with the compensation.
                fittedShift[s] = 0
                approach[s] = up
                approach[n + s] = down
                continue
            }
            approach[s] = up
            approach[n + s] = down
            fittedShift[s] = Float(best.slope)
            level[s] = Float(best.level)
        }
        shift = fittedShift
        approachRows = approach
        approachLevel = level
    }

    /// The smallest spread (5th to 95th percentile over the calibration rows) of a sensor's
    /// expected state (the 0/1 state through its fitted lag) for the sensor to be compensated
    /// with its approach: below it the fit found a ramp, not a lag that takes the sensor any real
    /// part of the way between two levels.
    ///
    /// A compressor's receiver pressure is no lag toward a level each state sets: the receiver
    /// fills while loaded and drains while unloaded, between the pressure switch's cut-in and
    /// cut-out. The approach fit still finds a lag for it, a time constant of hundreds of rows
    /// one way and a shift tens of times its band (simulated seed 5 at load 0.7, 1 s polls:
    /// 11.3 bar over a band of about 1), whose expected state sways by a few hundredths near one
    /// end. Where that expected state sits is set by the duty (its mean over a cycle balances
    /// the time spent in each state against the two time constants), so at another demand the
    /// compensation moved the receiver by a large part of that inflated shift: seed 5 calibrated
    /// at 0.7 and run at 0.35 alerted on 2,770 rows through the receiver's window. Measured
    /// spreads (docs/detection.md, "A fall in demand"): such receivers 0.008–0.058, the same
    /// degenerate fit of a discharge temperature 0.009–0.020; lags 0.146–1. A quarter left two
    /// discharge temperatures (0.146, 0.157) uncompensated and lost an outlet valve.
    static let minimumExpectedStateSpan: Float = 0.1

    /// The spread (5th to 95th percentile) of the expected state of sensor `s` over the rows the
    /// approach fit uses, with time constants `up` and `down`.
    func expectedStateSpan(up: Float, down: Float, sensor s: Int, values: ArraySlice<Float>, sensorCount n: Int,
                           runOfRow: [Int]?) -> Float {
        var expected: [Float] = []
        expected.reserveCapacity(values.count / max(n, 1))
        forEachExpectedState(up: up, down: down, sensor: s, values: values, sensorCount: n, runOfRow: runOfRow) { (g: Float, _) in
            expected.append(g)
        }
        guard expected.count > 2 else { return 0 }
        return RobustStatistics.quantile(expected, 0.95) - RobustStatistics.quantile(expected, 0.05)
    }

    /// Walks the rows the approach fit uses: at each row where sensor `s` is read, a run's first
    /// `settleRows` left out, `body` gets the expected state there (the 0/1 state through the lags
    /// `up` toward 1 and `down` toward 0, computed in `F`) and the reading. The fit's residual and
    /// `expectedStateSpan` walk the same course.
    func forEachExpectedState<F: BinaryFloatingPoint>(up: Float, down: Float, sensor s: Int, values: ArraySlice<Float>,
                                                      sensorCount n: Int, runOfRow: [Int]?, _ body: (F, Float) -> Void) {
        let rows = n > 0 ? values.count / n : 0
        func value(_ r: Int, _ c: Int) -> Float { values[values.startIndex + r * n + c] }
        let a1 = F(Self.step(up)), a0 = F(Self.step(down))
        var g = F.nan
        var sinceStart = settleRows
        for r in 0..<rows {
            if let runOfRow, r > 0, runOfRow[r] != runOfRow[r - 1] { sinceStart = 0; g = .nan }
            let x = value(r, state)
            guard x.isFinite else { continue }
            let target: F = x >= 0.5 ? 1 : 0
            if g.isNaN { g = target } else { g += (target - g) * (target == 1 ? a1 : a0) }
            sinceStart += 1
            let y = value(r, s)
            guard y.isFinite, sinceStart > settleRows else { continue }
            body(g, y)
        }
    }

    /// The share of the remaining approach covered in one row with time constant `rows`.
    static func step(_ rows: Float) -> Float { rows > 0 ? 1 - exp(-1 / rows) : 1 }

    /// Compensates a block of rows (row-major) in order with a fresh compensator.
    /// - Parameter settled: whether the first row counts as settled (see `StateCompensator.init`).
    public func apply(to values: ArraySlice<Float>, settled: Bool = true) -> [Float] {
        var compensator = StateCompensator(self, settled: settled)
        return rowByRow(values, sensorCount: shift.count) { compensator.apply($0) }
    }
}

/// Applies a `StateCompensation` to rows as they arrive; allocation-free.
public struct StateCompensator: Sendable {
    /// The compensation applied.
    public let compensation: StateCompensation
    private var last: Float = .nan
    private var run = 0
    /// Rows since the run started (with `approachRows` only the start's settling leaves
    /// sensors out).
    private var sinceStart = 0
    /// With `approachRows`: per sensor, the expected state (0…1; NaN: not read yet; during a
    /// start's settling the estimate its rows give, not yet clamped to 0…1), and
    /// the share of the remaining approach covered per row toward state 1 (index s) and state 0
    /// (shift.count + s). Empty without.
    private var expected: [Float] = []
    private var steps: [Float] = []
    /// With `approachRows`: per sensor, how many of the start's settling rows `expected` has
    /// read so far (0: none, or judging has begun). Empty without.
    private var settlingReads: [Float] = []
    /// With `approachRows`, after a stop (`carryApproach(from:)`): per sensor, the expected state
    /// the run before the stop ended with, carried along the approach through the start's
    /// settling rows (NaN: none). Empty otherwise.
    private var carried: [Float] = []
    /// How far beyond the two states' levels (in shares of the shift) the settling rows' reading
    /// of a sensor's state may lie and still be taken as its state (`carryApproach(from:)`): a
    /// tenth, as `RowSpikeCheck.shiftFraction`.
    static let settlingReadSlack: Float = 0.1

    /// Creates a compensator that has seen no row yet.
    /// - Parameter settled: whether the first row counts as settled in its state (a machine
    ///   already running when its rows begin), or as just after a change of state: the first
    ///   `settleRows` rows of a run after a stop, because the settling after a start can end
    ///   seconds after the machine loaded or unloaded, while its pressures are still moving
    ///   between the two states' levels (measured: simulated compressor seed 21, discharge
    ///   pressure 5.5 bar on its way to 7.5, compensated as loaded, scored 12× the threshold).
    public init(_ compensation: StateCompensation, settled: Bool = true) {
        self.compensation = compensation
        run = settled ? compensation.settleRows : 0
        sinceStart = run
        if let approach = compensation.approachRows, approach.count == 2 * compensation.shift.count,
           compensation.approachLevel?.count == compensation.shift.count {
            expected = [Float](repeating: .nan, count: compensation.shift.count)
            settlingReads = [Float](repeating: 0, count: compensation.shift.count)
            steps = approach.map(StateCompensation.step)
        }
    }

    /// After a stop: keeps the expected state `previous` (the run before the stop) ended with,
    /// for a sensor whose start's settling rows read it beyond both states' levels. Those rows
    /// say where a sensor is in its approach only while it lies between the levels; a sensor the
    /// stop moved past them (a compressor's oil, cooled below its unloaded level) reads as fully
    /// in one state, and the approach then expects the whole of the next change of state, more
    /// than any change calibration saw (measured: settled compressor seed 2 at 1 s polls after
    /// a 2-minute stop, oil read at −0.18 of its 1.90 °C shift, taken as unloaded; loaded 44 s
    /// later it was expected to rise 0.7 °C in 15 s, held still, and the spike check judged it
    /// 1.28× the threshold, an alert: `edge-bench restarts`). What the stop did to the sensor's
    /// level is the recovery allowance's (`WindowDeviationScorer.allowRecovery`).
    public mutating func carryApproach(from previous: StateCompensator) {
        guard !expected.isEmpty, previous.expected.count == expected.count else { return }
        carried = previous.expected
    }

    /// Moves a row in the second state to the first state's levels, in place. With
    /// `approachRows`, by the part of the shift each sensor is expected to have covered (only
    /// the first `settleRows` rows after a start lose their compensated readings, and where
    /// judging begins is read from all of them); without,
    /// rows just after a change of state lose their compensated readings (NaN).
    public mutating func apply(_ row: UnsafeMutableBufferPointer<Float>) {
        let c = compensation
        guard c.state < row.count else { return }
        let x = row[c.state]
        guard x.isFinite else { return }
        if last.isFinite, x != last { run = 0 } else { run += 1 }
        last = x
        if !expected.isEmpty, let levels = c.approachLevel {
            let n = c.shift.count
            let target: Float = x >= 0.5 ? 1 : 0
            let startSettling = sinceStart < c.settleRows
            sinceStart += 1
            for s in 0..<min(row.count, n) where c.shift[s] != 0 {
                let g = expected[s]
                let step = steps[target == 1 ? s : n + s]
                let moved = g + (target - g) * step
                if !carried.isEmpty, carried[s].isFinite, startSettling || settlingReads[s] > 0 {
                    carried[s] += (target - carried[s]) * step
                }
                if startSettling {
                    // Left out, but read: how far along the sensor is, as the mean of what every
                    // settling row says, each carried along the approach since (unclamped, so
                    // the mean is not pulled off a settled state's edge). Read from the last
                    // row alone, that row's noise became a bias for the approach's time
                    // constant (measured: settled compressor seed 7 after a 2-minute stop,
                    // suction pressure 0.0105 bar low at the row, 2.78 tolerated spreads
                    // 0.6 s later, an alert: `RestartAlertTests`).
                    let along = (row[s] - levels[s]) / c.shift[s]
                    if along.isFinite {
                        settlingReads[s] += 1
                        expected[s] = g.isNaN ? along : moved + (along - moved) / settlingReads[s]
                    } else if g.isFinite {
                        expected[s] = moved
                    }
                    row[s] = .nan
                    continue
                }
                if g.isNaN {
                    // Judging begins mid-approach at a stream's first row (or after a start
                    // whose settling rows had no reading): how far along the sensor is, read
                    // from where it is.
                    let along = (row[s] - levels[s]) / c.shift[s]
                    expected[s] = along.isFinite ? min(1, max(0, along)) : target
                } else if settlingReads[s] > 0 {
                    // Judging begins after a start's settling, from what those rows read; beyond
                    // both levels, from the run before the stop (`carryApproach(from:)`).
                    let slack = Self.settlingReadSlack
                    let beyond = moved < -slack || moved > 1 + slack
                    expected[s] = beyond && !carried.isEmpty && carried[s].isFinite ? carried[s] : min(1, max(0, moved))
                    settlingReads[s] = 0
                } else {
                    expected[s] = moved
                }
                row[s] -= c.shift[s] * expected[s]
            }
            return
        }
        let settling = run < c.settleRows
        for s in 0..<min(row.count, c.shift.count) where c.shift[s] != 0 {
            if settling { row[s] = .nan } else if x >= 0.5 { row[s] -= c.shift[s] }
        }
    }
}
