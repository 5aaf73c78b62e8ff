import EdgeCore

/// Settings of the few-shot table: which K, which adaptation, and how meta-initializations are
/// made when the data set itself feeds meta-training (k-fold by file).
public struct FewShotEvaluationSettings: Sendable {
    /// Calibration rows compared (each file is calibrated on its first K rows).
    public var calibrationRowCounts: [Int]
    /// First row counted for every K, so every K is scored on the same rows.
    public var testStartRow: Int
    /// Folds by file: 0 evaluates every file with the given initialization; N ≥ 2 splits the
    /// labelled files into N folds (file i goes to fold i mod N) and measures each fold with an
    /// initialization meta-trained on the other folds' files, the unlabelled files and the extra
    /// tasks, so no file is measured by an initialization that saw it.
    public var folds: Int
    /// Meta-training of each fold's initialization.
    public var metaTraining: MetaTrainingSettings
    /// Whether, with folds, each fold's network threshold margin per K and method is learned on
    /// the other folds' files (the grid value with the best F1 − FAR%/100 there) instead of
    /// `thresholdMargin`: a score calibration learned across machines.
    public var learnThresholdMargin: Bool = false
    /// Whether, with folds, the meta-learned rows (a) and (c) also widen the calibration scales by
    /// a `NormalizationPrior` learned per K on the other folds' files and the unlabelled files;
    /// row (b') then shows random initialization with the same prior, to tell the two apart.
    public var learnNormalizationPrior: Bool = false
    /// With `learnNormalizationPrior`: the prior holds per-slot fleet scales in the sensors' own
    /// units (`NormalizationPrior.absoluteScales`) instead of widening factors.
    public var absoluteNormalizationPrior: Bool = false
    /// Whether rows (a) and (c) calibrate with a `CalibrationPrior` (scale widening and
    /// threshold margin per K) learned for their initialization and adaptation on the
    /// meta-training machines (each fold's, or `priorTasks` without folds); row (b') then shows
    /// random initialization with a prior learned the same way for it. (b) stays without.
    public var learnCalibrationPrior: Bool = false
    /// Without folds: the machines the calibration prior is learned on (e.g. the simulated
    /// fleet of the shipped initialization's recipe).
    public var priorTasks: [MetaTask] = []
    /// How calibration priors are learned.
    public var calibrationPrior = CalibrationPriorSettings()
    /// What a learned calibration prior's margin aims at: today's false-alarm target on normal
    /// rows, or the detection objective on the meta-training machines' faults.
    public var calibrationPriorObjective: CalibrationPriorObjective = .falseAlarmTarget
    /// With the detection objective: where calibrations sit before each fault, and how many rows count.
    public var detectionEpisodes = DetectionEpisodeSettings()
    /// Whether meta-training episodes are normalized with the same learned prior (for their K).
    public var priorsInMetaTraining: Bool = false
    /// When set (a fraction, e.g. 0.07), a learned margin is instead the smallest grid margin
    /// whose false-alarm rate on the other folds' files is at most this (the largest margin
    /// when none is): every row then runs at about the same false-alarm rate, so F1 compares
    /// how well each ranks faults above normal rows.
    public var marginTargetFalseAlarmRate: Double? = nil
    /// The margins tried when learning one.
    public var thresholdMarginGrid: [Float] = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48]
    /// Weight of the prediction error in every row's network score (`Network.reconstructionScoreWeight`;
    /// 1 is the shipped score). Applies to meta-training and to every initialization alike.
    public var scoreReconstructionWeight: Float = 1
    /// Whether every row's network score is its largest sensor's contribution (`Network.scoresByLargestSensor`).
    public var largestSensorScore: Bool = false
    /// How every row scales the network's inputs at calibration and in meta-training.
    public var inputScaling: NetworkInputScaling = .robust
    /// With tolerated inputs: every row's network margin multiplies at least the score of a
    /// one-tolerated-spread offset (`NetworkCalibration.toleratedThresholdFloor`).
    public var toleratedThresholdFloor: Bool = false
    /// How every row's network threshold is set (`NetworkThresholdRule`); with a rule other than
    /// `highestScore` the threshold is the rule's own (no margin: `thresholdMargin` and a
    /// calibration prior's margins are not applied), the same procedure for every initialization.
    public var networkThresholdRule: NetworkThresholdRule = .highestScore
    /// With `networkThresholdRule` `sensorReference`: input units each sensor is moved by.
    public var referenceSpreads: Float = 1
    /// With `networkThresholdRule` `sensorReference` or `allSensorReference`: rows (a) and (c) use reference spreads
    /// learned per K for their initialization on the meta-training machines (each fold's, or
    /// `priorTasks` without folds; `calibrationPrior`'s stretches, horizon, rule and target),
    /// `NetworkThresholdRule.learnReferenceSpreads`; row (b') shows random weights with spreads
    /// learned the same way for them, and (b) keeps `referenceSpreads`.
    public var learnReferenceSpreads: Bool = false
    /// The architecture of initializations meta-trained here (slot width 0: no per-slot
    /// embeddings, one per-sensor function for every machine).
    public var architecture: NetworkArchitecture = .standard
    /// The network calibration of (a) and (b); (c) is the same with 0 adaptation steps.
    public var adaptation: AdaptationSettings
    /// Network threshold = highest calibration network score × this margin.
    public var thresholdMargin: Float
    /// Whether the network is scored in int8.
    public var quantize: Bool
    /// Seed of (b)'s random initialization.
    public var randomSeed: UInt64
    /// Whether each result also carries the oracle-margin counts and the mean AUC (diagnostics
    /// that look at test labels; never used to choose anything).
    public var diagnostics: Bool = false
    /// With folds: networks per row (`NetworkEnsemble`). 1 is one network, as always. With M > 1,
    /// each fold's (a) and (c) average M initializations meta-trained on that fold's tasks with the
    /// seeds `NetworkEnsemble.memberSeeds(from: metaTraining.seed, count: M)` + fold, (b) and (b')
    /// M random initializations with the seeds derived from `randomSeed` the same way; every member
    /// is calibrated and adapted as one network, the row's score is the members' mean relative to
    /// its own highest calibration score, and margins and scales are learned for that score exactly
    /// as for one network. Highest-score threshold rule, no calibration prior or learned spreads.
    public var ensembleMembers: Int = 1
    /// With folds and one network: each fold's meta-training also learns per-tensor adaptation
    /// rates (first-order Meta-SGD, `MetaTrainingSettings.learnAdaptationRates`); row (a) adapts
    /// with its fold's rates, and row (b'') shows random initialization with the same rates and
    /// (a)'s threshold procedure. (b), (b') and (c) are unchanged.
    public var learnAdaptationRates: Bool = false
    /// With folds, one network and `learnThresholdMargin`: proximal weights λ
    /// (`AdaptationSettings.proximalWeight`) to choose from. For each λ every fold's
    /// initialization is meta-trained with λ in its inner loop and every row calibrates with λ;
    /// each row and fold then takes the (λ, margin) pair with the best F1 − FAR%/100 on the
    /// other folds' files (ties: the smaller λ, then the smaller margin), and when the grid holds
    /// 0 each row is also reported with λ = 0 alone (today's adaptation). Empty: every row uses
    /// `adaptation.proximalWeight`, in meta-training's inner loop too.
    public var proximalWeightGrid: [Float] = []

    /// Creates settings; the defaults are those of `edge-agent evaluate --few-shot`.
    public init(calibrationRowCounts: [Int] = [50, 100, 200, 400], testStartRow: Int = 400, folds: Int = 0,
                metaTraining: MetaTrainingSettings = MetaTrainingSettings(), adaptation: AdaptationSettings = AdaptationSettings(),
                thresholdMargin: Float = 1.5, quantize: Bool = true, randomSeed: UInt64 = 7) {
        self.calibrationRowCounts = calibrationRowCounts
        self.testStartRow = testStartRow
        self.folds = folds
        self.metaTraining = metaTraining
        self.adaptation = adaptation
        self.thresholdMargin = thresholdMargin
        self.quantize = quantize
        self.randomSeed = randomSeed
    }
}

