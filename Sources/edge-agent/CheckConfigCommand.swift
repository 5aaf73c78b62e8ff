#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Configuration
import Detection
import EdgeCore
import Logging

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check agent.conf and print the buses, machines and sensors it describes.",
        discussion: """
            Prints what the agent will do with the file: where it keeps its data, each bus with \
            its transport and timeouts, each machine with its poll interval and the windows its \
            detector scores (from its calibrated detector when there is one), and each \
            sensor with its unit id and the registers it reads. On problems it prints every one, \
            as file:line: key.path: what was expected, and exits with status 1.
            """
    )

    @OptionGroup var options: ConfigurationOptions
    @OptionGroup var logging: LoggingOptions

    @Flag(help: "Print the plan (or the problems) as JSON on standard output, for programs.")
    var json = false

    func run() throws {
        let configuration: AgentConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: options.config)
        } catch {
            logging.bootstrap()
            if json {
                print(ConfigurationPlan.json(of: error))
            } else {
                printToStandardError(error.description)
            }
            throw ExitCode.failure
        }
        let logger = logging.bootstrap(configuredLevel: configuration.agent.logLevel)
        let plan = ConfigurationPlan(configuration: configuration)
        logger.debug("configuration is valid", metadata: [
            "file": "\(options.config)", "buses": "\(configuration.buses.count)",
            "machines": "\(configuration.machines.count)", "sensors": "\(plan.sensorCount)",
        ])
        print(json ? plan.json() : plan.text())
    }
}

/// What `check-config` prints for a valid configuration.
///
/// Each part of the plan is its own function returning lines, so later work can add its own
/// (for example the Modbus request plan under each bus) without touching the rest.
struct ConfigurationPlan {
    let configuration: AgentConfiguration

    var sensorCount: Int { configuration.machines.reduce(0) { $0 + $1.sensors.count } }

    /// The whole plan as text for people.
    func text() -> String {
        var lines = headerLines() + [""] + agentLines()
        for bus in configuration.buses { lines += [""] + busLines(bus) + requestPlanLines(bus) }
        for machine in configuration.machines { lines += [""] + machineLines(machine) }
        return lines.joined(separator: "\n")
    }

    func headerLines() -> [String] {
        let buses = configuration.buses.count, machines = configuration.machines.count
        return ["\(configuration.sourcePath): OK — \(plural(buses, "bus", "buses")), \(plural(machines, "machine", "machines")), \(plural(sensorCount, "sensor", "sensors"))"]
    }

    func agentLines() -> [String] {
        let agent = configuration.agent
        return ["agent"] + Self.columns([
            ["  data directory", agent.dataDirectory],
            ["  alert log", agent.alertLog],
            ["  summaries", "\(agent.summaryDirectory), every \(text(agent.summaryInterval))"],
            ["  retention", "\(text(agent.retentionAge)), at most \(ConfigurationValueText.text(ofByteCount: agent.retentionBytes)) on disk"],
            ["  alert retention", "cleared alerts \(text(agent.alertRetentionAge)), at most \(agent.alertRetentionCount) alerts"],
            ["  log level", agent.logLevel],
        ])
    }

    func busLines(_ bus: BusConfiguration) -> [String] {
        let transport: String
        switch bus.transport {
        case .tcp(let host, let port):
            transport = "Modbus TCP \(host.contains(":") ? "[\(host)]" : host):\(port)"
        case .rtu(let device, let baud, let parity, let dataBits, let stopBits):
            transport = "Modbus RTU \(device) \(baud) baud \(dataBits)\(parity.rawValue)\(stopBits)"
        }
        return [
            "bus \(bus.name): \(transport)",
            "  response timeout \(text(bus.responseTimeout)), pause between requests \(text(bus.pauseBetweenRequests)), backoff up to \(text(bus.maxBackoff))",
            "  at most \(bus.maxRegistersPerRead) registers or \(bus.maxBitsPerRead) bits per request; gaps up to \(bus.maxGap) registers are read through",
        ]
    }

