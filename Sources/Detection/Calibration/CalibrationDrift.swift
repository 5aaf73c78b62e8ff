import EdgeCore

/// Whether a sensor was still trending when the calibration data ended: the check a plant
/// engineer does by eye on a machine calibrated while it warms up.
///
/// A machine calibrated in the first minutes after a cold start learns the temperature band it
/// had then; as it keeps warming it leaves that band and alerts (`edge-bench calibration-length
/// --warm-up 0`, docs/detection.md, "How much calibration data"). Thermal approach to
/// equilibrium is roughly exponential, so such a sensor has moved a lot over the calibration and
/// is still moving the same way at its end; a settled machine's sensors wander both ways. Both
/// are measured against the sensor's own spreads, so the rule needs no unit and no sensor name:
/// how far it moved against its short-term spread (off a straight line within each fifth of the
/// rows: noise, not trend), and how fast it was still moving against its robust calibration
/// spread (scaled MAD of its running rows, with calibration's relative floor).
public struct CalibrationDrift: Sendable, Hashable {
    /// The sensor's column in the table measured.
    public var column: Int
    /// The sensor's robust calibration spread, in its own unit.
    public var spread: Double
    /// Median of the last fifth of the running rows minus the median of the first fifth, in the
    /// sensor's unit.
    public var change: Double
    /// How fast it was still moving over the last fifth, in the sensor's unit per minute of
    /// running (least-squares slope over the fifth's rows).
    public var endRatePerMinute: Double
    /// Minutes of running rows the change was measured over.
    public var minutes: Double
    /// Minutes in one fifth of the running rows.
    public var fifthMinutes: Double
    /// The sensor's short-term spread: the median over the fifths of each one's robust spread off
    /// its own straight line, in the sensor's unit.
    public var noise: Double

    /// `change` in calibration spreads.
    public var changeSpreads: Double { spread > 0 ? change / spread : 0 }
    /// `change` in short-term spreads (`noise`).
    public var changeNoises: Double { noise > 0 ? change / noise : 0 }
    /// The change over the last fifth at `endRatePerMinute`, in calibration spreads.
    public var endChangeSpreads: Double { spread > 0 ? endRatePerMinute * fifthMinutes / spread : 0 }

    /// Creates the record.
    public init(column: Int, spread: Double, change: Double, endRatePerMinute: Double, minutes: Double, fifthMinutes: Double,
                noise: Double) {
        self.noise = noise
        self.column = column
        self.spread = spread
        self.change = change
        self.endRatePerMinute = endRatePerMinute
        self.minutes = minutes
        self.fifthMinutes = fifthMinutes
    }

    /// When a sensor counts as still trending.
    public struct Rule: Sendable, Hashable {
        /// Least `|changeNoises|`: how far it moved against its short-term spread.
        public var changeNoises: Double
        /// Least `|endChangeSpreads|`, in the direction of the change: still moving at the end.
        public var endChangeSpreads: Double
        /// Least rows in a fifth (fewer: too noisy to say; such a short calibration is refused or
        /// warned about for its length anyway).
        public var rowsPerFifth: Int

        /// Creates a rule.
        public init(changeNoises: Double, endChangeSpreads: Double, rowsPerFifth: Int) {
            self.changeNoises = changeNoises
            self.endChangeSpreads = endChangeSpreads
            self.rowsPerFifth = rowsPerFifth
        }

        /// Set on settled simulated machines (compressor, pump, fan motor × 12 seeds, run 4 hours
        /// before calibrations of 2–30 minutes, 1 s polls; `edge-bench calibration-length
        /// --warm-up 240 --drift-detail`): the largest change of a sensor still moving the same
        /// way at the end was 19.6 short-term spreads (temperatures, which follow the ambient's
        /// daily cycle, 11.2); 25 is above all of them. 0.25 spreads over the last fifth is where
        /// a first-order warm-up has about half a spread left to go (it has run two time
        /// constants): less is within the band calibration learned. Docs: docs/detection.md,
        /// "How much calibration data".
        public static let standard = Rule(changeNoises: 25, endChangeSpreads: 0.25, rowsPerFifth: 20)
    }

    /// Whether the sensor moved at least `rule.changeNoises` short-term spreads and was still
    /// moving the same way by at least `rule.endChangeSpreads` calibration spreads over the last fifth.
    public func isTrending(_ rule: Rule = .standard) -> Bool {
        abs(changeNoises) >= rule.changeNoises && endChangeSpreads * change > 0 && abs(endChangeSpreads) >= rule.endChangeSpreads
    }

