#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Configuration
import Detection
import EdgeCore
import Runtime

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Fit a machine's detector to a stretch of its normal operation.",
        discussion: """
            Give a stretch of normal operation that shows the loads, speeds and duty cycles \
            the machine runs at (minutes for a machine held at one operating point, hours for \
            one whose load follows the process), from a CSV file (--input) or from the agent's \
            buffer (--last 2h, or --from/--until). Calibration learns each sensor's normal level \
            and spread robustly (a few anomalous rows do not move it), sets the alert threshold, \
            and stores the detector under <data_dir>/models/<machine>.detector.json. Alerts \
            labelled false (edge-agent label N --false) join the normal operation it learns \
            from (how a load the first calibration never saw becomes normal); alerts labelled \
            true and --anomalies lower the threshold where that catches them without alarming \
            on the normal rows.
            """
    )

    @Option(help: "The machine's id in agent.conf.")
    var machine: String

    @Option(help: "Path to agent.conf.")
    var config: String = "/etc/edge-agent/agent.conf"

    @Option(help: "Calibrate from this CSV file of normal operation instead of the buffer.")
    var input: String?

    @Option(help: "Use only the first N rows (default: all rows).")
    var rows: Int?

    @Option(help: "Calibrate from the buffer's most recent stretch, e.g. 10m, 2h, 600s.")
    var last: String?

    @Option(help: "Start of the stretch in the buffer: ISO-8601 UTC (2026-11-29T08:00:00Z) or a time ago (2h, 7d).")
    var from: String?

    @Option(help: "End of the stretch in the buffer: ISO-8601 UTC or a time ago (default: now).")
    var until: String?

    @Option(help: "CSV of labelled faults of this machine (rows with anomaly=1, or every row if it has no label column).")
    var anomalies: String?

    @Option(help: "Store the detector under this data folder instead of agent.conf's data_dir.")
    var dataDir: String?

    @Flag(help: ArgumentHelp("Do not compensate this machine's readings for its speed or loaded duty cycle (the load prior): every reading is compared with its calibration level as it is.",
                             discussion: "Use it for a machine whose speed is a controlled constant (then a change of speed is itself worth an alert), or when one of its fault modes looks like a change of load (a compressed-air leak is a longer loaded duty): with the prior that fault reads as normal. It stays off for this machine until the next calibration without it."))
    var noLoadPrior = false

    @Flag(help: "Do not compare the readings of a machine that switches between two states (a compressor's loaded) with their level in the same state; compare them with one level for both states.")
    var noStateCompensation = false

    @Flag(help: ArgumentHelp("Calibrate and store the detector even when the data is far too short for a quiet detector.",
                             discussion: "Without it, calibrate refuses (exit status 1, nothing stored) a stretch with fewer running rows, windows or minutes than the least it needs (see README, \"How much calibration data\"): such a detector alerts on normal operation every few minutes."))
    var force = false

    @Flag(help: "Print what calibration did as JSON.")
    var json = false

    func validate() throws {
        let sources = [input != nil, last != nil, from != nil || until != nil].filter { $0 }.count
        guard sources == 1 else {
            throw ValidationError("give exactly one source of normal operation: --input FILE.csv, --last DURATION, or --from T --until T")
        }
        if let rows, rows < 2 { throw ValidationError("--rows must be at least 2") }
    }

    func run() throws {
        umask(0o027)  // models are not for every local user
        let configuration = try? ConfigurationLoader.load(path: config)
        let machineConfiguration = configuration?.machines.first(where: { $0.id == machine })
        guard let directory = dataDir ?? configuration?.agent.dataDirectory else {
            throw ValidationError("cannot read \(config); fix it (edge-agent check-config) or pass --data-dir")
        }
        var table: SensorTable
        var faultsFromAlerts: SensorTable? = nil
        if let input {
            table = try CSVReader().read(path: input)
        } else {
            guard let configuration, let machineConfiguration else {
                throw ValidationError("no machine \"\(machine)\" in \(config)")
            }
            (table, faultsFromAlerts) = try CalibrationFromBuffer(configuration: configuration, machine: machineConfiguration)
                .load(last: last, from: from, until: until)
        }
        let source = input ?? "the buffer"
        if let rows { table = table.prefix(rows: rows) }
        var notRunningRows = 0
        let givenRows = table.rowCount
        var outOfRange: [OutOfRangeReadings] = []
        if let machineConfiguration {
            table = try CalibrateCommand.select(sensors: machineConfiguration.sensors.map(\.name), from: table, file: source)
            // Before the run signal is followed: an out-of-range run signal is not read, as in the agent.
            outOfRange = CalibrateCommand.blankOutOfRange(&table, machine: machineConfiguration)
            if machineConfiguration.runSignal != nil {
                (table, notRunningRows) = CalibrateCommand.runningRows(of: table, machine: machineConfiguration)
                guard table.rowCount >= 2 else {
                    throw ValidationError("\(machine) was stopped (\(machineConfiguration.runSignal ?? "")) or settling during almost all of \(source): calibrate on a stretch where it runs")
                }
            }
        } else if configuration != nil {
            throw ValidationError("no machine \"\(machine)\" in \(config)")
        }
        // How much normal operation calibration really has, against what it needs (measured on
        // the simulator: `CalibrationCoverage.Minimum`): far too little is refused unless forced,
        // too little is warned about.
        let stateColumns = machineConfiguration.map { CalibrateCommand.stateSensors(of: $0, in: table) } ?? []
        let secondsPerPoll = Double(max(1, machineConfiguration?.pollInterval.wholeMilliseconds ?? 1000)) / 1000
        let coverage = CalibrationCoverage.measure(table: table, givenRows: givenRows,
                                                   windowRows: CalibrationSettings().deviation.windowRows,
                                                   stateColumns: stateColumns, secondsPerRow: secondsPerPoll)
        let missing = coverage.shortfalls(minimum: .required, sensorNames: table.sensorNames)
        let refusal = missing.isEmpty ? nil
            : CalibrateCommand.refusal(machine: machine, coverage: coverage, missing: missing, source: source)
        if let refusal, !force {
            if json {
                var out = JSONWriter()
                out.field("machine", machine)
                out.field("refused", true)
                CalibrateCommand.write(coverage: coverage, sensorNames: table.sensorNames, outOfRange: outOfRange, to: &out)
                out.array("shortfalls", missing) { $0.element($1) }
                out.array("warnings", [refusal]) { $0.element($1) }
                print(out.finish())
            }
            throw CalibrationRefused(message: refusal)
        }
        var labelled: SensorTable? = faultsFromAlerts
        if let anomalies {
            let faults = try CSVReader().read(path: anomalies)
            let selected = try CalibrateCommand.select(sensors: table.sensorNames, from: faults, file: anomalies)
            labelled = labelled.map { SensorTable(sensorNames: $0.sensorNames, timestamps: $0.timestamps + selected.timestamps,
                                                  values: $0.values + selected.values) } ?? selected
        }
        // Labelled faults as the agent would have scored them (not counted: the data line is about normal operation).
        if let machineConfiguration, var faults = labelled {
            _ = CalibrateCommand.blankOutOfRange(&faults, machine: machineConfiguration)
            labelled = faults
        }
        var settings = CalibrationSettings()
        if let machineConfiguration {
            // The load prior's thermal lags are in seconds; the detector counts rows (polls).
            settings.secondsPerRow = Float(max(1, machineConfiguration.pollInterval.wholeMilliseconds)) / 1000
            // Sensors named by the plant play the load prior's roles given in agent.conf.
            for sensor in machineConfiguration.sensors {
                if let role = sensor.role { settings.sensorRoles[sensor.name] = role }
            }
            settings.machineKind = machineConfiguration.kind?.rawValue
        }
        if noLoadPrior { settings.loadPrior = nil }
        if noStateCompensation { settings.compensateStates = false }
        if let meta = MetaInitialization.shipped {
            settings.network = NetworkCalibration(initialization: meta)
        }
        let started = SystemClock.monotonicNanoseconds()
        // Tolerances from agent.conf, in the table's column order (NaN: none).
        let sensorsByName = Dictionary((machineConfiguration?.sensors ?? []).map { ($0.name, $0) },
                                       uniquingKeysWith: { first, _ in first })
        let tolerances = table.sensorNames.map { name in sensorsByName[name]?.tolerance.map(Float.init) ?? .nan }
        let outcome = Calibrator(settings: settings).calibrate(table: table, anomalies: labelled,
                                                               tolerances: tolerances.contains(where: { $0 > 0 }) ? tolerances : nil)
        let elapsed = Double(SystemClock.monotonicNanoseconds() - started) / 1e9
        let path = "\(directory)/models/\(machine).detector.json"
        try TextFile.makeDirectory("\(directory)/models")
        // The detector file holds what alerts (the window-deviation score); the adapted int8
        // network goes to the binary model file beside it.
        var alerting = outcome.detector
        alerting.network = nil
        // The states its operating-state sensors showed: the agent does not score a state
        // calibration never saw (see `CalibratedStates`).
        if !stateColumns.isEmpty {
            alerting.calibratedStates = CalibratedStates.observe(values: table.values[...], sensorCount: table.sensorCount,
                                                                 columns: stateColumns)
        }
        // Where calibration's stream began in the buffer: the agent warms the model's stream
        // from there at the earliest (see README, "Restarts and new models").
        let dataFrom = input == nil ? table.timestamps.first : nil
        try DetectorFile(machine: machine, calibratedAt: Timestamp.now().iso8601,
                         detector: alerting, report: outcome.report, dataFrom: dataFrom).write(to: path)
        var modelPath: String? = nil
        if let part = outcome.detector.network, let quantized = part.quantized {
            let metadata = ModelMetadata(machineID: machine, sensorNames: table.sensorNames, timeSteps: part.windowRows,
                                         calibrationWindowCount: outcome.report.adaptation?.normalWindows ?? 0,
                                         createdAt: Timestamp.now(), notes: "few-shot adaptation of the shipped meta-initialization")
            let model = NetworkModel(metadata: metadata, normalization: part.normalization, threshold: part.threshold,
                                     quantized: quantized, network: part.network)
            modelPath = "\(directory)/models/\(machine).model"
            try model.write(to: modelPath!)
        }
        let r = outcome.report
        // Was any sensor still trending when the data ended (a machine calibrated while it warms
        // up)? Measured on the same running rows, operating-state sensors skipped.
        let drifts = CalibrationDrift.measure(table: table, skipping: stateColumns, secondsPerRow: coverage.secondsPerRow)
        let units = table.sensorNames.map { sensorsByName[$0]?.unit ?? "" }
        let settling = CalibrationDrift.warning(machine: machine, drifts: drifts, sensorNames: table.sensorNames, units: units,
                                                lastRowTime: table.timestamps.last.flatMap { Timestamp(iso8601: $0[...]) },
                                                fromBuffer: input == nil)
        let warnings = (machineConfiguration.map {
            CalibrateCommand.narrowCalibrationWarnings(states: alerting.calibratedStates, table: table, machine: $0, source: source)
        } ?? []) + [refusal.map { _ in CalibrateCommand.refusal(machine: machine, coverage: coverage, missing: missing, source: source, forced: true) }
            ?? CalibrateCommand.shortDataWarning(machine: machine, coverage: coverage, sensorNames: table.sensorNames,
                                                                  source: source), settling,
                             CalibrateCommand.oneSpeedWarning(machine: machine, speeds: r.speedCoverage, load: outcome.detector.load,
                                                              sensorNames: table.sensorNames, source: source)].compactMap { $0 }
        if json {
            var out = JSONWriter()
            out.field("machine", machine)
            out.field("rows", r.rows)
            out.field("trimmed_rows", r.trimmedRows)
            out.field("sensors", table.sensorCount)
            out.field("threshold", Double(r.threshold))
            out.field("expected_false_alarm_rate", r.expectedFalseAlarmRate)
            out.field("labelled_anomaly_rows", r.labelledAnomalyRows)
            out.field("refused", false)
            out.field("forced", refusal != nil)
            CalibrateCommand.write(coverage: coverage, sensorNames: table.sensorNames, outOfRange: outOfRange, to: &out)
            out.array("shortfalls", coverage.shortfalls(minimum: .recommended, sensorNames: table.sensorNames)) { $0.element($1) }
            out.field("seconds", elapsed)
            out.field("detector", path)
            out.field("load_prior", !noLoadPrior)
            out.field("state_compensation", !noStateCompensation)
            if outcome.detector.load == nil,
               let note = LoadPriorText.lines(detector: outcome.detector, sensorNames: table.sensorNames, settings: settings).first {
                out.field("load_prior_note", note)
            }
            if let load = outcome.detector.load {
                out.field("load_prior_kind", load.kind)
                out.array("load_compensated_sensors", table.sensorNames.indices.filter { load.reference[$0].isFinite }) {
                    $0.element(table.sensorNames[$1])
                }
                out.array("load_prior_dropped", load.dropped ?? []) { $0.element($1) }
            }
            if let speeds = r.speedCoverage {
                out.array("calibrated_speeds", speeds.settledSpeeds) { $0.element(Double($1)) }
                out.field("load_prior_tested", speeds.testsThePrior)
            }
            out.array("settling_sensors", drifts.filter { $0.isTrending() }) { out, d in
                out.object { o in
                    o.field("sensor", table.sensorNames[d.column])
                    o.field("change", d.change)
                    o.field("change_short_term_spreads", d.changeNoises)
                    o.field("end_rate_per_minute", d.endRatePerMinute)
                    o.field("end_change_spreads", d.endChangeSpreads)
                    o.field("minutes", d.minutes)
                }
            }
            out.array("warnings", warnings) { $0.element($1) }
            print(out.finish())
        } else {
            print("calibrated \(machine): K = \(r.rows) rows × \(table.sensorCount) sensors (\(r.trimmedRows) rows set aside as suspect)")
            if notRunningRows > 0 { print("  left out \(notRunningRows) rows where the machine was stopped, stopping (stop_grace), settling after a start or of unknown running state") }
            print("  data: " + CalibrateCommand.coverageText(coverage, sensorNames: table.sensorNames, outOfRange: outOfRange))
            for line in LoadPriorText.lines(detector: outcome.detector, sensorNames: table.sensorNames, settings: settings) {
                print("  " + line)
            }
            if noLoadPrior { print("  load prior: off (--no-load-prior): readings are compared with their calibration levels whatever the speed or duty cycle") }
            if noStateCompensation { print("  two-state compensation: off (--no-state-compensation)") }
            if let state = outcome.detector.state {
                let names = table.sensorNames.indices.filter { state.shift[$0] != 0 }.map { table.sensorNames[$0] }
                print("  two states (\(table.sensorNames[state.state])): \(names.joined(separator: ", ")) compared with their level in the same state")
            }
            print("  threshold \(r.threshold) (calibration score quantile \(r.scoreQuantile) × margin)")
            print("  expected false-alarm rate \(EvaluationText.fixed(100 * r.expectedFalseAlarmRate, 3)) % of rows (exponential tail fit)")
            if r.labelledAnomalyRows > 0 {
                print("  labelled anomalies: \(r.labelledAnomalyRows) rows, \(EvaluationText.fixed(100 * r.labelledAnomalyRecall, 1)) % above the threshold")
            }
            if let a = r.adaptation, let t = r.networkThreshold {
                print("  network: K = \(a.normalWindows) windows + \(a.anomalousWindows) synthetic/labelled anomalies, \(a.steps) Adam steps, loss \(a.lossBefore) → \(a.lossAfter)")
                print("  network threshold \(t) (int8), expected false-alarm rate \(EvaluationText.fixed(100 * (r.networkExpectedFalseAlarmRate ?? 0), 3)) %")
                if (machineConfiguration?.alertScore ?? .deviation) == .deviation {
                    print("  note: \(machine) alerts on the window-deviation score; the network's score is reported beside it (alert_score in agent.conf)")
                }
            }
            let tolerant = (machineConfiguration?.sensors ?? []).filter { $0.tolerance != nil && table.sensorNames.contains($0.name) }
            if !tolerant.isEmpty {
                print("  tolerances (agent.conf): " + tolerant.map { "\($0.name) ±\($0.tolerance ?? 0)\($0.unit.isEmpty ? "" : " \($0.unit)")" }.joined(separator: ", "))
            }
            print("  took \(EvaluationText.fixed(elapsed, 3)) s; stored \(path)\(modelPath.map { " and \($0)" } ?? "")")
            for warning in warnings { print("  warning: \(warning)") }
        }
    }

    /// One line on what calibration had: rows used (of those given), minutes, readings left out
    /// as outside their sensor's `min`…`max`, full windows, run stretches and minutes per
    /// operating state.
    static func coverageText(_ c: CalibrationCoverage, sensorNames: [String], outOfRange: [OutOfRangeReadings] = []) -> String {
        var parts = ["\(c.usedRows) rows used of \(c.givenRows) (\(CalibrationCoverage.minutesText(c.usedMinutes)) min of running)"]
        if c.rowsWithMissingReadings > 0 { parts.append("\(c.rowsWithMissingReadings) rows with a missing reading") }
        if !outOfRange.isEmpty {
            let total = outOfRange.reduce(0) { $0 + $1.readings }
            // A sensor whose min/max have since been removed: only the poller's flag says so.
            let each = outOfRange.map {
                $0.minimum == nil && $0.maximum == nil ? "\($0.sensor) \($0.readings) flagged when polled" : "\($0.sensor) \($0.readings) outside \($0.rangeText)"
            }
            parts.append("\(total) reading\(total == 1 ? "" : "s") out of range left out as unread (\(each.joined(separator: ", ")))")
        }
        parts.append("\(c.windows) full windows")
        let stretches = "\(c.runStretches) run stretch\(c.runStretches == 1 ? "" : "es")"
        parts.append(c.runStretchesWithoutWindow > 0 ? stretches + " (\(c.runStretchesWithoutWindow) shorter than a window)" : stretches)
        for state in c.stateRows where state.column < sensorNames.count {
            parts.append("\(sensorNames[state.column]) off \(CalibrationCoverage.minutesText(Double(state.off) * c.secondsPerRow / 60)) min / on \(CalibrationCoverage.minutesText(Double(state.on) * c.secondsPerRow / 60)) min")
        }
        return parts.joined(separator: ", ")
    }

    /// The coverage fields of `calibrate --json` (added to, never renamed: scripts read them).
    static func write(coverage c: CalibrationCoverage, sensorNames: [String], outOfRange: [OutOfRangeReadings],
                      to out: inout JSONWriter) {
        out.field("given_rows", c.givenRows)
        out.field("not_running_rows", c.notRunningRows)
        out.field("rows_with_missing_readings", c.rowsWithMissingReadings)
        out.field("rows_with_out_of_range_readings", c.rowsWithOutOfRangeReadings)
        out.field("out_of_range_readings", outOfRange.reduce(0) { $0 + $1.readings })
        out.array("out_of_range", outOfRange) { out, sensor in
            out.object { o in
                o.field("sensor", sensor.sensor)
                o.field("readings", sensor.readings)
                if let low = sensor.minimum { o.field("min", low) }
                if let high = sensor.maximum { o.field("max", high) }
            }
        }
        out.field("used_rows", c.usedRows)
        out.field("used_minutes", c.usedMinutes)
        out.field("windows", c.windows)
        out.field("run_stretches", c.runStretches)
        out.field("run_stretches_without_window", c.runStretchesWithoutWindow)
        out.field("seconds_per_row", c.secondsPerRow)
        out.array("states", c.stateRows.filter { $0.column < sensorNames.count }) { out, state in
            out.object { o in
                o.field("sensor", sensorNames[state.column])
                o.field("off_rows", state.off)
                o.field("on_rows", state.on)
                o.field("off_minutes", Double(state.off) * c.secondsPerRow / 60)
                o.field("on_minutes", Double(state.on) * c.secondsPerRow / 60)
            }
        }
    }

    /// What to do to give calibration more data, for the source it read.
    static func remedy(machine: String, source: String) -> String {
        source == "the buffer"
            ? "let the agent buffer at least \(CalibrationCoverage.minutesText(CalibrationCoverage.Minimum.recommended.minutes)) minutes of \(machine) running through its usual operating states (loaded and unloaded, its speeds), then calibrate over them: edge-agent calibrate --machine \(machine) --last 30m (or --from/--until around a stretch where it ran)"
            : "give --input a longer stretch of \(machine) running through its usual operating states (at least \(CalibrationCoverage.minutesText(CalibrationCoverage.Minimum.recommended.minutes)) minutes of running), or calibrate from the agent's buffer with e.g. --last 30m"
    }

    /// The warning for a calibration that held one speed (or speeds less than 10 % apart) on a
    /// machine the load prior compensates for speed (nil otherwise): every other speed is then
    /// judged through a prior learned on simulated machines that nothing tested on this one, and
    /// on the simulator about half the fan motors and pumps calibrated at one speed alert at
    /// speeds it did not show (docs/load-prior.md). Say so, and how to calibrate across speeds.
    static func oneSpeedWarning(machine: String, speeds: SpeedCoverage?, load: LoadCompensation?, sensorNames: [String],
                                source: String) -> String? {
        guard let speeds, !speeds.testsThePrior, let load, load.driver < sensorNames.count else { return nil }
        let driver = sensorNames[load.driver]
        let held = speeds.settledSpeeds.map { EvaluationText.fixed(Double($0), 0) }
        let what = switch held.count {
        case 0: "calibration never saw \(machine) at a steady speed (\(driver) did not stay within 2 % for 20 rows)"
        case 1: "calibration saw \(machine) at one steady speed only (\(driver) \(held[0]))"
        default: "calibration saw \(machine) only at steady speeds less than 10 % apart (\(driver) \(held.joined(separator: ", ")))"
        }
        let remedy = source == "the buffer"
            ? "edge-agent calibrate --machine \(machine) --last 2h (a stretch across the speeds it runs at, e.g. a shift)"
            : "edge-agent calibrate --machine \(machine) with --input covering the speeds it runs at"
        return "\(what): at other speeds its readings are compensated by the load prior alone, learned on simulated machines and untested on this one (on the simulator about half of the fan motors and pumps calibrated at one speed raise false alarms at speeds they were not calibrated at; docs/load-prior.md). If \(machine) runs at other speeds, calibrate over a stretch that shows them: \(remedy); if its speed is held constant, --no-load-prior makes a change of speed itself alert."
    }

    /// The warning for a calibration short of the recommended data (nil: it has enough).
    static func shortDataWarning(machine: String, coverage: CalibrationCoverage, sensorNames: [String], source: String) -> String? {
        let missing = coverage.shortfalls(minimum: .recommended, sensorNames: sensorNames)
        guard !missing.isEmpty else { return nil }
        return "\(machine) was calibrated on too little normal operation: \(missing.joined(separator: "; ")). With this little data a detector can alert on normal operation (a simulated compressor calibrated on 30 s alerted every 2 minutes); \(remedy(machine: machine, source: source))."
    }

    /// Why calibration refuses far too little data, and what to do; with `forced`, the warning
    /// that it was stored anyway.
    static func refusal(machine: String, coverage: CalibrationCoverage, missing: [String], source: String,
                        forced: Bool = false) -> String {
        let stopped = coverage.notRunningShare >= 0.5
            ? " \(machine) was stopped or settling in \(coverage.notRunningRows) of the \(coverage.givenRows) rows of \(source)." : ""
        let what = remedy(machine: machine, source: source)
        let todo = "\(what.prefix(1).uppercased())\(what.dropFirst())."
        if forced {
            return "\(machine) was calibrated with --force on far too little normal operation in \(source): \(missing.joined(separator: "; ")).\(stopped) A detector calibrated on this can alert on normal operation every few minutes. \(todo)"
        }
        return "not calibrating \(machine): far too little normal operation in \(source): \(missing.joined(separator: "; ")).\(stopped) A detector calibrated on this would alert on normal operation every few minutes. \(todo) To store it anyway, add --force."
    }

    /// The columns of `table` that are operating-state sensors of `machine`: its `bool` sensors
    /// (coils, discrete inputs, register bits) and a sensor playing the `loaded` role (its `role`,
    /// or its own name in any case). A
    /// running contact is not among them (calibration leaves it out: it is always on there).
    static func stateSensors(of machine: MachineConfiguration, in table: SensorTable) -> [Int] {
        machine.sensors.filter { $0.type == .bool || $0.roleName == "loaded" }
            .compactMap { table.sensorNames.firstIndex(of: $0.name) }
    }

    /// What the calibration data did not show that the machine will later do: an operating-state
    /// sensor that stayed in one state means the other state was never calibrated. The agent
    /// does not score that state (one warning in its log, no anomaly alerts), so the machine is
    /// not watched while it lasts: say so, and how to calibrate both.
    static func narrowCalibrationWarnings(states: CalibratedStates?, table: SensorTable, machine: MachineConfiguration,
                                          source: String) -> [String] {
        guard let states else { return [] }
        return states.sensors.filter(\.sawOneState).map { sensor in
            let name = table.sensorNames[sensor.column]
            let seen = sensor.states[0] == 1 ? "on" : "off", other = sensor.states[0] == 1 ? "off" : "on"
            let remedy = source == "the buffer"
                ? "edge-agent calibrate --machine \(machine.id) --last 30m (a stretch long enough to include both)"
                : "edge-agent calibrate --machine \(machine.id) with --input covering both states, or from the buffer with e.g. --last 30m"
            return "\(name) was \(seen) throughout calibration (\(seen) = \(Int(sensor.states[0])) in all \(table.rowCount) rows): \(machine.id) is calibrated only for \(name) \(seen). When \(name) turns \(other), the agent logs one warning (\"uncalibrated operating state\") and does not score \(machine.id) until it has been \(seen) again for \(ScoringEngine.uncalibratedStateSettle(machine).wholeMilliseconds / 1000) s\(machine.runSignal == nil ? "" : " (or has stopped and settled after the restart)"), so faults while \(name) is \(other) go unseen. Once \(machine.id) has run with \(name) \(other), calibrate over a stretch that shows both states: \(remedy)."
        }
    }

    /// The rows where the machine runs and has settled after its last start (`run_signal`,
    /// `run_threshold`, `settle_after_start` in agent.conf), decided by the agent's own
    /// `RunState` on the rows' timestamps (in poll intervals when they are not ISO-8601): a
    /// stopped machine is not scored, so it is not calibrated either. A running contact's
    /// column is left out (always on in these rows); a measured run signal stays a sensor.
    static func runningRows(of table: SensorTable, machine: MachineConfiguration) -> (table: SensorTable, excluded: Int) {
        let selection = runningRowSelection(of: table, machine: machine)
        return (selection.table, table.rowCount - selection.rows.count)
    }

    /// `runningRows(of:machine:)` with the row number, in `table`, of each row kept (so that
    /// `replay --config` writes one line per input row): the one place that turns a machine's
    /// run signal settings into the rows calibrate, replay and evaluate keep.
    static func runningRowSelection(of table: SensorTable, machine: MachineConfiguration) -> (table: SensorTable, rows: [Int]) {
        guard let signal = machine.runSignal, let (state, times) = runState(of: table, machine: machine) else {
            return (table, Array(0..<table.rowCount))
        }
        return table.runningRowSelection(signal: signal, keepSignal: machine.runThreshold != nil, state: state, rowTimes: times)
    }

    /// The rows of `table` where `machine` settles after a start (`settle_after_start`), by the
    /// run state `runningRowSelection(of:machine:)` follows: not judged, but `replay`/`evaluate
    /// --config` take them through the operating-state gate, as the agent does. Empty without
    /// a run signal.
    static func settlingRows(of table: SensorTable, machine: MachineConfiguration) -> [Int] {
        guard let signal = machine.runSignal, let k = table.sensorNames.firstIndex(of: signal),
              let timing = runState(of: table, machine: machine) else { return [] }
        var state = timing.state
        var settling: [Int] = []
        for r in 0..<table.rowCount
        where state.observe(Double(table.values[r * table.sensorCount + k]), at: timing.times?[r] ?? Int64(r)) == .settling {
            settling.append(r)
        }
        return settling
    }

    /// The run state `machine`'s rows in `table` are followed with, and their times: the
    /// timestamps in milliseconds, or nil when they are not ISO-8601 (a row is then one poll
    /// interval, and the run state counts rows). Nil without a run signal.
    private static func runState(of table: SensorTable, machine: MachineConfiguration) -> (state: RunState, times: [Int64]?)? {
        guard machine.runSignal != nil, let state = machine.runState() else { return nil }
        let times = table.timestamps.compactMap { Timestamp(iso8601: $0[...])?.millisecondsSinceEpoch }
        if times.count == table.rowCount { return (state, times) }
        let interval = max(1, machine.pollInterval.wholeMilliseconds)
        let rowState = RunState(runningLevel: machine.runningLevel, settleTime: Int64(machine.settleRows),
                                holdTime: Int64(RunState.heldPolls),
                                stopGrace: (machine.stopGraceMilliseconds + interval - 1) / interval)
        return (rowState, nil)
    }

    /// Blanks (`Float.outOfRangeMark`, a NaN) the readings of `table` outside their sensor's
    /// `min`…`max` in agent.conf, decided by the agent's own test (`SensorRange.excludes`, the
    /// one the poller flags readings `out_of_range` by): the agent never scores such a reading
    /// (a 65535 register, a broken 4–20 mA loop) and treats it as unread, so calibration,
    /// `replay` and `evaluate --config` must not learn or score it either. Readings already
    /// marked (the buffer's `out_of_range` readings, `CalibrationFromBuffer`) are counted too,
    /// whatever agent.conf's range says now.
    /// Columns are matched to `machine`'s sensors by name; columns of no sensor are left alone.
    /// - Returns: the sensors with readings blanked and how many, in the table's column order.
    @discardableResult
    static func blankOutOfRange(_ table: inout SensorTable, machine: MachineConfiguration) -> [OutOfRangeReadings] {
        let n = table.sensorCount
        var blanked: [OutOfRangeReadings] = []
        for (s, name) in table.sensorNames.enumerated() {
            guard let sensor = machine.sensors.first(where: { $0.name == name }) else { continue }
            let range = SensorRange(minimum: sensor.minimum, maximum: sensor.maximum)
            var count = 0
            for r in 0..<table.rowCount {
                let value = table.values[r * n + s]
                if value.isOutOfRangeMark {
                    count += 1
                    continue
                }
                guard !value.isNaN, range.excludes(value) else { continue }
                table.values[r * n + s] = .outOfRangeMark
                count += 1
            }
            if count > 0 { blanked.append(OutOfRangeReadings(sensor: name, readings: count, minimum: sensor.minimum, maximum: sensor.maximum)) }
        }
        return blanked
    }

    /// The columns of `table` named `sensors`, in that order.
    static func select(sensors: [String], from table: SensorTable, file: String) throws -> SensorTable {
        let indices = try sensors.map { name in
            guard let i = table.sensorNames.firstIndex(of: name) else {
                throw ValidationError("\(file) has no column \"\(name)\" (it has: \(table.sensorNames.joined(separator: ", ")))")
            }
            return i
        }
        if indices == Array(0..<table.sensorCount) { return table }
        var values: [Float] = []
        values.reserveCapacity(table.rowCount * indices.count)
        for r in 0..<table.rowCount {
            let row = table.row(r)
            for i in indices { values.append(row[row.startIndex + i]) }
        }
        return SensorTable(sensorNames: sensors, timestamps: table.timestamps, values: values,
                           anomalyLabels: table.anomalyLabels, changepointLabels: table.changepointLabels)
    }
}