    func machineLines(_ machine: MachineConfiguration) -> [String] {
        let title = machine.description.isEmpty ? "machine \(machine.id)" : "machine \(machine.id) — \(machine.description)"
        let windows = ModelWindows(machine: machine, dataDirectory: configuration.agent.dataDirectory)
        var lines = [
            title,
            "  poll every \(text(machine.pollInterval)); scored every \(plural(machine.hop, "poll", "polls")); data-quality alert after \(machine.windowLength) polls unscored (window_length)",
            "  model windows: \(windows.deviationRows) rows (\(text(machine.pollInterval * windows.deviationRows))) for the window-deviation score, \(windows.networkRows) rows (\(text(machine.pollInterval * windows.networkRows))) for the network (\(windows.source.text))",
        ]
        if let signal = machine.runSignal {
            let unit = machine.sensors.first { $0.name == signal }?.unit ?? ""
            let runs = machine.runThreshold.map { "reads \($0)\(unit.isEmpty ? "" : " " + unit) or more" } ?? "is on"
            var line = "  runs while \(signal) \(runs) (not scored when stopped); settles \(text(machine.settleAfterStart)) after a start"
            if machine.stopGraceMilliseconds > 0 {
                line += "; judged \(text(.milliseconds(machine.stopGraceMilliseconds))) late (stop_grace: rows that close before a stop are not judged)"
            }
            lines.append(line)
        }
        switch machine.alertScore {
        case .deviation: break
        case .network: lines.append("  alerts on the int8 network's score (alert_score = \"network\"; needs its .model file from calibrate)")
        case .either: lines.append("  alerts on whichever score is further past its threshold: window deviation or int8 network (alert_score = \"either\")")
        }
        if let kind = machine.kind {
            lines.append("  load prior kind: \(kind.rawValue) (kind = \"\(kind.rawValue)\")")
        }
        var rows = [["  sensor", "bus", "unit", "reads", "scale", "offset", "unit", "range", "tolerance", "role"]]
        rows += machine.sensors.map(sensorRow)
        lines += Self.columns(rows)
        return lines
    }

    func sensorRow(_ sensor: SensorConfiguration) -> [String] {
        let range = OutOfRangeReadings.rangeText(minimum: sensor.minimum, maximum: sensor.maximum, number: number)
        return ["  \(sensor.name)", sensor.bus, "\(sensor.unitID)", registers(sensor), number(sensor.scale), number(sensor.offset),
                sensor.unit.isEmpty ? "-" : sensor.unit, range, sensor.tolerance.map { "±\(number($0))" } ?? "-", role(sensor)]
    }

    /// The load-prior role a sensor plays: its `role`, its own name when that is a role the
    /// prior knows in any case (`speed (name)`), else `-`.
    func role(_ sensor: SensorConfiguration) -> String {
        if let role = sensor.role { return role }
        return SensorConfiguration.knownRole(matching: sensor.name).map { "\($0) (name)" } ?? "-"
    }

    /// `holding 100–101 (float32 CDAB)`, `input 7 (uint16)`, `holding 40 bit 3 (bool)`, `coil 12`.
    func registers(_ sensor: SensorConfiguration) -> String {
        if sensor.kind.isBit { return "\(sensor.kind.rawValue) \(sensor.address)" }
        let span = sensor.span == 1 ? "\(sensor.address)" : "\(sensor.address)–\(sensor.addresses.upperBound)"
        if let bit = sensor.bit { return "\(sensor.kind.rawValue) \(span) bit \(bit) (bool)" }
        let order = sensor.span > 1 || sensor.order != .ABCD ? " \(sensor.order.rawValue)" : ""
        return "\(sensor.kind.rawValue) \(span) (\(sensor.type.rawValue)\(order))"
    }

    // MARK: JSON

