import ArgumentParser
import Detection

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Score a recorded CSV file offline, as the agent would have scored it live.",
        discussion: """
            Calibrates a fresh detector on the file's first --calibration-rows rows (they must be \
            normal operation), then scores every row using only that row and earlier ones. Writes \
            PRED.csv with the header `timestamp,score,threshold,alert` and exactly one line per \
            input row; calibration rows always have alert 0. The input may use `;` or `,`, LF or \
            CRLF; columns named anomaly, changepoint or label are never used as sensors.
            """
    )

    @Option(help: "The recorded CSV file to score.")
    var input: String

    @Option(help: "How many leading rows are normal operation to calibrate on.")
    var calibrationRows: Int = 400

    @Option(help: "Where to write the per-row predictions (CSV).")
    var output: String

    @OptionGroup(title: "Detector settings (defaults are the shipped ones)")
    var detector: DetectorOptions

    func validate() throws {
        guard calibrationRows > 0 else { throw ValidationError("--calibration-rows must be at least 1") }
    }

    func run() throws {
        let table = try CSVReader().read(path: input)
        let settings = try detector.settings()
        for column in settings.sensorRoles.keys.sorted() where !table.sensorNames.contains(column) {
            throw ValidationError("--roles names column \(column), which \(input) does not have (it has: \(table.sensorNames.joined(separator: ", ")))")
        }
        let result = try Replay.run(table, calibrationRows: calibrationRows, settings: settings)
        try TextFile.write(Replay.csv(table: table, result: result), to: output)
        let alerted = result.alerts.filter { $0 }.count
        print("replay: \(table.rowCount) rows (\(table.sensorCount) sensors), calibrated on \(calibrationRows), threshold \(result.detector.alertThreshold), \(alerted) rows alerted → \(output)")
        for line in LoadPriorText.lines(detector: result.detector, sensorNames: table.sensorNames, settings: settings) {
            print("  " + line)
        }
    }
}
