/// An ensemble of M network detectors calibrated on the same rows: the row score is the mean of
/// the members' scores, and the threshold is the ensemble's own highest calibration score × a
/// margin, exactly the procedure one network gets (`NetworkCalibration`, `highestScore` rule).
///
/// Why: one adapted network carries the luck of its initialization (meta-training seed or
/// random seed); averaging M members started from different seeds keeps what they share
/// (systematic ranking of faults) and shrinks each member's idiosyncratic noise. An evaluation
/// option for now (`evaluate --few-shot --ensemble M`): the int8 path, the model file and
/// `calibrate` know one network only.
public enum NetworkEnsemble {
    /// The seeds of an ensemble's `count` members derived from one seed: 100·seed + 1 …
    /// 100·seed + count (so ensembles of different seeds share no member for seeds below 2^57).
    public static func memberSeeds(from seed: UInt64, count: Int) -> [UInt64] {
        (0..<max(0, count)).map { seed &* 100 &+ UInt64($0 + 1) }
    }

    /// The mean of the members' scores at each row (accumulated in Double); NaN where any
    /// member's score is not finite (a window not yet full).
    public static func meanScores(_ members: [[Float]]) -> [Float] {
        guard let count = members.first?.count else { return [] }
        precondition(members.allSatisfy { $0.count == count }, "one score per row for every member")
        return (0..<count).map { r in
            var sum = 0.0
            for member in members {
                let s = member[r]
                guard s.isFinite else { return .nan }
                sum += Double(s)
            }
            return Float(sum / Double(members.count))
        }
    }

    /// The ensemble's highest score over `calibrationRows` leading rows (at least 1e-6; 1 when
    /// none is finite): what its margin multiplies, as `highestScore` does for one network.
    public static func reference(of scores: [Float], calibrationRows: Int) -> Float {
        var top = -Float.infinity
        for s in scores.prefix(calibrationRows) where s.isFinite { top = max(top, s) }
        return max(top.isFinite ? top : 1, 1e-6)
    }

    /// Ensemble scores relative to the ensemble's reference (so margin m alerts above m), from
    /// each member's scores relative to its own threshold and that threshold (as `Replay` gives
    /// them: `relative × threshold` is the member's raw score).
    public static func relativeScores(memberRelativeScores: [[Float]], memberThresholds: [Float], calibrationRows: Int) -> [Float] {
        precondition(memberRelativeScores.count == memberThresholds.count, "one threshold per member")
        let raw = zip(memberRelativeScores, memberThresholds).map { scores, threshold in scores.map { $0 * threshold } }
        let mean = meanScores(raw)
        let reference = reference(of: mean, calibrationRows: calibrationRows)
        return mean.map { $0 / reference }
    }
}

/// Scores rows one at a time with every member of an ensemble and returns their mean. Like
/// `NetworkStream`: not thread-safe, one per machine per thread.
public struct NetworkEnsembleStream {
    private var members: [NetworkStream]

    /// Creates a stream over `detectors` (at least one), each with an empty window.
    public init(detectors: [NetworkDetector]) {
        precondition(!detectors.isEmpty, "an ensemble needs at least one member")
        members = detectors.map { NetworkStream(detector: $0) }
    }

    /// Adds one row to every member and returns the mean of their scores (accumulated in
    /// Double; NaN until every member's window is full).
    public mutating func score<C: Collection>(row: C) -> Float where C.Element == Float {
        var sum = 0.0
        var finite = true
        for i in members.indices {
            let s = members[i].score(row: row)
            if s.isFinite { sum += Double(s) } else { finite = false }
        }
        return finite ? Float(sum / Double(members.count)) : .nan
    }
}

extension CalibrationPrior {
    /// `learn` for an ensemble: every calibration stretch calibrates each member from its own
    /// initialization exactly as `learn` calibrates one network, the ensemble's score is the
    /// members' mean, its reference the highest mean over the stretch's rows, and the margin the
    /// smallest grid value whose alerts cover at most `targetFalseAlarmRate` of the later normal
    /// rows. With one member it learns what `learn` learns.
    public static func learnForEnsemble(initializations: [Network], calibration: NetworkCalibration, tasks: [MetaTask],
                                        settings: CalibrationPriorSettings = CalibrationPriorSettings()) -> CalibrationPrior {
        precondition(!initializations.isEmpty, "an ensemble needs at least one member")
        var entries: [Entry] = []
        for k in settings.calibrationRowCounts where k >= calibration.adaptation.windowRows {
            let stretches = tasks.map { task in starts(in: task, rows: k, count: settings.episodesPerTask, after: settings.settlingRows) }
            let factor = scaleFactor(stretches: zip(tasks, stretches).flatMap { task, starts in starts.map { (task, $0) } },
                                     rows: k, inputScaling: calibration.inputScaling)
            var streams: [(relative: [Float], normal: [Bool])] = []
            for (task, starts) in zip(tasks, stretches) {
                let n = task.sensorCount
                for start in starts {
                    let support = task.values[(start * n)..<((start + k) * n)]
                    var parts: [NetworkDetector] = []
                    for initialization in initializations {
                        var network = calibration
                        network.initialization = initialization
                        network.thresholdMargin = 1
                        network.calibrationPrior = CalibrationPrior(entries: [Entry(calibrationRows: k, scaleFactor: factor, thresholdMargin: 1)])
                        guard let (part, _, _) = Calibrator.calibrateNetwork(network, values: support, sensorCount: n, labelledAnomalies: nil)
                        else { break }
                        parts.append(part)
                    }
                    guard parts.count == initializations.count else { continue }
                    // The ensemble's reference: its highest score over the calibration rows.
                    var calibrating = NetworkEnsembleStream(detectors: parts)
                    var top = -Float.infinity
                    for r in start..<(start + k) {
                        let s = calibrating.score(row: task.values[(r * n)..<((r + 1) * n)])
                        if s.isFinite { top = max(top, s) }
                    }
                    let reference = max(top.isFinite ? top : 1, 1e-6)
                    // Later rows start afresh, as `learn` scores them.
                    var stream = NetworkEnsembleStream(detectors: parts)
                    var relative: [Float] = [], normal: [Bool] = []
                    for r in (start + k)..<min(task.rowCount, start + k + (settings.horizonRows ?? task.rowCount)) {
                        relative.append(stream.score(row: task.values[(r * n)..<((r + 1) * n)]) / reference)
                        normal.append(!task.anomalous[r])
                    }
                    streams.append((relative, normal))
                }
            }
            let margin = Self.smallestMargin(streams: streams, settings: settings)
            entries.append(Entry(calibrationRows: k, scaleFactor: factor, thresholdMargin: margin))
        }
        return CalibrationPrior(entries: entries)
    }
}
