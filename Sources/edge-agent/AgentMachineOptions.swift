import ArgumentParser
import Configuration
import Detection
import EdgeCore

/// `--config` and `--machine` of `replay` and `evaluate`: score a recorded file as the agent
/// scores one machine of agent.conf, with its sensors, tolerances, roles, kind and run signal.
///
/// Unlike the other commands, `--config` has no default here: these commands also run on data
/// sets that have no agent.conf (SKAB), and reading /etc/edge-agent/agent.conf behind the
/// user's back would change their results.
struct AgentMachineOptions: ParsableArguments {
    @Option(help: ArgumentHelp("agent.conf describing the recorded machine(s): each file is scored as its [[machine]] (the one whose id is the file's name, e.g. pump-4.csv, or --machine) with that machine's sensors, tolerances, min/max, roles, kind, run_signal, run_threshold, settle_after_start and stop_grace, and the [alerts] rule (where the rule's options below are left at their defaults), as the agent scores it. Default: none (every column is a sensor, no tolerances).", valueName: "path"))
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
    /// The machine's running rows and sensor columns, its settings and tolerances.
    var prepared: PreparedFile
    /// For each row of `prepared.table`, its row number in the recorded file.
    var rows: [Int]

    /// Selects `machine`'s sensor columns of `table` (in agent.conf order; a missing one is an
    /// error), blanks readings outside a sensor's `min`…`max` (the agent flags them and never
    /// scores them), keeps the rows its run signal scores (with the agent's run state, timed by
    /// the file's timestamps, else by the poll interval), and gives the settings the machine's
    /// roles, kind and poll interval, agent.conf's `[alerts]` rule (`cooldown` ÷ poll interval)
    /// where the command line left the shipped one, and its tolerances. A role given with
    /// `--roles` wins over agent.conf's.
    init(_ table: SensorTable, machine: MachineConfiguration, alerts: AlertSettings, file: String,
         settings: CalibrationSettings, rolesFromCommandLine: Bool, kindFromCommandLine: Bool) throws {
        var table = try CalibrateCommand.select(sensors: machine.sensors.map(\.name), from: table, file: file)
        let n = table.sensorCount
        for (s, sensor) in machine.sensors.enumerated() where sensor.minimum != nil || sensor.maximum != nil {
            let low = sensor.minimum ?? -.infinity, high = sensor.maximum ?? .infinity
            for r in 0..<table.rowCount where !(low...high).contains(Double(table.values[r * n + s])) {
                table.values[r * n + s] = .nan
            }
        }
        var rows = Array(0..<table.rowCount)
        if let signal = machine.runSignal, let state = machine.runState() {
            let times = table.timestamps.compactMap { Timestamp(iso8601: $0[...])?.millisecondsSinceEpoch }
            let keepSignal = machine.runThreshold != nil
            if times.count == table.rowCount {
                (table, rows) = table.runningRowSelection(signal: signal, keepSignal: keepSignal, state: state, rowTimes: times)
            } else {
                // Without ISO-8601 timestamps a row is one poll interval.
                let interval = max(1, machine.pollInterval.wholeMilliseconds)
                let rowState = RunState(runningLevel: machine.runningLevel, settleTime: Int64(machine.settleRows),
                                        holdTime: Int64(RunState.heldPolls),
                                        stopGrace: (machine.stopGraceMilliseconds + interval - 1) / interval)
                (table, rows) = table.runningRowSelection(signal: signal, keepSignal: keepSignal, state: rowState)
            }
        }
        var settings = settings
        // Replay takes the time between rows from the timestamps when it can; else the poll interval.
        settings.secondsPerRow = Float(max(1, machine.pollInterval.wholeMilliseconds)) / 1000
        if !rolesFromCommandLine {
            settings.sensorRoles = [:]
            for sensor in machine.sensors { if let role = sensor.role { settings.sensorRoles[sensor.name] = role } }
        }
        if !kindFromCommandLine { settings.machineKind = machine.kind?.rawValue }
        // The agent's [alerts] rule, for each number the command line left at the shipped value.
        let standard = AlertDecisionRule.standard
        let interval = max(1, machine.pollInterval.wholeMilliseconds)
        var rule = settings.rule
        if rule.raiseWindow == standard.raiseWindow { rule.raiseWindow = alerts.raiseWindow }
        if rule.raiseCount == standard.raiseCount { rule.raiseCount = alerts.raiseCount }
        if rule.clearRatio == standard.clearRatio { rule.clearRatio = Float(alerts.clearRatio) }
        if rule.clearCount == standard.clearCount { rule.clearCount = alerts.clearCount }
        if rule.cooldownScores == standard.cooldownScores {
            rule.cooldownScores = Int((alerts.cooldown.wholeMilliseconds + interval - 1) / interval)
        }
        guard rule.raiseCount <= rule.raiseWindow else {
            throw ValidationError("--raise-count \(rule.raiseCount) is more than raise_window \(rule.raiseWindow) of \(alerts == AlertSettings() ? "the shipped rule" : "agent.conf's [alerts]")")
        }
        settings.rule = rule
        let byName = Dictionary(machine.sensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let tolerances = table.sensorNames.map { byName[$0]?.tolerance.map(Float.init) ?? .nan }
        prepared = PreparedFile(table: table, settings: settings, tolerances: tolerances.contains { $0 > 0 } ? tolerances : nil)
        self.rows = rows
    }

    /// `sensor ±tolerance unit` for each tolerance applied, for the command's summary line.
    static func toleranceText(_ machine: MachineConfiguration) -> String {
        machine.sensors.compactMap { sensor in
            sensor.tolerance.map { "\(sensor.name) ±\(EvaluationText.trimmed($0, decimals: 6))\(sensor.unit.isEmpty ? "" : " \(sensor.unit)")" }
        }.joined(separator: ", ")
    }
}
