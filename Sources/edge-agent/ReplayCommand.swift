import ArgumentParser
import Configuration
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

            With --config (and --machine, unless the file is named after its machine, as \
            `export --machine pump-4` names it pump-4.csv) the file is scored as that machine \
            of agent.conf, as the running agent scores it: only its sensors' columns, its \
            tolerances, roles and kind, readings outside its min…max left out, the [alerts] \
            rule (for the numbers not given here), and only the rows the agent judges: not \
            stopped, settling or stop_grace rows (by its run_signal), not rows with fewer than \
            half of the sensors usable, and not rows in an operating state (a bool sensor, the \
            loaded role) the calibration rows never showed, nor the max(settle_after_start, 5 \
            min) back from one; those rows get an empty score and alert 0. With the machine's \
            hop above 1, only every hop-th window is judged, as by the agent: a row between two \
            judged windows gets an empty score and the alert state of the last judged one. \
            Calibration is on the first --calibration-rows running rows. Without --config every column is a sensor \
            and no tolerance applies, so a supply voltage following the grid may alert.
            """
    )

    @Option(help: "The recorded CSV file to score.")
    var input: String

    @Option(help: "How many leading rows are normal operation to calibrate on (with --config: leading rows the machine's run signal scores).")
    var calibrationRows: Int = 400

    @Option(help: "Where to write the per-row predictions (CSV).")
    var output: String

    @OptionGroup(title: "The machine in agent.conf (optional)")
    var agent: AgentMachineOptions

    @OptionGroup(title: "Detector settings (defaults are the shipped ones)")
    var detector: DetectorOptions

    func validate() throws {
        guard calibrationRows > 0 else { throw ValidationError("--calibration-rows must be at least 1") }
    }

    func run() throws {
        let table = try CSVReader().read(path: input)
        var settings = try detector.settings(checkingRaiseCount: agent.config == nil)
        for column in settings.sensorRoles.keys.sorted() where !table.sensorNames.contains(column) {
            throw ValidationError("--roles names column \(column), which \(input) does not have (it has: \(table.sensorNames.joined(separator: ", ")))")
        }
        guard let configuration = try agent.load() else {
            let result = try Replay.run(table, calibrationRows: calibrationRows, settings: settings)
            try TextFile.write(Replay.csv(table: table, result: result), to: output)
            report(result, rows: table.rowCount, sensorNames: table.sensorNames, settings: settings, machine: nil)
            return
        }
        let machine = try agent.machine(for: input, in: configuration)
        let file = try AgentMachineFile(table, machine: machine, alerts: configuration.alerts, file: input, settings: settings,
                                        detector: detector, calibrationRows: calibrationRows)
        settings = file.prepared.settings
        let scored = try Replay.run(file.prepared.table, calibrationRows: calibrationRows, settings: settings,
                                    tolerances: file.prepared.tolerances, hop: file.prepared.hop,
                                    calibrationOnly: file.prepared.calibrationOnly)
        // One line per input row: rows the agent does not judge get no score and no alert.
        var result = scored
        result.scores = [Float](repeating: .nan, count: table.rowCount)
        result.alerts = [Bool](repeating: false, count: table.rowCount)
        for (i, r) in file.rows.enumerated() {
            result.scores[r] = scored.scores[i]
            result.alerts[r] = scored.alerts[i]
        }
        try TextFile.write(Replay.csv(table: table, result: result), to: output)
        report(scored, rows: table.rowCount, sensorNames: file.prepared.table.sensorNames, settings: settings,
               file: file, machine: machine)
    }

    /// The summary lines: rows, calibration, threshold, alerted rows, and what agent.conf applied.
    private func report(_ result: ReplayResult, rows: Int, sensorNames: [String], settings: CalibrationSettings,
                        file: AgentMachineFile? = nil, machine: MachineConfiguration?) {
        let alerted = result.alerts.filter { $0 }.count
        var scope = ""
        if let file {
            var left = ["\(rows - file.runningRows) stopped, settling or stopping"]
            if file.tooFewSensorRows > 0 { left.append("\(file.tooFewSensorRows) with fewer than half of the sensors usable") }
            if file.uncalibratedStateRows > 0 {
                left.append("\(file.uncalibratedStateRows) in or settling back from an operating state calibration never saw")
            }
            scope = ", \(file.rows.count) judged (\(left.joined(separator: "; ")))"
        }
        print("replay: \(rows) rows (\(sensorNames.count) sensors)\(scope), calibrated on \(calibrationRows), threshold \(result.detector.alertThreshold), \(alerted) rows alerted → \(output)")
        if let machine {
            let tolerances = AgentMachineFile.toleranceText(machine)
            print("  as \(machine.id) of \(agent.config ?? ""): tolerances \(tolerances.isEmpty ? "none" : tolerances)\(machine.runSignal.map { "; run signal \($0)" } ?? "")")
        }
        for line in LoadPriorText.lines(detector: result.detector, sensorNames: sensorNames, settings: settings) {
            print("  " + line)
        }
    }
}