/// One cell of the few-shot table: a method at one K, counted over every labelled file.
public struct FewShotResult: Sendable {
    /// `metaAdapted`, `randomAdapted` or `metaOnly`.
    public var method: FewShotMethod
    /// Calibration rows.
    public var calibrationRows: Int
    /// Counts summed over the files' rows from `testStartRow` on.
    public var counts: ConfusionCounts
    /// The network threshold margin used for each fold.
    public var thresholdMargins: [Float]
    /// Diagnostics (`FewShotEvaluationSettings.diagnostics`): the counts at the one grid margin
    /// with the highest F1 among those with FAR ≤ 10 % over all files' test rows. It looks at
    /// the test labels, so it is an oracle: it says how good the score's *ranking* is once the
    /// threshold is right, separating the weights from threshold estimation.
    public var oracleCounts: ConfusionCounts? = nil
    /// Diagnostics: that oracle margin.
    public var oracleMargin: Float? = nil
    /// Diagnostics: the counts over all files' test rows at every grid margin, in grid order
    /// (test labels again: says which operating points the score can reach at all).
    public var marginSweep: [(margin: Float, counts: ConfusionCounts)] = []
    /// Diagnostics: the area under the ROC curve of the relative score (score / highest
    /// calibration score) over the test rows, averaged over the files that have both classes.
    public var meanAUC: Double? = nil
    /// The proximal weight λ each fold calibrated with (one entry without folds).
    public var proximalWeights: [Float] = []
    /// Whether this is a row restricted to λ = 0 beside the same row with λ chosen from
    /// `FewShotEvaluationSettings.proximalWeightGrid` (today's adaptation, for comparison).
    public var proximalWeightFixedAtZero: Bool = false
}

