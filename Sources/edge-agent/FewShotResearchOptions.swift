import ArgumentParser
import Detection
import EdgeCore
import Simulator

/// `evaluate --few-shot` and its research options: the few-shot table of issue #7 and every
/// design measured for it (docs/few-shot-research.md gives each option's commands and figures).
/// Grouped apart so that `evaluate --help` shows the everyday options first.
struct FewShotResearchOptions: ParsableArguments {
    @Flag(help: "Print the few-shot table: F1/FAR of the network score at K = 50, 100, 200, 400 calibration rows for meta-initialization + adaptation, random initialization + adaptation, and meta-initialization alone (rows from 400 on are counted for every K).")
    var fewShot = false

    @Option(help: "With --few-shot: the calibration row counts K compared, comma-separated (e.g. 50,100 for the small-K rows alone, which takes half the time).")
    var fewShotRows: String = "50,100,200,400"

    @Option(help: "With --few-shot: split the labelled files into N folds by file and measure each fold with a meta-initialization trained on the other folds' files plus the unlabelled files (e.g. anomaly-free operation), so no file is measured by an initialization that saw it (0: use the shipped initialization or --meta-init).")
    var metaFolds: Int = 0

    @Option(help: "With --meta-folds: simulated machines added to every fold's meta-training. Without --meta-folds: meta-train the initialization of rows (a) and (c) on this many simulated machines only (seed --meta-seed, the rest of the --meta-* recipe), instead of the shipped one.")
    var metaSimulated: Int = 0

    @Option(help: "With --meta-simulated: hours generated per simulated machine.")
    var metaHours: Double = 1.5

    @Flag(help: "With --meta-simulated: hold the simulated machines at one operating point (no automatic load changes or stops).")
    var metaSteady = false

    @Option(help: "With --few-shot: how every row scales the network's inputs, robust (calibration median and MAD) or tolerated (calibration level and tolerated spread of the window-deviation score: dimensionless, the same on every machine). Applies to calibration and to meta-training here.")
    var inputScaling: NetworkInputScaling = .robust

    @Flag(help: "With --input-scaling tolerated: the network margin multiplies at least the network's score of a calibration window with one sensor moved by one tolerated spread (an offset calibration called normal), for every row.")
    var toleratedFloor = false

    @Flag(help: "With --few-shot: initializations meta-trained here have no per-slot sensor embeddings (one per-sensor function for every machine); random initialization (b) follows their architecture.")
    var noSlotEmbeddings = false

    @Option(help: "With --meta-folds: outer iterations of each fold's meta-training.")
    var metaIterations: Int = MetaTrainingSettings().iterations

    @Option(help: "With --meta-folds: seed of meta-training (fold f uses seed + f).")
    var metaSeed: UInt64 = 1

    @Option(help: "With --meta-folds: meta-training's outer loop, reptile, fomaml, threshold-fomaml or ranking-fomaml.")
    var metaAlgorithm: String = "reptile"

    @Option(help: "With --meta-folds: inner-loop Adam steps of meta-training.")
    var metaInnerSteps: Int = MetaTrainingSettings().inner.steps

    @Option(help: "With --meta-folds: Reptile's initial outer step size, or first-order MAML's outer learning rate.")
    var metaOuterRate: Float?

    @Option(help: "With --meta-folds: support rows per meta-training episode, comma-separated; each episode draws one (e.g. 50,100,200,400).")
    var metaSupportRows: String = "\(MetaTrainingSettings().supportRows)"

    @Option(help: "With --meta-folds: normal and fault query windows per meta-training episode.")
    var metaQueryWindows: Int = MetaTrainingSettings().queryWindows

    @Flag(help: "With --meta-folds: learn each fold's network threshold margin per K on the other folds' files (best F1 − FAR%/100 over a grid) instead of --network-margin.")
    var learnMargin = false