/// What `calibrate` and `replay` say about the load prior: which kind matched and which sensors it
/// compensates (with the role each plays), or a hint when a sensor looks like a speed or load
/// the prior did not recognise.
enum LoadPriorText {
    /// The lines, without indentation; empty when there is nothing to say.
    static func lines(detector: MachineDetector, sensorNames: [String], settings: CalibrationSettings) -> [String] {
        let roles = settings.roleNames(for: sensorNames)
        func named(_ i: Int) -> String {
            roles[i] == sensorNames[i] || roles[i].isEmpty ? sensorNames[i] : "\(sensorNames[i]) (\(roles[i]))"
        }
        guard let load = detector.load else {
            guard let prior = settings.loadPrior else { return [] }
            if let kind = settings.machineKind, let entry = prior.kinds.first(where: { $0.name == kind }) {
                return ["load prior: not applied: kind \"\(kind)\" needs a sensor playing \(entry.driver) and one of its roles (\(entry.roles.map(\.sensor).joined(separator: ", "))) with a level above 0 during calibration; give them role = \"…\" in agent.conf"]
            }
            let given = sensorNames.indices.filter { settings.sensorRoles[sensorNames[$0]] != nil }
            if !given.isEmpty {
                var drivers: [String] = []
                for kind in prior.kinds where !drivers.contains(kind.driver) { drivers.append(kind.driver) }
                let text = drivers.map { d in "\(d) for \(prior.kinds.filter { $0.driver == d }.map(\.name).joined(separator: " or "))" }
                return ["load prior: not applied: the roles given (\(given.map(named).joined(separator: ", "))) need a driver (\(text.joined(separator: ", "))) with a level above 0 during calibration and at least one sensor that follows it"]
            }
            let unnamed = sensorNames.filter { settings.sensorRoles[$0] == nil }
            guard let driver = prior.unrecognisedDriver(among: unnamed) else { return [] }
            return ["hint: \(driver) looks like a speed or load, but the load prior matched no kind of machine: name the sensors' roles in agent.conf (role = \"speed\", role = \"flow\", …; see README) and readings will be compensated for speed or duty cycle"]
        }
        let compensated = sensorNames.indices.filter { load.reference[$0].isFinite }.map(named).joined(separator: ", ")
        let dropped = (load.dropped ?? []).map { "load prior does not fit " + $0 }
        if load.duty {
            return dropped + ["load prior (\(load.kind)): \(compensated) follow the duty cycle of \(named(load.driver)) (\(EvaluationText.fixed(100 * Double(load.referenceDriver), 0)) % during calibration); other duty cycles are expected"]
        }
        return dropped + ["load prior (\(load.kind)): \(compensated.isEmpty ? "no sensor" : compensated) follow \(named(load.driver)) (calibrated at \(EvaluationText.fixed(Double(load.referenceDriver), 1))); other speeds are expected"]
    }
}