/// The three rows of the few-shot table.
public enum FewShotMethod: String, Sendable, CaseIterable {
    /// (a) meta-initialization + adaptation.
    case metaAdapted = "(a) meta-init + adaptation"
    /// (b) random initialization + the same adaptation.
    case randomAdapted = "(b) random init + adaptation"
    /// (c) meta-initialization without adaptation.
    case metaOnly = "(c) meta-init, no adaptation"
    /// (b') random initialization + adaptation, with the meta-learned normalization prior
    /// (only when one is learned): separates what the prior does from what the weights do.
    case randomAdaptedWithPrior = "(b') random init + adapt. + prior"
    /// (b'') random initialization + adaptation with the rates meta-learned for (a), and (a)'s
    /// threshold procedure (only with `FewShotEvaluationSettings.learnAdaptationRates`).
    case randomAdaptedWithLearnedRates = "(b'') random + learned rates + prior"
}

/// The few-shot table on a folder of labelled CSV files (network score only).
public enum FewShotEvaluation {
    /// Which fold each of `count` files belongs to (file i → fold i mod folds).
    public static func fold(ofFile index: Int, folds: Int) -> Int { folds > 1 ? index % folds : 0 }

    /// Meta-training tasks made from CSV tables: labelled rows count as faults, unlabelled files are all normal.
    public static func tasks(from tables: [(name: String, table: SensorTable)]) -> [MetaTask] {
        tables.map { item in
            let labels = item.table.anomalyLabels?.map { $0 != 0 } ?? Array(repeating: false, count: item.table.rowCount)
            return MetaTask(name: item.name, values: item.table.values, sensorCount: item.table.sensorCount, anomalous: labels)
        }
    }