    /// The plan as one JSON object: durations in milliseconds, sizes in bytes.
    func json() -> String {
        let agent = configuration.agent
        var out = JSONWriter()
        out.root {
            $0.field("file", configuration.sourcePath)
            $0.field("valid", true)
            $0.object("agent") {
                $0.field("data_dir", agent.dataDirectory)
                $0.field("alert_log", agent.alertLog)
                $0.field("summary_dir", agent.summaryDirectory)
                $0.field("summary_interval_ms", milliseconds(agent.summaryInterval))
                $0.field("retention_age_ms", milliseconds(agent.retentionAge))
                $0.field("retention_size_bytes", agent.retentionBytes)
                $0.field("alert_retention_age_ms", milliseconds(agent.alertRetentionAge))
                $0.field("alert_retention_count", agent.alertRetentionCount)
                $0.field("log_level", agent.logLevel)
            }
            $0.array("buses", configuration.buses) { out, bus in
                out.object {
                    $0.field("name", bus.name)
                    $0.field("type", bus.transport.name)
                    switch bus.transport {
                    case .tcp(let host, let port):
                        $0.field("host", host)
                        $0.field("port", port)
                    case .rtu(let device, let baud, let parity, let dataBits, let stopBits):
                        $0.field("device", device)
                        $0.field("baud", baud)
                        $0.field("parity", parity.rawValue)
                        $0.field("data_bits", dataBits)
                        $0.field("stop_bits", stopBits)
                    }
                    $0.field("response_timeout_ms", milliseconds(bus.responseTimeout))
                    $0.field("pause_between_requests_ms", milliseconds(bus.pauseBetweenRequests))
                    $0.field("max_registers_per_read", bus.maxRegistersPerRead)
                    $0.field("max_bits_per_read", bus.maxBitsPerRead)
                    $0.field("max_gap", bus.maxGap)
                    $0.field("max_backoff_ms", milliseconds(bus.maxBackoff))
                    requestPlanFields(bus, into: &$0)
                }
            }
            $0.array("machines", configuration.machines) { out, machine in
                out.object {
                    $0.field("id", machine.id)
                    $0.field("description", machine.description)
                    $0.field("poll_interval_ms", milliseconds(machine.pollInterval))
                    $0.field("window_length", machine.windowLength)
                    $0.field("hop", machine.hop)
                    let windows = ModelWindows(machine: machine, dataDirectory: configuration.agent.dataDirectory)
                    $0.field("deviation_window_rows", windows.deviationRows)
                    $0.field("network_window_rows", windows.networkRows)
                    $0.field("model_windows_from", windows.source.rawValue)
                    if let signal = machine.runSignal {
                        $0.field("run_signal", signal)
                        $0.field("run_threshold", machine.runningLevel)
                        $0.field("settle_after_start_ms", milliseconds(machine.settleAfterStart))
                        $0.field("stop_grace_ms", Int(machine.stopGraceMilliseconds))
                    }
                    $0.field("alert_score", machine.alertScore.rawValue)
                    if let kind = machine.kind { $0.field("kind", kind.rawValue) }
                    $0.array("sensors", machine.sensors) { out, sensor in
                        out.object {
                            $0.field("name", sensor.name)
                            $0.field("bus", sensor.bus)
                            $0.field("unit_id", sensor.unitID)
                            $0.field("kind", sensor.kind.rawValue)
                            $0.field("address", sensor.address)
                            $0.field("last_address", sensor.addresses.upperBound)
                            $0.field("type", sensor.type.rawValue)
                            $0.field("order", sensor.order.rawValue)
                            if let bit = sensor.bit { $0.field("bit", bit) }
                            $0.field("scale", sensor.scale)
                            $0.field("offset", sensor.offset)
                            $0.field("unit", sensor.unit)
                            if let low = sensor.minimum { $0.field("min", low) }
                            if let high = sensor.maximum { $0.field("max", high) }
                            if let tolerance = sensor.tolerance { $0.field("tolerance", tolerance) }
                            // The role the load prior will see it play: agent.conf's, else its
                            // own name's (`Speed` plays speed), and where that came from.
                            if let role = sensor.role {
                                $0.field("role", role)
                                $0.field("role_from", "agent.conf")
                            } else if let role = SensorConfiguration.knownRole(matching: sensor.name) {
                                $0.field("role", role)
                                $0.field("role_from", "name")
                            }
                        }
                    }
                }
            }
        }
        return out.finish()
    }