/// One sensor's readings that lay outside its `min`…`max` in agent.conf, left out as unread.
struct OutOfRangeReadings: Equatable {
    /// The sensor's name.
    var sensor: String
    /// How many of its readings were left out.
    var readings: Int
    /// Its `min` and `max` in agent.conf (nil: none).
    var minimum: Double?
    var maximum: Double?

    /// `0…16`, `≥ 0` or `≤ 16`, as check-config shows a range.
    var rangeText: String {
        OutOfRangeReadings.rangeText(minimum: minimum, maximum: maximum) { EvaluationText.trimmed($0, decimals: 6) }
    }

    /// A sensor's `min`…`max` as people read it: `0…16`, `≥ 0`, `≤ 16`, or `-` without either
    /// (check-config's sensor table and calibrate's `data:` line), each bound written by `number`.
    static func rangeText(minimum: Double?, maximum: Double?, number: (Double) -> String) -> String {
        switch (minimum, maximum) {
        case let (low?, high?): return "\(number(low))…\(number(high))"
        case let (low?, nil): return "≥ \(number(low))"
        case let (nil, high?): return "≤ \(number(high))"
        case (nil, nil): return "-"
        }
    }
}

/// `calibrate` refused data far too short for a quiet detector (nothing was stored).
struct CalibrationRefused: Error, CustomStringConvertible {
    /// What was missing and what to do.
    let message: String
    var description: String { message }
}