    /// Runs the table.
    /// - Parameters:
    ///   - directory: folder of CSV files; labelled ones are measured, unlabelled ones only feed meta-training.
    ///   - initialization: the initialization used when `settings.folds` < 2 (e.g. the shipped one).
    ///   - extraTasks: tasks every fold's meta-training also uses (e.g. simulated machines).
    ///   - progress: called with a line of text after each fold's meta-training.
    /// - Throws: `CSVReadError`/`ReplayError` when a file cannot be read or is too short.
    public static func run(directory: String, initialization: Network?, extraTasks: [MetaTask] = [],
                           settings: FewShotEvaluationSettings, progress: (String) -> Void = { _ in }) throws -> [FewShotResult] {
        var labelled: [(name: String, table: SensorTable)] = []
        var unlabelled: [(name: String, table: SensorTable)] = []
        for file in try DatasetEvaluation.csvFiles(under: directory) {
            let table = try CSVReader().read(path: directory + "/" + file)
            if table.anomalyLabels == nil { unlabelled.append((file, table)) } else { labelled.append((file, table)) }
        }
        let folds = max(1, settings.folds)
        let members = settings.ensembleMembers
        if members != 1 {
            guard members >= 1, settings.folds >= 2 else {
                throw ReplayError(message: "an ensemble in the k-fold table needs at least 1 member and --meta-folds 2 or more")
            }
            guard settings.networkThresholdRule == .highestScore, !settings.learnCalibrationPrior, !settings.learnReferenceSpreads else {
                throw ReplayError(message: "--ensemble with --meta-folds supports the highest-score threshold rule only, without --calibration-prior or --learn-reference-spreads")
            }
        }
        if settings.learnAdaptationRates {
            guard settings.folds >= 2, members == 1, !settings.learnCalibrationPrior, !settings.learnReferenceSpreads else {
                throw ReplayError(message: "--meta-learn-rates needs --meta-folds 2 or more with one network, without --calibration-prior or --learn-reference-spreads")
            }
        }
        let proximalWeights = settings.proximalWeightGrid.isEmpty ? [settings.adaptation.proximalWeight] : Array(Set(settings.proximalWeightGrid)).sorted()
        if settings.proximalWeightGrid.count > 1 {
            guard settings.folds >= 2, members == 1, settings.learnThresholdMargin, !settings.learnAdaptationRates,
                  !settings.learnCalibrationPrior, !settings.learnReferenceSpreads, settings.marginTargetFalseAlarmRate == nil,
                  settings.networkThresholdRule == .highestScore, proximalWeights.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
                throw ReplayError(message: "a proximal weight grid needs --meta-folds 2 or more with one network and --learn-margin, without --meta-learn-rates, --calibration-prior, --learn-reference-spreads, --margin-target-far or another threshold rule; weights ≥ 0")
            }
        }
        // The members of each fold's (a) and (c): one network (seed + fold, as always), or an ensemble.
        let memberSeeds = members == 1 ? [settings.metaTraining.seed] : NetworkEnsemble.memberSeeds(from: settings.metaTraining.seed, count: members)
        // Per proximal weight, per fold, the members (the same networks for every weight without folds).
        var weightInitializations: [[[Network]]] = Array(repeating: [], count: proximalWeights.count)
        var foldTasks: [[MetaTask]] = []
        // Per fold, the adaptation rates learned with its initialization (learnAdaptationRates).
        var foldLogRates: [[Float]?] = []
        if settings.folds >= 2 {
            for f in 0..<folds {
                let training = labelled.indices.filter { fold(ofFile: $0, folds: folds) != f }.map { labelled[$0] }
                let tasks = self.tasks(from: training + unlabelled) + extraTasks
                foldTasks.append(self.tasks(from: training + unlabelled))
                var meta = settings.metaTraining
                meta.learnAdaptationRates = settings.learnAdaptationRates
                if settings.learnNormalizationPrior, settings.priorsInMetaTraining {
                    // Episodes see their inputs as calibration will: widened by the same prior.
                    let supportRows = meta.supportRowChoices.isEmpty ? [meta.supportRows] : meta.supportRowChoices
                    for k in supportRows { meta.normalizationPriors[k] = NormalizationPrior.learn(from: foldTasks[f], calibrationRows: k, absolute: settings.absoluteNormalizationPrior) }
                }
                for (l, lambda) in proximalWeights.enumerated() {
                meta.inner.proximalWeight = lambda
                var foldMembers: [Network] = []
                for seed in memberSeeds {
                    meta.seed = seed &+ UInt64(f)
                    let trained = metaTrainedInitialization(tasks: tasks, meta: meta, settings: settings)
                    foldMembers.append(trained.network)
                    progress("fold \(f + 1)/\(folds)" + (members == 1 ? "" : ", member seed \(meta.seed)")
                             + (proximalWeights.count > 1 || lambda != 0 ? ", proximal weight \(lambda)" : "")
                             + ": meta-trained on \(tasks.count) tasks (\(training.count) labelled files held in), " + trained.summary)
                    if let logRates = trained.tensorLogRates {
                        foldLogRates.append(logRates)
                        progress("fold \(f + 1)/\(folds) learned adaptation rates (× base rate): " + zip(AdaptationRates.tensorNames, logRates).map {
                            "\($0) \(EvaluationText.fixed(_exp(Double($1)), 3))"
                        }.joined(separator: ", "))
                    }
                }
                weightInitializations[l].append(foldMembers)
                }
            }
        } else if initialization == nil, !extraTasks.isEmpty {
            // No folds and no initialization: meta-train one on the extra tasks alone (e.g. the
            // simulated fleet), exactly as `meta-train` would, and measure every file with it.
            var meta = settings.metaTraining
            meta.inner.proximalWeight = proximalWeights[0]
            let trained = metaTrainedInitialization(tasks: extraTasks, meta: meta, settings: settings)
            weightInitializations = [[[trained.network]]]
            progress("meta-trained on \(extraTasks.count) tasks, " + trained.summary)
        } else {
            guard var initialization else { throw ReplayError(message: "no meta-initialization: pass one or use k-fold meta-training") }
            initialization.reconstructionScoreWeight = settings.scoreReconstructionWeight
            initialization.scoresByLargestSensor = settings.largestSensorScore
            weightInitializations = Array(repeating: [[initialization]], count: proximalWeights.count)
        }
        let initializations = weightInitializations[0]
        let randomSeeds = members == 1 ? [settings.randomSeed] : NetworkEnsemble.memberSeeds(from: settings.randomSeed, count: members)
        let randomMembers = randomSeeds.map { seed -> Network in
            var random = Network(architecture: initializations[0][0].architecture, seed: seed)
            random.reconstructionScoreWeight = settings.scoreReconstructionWeight
            random.scoresByLargestSensor = settings.largestSensorScore
            return random
        }
        let random = randomMembers[0]
        let rule = CalibrationSettings().rule
        // What a method's calibration prior or reference spreads learn from on fold `f`: its
        // starting network, the machines the fold does not hold, and the calibration it runs.
        let priorMethods: [FewShotMethod] = [.metaAdapted, .metaOnly, .randomAdaptedWithPrior]
        var priorSettings = settings.calibrationPrior
        priorSettings.calibrationRowCounts = settings.calibrationRowCounts
        func priorLearning(_ method: FewShotMethod, fold f: Int) -> (start: Network, tasks: [MetaTask], calibration: NetworkCalibration) {
            var adaptation = settings.adaptation
            if method == .metaOnly { adaptation.steps = 0 }
            let start = method == .randomAdaptedWithPrior ? random : initializations[min(f, initializations.count - 1)][0]
            let tasks = foldTasks.isEmpty ? settings.priorTasks : foldTasks[f] + extraTasks
            var calibration = NetworkCalibration(initialization: start, adaptation: adaptation, thresholdMargin: 1, quantize: settings.quantize)
            calibration.inputScaling = settings.inputScaling
            return (start, tasks, calibration)
        }
        // Calibration priors per method and fold, learned on machines the fold does not hold.
        var calibrationPriors: [FewShotMethod: [CalibrationPrior]] = [:]
        if settings.learnCalibrationPrior {
            for method in priorMethods {
                calibrationPriors[method] = (0..<folds).map { f in
                    let (start, tasks, unfloored) = priorLearning(method, fold: f)
                    var calibration = unfloored
                    calibration.toleratedThresholdFloor = settings.toleratedThresholdFloor
                    let prior = settings.calibrationPriorObjective == .detection
                        ? CalibrationPrior.learnByDetection(initialization: start, calibration: calibration, tasks: tasks,
                                                            settings: priorSettings, episodes: settings.detectionEpisodes)
                        : CalibrationPrior.learn(initialization: start, calibration: calibration, tasks: tasks, settings: priorSettings)
                    progress("calibration prior \(method.rawValue), fold \(f + 1): " + prior.entries.map {
                        "K=\($0.calibrationRows) scale ×\(EvaluationText.fixed(Double($0.scaleFactor), 2)) margin \($0.thresholdMargin)"
                    }.joined(separator: ", "))
                    if settings.calibrationPriorObjective == .detection {
                        progress("  fault episodes (calibrations before a fault) per K: " + priorSettings.calibrationRowCounts.map { k in
                            "K=\(k) \(CalibrationPrior.detectionEpisodes(in: tasks, rows: k, settlingRows: priorSettings.settlingRows, episodes: settings.detectionEpisodes).count)"
                        }.joined(separator: ", "))
                    }
                    return prior
                }
            }
        }
        // Reference spreads per method and fold, learned on machines the fold does not hold.
        var learnedSpreads: [FewShotMethod: [[Int: Float]]] = [:]
        if settings.learnReferenceSpreads, [.sensorReference, .allSensorReference].contains(settings.networkThresholdRule) {
            for method in priorMethods {
                learnedSpreads[method] = (0..<folds).map { f in
                    let (_, tasks, calibration) = priorLearning(method, fold: f)
                    let spreads = NetworkThresholdRule.learnReferenceSpreads(calibration: calibration, tasks: tasks, settings: priorSettings,
                                                                             rule: settings.networkThresholdRule)
                    progress("reference spreads \(method.rawValue), fold \(f + 1): " + spreads.keys.sorted().map { "K=\($0) \(spreads[$0] ?? 0)" }.joined(separator: ", "))
                    return spreads
                }
            }
        }
        var results: [FewShotResult] = []
        for k in settings.calibrationRowCounts {
            let usePrior = settings.learnNormalizationPrior && !foldTasks.isEmpty
            let priors = usePrior ? foldTasks.map { NormalizationPrior.learn(from: $0, calibrationRows: k, absolute: settings.absoluteNormalizationPrior) } : []
            for method in FewShotMethod.allCases where (method != .randomAdaptedWithPrior || usePrior || settings.learnCalibrationPrior || !learnedSpreads.isEmpty)
                && (method != .randomAdaptedWithLearnedRates || settings.learnAdaptationRates) {
                // Scores relative to the highest calibration score (margin 1), one array per
                // (proximal weight, fold, file); row (b) gets nothing learned per fold (no prior, no
                // scales), so its scores are the same for every fold and computed once per weight.
                let perFold = method != .randomAdapted || settings.learnCalibrationPrior
                var scores: [[[[Float]]]] = []
                var priorMargins = [Float?](repeating: nil, count: folds)
                for (l, lambda) in proximalWeights.enumerated() {
                var adaptation = settings.adaptation
                adaptation.proximalWeight = lambda
                if method == .metaOnly { adaptation.steps = 0 }
                let weightStarts = weightInitializations[l]
                var weightScores: [[[Float]]] = []
                for f in 0..<(perFold ? folds : 1) {
                    let starts = [.randomAdapted, .randomAdaptedWithPrior, .randomAdaptedWithLearnedRates].contains(method)
                        ? randomMembers : weightStarts[min(f, weightStarts.count - 1)]
                    var foldAdaptation = adaptation
                    if method == .metaAdapted || method == .randomAdaptedWithLearnedRates, f < foldLogRates.count {
                        foldAdaptation.tensorLogRates = foldLogRates[f]
                    }
                    var network = NetworkCalibration(initialization: starts[0], adaptation: foldAdaptation, thresholdMargin: 1, quantize: settings.quantize)
                    network.inputScaling = settings.inputScaling
                    network.toleratedThresholdFloor = settings.toleratedThresholdFloor
                    network.thresholdRule = settings.networkThresholdRule
                    network.referenceSpreads = learnedSpreads[method]?[f][k] ?? settings.referenceSpreads
                    if usePrior, method != .randomAdapted { network.normalizationPrior = priors[f] }
                    if let learned = calibrationPriors[method] {
                        // Margin 1 here: the scores are compared with multiples of the threshold below.
                        network.calibrationPrior = CalibrationPrior(entries: learned[f].entries.map {
                            CalibrationPrior.Entry(calibrationRows: $0.calibrationRows, scaleFactor: $0.scaleFactor, thresholdMargin: 1)
                        })
                        priorMargins[f] = learned[f].entry(forRows: k)?.thresholdMargin
                    }
                    var calibration = CalibrationSettings()
                    calibration.useDeviation = false
                    calibration.network = network
                    weightScores.append(try labelled.map { try relativeScores(of: $0.table, calibrationRows: k, members: starts, settings: calibration) })
                }
                scores.append(weightScores)
                }
                if usePrior, method == .metaAdapted {
                    progress("K=\(k) learned scale factors (fold 1): " + (priors[0].absoluteScales ?? priors[0].scaleFactors).map { EvaluationText.fixed(Double($0), 3) }.joined(separator: " "))
                }
                func counts(file i: Int, weight l: Int, start: Int, margin: Float) -> ConfusionCounts {
                    let labels = labelled[i].table.anomalyLabels ?? []
                    var state = AlertDecisionRule.State()
                    var c = ConfusionCounts()
                    for r in k..<labels.count {
                        let alert = state.update(score: scores[l][start][i][r], threshold: margin, rule: rule)
                        if r >= max(k, settings.testStartRow) { c.record(prediction: alert, label: labels[r] != 0) }
                    }
                    return c
                }
                // The row with its proximal weight chosen among `allowed` (indices into the weights).
                func tally(allowed: [Int]) -> FewShotResult {
                    var total = ConfusionCounts()
                    var chosen: [Float] = []
                    var chosenWeight: [Int] = []
                    for f in 0..<folds {
                        let start = scores[0].count == 1 ? 0 : f
                        // A threshold rule other than the shipped one is its own threshold: no margin.
                        var margin = settings.networkThresholdRule == .highestScore ? priorMargins[f] ?? settings.thresholdMargin : 1
                        var weight = allowed[0]
                        if settings.learnThresholdMargin, folds >= 2 {
                            // The (weight, margin) that served the OTHER folds' files best (F1 − FAR%/100),
                            // measured with this fold's initialization: learned across machines.
                            var best = -Double.infinity
                            search: for l in allowed {
                                for m in settings.thresholdMarginGrid.sorted() {
                                    var c = ConfusionCounts()
                                    for i in labelled.indices where fold(ofFile: i, folds: folds) != f { c = c + counts(file: i, weight: l, start: start, margin: m) }
                                    if let target = settings.marginTargetFalseAlarmRate {
                                        margin = m
                                        if c.falseAlarmRatePercent <= target * 100 { break search }
                                        continue
                                    }
                                    let objective = c.f1 - c.falseAlarmRatePercent / 100
                                    if objective > best { best = objective; margin = m; weight = l }
                                }
                            }
                        }
                        chosen.append(margin)
                        chosenWeight.append(weight)
                        for i in labelled.indices where fold(ofFile: i, folds: folds) == f { total = total + counts(file: i, weight: weight, start: start, margin: margin) }
                    }
                    var result = FewShotResult(method: method, calibrationRows: k, counts: total, thresholdMargins: chosen)
                    result.proximalWeights = chosenWeight.map { proximalWeights[$0] }
                    if settings.diagnostics {
                        var best = -1.0
                        for m in settings.thresholdMarginGrid {
                            var c = ConfusionCounts()
                            for f in 0..<folds {
                                for i in labelled.indices where fold(ofFile: i, folds: folds) == f {
                                    c = c + counts(file: i, weight: chosenWeight[f], start: scores[0].count == 1 ? 0 : f, margin: m)
                                }
                            }
                            if c.falseAlarmRatePercent <= 10, c.f1 > best { best = c.f1; result.oracleCounts = c; result.oracleMargin = m }
                            result.marginSweep.append((m, c))
                        }
                        var aucs: [Double] = []
                        for i in labelled.indices {
                            let f = scores[0].count == 1 ? 0 : fold(ofFile: i, folds: folds)
                            let l = chosenWeight[fold(ofFile: i, folds: folds)]
                            let labels = labelled[i].table.anomalyLabels ?? []
                            var pairs: [(Float, Bool)] = []
                            for r in max(k, settings.testStartRow)..<labels.count where scores[l][f][i][r].isFinite { pairs.append((scores[l][f][i][r], labels[r] != 0)) }
                            if let auc = FewShotEvaluation.areaUnderCurve(pairs) { aucs.append(auc) }
                        }
                        if !aucs.isEmpty { result.meanAUC = aucs.reduce(0, +) / Double(aucs.count) }
                    }
                    return result
                }
                results.append(tally(allowed: Array(proximalWeights.indices)))
                if proximalWeights.count > 1, let zero = proximalWeights.firstIndex(of: 0) {
                    var today = tally(allowed: [zero])
                    today.proximalWeightFixedAtZero = true
                    results.append(today)
                }
            }
        }
        return results
    }
}

