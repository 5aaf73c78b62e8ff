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

    @OptionGroup(title: "The data set and what is counted")
    var data: EvaluationDataOptions
    var dataset: String { data.dataset }
    var calibrationRows: Int { data.calibrationRows }
    var runSignal: String? { data.runSignal }
    var runThreshold: Double? { data.runThreshold }
    var settleRows: Int { data.settleRows }
    var stopGraceRows: Int { data.stopGraceRows }
    var json: Bool { data.json }
    var leaveOneOut: Bool { data.leaveOneOut }

    @OptionGroup(title: "The machines in agent.conf (optional)")
    var agent: AgentMachineOptions

    @OptionGroup(title: "Detector settings (defaults are the shipped ones)")
    var detector: DetectorOptions

    @OptionGroup(title: "The few-shot table (--few-shot) and its research options")
    var research: FewShotResearchOptions

    func validate() throws {
        guard calibrationRows > 0 else { throw ValidationError("--calibration-rows must be at least 1") }
        guard settleRows >= 0 else { throw ValidationError("--settle-rows must be 0 or more") }
        guard stopGraceRows >= 0 else { throw ValidationError("--stop-grace-rows must be 0 or more") }
        if let runThreshold {
            guard runSignal != nil else { throw ValidationError("--run-threshold needs --run-signal (the column it is compared with)") }
            guard runThreshold.isFinite else { throw ValidationError("--run-threshold must be a finite number") }
        }
        if let leadRows = research.priorFaultLeadRows, leadRows < 0 { throw ValidationError("--prior-fault-lead-rows must be 0 or more") }
        if runSignal != nil, research.fewShot || leaveOneOut {
            throw ValidationError("--run-signal applies to the plain evaluation, not to --few-shot or --leave-one-out")
        }
        if agent.config != nil {
            if research.fewShot || leaveOneOut { throw ValidationError("--config applies to the plain evaluation, not to --few-shot or --leave-one-out") }
            if runSignal != nil || settleRows != 0 || stopGraceRows != 0 {
                throw ValidationError("--config takes each machine's run_signal, run_threshold, settle_after_start and stop_grace from agent.conf: leave out --run-signal, --run-threshold, --settle-rows and --stop-grace-rows")
            }
        }
    }

    func run() throws {
        if research.fewShot { return try research.printFewShotTable(dataset: dataset, json: json, detector: detector) }
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
