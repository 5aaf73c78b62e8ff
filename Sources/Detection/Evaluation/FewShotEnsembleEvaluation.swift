import EdgeCore

extension FewShotEvaluation {
    /// The few-shot table with every row an ensemble of `members` networks (`NetworkEnsemble`):
    /// (a) and (c) average `members` initializations meta-trained on `simulatedTasks` with the
    /// seeds `NetworkEnsemble.memberSeeds(from: settings.metaTraining.seed, …)`, (b) and (b')
    /// `members` random initializations with the seeds derived from `settings.randomSeed` the
    /// same way. Every member is calibrated and adapted exactly as one network is in `run`; the
    /// ensemble's score is the members' mean and its threshold the ensemble's highest calibration
    /// score × the margin (the row's calibration prior's, learned for the ensemble with
    /// `CalibrationPrior.learnForEnsemble` on `settings.priorTasks`, or `thresholdMargin`).
    /// Without folds only (simulator-only meta-training), with the `highestScore` threshold rule
    /// and the false-alarm-target prior.
    /// - Throws: `ReplayError` for settings the ensemble does not support, `CSVReadError` when a
    ///   file cannot be read.
    public static func runEnsemble(directory: String, members: Int, simulatedTasks: [MetaTask],
                                   settings: FewShotEvaluationSettings, progress: (String) -> Void = { _ in }) throws -> [FewShotResult] {
        guard members >= 1 else { throw ReplayError(message: "--ensemble needs at least 1 member") }
        guard settings.folds < 2, !simulatedTasks.isEmpty else {
            throw ReplayError(message: "--ensemble meta-trains its members on simulated machines: use --meta-simulated N without --meta-folds")
        }
        guard settings.networkThresholdRule == .highestScore, settings.calibrationPriorObjective == .falseAlarmTarget,
              !settings.learnThresholdMargin, !settings.learnNormalizationPrior else {
            throw ReplayError(message: "--ensemble supports the highest-score threshold rule and the far-target calibration prior only (drop --threshold-rule, --prior-objective, --learn-margin, --learn-scales)")
        }
        var labelled: [(name: String, table: SensorTable)] = []
        for file in try DatasetEvaluation.csvFiles(under: directory) {
            let table = try CSVReader().read(path: directory + "/" + file)
            if table.anomalyLabels != nil { labelled.append((file, table)) }
        }
        // Members of (a) and (c): one meta-training per derived seed, as `run` does for one.
        var metaMembers: [Network] = []
        for seed in NetworkEnsemble.memberSeeds(from: settings.metaTraining.seed, count: members) {
            var meta = settings.metaTraining
            meta.seed = seed
            let trained = metaTrainedInitialization(tasks: simulatedTasks, meta: meta, settings: settings)
            metaMembers.append(trained.network)
            progress("ensemble member seed \(seed): meta-trained on \(simulatedTasks.count) tasks, " + trained.summary)
        }
        let randomMembers = NetworkEnsemble.memberSeeds(from: settings.randomSeed, count: members).map { seed -> Network in
            var random = Network(architecture: metaMembers[0].architecture, seed: seed)
            random.reconstructionScoreWeight = settings.scoreReconstructionWeight
            random.scoresByLargestSensor = settings.largestSensorScore
            return random
        }
        func starts(_ method: FewShotMethod) -> [Network] {
            method == .randomAdapted || method == .randomAdaptedWithPrior ? randomMembers : metaMembers
        }
        func calibration(_ method: FewShotMethod, initialization: Network) -> NetworkCalibration {
            var adaptation = settings.adaptation
            if method == .metaOnly { adaptation.steps = 0 }
            var network = NetworkCalibration(initialization: initialization, adaptation: adaptation, thresholdMargin: 1, quantize: settings.quantize)
            network.inputScaling = settings.inputScaling
            network.toleratedThresholdFloor = settings.toleratedThresholdFloor
            return network
        }
        var priors: [FewShotMethod: CalibrationPrior] = [:]
        if settings.learnCalibrationPrior {
            var priorSettings = settings.calibrationPrior
            priorSettings.calibrationRowCounts = settings.calibrationRowCounts
            for method in [FewShotMethod.metaAdapted, .metaOnly, .randomAdaptedWithPrior] {
                let started = MonotonicTime.seconds()
                let prior = CalibrationPrior.learnForEnsemble(initializations: starts(method),
                                                              calibration: calibration(method, initialization: starts(method)[0]),
                                                              tasks: settings.priorTasks, settings: priorSettings)
                priors[method] = prior
                progress("ensemble calibration prior \(method.rawValue): " + prior.entries.map {
                    "K=\($0.calibrationRows) margin \($0.thresholdMargin)"
                }.joined(separator: ", ") + ", \(EvaluationText.fixed(MonotonicTime.seconds() - started, 1)) s")
            }
        }
        let rule = CalibrationSettings().rule
        var results: [FewShotResult] = []
        for k in settings.calibrationRowCounts {
            for method in FewShotMethod.allCases where (method != .randomAdaptedWithPrior || settings.learnCalibrationPrior)
                && method != .randomAdaptedWithLearnedRates {
                // Per file: the ensemble's mean score relative to its highest calibration score.
                var network = calibration(method, initialization: starts(method)[0])
                if let learned = priors[method] {
                    network.calibrationPrior = CalibrationPrior(entries: learned.entries.map {
                        CalibrationPrior.Entry(calibrationRows: $0.calibrationRows, scaleFactor: $0.scaleFactor, thresholdMargin: 1)
                    })
                }
                var calibrationSettings = CalibrationSettings()
                calibrationSettings.useDeviation = false
                calibrationSettings.network = network
                let scores = try labelled.map {
                    try relativeScores(of: $0.table, calibrationRows: k, members: starts(method), settings: calibrationSettings)
                }
                func counts(file i: Int, margin: Float) -> ConfusionCounts {
                    let labels = labelled[i].table.anomalyLabels ?? []
                    var state = AlertDecisionRule.State()
                    var c = ConfusionCounts()
                    for r in k..<labels.count {
                        let alert = state.update(score: scores[i][r], threshold: margin, rule: rule)
                        if r >= max(k, settings.testStartRow) { c.record(prediction: alert, label: labels[r] != 0) }
                    }
                    return c
                }
                let margin = priors[method]?.entry(forRows: k)?.thresholdMargin ?? settings.thresholdMargin
                let total = labelled.indices.reduce(ConfusionCounts()) { $0 + counts(file: $1, margin: margin) }
                var result = FewShotResult(method: method, calibrationRows: k, counts: total, thresholdMargins: [margin])
                if settings.diagnostics {
                    var best = -1.0
                    for m in settings.thresholdMarginGrid {
                        let c = labelled.indices.reduce(ConfusionCounts()) { $0 + counts(file: $1, margin: m) }
                        if c.falseAlarmRatePercent <= 10, c.f1 > best { best = c.f1; result.oracleCounts = c; result.oracleMargin = m }
                        result.marginSweep.append((m, c))
                    }
                    var aucs: [Double] = []
                    for i in labelled.indices {
                        let labels = labelled[i].table.anomalyLabels ?? []
                        var pairs: [(Float, Bool)] = []
                        for r in max(k, settings.testStartRow)..<labels.count where scores[i][r].isFinite { pairs.append((scores[i][r], labels[r] != 0)) }
                        if let auc = areaUnderCurve(pairs) { aucs.append(auc) }
                    }
                    if !aucs.isEmpty { result.meanAUC = aucs.reduce(0, +) / Double(aucs.count) }
                }
                results.append(result)
            }
        }
        return results
    }
}
