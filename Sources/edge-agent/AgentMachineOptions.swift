import ArgumentParser
import Configuration
import Detection
import EdgeCore
import Runtime

/// `--config` and `--machine` of `replay` and `evaluate`: score a recorded file as the agent
/// scores one machine of agent.conf, with its sensors, tolerances, roles, kind and run signal.
///
/// Unlike the other commands, `--config` has no default here: these commands also run on data
/// sets that have no agent.conf (SKAB), and reading /etc/edge-agent/agent.conf behind the
/// user's back would change their results.
struct AgentMachineOptions: ParsableArguments {
    @Option(help: ArgumentHelp("agent.conf describing the recorded machine(s): each file is scored as its [[machine]] (the one whose id is the file's name, e.g. pump-4.csv, or --machine) with that machine's sensors, tolerances, min/max, roles, kind, run_signal, run_threshold, settle_after_start, stop_grace and hop, and the [alerts] rule (where the rule's options below are left at their defaults), as the agent scores it. Default: none (every column is a sensor, no tolerances).", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("With --config: the [[machine]] id to score the file(s) as, when the file names are not machine ids.", valueName: "id"))
    var machine: String?

    /// The configuration, nil without `--config`; on problems prints them like every command and exits 1.
    func load() throws -> AgentConfiguration? {
        guard let config else {
            if machine != nil { throw ValidationError("--machine needs --config (the agent.conf that describes the machine)") }
            return nil
        }
        do {
            let configuration = try ConfigurationLoader.load(path: config)
            if let machine, configuration.machine(id: machine) == nil {
                throw ValidationError("no machine \"\(machine)\" in \(config); machines: \(configuration.machines.map(\.id).joined(separator: ", "))")
            }
            return configuration
        } catch let error as ConfigurationError {
            printToStandardError(error.description)
            printToStandardError("\(config): \(error.problems.count) problem\(error.problems.count == 1 ? "" : "s"); fix them and run `edge-agent check-config --config \(config)` again")
            throw ExitCode.failure
        }
    }

    /// The machine a file is scored as: `--machine`, else the one whose id is the file's name
    /// without `.csv` (what `export` and `simulate --export` write).
    func machine(for file: String, in configuration: AgentConfiguration) throws -> MachineConfiguration {
        if let machine, let found = configuration.machine(id: machine) { return found }
        let name = String(file.split(separator: "/").last ?? "")
        let id = name.lowercased().hasSuffix(".csv") ? String(name.dropLast(4)) : name
        guard let found = configuration.machine(id: id) else {
            throw ValidationError("\(file): no machine \"\(id)\" in \(configuration.sourcePath) (machines: \(configuration.machines.map(\.id).joined(separator: ", "))); name the file after its machine or pass --machine ID")
        }
        return found
    }
}

/// A recorded table made into what the agent scores for one machine of agent.conf.
struct AgentMachineFile {
    /// The machine's judged rows and sensor columns, its settings and tolerances.
    var prepared: PreparedFile
    /// For each row of `prepared.table`, its row number in the recorded file.
    var rows: [Int]
    /// Running rows the run signal scores (`rows` and the rows below).
    var runningRows: Int
    /// Running rows after calibration not judged because fewer than half of the sensors were usable.
    var tooFewSensorRows = 0
    /// Running rows after calibration not judged because the machine was in an operating state
    /// its calibration never saw, or settling back from one (with the rows it dropped from the stop grace).
    var uncalibratedStateRows = 0