    @Option(help: "With --learn-margin: learn the smallest margin whose false-alarm rate on the other folds' files is at most this many percent, instead of the best F1 − FAR%/100.")
    var marginTargetFar: Double?

    @Flag(help: "With --meta-folds: widen the calibration scales of rows (a) and (c) by per-sensor factors learned per K on the other folds' files (how much more a sensor wanders than its first K rows show); adds row (b') with random initialization and the same factors.")
    var learnScales = false

    @Flag(help: "With --learn-scales: learn per-sensor fleet scales in the sensors' own units (how far normal readings stray from their first K rows on the other machines) and use at least that scale, instead of widening factors.")
    var fleetScales = false

    @Flag(help: "With --learn-scales: meta-training episodes are normalized with the same learned factors (for their support rows) as calibration will use.")
    var metaTrainWithScales = false

    @Flag(help: "With --few-shot: rows (a) and (c) calibrate with a prior learned for their initialization on the meta-training machines (scale widening and network threshold margin per K, aiming at --prior-target-far on those machines' later normal rows): each fold's machines with --meta-folds, else the simulated fleet of the shipped recipe. Adds row (b'): random initialization with a prior learned the same way.")
    var calibrationPrior = false

    @Flag(help: "With --calibration-prior and no --meta-folds: learn the prior on simulated machines held at one operating point.")
    var priorSteady = false

    @Option(help: "With --calibration-prior and no --meta-folds: hours generated per simulated machine.")
    var priorHours: Double = 1.5

    @Option(help: "With --calibration-prior: leading rows of each meta-training machine never calibrated on (settling after a start).")
    var priorSettlingRows: Int = 0

    @Option(help: "With --calibration-prior: rows after each calibration stretch whose false alarms count (default: the rest of the machine's rows).")
    var priorHorizonRows: Int?

    @Option(help: "With --calibration-prior: what the learned margin aims at on the meta-training machines: far-target (the smallest margin reaching --prior-target-far on normal rows) or f1-far (the best F1 − FAR%/100 on calibrations placed before the machines' faults, counting --prior-horizon-rows rows, default 750).")
    var priorObjective: CalibrationPriorObjective = .falseAlarmTarget

    @Option(help: "With --prior-objective f1-far: normal rows between the end of each calibration and the fault that follows it (default: half the horizon).")
    var priorFaultLeadRows: Int?

    @Option(help: "With --calibration-prior: the false-alarm rate (percent of later normal rows alerted) the learned margin aims at on the meta-training machines.")
    var priorTargetFar: Double = CalibrationPriorSettings().targetFalseAlarmRate * 100

    @Flag(help: "With --few-shot: also print, per row, the F1/FAR at the best margin with FAR ≤ 10 % chosen on the test labels (an oracle: how good the score's ranking is once the threshold is right) and the mean per-file AUC.")
    var diagnose = false

    @Flag(help: "With --diagnose: also print each row's F1/FAR at every grid margin on the test labels (which operating points its score can reach; nothing is chosen with it).")
    var marginSweep = false

    @Flag(help: "With --few-shot: adapt only the network's deviation head at calibration and in meta-training's inner loop (ANIL), for every row alike; the encoder, decoder and slot embeddings stay as initialized.")
    var headOnly = false

    @Option(help: "With --few-shot: weight of the network's prediction error in its score for every row (1: the shipped score; 0: the deviation head alone). Values other than 1 are scored in float32.")
    var scoreReconstructionWeight: Float = 1

    @Flag(help: "With --few-shot: every row's network score is its largest sensor's contribution instead of the mean over sensors (scored in float32).")
    var largestSensorScore = false

    @Option(help: "With --few-shot: how every row's network threshold is set: highest-score (highest calibration score × --network-margin, shipped), sensor-reference (each sensor's score relative to the network's score of a calibration window with that sensor moved by --reference-spreads, threshold 1, no margin), sensor-excess (the same, each score and reference measured from the sensor's median score in unmoved calibration windows), all-sensor-reference (the network's score of a calibration window with every sensor moved by --reference-spreads at once, no margin) or anomaly-midpoint (geometric mean of the highest calibration score and the median score of the adaptation's synthetic anomalies, no margin).")
    var thresholdRule: NetworkThresholdRule = .highestScore

