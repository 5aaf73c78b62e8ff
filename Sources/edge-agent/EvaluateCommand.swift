import ArgumentParser
import Detection
import EdgeCore

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure detection quality on a folder of labelled CSV files (the SKAB protocol).",
        discussion: """
            Runs `replay` on every CSV under DATASET that has an `anomaly` (or `label`) column: \
            each file calibrates its own detector on its first --calibration-rows rows, and every \
            later row is counted against its label. Prints per-file and total TP/FP/FN/TN, \
            precision, recall, F1 = TP/(TP+(FP+FN)/2), FAR = 100·FP/(FP+TN) and MAR = 100·FN/(FN+TP).
            """
    )

    @Option(help: "Folder holding the labelled CSV files (searched recursively).")
    var dataset: String

    @Option(help: "Leading rows of each file used for calibration (not scored).")
    var calibrationRows: Int = 400

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup(title: "Detector settings (defaults are the shipped ones)")
    var detector: DetectorOptions

    func validate() throws {
        guard calibrationRows > 0 else { throw ValidationError("--calibration-rows must be at least 1") }
    }

    func run() throws {
        let files = try DatasetEvaluation.evaluate(directory: dataset, calibrationRows: calibrationRows, settings: detector.settings)
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
}

/// Detector settings shared by `replay` and `evaluate`, for engineers comparing alternatives.
struct DetectorOptions: ParsableArguments {
    @Option(help: "Rows averaged per sensor before comparing with its normal level.")
    var windowRows: Int = WindowDeviationSettings().windowRows

    @Option(help: "Threshold = highest calibration score × this margin.")
    var thresholdMargin: Float = CalibrationSettings().thresholdMargin

    @Option(help: "Consecutive rows above the threshold before an alert is raised.")
    var raiseAfter: Int = CalibrationSettings().rule.raiseAfterRows

    @Option(help: "Consecutive rows below the threshold before a raised alert clears.")
    var clearAfter: Int = CalibrationSettings().rule.clearAfterRows

    @Option(help: "Discount of sensors that wander during calibration (0 = none).")
    var wanderPower: Float = WindowDeviationSettings().wanderPenaltyPower

    @Option(help: "Set aside calibration rows scoring above this multiple of the median (0 = off).")
    var trimFactor: Float = CalibrationSettings().trimFactor

    /// The calibration settings these options describe.
    var settings: CalibrationSettings {
        var s = CalibrationSettings(
            deviation: WindowDeviationSettings(windowRows: windowRows, wanderPenaltyPower: wanderPower),
            thresholdMargin: thresholdMargin,
            rule: AlertDecisionRule(raiseAfterRows: raiseAfter, clearAfterRows: clearAfter))
        s.trimFactor = trimFactor
        return s
    }
}