    /// Selects `machine`'s sensor columns of `table` (in agent.conf order; a missing one is an
    /// error), blanks readings outside a sensor's `min`…`max` (the agent flags them and never
    /// scores them), keeps the rows its run signal scores (with the agent's run state, timed by
    /// the file's timestamps, else by the poll interval), then, after the first
    /// `calibrationRows` of those, only the rows the agent judges (see `judgedRows`). Gives the
    /// settings the machine's roles, kind and poll interval, agent.conf's `[alerts]` rule
    /// (`cooldown` ÷ poll interval) for each number not given on the command line, and its
    /// tolerances. A role or kind given on the command line wins over agent.conf's.
    init(_ table: SensorTable, machine: MachineConfiguration, alerts: AlertSettings, file: String,
         settings: CalibrationSettings, detector: DetectorOptions, calibrationRows: Int) throws {
        var table = try CalibrateCommand.select(sensors: machine.sensors.map(\.name), from: table, file: file)
        CalibrateCommand.blankOutOfRange(&table, machine: machine)
        var rows: [Int]
        // The settling rows after each start, in the columns the running rows keep: the agent
        // takes them through its operating-state gate (see `judgedRows`).
        let settlingRows = CalibrateCommand.settlingRows(of: table, machine: machine)
        let settlingColumns = table.sensorNames.indices.filter { machine.runThreshold != nil || table.sensorNames[$0] != machine.runSignal }
        var settlingValues: [Float] = []
        settlingValues.reserveCapacity(settlingRows.count * settlingColumns.count)
        for r in settlingRows {
            let row = table.row(r)
            for i in settlingColumns { settlingValues.append(row[row.startIndex + i]) }
        }
        (table, rows) = CalibrateCommand.runningRowSelection(of: table, machine: machine)
        runningRows = rows.count
        var settings = settings
        // Replay takes the time between rows from the timestamps when it can; else the poll interval.
        settings.secondsPerRow = Float(max(1, machine.pollInterval.wholeMilliseconds)) / 1000
        if detector.roles == nil {
            settings.sensorRoles = [:]
            for sensor in machine.sensors { if let role = sensor.role { settings.sensorRoles[sensor.name] = role } }
        }
        if detector.machineKind == nil { settings.machineKind = machine.kind?.rawValue }
        // agent.conf's [alerts] rule, for each number the command line did not give; its
        // cooldown in the windows the agent judges (every `hop` polls) within it.
        let step = max(1, machine.pollInterval.wholeMilliseconds) * Int64(max(1, machine.hop))
        let configured = AlertDecisionRule(raiseCount: alerts.raiseCount, raiseWindow: alerts.raiseWindow,
                                           clearRatio: Float(alerts.clearRatio), clearCount: alerts.clearCount,
                                           cooldownScores: AlertDecisionRule.cooldownScores(
                                               cooldownMilliseconds: alerts.cooldown.wholeMilliseconds, judgedEveryMilliseconds: step))
        let rule = detector.rule(over: configured)
        guard rule.raiseCount <= rule.raiseWindow else {
            throw ValidationError("--raise-count \(rule.raiseCount) is more than raise_window \(rule.raiseWindow) of \(alerts == AlertSettings() ? "the shipped rule" : "agent.conf's [alerts]")")
        }
        settings.rule = rule
        let judged = AgentMachineFile.judgedRows(of: table, recorded: rows, settling: (settlingRows, settlingValues),
                                                 machine: machine, calibrationRows: calibrationRows)
        if judged.kept.count < table.rowCount {
            var values: [Float] = []
            values.reserveCapacity(judged.kept.count * table.sensorCount)
            for r in judged.kept { values += table.row(r) }
            // Where a stop left the sensors goes with the first row judged after it.
            var stopLevels: [Int: [Float]] = [:]
            for (start, level) in table.stopLevels {
                if let k = judged.kept.firstIndex(where: { $0 >= start }) { stopLevels[k] = level }
            }
            table = SensorTable(sensorNames: table.sensorNames, timestamps: judged.kept.map { table.timestamps[$0] }, values: values,
                                anomalyLabels: table.anomalyLabels.map { labels in judged.kept.map { labels[$0] } },
                                changepointLabels: table.changepointLabels.map { labels in judged.kept.map { labels[$0] } },
                                runStarts: judged.starts, stopLevels: stopLevels, settleRows: table.settleRows)
            rows = judged.kept.map { rows[$0] }
        }
        tooFewSensorRows = judged.tooFewSensors
        uncalibratedStateRows = judged.uncalibratedState
        let byName = Dictionary(machine.sensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let tolerances = table.sensorNames.map { byName[$0]?.tolerance.map(Float.init) ?? .nan }
        // Calibration rows are all kept, in order: their numbers are the same in the judged table.
        prepared = PreparedFile(table: table, settings: settings, tolerances: tolerances.contains { $0 > 0 } ? tolerances : nil,
                                hop: machine.hop, calibrationOnly: judged.calibrationOnly)
        self.rows = rows
    }

    /// The running rows of `table` (the machine's columns, its run signal applied) that the agent
    /// judges, decided as `ScoringEngine` decides (the same `JudgedRows` and
    /// `UncalibratedStateGate`): after the first `calibrationRows` (calibrated on as they are),
    /// a row is left out when fewer than half of its sensors are usable, and when the machine is
    /// in an operating state the calibration rows never showed (its `bool` sensors and `loaded`
    /// role, as `calibrate` records them), or back in calibrated states for less than
    /// max(settle_after_start, 5 min); the settling rows after a start (not in `table`) count for
    /// that as the running ones do, and the windows start afresh once it has settled; a stop
    /// ends it. The rows within the stop grace before a stop are not in `table` (nor taken by
    /// the agent), so a state shown only there is never entered.
    /// - Parameters:
    ///   - recorded: for each row of `table`, its row number in the recorded file.
    ///   - settling: the recorded file's settling rows (row numbers, ascending) and their
    ///     readings in `table`'s columns, one row after the other.
    /// - Returns: the rows kept (ascending; every calibration row among them), where windows
    ///   start afresh among them (the table's run starts and the returns from an uncalibrated
    ///   state), how many rows each rule left out, and the calibration rows with too few sensors
    ///   usable (calibrated on, but never given to the agent's scorer: see `Replay.run`).
    static func judgedRows(of table: SensorTable, recorded: [Int], settling: (rows: [Int], values: [Float]) = ([], []),
                           machine: MachineConfiguration, calibrationRows: Int)
        -> (kept: [Int], starts: [Int], tooFewSensors: Int, uncalibratedState: Int, calibrationOnly: Set<Int>) {
        let n = table.sensorCount, c = min(max(0, calibrationRows), table.rowCount)
        precondition(recorded.count == table.rowCount && settling.values.count == settling.rows.count * n, "one row number per row")
        let needed = JudgedRows.usableSensorsNeeded(of: n)
        let columns = CalibrateCommand.stateSensors(of: machine, in: table)
        let states = columns.isEmpty ? nil : CalibratedStates.observe(values: table.values[0..<(c * n)], sensorCount: n, columns: columns)
        var gate = UncalibratedStateGate(settleRows: ScoringEngine.uncalibratedStateSettleRows(machine))
        var keep = [Bool](repeating: true, count: table.rowCount)
        var afresh = Set(table.runStarts)
        var tooFew = 0, uncalibrated = 0
        var calibrationOnly: Set<Int> = []
        let runStarts = Set(table.runStarts)
        let settlingRows = Set(settling.rows)
        // Settling rows are followed from the last calibration row on (calibration rows are
        // calibrated on as they are).
        let lastCalibrationRow = c > 0 ? recorded[c - 1] : -1
        var nextSettling = settling.rows.startIndex
        var row = [Float](repeating: .nan, count: n)
        func isUsable(_ row: [Float]) -> Bool {
            var usable = 0
            for x in row where x.isFinite { usable += 1 }
            return usable >= needed
        }
        for r in 0..<table.rowCount {
            // The settling rows before this row, as the agent takes them: a settling stretch
            // follows a stop (or an unknown stretch), which ended a state calibration never saw.
            while nextSettling < settling.rows.count, settling.rows[nextSettling] < recorded[r] {
                let s = nextSettling, recordedRow = settling.rows[s]
                nextSettling += 1
                guard recordedRow > lastCalibrationRow else { continue }
                if !settlingRows.contains(recordedRow - 1) { gate.stop() }
                for i in 0..<n { row[i] = settling.values[s * n + i] }
                // Not judged whatever the gate says; a settled return starts the windows afresh
                // at the run's start, which it comes before.
                if isUsable(row) { _ = gate.observe(unseen: states?.unseenState(in: row)) }
            }
            // A run start follows a stop: it ended a state calibration never saw, as the agent
            // ends it at the stop (at the settling rows' first, when the start has them).
            if runStarts.contains(r), !settlingRows.contains(recorded[r] - 1) { gate.stop() }
            // The row with its columns numbered from 0, as the agent's model row.
            for (i, x) in table.row(r).enumerated() { row[i] = x }
            guard isUsable(row) else {
                if r >= c { keep[r] = false; tooFew += 1 } else { calibrationOnly.insert(r) }
                continue
            }
            switch gate.observe(unseen: states?.unseenState(in: row)) {
            case .entered, .uncalibrated, .settling:
                keep[r] = false
                uncalibrated += 1
            case .judgedAfresh:
                afresh.insert(r)
            case .judged:
                break
            }
        }
        let kept = table.rowCount == 0 ? [] : (0..<table.rowCount).filter { keep[$0] }
        // Each start at the first kept row at or after it.
        var starts: [Int] = []
        var k = 0
        for start in afresh.sorted() {
            while k < kept.count, kept[k] < start { k += 1 }
            if k < kept.count, k > 0, starts.last != k { starts.append(k) }
        }
        return (kept, starts, tooFew, uncalibrated, calibrationOnly)
    }

    /// `sensor ±tolerance unit` for each tolerance applied, for the command's summary line.
    static func toleranceText(_ machine: MachineConfiguration) -> String {
        machine.sensors.compactMap { sensor in
            sensor.tolerance.map { "\(sensor.name) ±\(EvaluationText.trimmed($0, decimals: 6))\(sensor.unit.isEmpty ? "" : " \(sensor.unit)")" }
        }.joined(separator: ", ")
    }
}