    @Option(help: "With --threshold-rule sensor-reference, sensor-excess or all-sensor-reference: how far each sensor is moved, in input units (tolerated spreads with --input-scaling tolerated).")
    var referenceSpreads: Float = 1

    @Flag(help: "With --threshold-rule sensor-reference or all-sensor-reference: rows (a) and (c) use reference spreads learned per K for their initialization on the meta-training machines (each fold's with --meta-folds, else the simulated fleet of --calibration-prior's options): the smallest whose alerts cover at most --prior-target-far of the later normal rows. Adds row (b'): random initialization with spreads learned the same way; (b) keeps --reference-spreads.")
    var learnReferenceSpreads = false

    @Option(help: "With --few-shot: seed of the random initialization of row (b).")
    var randomSeed: UInt64 = 7

    @Option(help: "With --few-shot and --meta-simulated or --meta-folds: score every row with the mean of this many networks, each calibrated and adapted as one is: (a) and (c) from initializations meta-trained with seeds 100·--meta-seed + 1 … + N (with --meta-folds: on each fold's files, each seed + fold), (b) and (b') from random initializations with seeds 100·--random-seed + 1 … + N; the threshold is the ensemble's highest calibration score × the margin (with --calibration-prior learned for the ensemble; with --learn-margin and --learn-scales learned on the other folds for the ensemble's score). 1: one network (default).")
    var ensemble: Int = 1

    @Flag(help: "With --meta-folds (one network): each fold's meta-training also learns one adaptation step size per network layer (first-order Meta-SGD); row (a) calibrates with its fold's step sizes, and row (b'') shows random initialization with the same step sizes and (a)'s threshold procedure. Rows (b), (b') and (c) are unchanged.")
    var metaLearnRates = false

    @Option(help: "With --meta-learn-rates: the learning rate of the step sizes' own Adam (on their logarithms).")
    var metaRateLearningRate: Float = MetaTrainingSettings().rateLearningRate

    @Option(help: "With --few-shot: proximal adaptation (iMAML's inner objective): the adaptation loss plus λ/2 · ‖θ − θ₀‖² around the weights adaptation starts from, for every row at calibration and in meta-training's inner loop. 0: today's adaptation (default).")
    var proximalWeight: Float = 0

    @Option(help: "With --meta-folds and --learn-margin (one network): comma-separated proximal weights λ to choose from, e.g. 0,0.1,1,10. Each fold's initialization is meta-trained once per λ (λ in its inner loop) and every row calibrates with each λ; each row and fold takes the (λ, margin) with the best F1 − FAR%/100 on the other folds' files. Rows are also printed with λ = 0 alone when the list holds 0.")
    var proximalWeights: String?

