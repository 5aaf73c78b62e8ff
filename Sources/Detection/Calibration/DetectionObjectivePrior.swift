/// What a learned calibration margin aims at on the meta-training machines.
public enum CalibrationPriorObjective: String, Sendable, Hashable, CaseIterable {
    /// The smallest margin whose alerts cover at most `targetFalseAlarmRate` of the normal rows
    /// that follow a calibration (`CalibrationPrior.learn`): faults are never looked at.
    case falseAlarmTarget = "far-target"
    /// The margin with the best detection objective, F1 − FAR%/100, counted point-wise over
    /// calibrations placed before the machines' labelled faults (`CalibrationPrior.learnByDetection`).
    case detection = "f1-far"
}

/// Where the calibrations of `CalibrationPrior.learnByDetection` sit relative to a task's faults.
public struct DetectionEpisodeSettings: Sendable, Hashable {
    /// Rows counted after each calibration stretch.
    public var horizonRows: Int
    /// Normal rows between the end of the calibration stretch and the fault's first row (the
    /// horizon then holds `leadRows` normal rows, then the fault and whatever follows it).
    public var leadRows: Int

    /// Creates settings; by default half the horizon is normal operation before the fault.
    public init(horizonRows: Int = 750, leadRows: Int? = nil) {
        self.horizonRows = max(1, horizonRows)
        self.leadRows = max(0, leadRows ?? horizonRows / 2)
    }
}

extension CalibrationPrior {
    /// One calibration placed before a fault: `start` is its first row; rows
    /// `start + k ..< start + k + horizon` are counted.
    struct DetectionEpisode: Hashable {
        var task: Int
        var start: Int
    }

    /// Learns a prior like `learn`, but each margin maximizes the detection objective the
    /// few-shot table measures, on the tasks' own labelled faults.
    ///
    /// For each K and each fault of each task (a run of anomalous rows), the task is calibrated
    /// exactly as `calibrate` would (network half, margin 1) on the K normal rows that end
    /// `episodes.leadRows` rows before the fault begins (none before `settings.settlingRows`, none
    /// overlapping an earlier fault: such faults are skipped), then the next
    /// `episodes.horizonRows` rows are scored: normal operation, the fault, and what follows it.
    /// Every grid margin is applied with `settings.rule`, alerts are counted point-wise against
    /// the labels pooled over all episodes, and the margin with the highest F1 − FAR%/100 wins
    /// (the smallest on ties). Without any usable fault the margin is the grid's largest. The
    /// scale factor is learned as in `learn`.
    ///
    /// Why: the false-alarm target learns "how noisy is this network on steady machines", which
    /// varies with the initialization's seed and says nothing about how far above that noise a
    /// fault lifts the score; this objective weighs both, on machines the gateway never sees.
    public static func learnByDetection(initialization: Network, calibration: NetworkCalibration, tasks: [MetaTask],
                                        settings: CalibrationPriorSettings = CalibrationPriorSettings(),
                                        episodes: DetectionEpisodeSettings = DetectionEpisodeSettings()) -> CalibrationPrior {
        var entries: [Entry] = []
        for k in settings.calibrationRowCounts where k >= calibration.adaptation.windowRows {
            let placed = detectionEpisodes(in: tasks, rows: k, settlingRows: settings.settlingRows, episodes: episodes)
            let factor = scaleFactor(stretches: placed.map { (tasks[$0.task], $0.start) }, rows: k,
                                     inputScaling: calibration.inputScaling)
            var network = calibration
            network.initialization = initialization
            network.thresholdMargin = 1
            network.calibrationPrior = CalibrationPrior(entries: [Entry(calibrationRows: k, scaleFactor: factor, thresholdMargin: 1)])
            var streams: [(relative: [Float], anomalous: [Bool])] = []
            for e in placed {
                let task = tasks[e.task], n = task.sensorCount
                let support = task.values[(e.start * n)..<((e.start + k) * n)]
                guard let (part, _, _) = Calibrator.calibrateNetwork(network, values: support, sensorCount: n, labelledAnomalies: nil)
                else { continue }
                // The window is primed with the calibration rows, as replay and the agent do.
                var stream = NetworkStream(detector: part)
                for r in e.start..<(e.start + k) { _ = stream.score(row: task.values[(r * n)..<((r + 1) * n)]) }
                let end = min(task.rowCount, e.start + k + episodes.horizonRows)
                var relative: [Float] = [], anomalous: [Bool] = []
                for r in (e.start + k)..<end {
                    relative.append(stream.score(row: task.values[(r * n)..<((r + 1) * n)]) / part.threshold)
                    anomalous.append(task.anomalous[r])
                }
                streams.append((relative, anomalous))
            }
            let margin = bestDetectionMargin(streams: streams, grid: settings.marginGrid, rule: settings.rule)
            entries.append(Entry(calibrationRows: k, scaleFactor: factor, thresholdMargin: margin))
        }
        return CalibrationPrior(entries: entries)
    }

    /// The grid margin with the highest F1 − FAR%/100 over `streams` (relative scores with their
    /// labels, each stream alerted from a fresh rule state), the smallest on ties; the grid's
    /// largest when no stream has both classes' rows.
    static func bestDetectionMargin(streams: [(relative: [Float], anomalous: [Bool])], grid: [Float],
                                    rule: AlertDecisionRule) -> Float {
        var margin = grid.max() ?? 1
        var best = -Double.infinity
        for m in grid.sorted() {
            var counts = ConfusionCounts()
            for s in streams {
                var state = AlertDecisionRule.State()
                for i in s.relative.indices {
                    counts.record(prediction: state.update(score: s.relative[i], threshold: m, rule: rule), label: s.anomalous[i])
                }
            }
            guard counts.truePositives + counts.falseNegatives > 0, counts.falsePositives + counts.trueNegatives > 0 else { continue }
            let objective = counts.f1 - counts.falseAlarmRatePercent / 100
            if objective > best { best = objective; margin = m }
        }
        return margin
    }

    /// One episode per fault: the K rows ending `leadRows` rows before the fault's first row,
    /// when they are all normal, lie after `settlingRows`, and leave room for the fault.
    static func detectionEpisodes(in tasks: [MetaTask], rows k: Int, settlingRows: Int,
                                  episodes: DetectionEpisodeSettings) -> [DetectionEpisode] {
        var placed: [DetectionEpisode] = []
        for (t, task) in tasks.enumerated() {
            var r = 0
            while r < task.rowCount {
                guard task.anomalous[r], r == 0 || !task.anomalous[r - 1] else { r += 1; continue }
                let start = r - episodes.leadRows - k
                if start >= settlingRows, !task.anomalous[start..<(r - episodes.leadRows)].contains(true) {
                    placed.append(DetectionEpisode(task: t, start: start))
                }
                r += 1
            }
        }
        return placed
    }
}
