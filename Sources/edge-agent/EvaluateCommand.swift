import ArgumentParser
import Configuration
import Detection
import EdgeCore
import Simulator

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure detection quality on a folder of labelled CSV files (the SKAB protocol).",
        discussion: """
            Runs `replay` on every CSV under DATASET that has an `anomaly` (or `label`) column: \
            each file calibrates its own detector on its first --calibration-rows rows, and every \
            later row is counted against its label. Prints per-file and total TP/FP/FN/TN, \
            precision, recall, F1 = TP/(TP+(FP+FN)/2), FAR = 100·FP/(FP+TN) and MAR = 100·FN/(FN+TP). \
            Then, for every fault that begins after calibration, how soon it was alerted on: rows \
            (and seconds) from its first row to the first row with an alert raised while it lasts, \
            or "missed", and a line per kind of fault. The faults are those of DATASET/faults.csv \
            when it is there (what `simulate --export` writes, with their kinds), otherwise each \
            run of rows labelled anomalous.

            With --config, each file is scored as its machine of agent.conf (the one whose id \
            is the file's name, e.g. pump-4.csv, or --machine): its sensors, tolerances, \
            min/max, roles, kind, the [alerts] rule, and its own run_signal, run_threshold, \
            settle_after_start and stop_grace, so a \
            data set of pumps and compressors gets each machine's run threshold. Only the rows \
            the agent judges are counted: as `replay --config`, not rows with fewer than half of \
            the sensors usable, nor rows in (or settling back from) an operating state the \
            calibration rows never showed. --run-signal, \
            --run-threshold, --settle-rows and --stop-grace-rows are for data sets without an \
            agent.conf and apply one value to every file.
            """
    )

    @Option(help: "Folder holding the labelled CSV files (searched recursively).")
    var dataset: String

    @Option(help: "Leading rows of each file used for calibration (not scored).")
    var calibrationRows: Int = 400

    @Option(help: "A column that is 0 while the machine is stopped (the simulator's exports: running). As in the agent, rows while it is off and --settle-rows rows after each start are neither calibrated on nor counted; an empty cell keeps the last state for \(RunState.heldPolls) rows, then the rows are left out until it reads again (counted as a start).")
    var runSignal: String?

    @Option(help: "With --run-signal: the reading from which the machine runs, for a measured signal such as a motor current in A (agent.conf run_threshold; that column is then scored as a sensor too). Default: a running contact, on at \(RunState.contactLevel) or more.")
    var runThreshold: Double?

    @Option(help: "With --run-signal: rows after each start left out while the machine settles (agent.conf settle_after_start ÷ poll interval).")
    var settleRows: Int = 0

    @Option(help: "With --run-signal: rows before each stop left out because the machine was already stopping, e.g. a motor current still decaying (agent.conf stop_grace ÷ poll interval; the agent's default with run_threshold is 2 s).")
    var stopGraceRows: Int = 0

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup(title: "The machines in agent.conf (optional)")
    var agent: AgentMachineOptions

    @OptionGroup(title: "Detector settings (defaults are the shipped ones)")
    var detector: DetectorOptions

    @Flag(help: "Leave-one-file-out: for each file, pick the detector settings (from a small grid) that score best on the OTHER files (F1 − FAR%/100), apply them to this file, and print the totals: an estimate free of tuning on the file itself.")
    var leaveOneOut = false

    @Flag(help: "Print the few-shot table: F1/FAR of the network score at K = 50, 100, 200, 400 calibration rows for meta-initialization + adaptation, random initialization + adaptation, and meta-initialization alone (rows from 400 on are counted for every K).")
    var fewShot = false

    @Option(help: "With --few-shot: the calibration row counts K compared, comma-separated (e.g. 50,100 for the small-K rows alone, which takes half the time).")
    var fewShotRows: String = "50,100,200,400"

    func validate() throws {
        guard calibrationRows > 0 else { throw ValidationError("--calibration-rows must be at least 1") }
        guard settleRows >= 0 else { throw ValidationError("--settle-rows must be 0 or more") }
        guard stopGraceRows >= 0 else { throw ValidationError("--stop-grace-rows must be 0 or more") }
        if let runThreshold {
            guard runSignal != nil else { throw ValidationError("--run-threshold needs --run-signal (the column it is compared with)") }
            guard runThreshold.isFinite else { throw ValidationError("--run-threshold must be a finite number") }
        }
        if let priorFaultLeadRows, priorFaultLeadRows < 0 { throw ValidationError("--prior-fault-lead-rows must be 0 or more") }
        if runSignal != nil, fewShot || leaveOneOut {
            throw ValidationError("--run-signal applies to the plain evaluation, not to --few-shot or --leave-one-out")
        }
        if agent.config != nil {
            if fewShot || leaveOneOut { throw ValidationError("--config applies to the plain evaluation, not to --few-shot or --leave-one-out") }
            if runSignal != nil || settleRows != 0 || stopGraceRows != 0 {
                throw ValidationError("--config takes each machine's run_signal, run_threshold, settle_after_start and stop_grace from agent.conf: leave out --run-signal, --run-threshold, --settle-rows and --stop-grace-rows")
            }
        }
    }

    func run() throws {
        if fewShot { return try printFewShotTable() }
        if leaveOneOut { return try printLeaveOneOut() }
        let settings = try detector.settings(checkingRaiseCount: agent.config == nil)
        var prepare: ((String, SensorTable) throws -> PreparedFile)? = nil
        if let configuration = try agent.load() {
            let (agent, detector, calibrationRows) = (agent, detector, calibrationRows)
            prepare = { file, table in
                try AgentMachineFile(table, machine: try agent.machine(for: file, in: configuration), alerts: configuration.alerts, file: file,
                                     settings: settings, detector: detector, calibrationRows: calibrationRows).prepared
            }
        }
        let files = try DatasetEvaluation.evaluate(directory: dataset, calibrationRows: calibrationRows, settings: settings,
                                                   runSignal: runSignal, runThreshold: runThreshold, settleRows: settleRows,
                                                   stopGraceRows: stopGraceRows, prepare: prepare)
        guard !files.isEmpty else {
            throw ValidationError("no labelled CSV files (with an anomaly or label column) under \(dataset)")
        }
        let total = files.reduce(ConfusionCounts()) { $0 + $1.counts }
        if json {
            print(EvaluationText.json(files: files, total: total, calibrationRows: calibrationRows))
        } else {
            print(EvaluationText.table(files: files, total: total), terminator: "")
        }
    }

    func printLeaveOneOut() throws {
        struct Candidate { var window: Int; var margin: Float; var clear: Int; var wander: Float }
        var grid: [Candidate] = []
        for window in [10, 20, 30] {
            for margin: Float in [1.5, 2, 2.5] {
                for clear in [1, 10] {
                    for wander: Float in [0, 4] { grid.append(Candidate(window: window, margin: margin, clear: clear, wander: wander)) }
                }
            }
        }
        var perConfig: [[FileEvaluation]] = []
        for c in grid {
            var settings = try detector.settings()
            settings.deviation = WindowDeviationSettings(windowRows: c.window, wanderPenaltyPower: c.wander,
                                                         returnCheck: settings.deviation.returnCheck)
            settings.thresholdMargin = c.margin
            settings.rule.clearCount = c.clear
            perConfig.append(try DatasetEvaluation.evaluate(directory: dataset, calibrationRows: calibrationRows, settings: settings))
        }
        let fileCount = perConfig[0].count
        var total = ConfusionCounts()
        print("file                    chosen (window, margin, clear count, wander power)   F1     FAR%")
        for f in 0..<fileCount {
            var best = 0
            var bestObjective = -Double.infinity
            for (k, results) in perConfig.enumerated() {
                var others = ConfusionCounts()
                for (i, r) in results.enumerated() where i != f { others = others + r.counts }
                let objective = others.f1 - others.falseAlarmRatePercent / 100
                if objective > bestObjective { bestObjective = objective; best = k }
            }
            let c = grid[best], counts = perConfig[best][f].counts
            total = total + counts
            print(EvaluationText.pad(perConfig[best][f].file, 24) + EvaluationText.pad("\(c.window), \(c.margin), \(c.clear), \(c.wander)", 53)
                  + EvaluationText.pad(EvaluationText.fixed(counts.f1, 3), 7) + EvaluationText.fixed(counts.falseAlarmRatePercent, 1))
        }
        print("TOTAL leave-one-file-out: F1 \(EvaluationText.fixed(total.f1, 3))  FAR \(EvaluationText.fixed(total.falseAlarmRatePercent, 1)) %  MAR \(EvaluationText.fixed(total.missedAlarmRatePercent, 1)) %  (TP \(total.truePositives) FP \(total.falsePositives) FN \(total.falseNegatives) TN \(total.trueNegatives))")
    }

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

    func printFewShotTable() throws {
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
        var rows = results.map { ($0.method.rawValue, $0.calibrationRows, $0.counts) }
        if diagnose, !json {
            for r in results {
                let oracle = r.oracleCounts.map { "F1 \(EvaluationText.fixed($0.f1, 3)) FAR \(EvaluationText.fixed($0.falseAlarmRatePercent, 1)) at margin \(r.oracleMargin ?? 0)" } ?? "none with FAR ≤ 10 %"
                print("diagnostics \(r.method.rawValue) K=\(r.calibrationRows): oracle \(oracle); mean AUC \(r.meanAUC.map { EvaluationText.fixed($0, 3) } ?? "-")")
            }
        }
        if marginSweep, diagnose, !json {
            for r in results {
                print("margin sweep \(r.method.rawValue) K=\(r.calibrationRows): " + r.marginSweep.map {
                    "\($0.margin) \(EvaluationText.fixed($0.counts.f1, 3))/\(EvaluationText.fixed($0.counts.falseAlarmRatePercent, 1))"
                }.joined(separator: ", "))
            }
        }
        if learnMargin, !json {
            for r in results { print("learned margins \(r.method.rawValue) K=\(r.calibrationRows): \(r.thresholdMargins.map { "\($0)" }.joined(separator: " "))") }
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

extension NetworkInputScaling: ExpressibleByArgument {}
extension NetworkThresholdRule: ExpressibleByArgument {}
extension CalibrationPriorObjective: ExpressibleByArgument {}

/// Detector settings shared by `replay` and `evaluate`, for engineers comparing alternatives.
struct DetectorOptions: ParsableArguments {
    @Option(help: "Rows averaged per sensor before comparing with its normal level.")
    var windowRows: Int = WindowDeviationSettings().windowRows

    @Option(help: "Threshold = highest calibration score × this margin.")
    var thresholdMargin: Float = CalibrationSettings().thresholdMargin

    @Option(help: "The calibration-score quantile the margin multiplies (1 = the highest score).")
    var thresholdQuantile: Double = CalibrationSettings().thresholdQuantile

    // The rule's numbers are optional so that a value given here, even the default, wins over
    // agent.conf's [alerts] with --config; the defaults are the shipped rule's.
    @Option(help: "Rows above the threshold, among the last --raise-window, that raise an alert (agent.conf [alerts] raise_count). (default: \(AlertDecisionRule.standard.raiseCount), or agent.conf's with --config)")
    var raiseCount: Int?

    @Option(help: "Recent rows the raise count looks at (agent.conf [alerts] raise_window). (default: \(AlertDecisionRule.standard.raiseWindow), or agent.conf's with --config)")
    var raiseWindow: Int?

    @Option(help: "A raised alert clears after --clear-count rows at or below this fraction of the threshold (agent.conf [alerts] clear_ratio). (default: \(AlertDecisionRule.standard.clearRatio), or agent.conf's with --config)")
    var clearRatio: Float?

    @Option(help: "Consecutive low rows that clear a raised alert (agent.conf [alerts] clear_count). (default: \(AlertDecisionRule.standard.clearCount), or agent.conf's with --config)")
    var clearCount: Int?

    @Option(help: "Rows after a clear during which no alert is raised (agent.conf [alerts] cooldown ÷ poll interval). (default: \(AlertDecisionRule.standard.cooldownScores), or agent.conf's with --config)")
    var cooldownRows: Int?

    @Option(help: "Discount of sensors that wander during calibration (0 = none).")
    var wanderPower: Float = WindowDeviationSettings().wanderPenaltyPower

    @Option(help: "Set aside calibration rows scoring above this multiple of the median (0 = off).")
    var trimFactor: Float = CalibrationSettings().trimFactor

    @Flag(help: "Score without the early return-to-normal check (alerts then clear only once the whole window is back to normal), to compare.")
    var noReturnCheck = false

    @Option(help: "Which score alerts: deviation (per-sensor window levels), network (the adapted network), or combined.")
    var scorer: Scorer = .deviation

    @Option(help: "Meta-initialization file to adapt from (default: the one shipped in this build).")
    var metaInit: String?

    @Option(help: "Adam steps of few-shot adaptation (0: use the initialization as it is).")
    var adaptationSteps: Int = AdaptationSettings().steps

    @Option(help: "Network threshold = highest calibration network score × this margin.")
    var networkMargin: Float = NetworkCalibration(initialization: Network(seed: 0)).thresholdMargin

    @Flag(help: "Score the network in float32 instead of int8 (to compare the two).")
    var float = false

    @Flag(help: "Do not compensate readings for speed with the shipped load prior (to compare with it).")
    var noLoadPrior = false

    @Flag(help: "Keep the load prior for every sensor even when calibration at several speeds contradicts it (to compare with dropping it there).")
    var keepLoadPriorMisfits = false

    @Flag(help: "Do not move the readings of a machine that switches between two states (a compressor's loaded) to one state's levels (to compare with it).")
    var noStateCompensation = false

    @Flag(help: "Do not judge a two-state machine's means over whole loaded and unloaded phases (to compare with it).")
    var noPhaseMeans = false

    @Flag(help: "Do not judge how fast lagged temperatures rise (TemperatureRiseCheck; to compare with it).")
    var noRiseCheck = false

    @Option(help: "Load prior file to compensate readings for speed with (default: the one shipped in this build; see learn-load-prior).")
    var loadPrior: String?

    @Option(help: ArgumentHelp("The load prior's role of columns named by the plant, e.g. Pump1_Flow=flow,Pump1_Speed=speed, so that their readings are compensated for speed (columns without a role are matched by their own names).", valueName: "COLUMN=ROLE,..."))
    var roles: String?

    @Option(help: "The load prior's kind of machine (pump, motor or compressor), when the roles alone fit several.")
    var machineKind: String?

    enum Scorer: String, ExpressibleByArgument, CaseIterable {
        case deviation, network, combined
    }

    /// The initialization: --meta-init, else the shipped one (nil when neither exists).
    func initialization() throws -> Network? {
        if let metaInit {
            return try MetaInitialization.parse(String(decoding: try TextFile.readBytes(path: metaInit), as: UTF8.self))
        }
        return MetaInitialization.shipped
    }

    /// `base` with each number of the alert rule given on the command line in its place: with
    /// --config, agent.conf's [alerts] rule is the base, and a value typed here always wins,
    /// even one equal to the shipped default.
    /// Not clamped: the caller checks the numbers (`settings`, `AgentMachineFile`).
    func rule(over base: AlertDecisionRule) -> AlertDecisionRule {
        var rule = base
        if let raiseCount { rule.raiseCount = raiseCount }
        if let raiseWindow { rule.raiseWindow = raiseWindow }
        if let clearRatio { rule.clearRatio = clearRatio }
        if let clearCount { rule.clearCount = clearCount }
        if let cooldownRows { rule.cooldownScores = cooldownRows }
        return rule
    }

    /// The calibration settings these options describe (the alert rule over the shipped one).
    /// - Parameter checkingRaiseCount: whether --raise-count must fit --raise-window (or the
    ///   shipped window); false with --config, whose [alerts] may give either, and
    ///   `AgentMachineFile` checks the rule once it is known.
    func settings(checkingRaiseCount: Bool = true) throws -> CalibrationSettings {
        if let raiseWindow, raiseWindow < 1 { throw ValidationError("--raise-window \(raiseWindow) must be at least 1") }
        if let raiseCount, raiseCount < 1 { throw ValidationError("--raise-count \(raiseCount) must be at least 1") }
        let rule = rule(over: .standard)
        if checkingRaiseCount, rule.raiseCount > rule.raiseWindow {
            throw ValidationError("--raise-count \(rule.raiseCount) must be between 1 and --raise-window \(rule.raiseWindow)")
        }
        if let clearRatio, !(clearRatio > 0 && clearRatio <= 1) {
            throw ValidationError("--clear-ratio \(clearRatio) must be above 0 and at most 1")
        }
        if (clearCount.map { $0 < 1 } ?? false) || (cooldownRows.map { $0 < 0 } ?? false) {
            throw ValidationError("--clear-count must be at least 1 and --cooldown-rows at least 0")
        }
        var s = CalibrationSettings(
            deviation: WindowDeviationSettings(windowRows: windowRows, wanderPenaltyPower: wanderPower),
            thresholdMargin: thresholdMargin, rule: rule)
        guard thresholdQuantile > 0, thresholdQuantile <= 1 else { throw ValidationError("--threshold-quantile must be above 0 and at most 1") }
        s.thresholdQuantile = thresholdQuantile
        s.trimFactor = trimFactor
        if noReturnCheck { s.deviation.returnCheck = nil }
        if let loadPrior {
            s.loadPrior = try LoadPrior.parse(String(decoding: try TextFile.readBytes(path: loadPrior), as: UTF8.self))
        }
        if noLoadPrior { s.loadPrior = nil }
        if keepLoadPriorMisfits { s.testLoadPrior = false }
        if let prior = s.loadPrior ?? LoadPrior.shipped {
            if let roles { s.sensorRoles = try DetectorOptions.parseRoles(roles, prior: prior) }
            if let machineKind {
                let kinds = prior.kinds.map(\.name)
                guard kinds.contains(machineKind) else {
                    throw ValidationError("--machine-kind \(machineKind): the load prior knows \(kinds.joined(separator: ", "))")
                }
                s.machineKind = machineKind
            }
        }
        if noStateCompensation { s.compensateStates = false }
        if noPhaseMeans { s.phaseMeans = nil }
        if noRiseCheck { s.checkTemperatureRise = false }
        s.useDeviation = scorer != .network
        if scorer != .deviation, let initial = try initialization() {
            s.network = NetworkCalibration(initialization: initial, adaptation: AdaptationSettings(steps: adaptationSteps),
                                           thresholdMargin: networkMargin, quantize: !float)
        } else if scorer == .network {
            throw ValidationError("--scorer network needs a meta-initialization (--meta-init FILE)")
        }
        return s
    }

    /// `COLUMN=ROLE,...` as a map from column to role, each role one the prior knows and played once.
    static func parseRoles(_ text: String, prior: LoadPrior) throws -> [String: String] {
        let known = prior.roleNames
        var roles: [String: String] = [:]
        var players: [String: String] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces() }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--roles: \"\(item)\" is not COLUMN=ROLE (e.g. --roles Pump1_Flow=flow,Pump1_Speed=speed)")
            }
            // Roles are matched without regard to case, as in agent.conf (`Flow` plays `flow`).
            let column = parts[0]
            guard let role = known.first(where: { $0 == parts[1].lowercased() }) else {
                throw ValidationError("--roles: unknown role \"\(parts[1])\" for column \(column) (the load prior knows: \(known.joined(separator: ", ")))")
            }
            if let other = players[role] { throw ValidationError("--roles: columns \(other) and \(column) both play \(role) (each role at most once)") }
            if roles[column] != nil { throw ValidationError("--roles: column \(column) is given twice") }
            players[role] = column
            roles[column] = role
        }
        return roles
    }
}

extension String {
    /// The text without leading and trailing spaces (no Foundation).
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
