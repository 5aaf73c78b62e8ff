import EdgeCore

/// The outcome of replaying one recorded file through a freshly calibrated detector.
public struct ReplayResult: Sendable {
    /// The detector calibrated on the file's first rows.
    public var detector: MachineDetector
    /// What calibration did.
    public var report: CalibrationReport
    /// Rows used for calibration (the first rows of the file; they never alert).
    public var calibrationRows: Int
    /// One score per input row (NaN where no sensor had data yet).
    public var scores: [Float]
    /// One alert decision per input row; false for calibration rows.
    public var alerts: [Bool]
}

/// Offline scoring of a recorded file, exactly as the agent would have scored it live: calibrate
/// on the first rows only, then score every row causally (each row sees only itself and earlier
/// rows of the same run: at the table's `runStarts` the scorer starts afresh, as after a stop).
public enum Replay {
    /// Calibrates on the first `calibrationRows` rows of `table` and scores all rows.
    /// - Parameter tolerances: per sensor, in the table's column order, the level change that
    ///   is normal whatever calibration saw (agent.conf `tolerance`, in the sensor's unit; NaN:
    ///   none), as `calibrate` gives the agent's detector; nil: none.
    /// - Parameter hop: agent.conf's `hop`: the first full window after each (re)start is
    ///   judged, then every `hop`-th, as the agent judges (`JudgedRows.isJudged`); a row between
    ///   two judged windows gets no score (NaN) and the alert state of the last judged one.
    /// - Parameter calibrationOnly: calibration rows the agent never gives its scorer (fewer
    ///   than half of the sensors usable): calibrated on as they are, but they do not fill the
    ///   windows, and get no score.
    /// - Throws: `ReplayError` when the file has no more rows than the calibration needs.
    public static func run(_ table: SensorTable, calibrationRows: Int,
                           settings: CalibrationSettings = CalibrationSettings(),
                           tolerances: [Float]? = nil, hop: Int = 1, calibrationOnly: Set<Int> = []) throws -> ReplayResult {
        guard calibrationRows > 0, table.rowCount > calibrationRows else {
            throw ReplayError(message: "the file has \(table.rowCount) rows; calibration needs \(calibrationRows) and at least one more row to score (use a smaller --calibration-rows)")
        }
        let n = table.sensorCount
        // The agent's calibrate counts the load prior's thermal lags with the machine's poll
        // interval; a recorded file says its own through its timestamps.
        var settings = settings
        if let step = secondsPerRow(table) { settings.secondsPerRow = step }
        let (detector, report) = Calibrator(settings: settings)
            .calibrate(values: table.values[0..<(calibrationRows * n)], sensorNames: table.sensorNames,
                       tolerances: tolerances.flatMap { $0.count == n && $0.contains(where: { $0 > 0 }) ? $0 : nil },
                       runStarts: table.runStarts.filter { $0 < calibrationRows })
        var stream = detector.makeStream()
        var scores = [Float](repeating: .nan, count: table.rowCount)
        var alerts = [Bool](repeating: false, count: table.rowCount)
        // After each stop the windows start afresh, as the agent's do (see `SensorTable.runStarts`).
        var starts = table.runStarts.sorted()[...]
        for r in 0..<table.rowCount {
            while let next = starts.first, next <= r {
                starts.removeFirst()
                if next == r { stream.restart(afterStop: table.stopLevels[r], recoveryRows: table.settleRows) }
            }
            let row = table.values[(r * n)..<((r + 1) * n)]
            if r < calibrationRows {
                if !calibrationOnly.contains(r) { scores[r] = stream.score(row: row) }
            } else {
                (scores[r], alerts[r]) = stream.process(row: row, hop: hop)
                // Windows full but this one not judged (between two judged windows).
                if hop > 1, stream.rowsInWindows >= detector.baseline.settings.windowRows, !stream.isJudged(hop: hop) {
                    scores[r] = .nan
                }
            }
        }
        return ReplayResult(detector: detector, report: report, calibrationRows: calibrationRows,
                            scores: scores, alerts: alerts)
    }

    /// The median time between consecutive rows of `table`, in seconds, over its first rows; nil
    /// when its timestamps are not ISO-8601 (the calibration then assumes one row a second).
    public static func secondsPerRow(_ table: SensorTable) -> Float? {
        var steps: [Int64] = []
        var previous: Int64? = nil
        for r in 0..<min(table.rowCount, 2001) {
            guard let t = Timestamp(iso8601: table.timestamps[r][...])?.millisecondsSinceEpoch else { return nil }
            if let previous, t > previous { steps.append(t - previous) }
            previous = t
        }
        guard !steps.isEmpty else { return nil }
        steps.sort()
        return Float(steps[steps.count / 2]) / 1000
    }

    /// The replay output as CSV text: header `timestamp,score,threshold,alert`, one line per input row.
    public static func csv(table: SensorTable, result: ReplayResult) -> String {
        var out = "timestamp,score,threshold,alert\n"
        out.reserveCapacity(40 * (table.rowCount + 1))
        let threshold = formatNumber(result.detector.alertThreshold)
        for r in 0..<table.rowCount {
            var ts = table.timestamps[r]
            if ts.contains(",") || ts.contains("\"") { ts = "\"" + ts.replacingAll("\"", with: "\"\"") + "\"" }
            out += ts
            out += ","
            out += result.scores[r].isNaN ? "" : formatNumber(result.scores[r])
            out += ","
            out += threshold
            out += result.alerts[r] ? ",1\n" : ",0\n"
        }
        return out
    }

    /// A float with up to six decimals, without Foundation formatters.
    static func formatNumber(_ value: Float) -> String {
        guard value.isFinite else { return value.isNaN ? "" : (value > 0 ? "inf" : "-inf") }
        return EvaluationText.trimmed(Double(value), decimals: 6)
    }
}

/// Replay could not run on a file; the message says what to change.
public struct ReplayError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and what to do.
    public var message: String
    public var description: String { message }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