extension FewShotEvaluation {
    /// A network meta-trained from `Network(architecture:seed: meta.seed)` (with the evaluation's
    /// score and input scaling) on `tasks`, and a progress summary (meta-loss first → last, time).
    static func metaTrainedInitialization(tasks: [MetaTask], meta: MetaTrainingSettings,
                                          settings: FewShotEvaluationSettings) -> (network: Network, summary: String, tensorLogRates: [Float]?) {
        var meta = meta
        meta.inputScaling = settings.inputScaling
        var start = Network(architecture: settings.architecture, seed: meta.seed)
        start.reconstructionScoreWeight = settings.scoreReconstructionWeight
        start.scoresByLargestSensor = settings.largestSensorScore
        let started = MonotonicTime.seconds()
        var first: Float = .nan, last: Float = .nan
        let (network, logRates) = MetaTraining.trainWithRates(initial: start, tasks: tasks, settings: meta,
                                                              reportEvery: meta.iterations, monitorEpisodes: 8) { p in
            if p.iteration == 0 { first = p.metaLoss } else { last = p.metaLoss }
        }
        return (network, "meta-loss \(EvaluationText.fixed(Double(first), 3)) → \(EvaluationText.fixed(Double(last), 3)), "
                + "\(EvaluationText.fixed(MonotonicTime.seconds() - started, 1)) s", logRates)
    }