    func printFewShotTable(dataset: String, json: Bool, detector: DetectorOptions) throws {
        var settings = FewShotEvaluationSettings(folds: metaFolds, adaptation: AdaptationSettings(steps: detector.adaptationSteps),
                                                 thresholdMargin: detector.networkMargin, quantize: !detector.float,
                                                 randomSeed: randomSeed)
        let rowCounts = fewShotRows.split(separator: ",").compactMap { Int($0.filter { $0 != " " }) }
        guard !rowCounts.isEmpty, rowCounts.allSatisfy({ $0 >= 2 }) else { throw ValidationError("--few-shot-rows: comma-separated row counts ≥ 2, e.g. 50,100") }
        settings.calibrationRowCounts = rowCounts
        guard let algorithm = MetaAlgorithm(rawValue: metaAlgorithm) else { throw ValidationError("--meta-algorithm must be reptile, fomaml, threshold-fomaml or ranking-fomaml") }
        var meta = MetaTrainingSettings(iterations: metaIterations, seed: metaSeed, algorithm: algorithm)
        meta.inner.steps = metaInnerSteps
        meta.inner.headOnly = headOnly
        settings.adaptation.headOnly = headOnly
        guard proximalWeight >= 0, proximalWeight.isFinite else { throw ValidationError("--proximal-weight must be 0 or more") }
        settings.adaptation.proximalWeight = proximalWeight
        if let proximalWeights {
            let grid = proximalWeights.split(separator: ",").compactMap { Float($0.filter { $0 != " " }) }
            guard !grid.isEmpty, grid.count == proximalWeights.split(separator: ",").count, grid.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
                throw ValidationError("--proximal-weights: comma-separated weights ≥ 0, e.g. 0,0.1,1,10")
            }
            settings.proximalWeightGrid = grid
        }
        if let metaOuterRate {
            if algorithm == .reptile { meta.outerStepSize = metaOuterRate } else { meta.outerLearningRate = metaOuterRate }
        }
        let supportRows = metaSupportRows.split(separator: ",").compactMap { Int($0.filter { $0 != " " }) }
        guard !supportRows.isEmpty, supportRows.allSatisfy({ $0 >= 2 }) else { throw ValidationError("--meta-support-rows: comma-separated row counts ≥ 2") }
        meta.supportRows = supportRows[0]
        meta.supportRowChoices = supportRows.count > 1 ? supportRows : []
        meta.queryWindows = metaQueryWindows
        meta.rateLearningRate = metaRateLearningRate
        settings.metaTraining = meta
        settings.learnAdaptationRates = metaLearnRates
        settings.learnThresholdMargin = learnMargin
        settings.marginTargetFalseAlarmRate = marginTargetFar.map { $0 / 100 }
        settings.learnNormalizationPrior = learnScales
        settings.priorsInMetaTraining = metaTrainWithScales
        settings.absoluteNormalizationPrior = fleetScales
        settings.scoreReconstructionWeight = scoreReconstructionWeight
        settings.inputScaling = inputScaling
        settings.largestSensorScore = largestSensorScore
        settings.toleratedThresholdFloor = toleratedFloor
        settings.networkThresholdRule = thresholdRule
        settings.referenceSpreads = referenceSpreads
        settings.learnReferenceSpreads = learnReferenceSpreads
        if learnReferenceSpreads, ![.sensorReference, .allSensorReference].contains(thresholdRule) {
            throw ValidationError("--learn-reference-spreads needs --threshold-rule sensor-reference or all-sensor-reference")
        }
        if noSlotEmbeddings { settings.architecture.slotWidth = 0 }
        settings.diagnostics = diagnose
        settings.learnCalibrationPrior = calibrationPrior
        settings.calibrationPrior.targetFalseAlarmRate = priorTargetFar / 100
        settings.calibrationPrior.settlingRows = max(0, priorSettlingRows)
        settings.calibrationPrior.horizonRows = priorHorizonRows
        settings.calibrationPriorObjective = priorObjective
        settings.detectionEpisodes = DetectionEpisodeSettings(horizonRows: priorHorizonRows ?? 750, leadRows: priorFaultLeadRows)
        if calibrationPrior || learnReferenceSpreads, metaFolds < 2 { settings.priorTasks = MetaTrainCommand.simulatedTasks(count: 24, hours: priorHours, seed: 1, steady: priorSteady) }
        let simulatedOnly = metaFolds < 2 && metaSimulated > 0
        let initialization = metaFolds >= 2 || simulatedOnly ? nil : try detector.initialization()
        guard metaFolds >= 2 || simulatedOnly || initialization != nil else {
            throw ValidationError("no meta-initialization: this build ships none; pass --meta-init FILE, --meta-simulated N or --meta-folds N")
        }
        let extra = metaFolds >= 2 || simulatedOnly
            ? MetaTrainCommand.simulatedTasks(count: metaSimulated, hours: simulatedOnly ? metaHours : 1.5, seed: metaSeed, steady: simulatedOnly && metaSteady) : []
        guard ensemble >= 1 else { throw ValidationError("--ensemble must be at least 1") }
        if metaFolds >= 2 { settings.ensembleMembers = ensemble }
        let results = ensemble > 1 && metaFolds < 2
            ? try FewShotEvaluation.runEnsemble(directory: dataset, members: ensemble, simulatedTasks: simulatedOnly ? extra : [],
                                                settings: settings) { line in if !json { print(line) } }
            : try FewShotEvaluation.run(directory: dataset, initialization: initialization, extraTasks: extra,
                                        settings: settings) { line in if !json { print(line) } }
        func name(_ r: FewShotResult) -> String { r.method.rawValue + (r.proximalWeightFixedAtZero ? ", λ=0" : "") }
        var rows = results.map { (name($0), $0.calibrationRows, $0.counts) }
        if diagnose, !json {
            for r in results {
                let oracle = r.oracleCounts.map { "F1 \(EvaluationText.fixed($0.f1, 3)) FAR \(EvaluationText.fixed($0.falseAlarmRatePercent, 1)) at margin \(r.oracleMargin ?? 0)" } ?? "none with FAR ≤ 10 %"
                print("diagnostics \(name(r)) K=\(r.calibrationRows): oracle \(oracle); mean AUC \(r.meanAUC.map { EvaluationText.fixed($0, 3) } ?? "-")")
            }
        }
        if marginSweep, diagnose, !json {
            for r in results {
                print("margin sweep \(name(r)) K=\(r.calibrationRows): " + r.marginSweep.map {
                    "\($0.margin) \(EvaluationText.fixed($0.counts.f1, 3))/\(EvaluationText.fixed($0.counts.falseAlarmRatePercent, 1))"
                }.joined(separator: ", "))
            }
        }
        if learnMargin, !json {
            for r in results { print("learned margins \(name(r)) K=\(r.calibrationRows): \(r.thresholdMargins.map { "\($0)" }.joined(separator: " "))") }
            if settings.proximalWeightGrid.count > 1 {
                for r in results where !r.proximalWeightFixedAtZero {
                    print("learned proximal weights \(name(r)) K=\(r.calibrationRows): \(r.proximalWeights.map { "\($0)" }.joined(separator: " "))")
                }
            }
        }
        let base = try detector.settings()
        for k in settings.calibrationRowCounts {
            var deviationOnly = base
            deviationOnly.useDeviation = true
            deviationOnly.network = nil
            let files = try DatasetEvaluation.evaluate(directory: dataset, calibrationRows: k, settings: deviationOnly,
                                                       testStartRow: settings.testStartRow)
            let at = rows.lastIndex { $0.1 == k }.map { $0 + 1 } ?? rows.endIndex
            rows.insert(("window deviation (shipped default)", k, files.reduce(ConfusionCounts()) { $0 + $1.counts }), at: at)
        }
        if json {
            let items = rows.map { "{\"method\":\"\($0.0)\",\"k\":\($0.1),\"f1\":\(EvaluationText.fixed($0.2.f1, 4)),\"far\":\(EvaluationText.fixed($0.2.falseAlarmRatePercent, 3))}" }
            print("[\(items.joined(separator: ","))]")
        } else {
            print("method                               K      F1     FAR%   MAR%")
            for (name, k, c) in rows {
                print(EvaluationText.pad(name, 37) + EvaluationText.pad("\(k)", 7) + EvaluationText.pad(EvaluationText.fixed(c.f1, 3), 7)
                      + EvaluationText.pad(EvaluationText.fixed(c.falseAlarmRatePercent, 1), 7) + EvaluationText.fixed(c.missedAlarmRatePercent, 1))
            }
        }
    }
}