    /// Measures every sensor of `table` (the running rows calibration uses) but `skipping`
    /// (operating-state sensors: a 0/1 level is a state, not a trend). Empty when a fifth of the
    /// rows is shorter than `rowsPerFifth`.
    /// - Parameters:
    ///   - secondsPerRow: seconds between running rows (`CalibrationCoverage.secondsPerRow`).
    ///   - relativeScaleFloor: the spread's floor relative to the sensor's level, as calibration's
    ///     (`WindowDeviationSettings.relativeScaleFloor`).
    public static func measure(table: SensorTable, skipping: [Int] = [], secondsPerRow: Double,
                               relativeScaleFloor: Float = WindowDeviationSettings().relativeScaleFloor,
                               rowsPerFifth: Int = Rule.standard.rowsPerFifth) -> [CalibrationDrift] {
        let rows = table.rowCount, n = table.sensorCount
        let fifth = rows / 5
        guard fifth >= max(2, rowsPerFifth), secondsPerRow > 0 else { return [] }
        let fifthMinutes = Double(fifth) * secondsPerRow / 60
        // A machine with operating-state sensors (a compressor's `loaded`) is compared with its
        // level in the same state, as calibration's two-state compensation does: each row's
        // state is the combination of its state sensors, and a sensor's readings are measured
        // off their median in that state (a different loaded share in the first and last fifth
        // is not a trend).
        let states = skipping.filter { (0..<n).contains($0) }
        let stateOfRow = (0..<rows).map { r in
            states.enumerated().reduce(0) { key, state in
                key | (CalibratedStates.state(of: table.values[r * n + state.element]) == 1 ? 1 << state.offset : 0)
            }
        }
        var out: [CalibrationDrift] = []
        for s in 0..<n where !skipping.contains(s) {
            var values = (0..<rows).map { table.values[$0 * n + s] }
            let level = RobustStatistics.median(values)
            guard level.isFinite else { continue }
            if !states.isEmpty {
                var rowsOfState: [Int: [Int]] = [:]
                for r in 0..<rows { rowsOfState[stateOfRow[r], default: []].append(r) }
                let original = values
                for (_, members) in rowsOfState {
                    let m = RobustStatistics.median(members.lazy.map { original[$0] })
                    for r in members { values[r] = original[r] - m + level }
                }
            }
            let spread = max(RobustStatistics.scaledMAD(values, center: RobustStatistics.median(values)),
                             relativeScaleFloor * max(abs(level), 1e-3))
            let first = RobustStatistics.median(values[0..<fifth])
            let last = RobustStatistics.median(values[(rows - fifth)..<rows])
            guard first.isFinite, last.isFinite, let end = line(values[(rows - fifth)..<rows]) else { continue }
            // Short-term spread: within each fifth, off its own straight line (a trend is not noise).
            let noise = RobustStatistics.median((0..<5).compactMap { k -> Float? in
                let part = values[(k * fifth)..<((k + 1) * fifth)]
                guard let fit = line(part) else { return nil }
                let residuals = part.indices.map { part[$0] - Float(fit.intercept + fit.slope * Double($0 - part.startIndex)) }
                return RobustStatistics.scaledMAD(residuals, center: 0)
            })
            out.append(CalibrationDrift(column: s, spread: Double(spread), change: Double(last - first),
                                        endRatePerMinute: end.slope * 60 / secondsPerRow,
                                        minutes: Double(rows) * secondsPerRow / 60, fifthMinutes: fifthMinutes,
                                        noise: Double(max(noise.isFinite ? noise : 0, relativeScaleFloor * max(abs(level), 1e-3)))))
        }
        return out
    }

    /// Least-squares line through `values` against their offset from the slice's start (missing
    /// readings skipped); nil with fewer than two readings.
    static func line(_ values: ArraySlice<Float>) -> (intercept: Double, slope: Double)? {
        var count = 0.0, sumX = 0.0, sumY = 0.0, sumXX = 0.0, sumXY = 0.0
        for i in values.indices {
            let y = Double(values[i])
            guard y.isFinite else { continue }
            let x = Double(i - values.startIndex)
            count += 1; sumX += x; sumY += y; sumXX += x * x; sumXY += x * y
        }
        let denominator = count * sumXX - sumX * sumX
        guard count >= 2, denominator > 0 else { return nil }
        let slope = (count * sumXY - sumX * sumY) / denominator
        return ((sumY - slope * sumX) / count, slope)
    }

    /// The warning for a machine whose sensors were still trending (nil: none was).
    /// - Parameters:
    ///   - units: per column of the table, the sensor's unit ("" when it has none).
    ///   - lastRowTime: the last calibration row's time, to suggest a later stretch (nil: not known).
    ///   - fromBuffer: whether calibration read the agent's buffer (else a CSV file).
    public static func warning(machine: String, drifts: [CalibrationDrift], sensorNames: [String], units: [String],
                               lastRowTime: Timestamp?, fromBuffer: Bool, rule: Rule = .standard) -> String? {
        let trending = drifts.filter { $0.isTrending(rule) }
        guard !trending.isEmpty else { return nil }
        let parts = trending.map { d -> String in
            let name = d.column < sensorNames.count ? sensorNames[d.column] : "column \(d.column)"
            let unit = d.column < units.count && !units[d.column].isEmpty ? " " + units[d.column] : ""
            let rose = d.change > 0
            return "\(name) \(rose ? "rose" : "fell") \(number(abs(d.change)))\(unit) over the \(CalibrationCoverage.minutesText(d.minutes)) min and was still \(rose ? "rising" : "falling") \(number(abs(d.endRatePerMinute)))\(unit)/min at the end"
        }
        let names = trending.map { $0.column < sensorNames.count ? sensorNames[$0.column] : "column \($0.column)" }
        let later: String
        if fromBuffer, let end = lastRowTime {
            let from = Timestamp(millisecondsSinceEpoch: end.millisecondsSinceEpoch + 3_600_000).iso8601
            let until = Timestamp(millisecondsSinceEpoch: end.millisecondsSinceEpoch + 3 * 3_600_000 / 2).iso8601
            later = "edge-agent calibrate --machine \(machine) --from \(from) --until \(until) (an hour later)"
        } else if fromBuffer {
            later = "edge-agent calibrate --machine \(machine) --last 30m in an hour"
        } else {
            later = "give --input a stretch recorded after it had run an hour or more, or calibrate from the buffer with --last 30m once it has"
        }
        return "\(machine) was still settling at the end of calibration (warming up or cooling down): \(parts.joined(separator: "; ")). The detector learned levels \(machine) leaves as it settles, so expect alerts on \(names.joined(separator: ", ")) while it does. Calibrate again once it has settled, e.g. \(later); or keep this detector and expect those alerts while it warms."
    }

    /// Three significant figures, at most three decimals.
    static func number(_ value: Double) -> String {
        let magnitude = abs(value)
        let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
        return EvaluationText.fixed(value, decimals)
    }
}