    /// The scores of `table`'s rows relative to the threshold (margin 1) of `members` (at least
    /// one), each calibrated on the first `calibrationRows` rows by `settings` with its network
    /// calibration started from that member: one member's own relative scores (`Replay`), or
    /// for several the ensemble's (`NetworkEnsemble.relativeScores`: the members' mean raw score
    /// relative to that mean's highest calibration score).
    /// - Throws: `ReplayError` when the table is too short for the calibration.
    public static func relativeScores(of table: SensorTable, calibrationRows: Int, members: [Network],
                                      settings: CalibrationSettings) throws -> [Float] {
        precondition(!members.isEmpty && settings.network != nil, "an ensemble needs at least one member and a network calibration")
        var relative: [[Float]] = []
        var thresholds: [Float] = []
        for member in members {
            var memberSettings = settings
            memberSettings.network?.initialization = member
            let replay = try Replay.run(table, calibrationRows: calibrationRows, settings: memberSettings)
            if members.count == 1 { return replay.scores }
            relative.append(replay.scores)
            thresholds.append(replay.detector.network?.threshold ?? 1)
        }
        return NetworkEnsemble.relativeScores(memberRelativeScores: relative, memberThresholds: thresholds, calibrationRows: calibrationRows)
    }

    /// The area under the ROC curve of `(score, isAnomalous)` pairs: the probability that an
    /// anomalous row scores higher than a normal one (ties count half); nil without both classes.
    public static func areaUnderCurve(_ pairs: [(Float, Bool)]) -> Double? {
        let sorted = pairs.sorted { $0.0 < $1.0 }
        let positives = sorted.filter(\.1).count, negatives = sorted.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        // Mann–Whitney U with average ranks for ties.
        var rankSum = 0.0
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1].0 == sorted[i].0 { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for t in i...j where sorted[t].1 { rankSum += rank }
            i = j + 1
        }
        return (rankSum - Double(positives) * Double(positives + 1) / 2) / (Double(positives) * Double(negatives))
    }
}

/// Wall-clock seconds for progress lines (CLOCK_MONOTONIC).
enum MonotonicTime {
    static func seconds() -> Double { Double(SystemClock.monotonicNanoseconds()) / 1e9 }
}
