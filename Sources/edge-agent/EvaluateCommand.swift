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

    func validate() throws {
        guard calibrationRows > 0 else { throw ValidationError("--calibration-rows must be at least 1") }
    }

    func run() throws {
        let files = try DatasetEvaluation.evaluate(directory: dataset, calibrationRows: calibrationRows)
        guard !files.isEmpty else {
            throw ValidationError("no labelled CSV files (with an anomaly or label column) under \(dataset)")
        }
        let total = files.reduce(ConfusionCounts()) { $0 + $1.counts }
        if json {
            print(EvaluationText.json(files: files, total: total, calibrationRows: calibrationRows))
        } else {
            print(EvaluationText.table(files: files, total: total))
        }
    }
}
