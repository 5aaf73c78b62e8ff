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
    public static func fit(values: ArraySlice<Float>, sensorCount n: Int, settleRows: Int = 5, minimumRows: Int = 60,
                           minimumSeparation: Float = 3, averagedRows: Int = 1, runStarts: [Int] = []) -> StateCompensation? {
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
        return StateCompensation(state: state, shift: fitted.shift, settleRows: settle)
    }

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
    }

    /// Moves a row in the second state to the first state's levels, in place; rows just after
    /// a change of state lose their compensated readings (NaN).
    public mutating func apply(_ row: UnsafeMutableBufferPointer<Float>) {
        let c = compensation
        guard c.state < row.count else { return }
        let x = row[c.state]
        guard x.isFinite else { return }
        if last.isFinite, x != last { run = 0 } else { run += 1 }
        last = x
        let settling = run < c.settleRows
        for s in 0..<min(row.count, c.shift.count) where c.shift[s] != 0 {
            if settling { row[s] = .nan } else if x >= 0.5 { row[s] -= c.shift[s] }
        }
    }
}