    /// The problems as one JSON object: `{"file": …, "valid": false, "problems": [{line, key_path, message}]}`.
    static func json(of error: ConfigurationError) -> String {
        var out = JSONWriter()
        out.root {
            $0.field("file", error.file)
            $0.field("valid", false)
            $0.array("problems", error.problems) { out, problem in
                out.object {
                    if let line = problem.line { $0.field("line", line) }
                    $0.field("key_path", problem.keyPath)
                    $0.field("message", problem.message)
                }
            }
        }
        return out.finish()
    }

    // MARK: Formatting

    private func text(_ duration: Duration) -> String { ConfigurationValueText.text(of: duration) }

    private func milliseconds(_ duration: Duration) -> Int64 { duration.wholeMilliseconds }

    private func plural(_ count: Int, _ one: String, _ many: String) -> String { "\(count) \(count == 1 ? one : many)" }

    /// `1`, `0.01`, `-40`: whole numbers without a trailing `.0`.
    private func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return "\(Int64(value))" }
        return "\(value)"
    }

    /// Left-aligned columns separated by two spaces (the last column is not padded).
    static func columns(_ rows: [[String]]) -> [String] {
        var widths: [Int] = []
        for row in rows {
            for (i, cell) in row.enumerated() {
                if i == widths.count { widths.append(0) }
                widths[i] = max(widths[i], cell.count)
            }
        }
        return rows.map { row in
            var line = ""
            for (i, cell) in row.enumerated() {
                line += cell
                if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count + 2) }
            }
            return line
        }
    }
}


extension JSONWriter {
    /// Fills the top-level object with `body` (reads like the nested `object` calls).
    mutating func root(_ body: (inout JSONWriter) -> Void) { body(&self) }
}

/// The windows a machine's detector scores, in rows (polls): the window-deviation score's and
/// the network's. They are set by calibration, not by agent.conf (`window_length` is how many
/// unscored polls raise a data-quality alert, and the largest `hop`): read from the machine's
/// detector and model files under `data_dir/models` when it has been calibrated, else
/// calibrate's defaults.
struct ModelWindows {
    /// Where the numbers come from.
    enum Source: String {
        case calibration = "calibration"
        case defaults = "calibrate_defaults"
        /// A detector or model file is there but cannot be read (permissions, damage).
        case unreadable = "unreadable_model_files"

        var text: String {
            switch self {
            case .calibration: return "as calibrated"
            case .defaults: return "not calibrated yet: calibrate's defaults"
            case .unreadable: return "calibrate's defaults: its detector or model file cannot be read here"
            }
        }
    }

    var deviationRows = CalibrationSettings().deviation.windowRows
    var networkRows = AdaptationSettings().windowRows
    var source = Source.defaults

    init(machine: MachineConfiguration, dataDirectory: String) {
        let models = "\(dataDirectory)/models/\(machine.id)"
        if let file = try? DetectorFile.read(path: models + ".detector.json") {
            deviationRows = file.detector.baseline.settings.windowRows
            source = .calibration
        }
        if let model = try? NetworkModel(contentsOf: models + ".model") {
            networkRows = model.metadata.timeSteps
            source = .calibration
        }
        // Not readable by this user (models are 0640) or damaged: say so rather than "not calibrated".
        if source == .defaults, access(models + ".detector.json", F_OK) == 0 || access(models + ".model", F_OK) == 0 {
            source = .unreadable
        }
    }
}
