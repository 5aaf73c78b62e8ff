import EdgeCore
import TOMLKit

/// Turns the parsed TOML document into `AgentConfiguration`, collecting every problem.
///
/// Defaults live in the model types (`AgentSettings`, `BusConfiguration`, …) and in
/// `Transport`'s static constants; this type only reads, checks and cross-references.
struct ConfigurationDecoder {
    var problems: ProblemList
    /// The folder relative paths in the file are resolved against; nil for the working directory.
    let baseDirectory: String?
    /// The file being decoded, recorded in the result.
    let configurationPath: String

    init(problems: ProblemList, configurationPath: String) {
        self.problems = problems
        self.configurationPath = configurationPath
        if let slash = configurationPath.lastIndex(of: "/") {
            let folder = String(configurationPath[..<slash])
            baseDirectory = folder.isEmpty ? "/" : folder
        } else {
            baseDirectory = nil
        }
    }

    // MARK: Key names

    static let documentKeys = ["agent", "bus", "machine", "alerts", "action"]
    static let alertKeys = ["raise_count", "raise_window", "clear_ratio", "clear_count", "cooldown", "critical_ratio", "alert_log_max_size", "alert_log_keep"]
    static let actionKeys = ["type", "on", "machines", "min_severity", "command", "timeout", "bus", "unit_id", "kind", "address", "value_on", "value_off"]
    static let agentKeys = ["data_dir", "alert_log", "summary_dir", "summary_interval", "retention_age", "retention_size", "alert_retention_age", "alert_retention_count", "log_level"]
    static let busKeys = [
        "name", "type", "host", "port", "device", "baud", "parity", "data_bits", "stop_bits", "response_timeout",
        "pause_between_requests", "max_registers_per_read", "max_bits_per_read", "max_gap", "max_backoff",
    ]
    static let tcpOnlyKeys = ["host", "port"]
    static let rtuOnlyKeys = ["device", "baud", "parity", "data_bits", "stop_bits"]
    static let machineKeys = ["id", "description", "poll_interval", "window_length", "hop", "run_signal", "run_threshold", "settle_after_start", "stop_grace", "alert_score", "kind", "sensor"]
    static let sensorKeys = ["name", "bus", "unit_id", "kind", "address", "type", "order", "bit", "scale", "offset", "unit", "min", "max", "tolerance", "role"]

    /// For an unknown key: which table it belongs in (keys put under the wrong header,
    /// such as a machine's `poll_interval` written after its first `[[machine.sensor]]`),
    /// or which key to use instead of a common synonym.
    static let keyHomes: [String: String] = {
        var homes: [String: String] = [:]
        for (keys, header) in [
            (documentKeys, "the top level"), (agentKeys, "[agent]"), (busKeys, "[[bus]]"),
            (machineKeys, "[[machine]]"), (sensorKeys, "[[machine.sensor]]"), (alertKeys, "[alerts]"), (actionKeys, "[[action]]"),
        ] {
            for key in keys { homes[key] = homes[key].map { "\($0) or \(header)" } ?? header }
        }
        homes["sensor"] = "[[machine.sensor]], under the [[machine]] it belongs to"
        for (synonym, key) in [
            ("inter_request_pause", "pause_between_requests"), ("timeout", "response_timeout"),
            ("slave", "unit_id"), ("slave_id", "unit_id"), ("unit_identifier", "unit_id"),
            ("register", "address"), ("data_type", "type"), ("byte_order", "order"), ("word_order", "order"),
            ("interval", "poll_interval"), ("window", "window_length"), ("baudrate", "baud"), ("baud_rate", "baud"),
            ("minimum", "min"), ("maximum", "max"), ("transport", "type"), ("ip", "host"), ("address_bit", "bit"),
        ] where homes[synonym] == nil {
            homes[synonym] = "this file as \"\(key)\""
        }
        return homes
    }()

    // MARK: Decoding

    mutating func decode(_ document: TableReader) -> AgentConfiguration {
        document.rejectUnknownKeys(known: Self.documentKeys, tableName: "the top level", elsewhere: Self.keyHomes, into: &problems)
        var agent = AgentSettings()
        if let table = document.subtable("agent", &problems, header: "[agent]") {
            agent = decodeAgent(table)
        }
        let busTables = document.tables("bus", &problems, header: "[[bus]]")
        let buses = busTables.compactMap { decodeBus($0) }
        let busByName = checkUniqueBuses(buses, busTables)
        let machineTables = document.tables("machine", &problems, header: "[[machine]]")
        if machineTables.isEmpty && document.table["machine"] == nil {
            problems.add("machine", "no machines are configured (add a [[machine]] table with at least one [[machine.sensor]])")
        }
        var machines: [MachineConfiguration] = []
        var machineLines: [String: String] = [:]
        for table in machineTables {
            guard let machine = decodeMachine(table, buses: busByName) else { continue }
            if let first = machineLines[machine.id] {
                problems.add(table.keyPath("id"), "duplicate machine id \"\(machine.id)\" (already used by \(first)); machine ids must be unique")
            } else {
                machineLines[machine.id] = table.path + lineSuffix(table.path)
            }
            machines.append(machine)
        }
        var alerts = AlertSettings()
        if let table = document.subtable("alerts", &problems, header: "[alerts]") {
            alerts = decodeAlerts(table)
        }
        let actions = document.tables("action", &problems, header: "[[action]]").compactMap {
            decodeAction($0, buses: busByName, machines: machines)
        }
        return AgentConfiguration(sourcePath: configurationPath, agent: agent, buses: buses, machines: machines,
                                  alerts: alerts, actions: actions)
    }

    private mutating func decodeAlerts(_ table: TableReader) -> AlertSettings {
        table.rejectUnknownKeys(known: Self.alertKeys, tableName: "[alerts]", elsewhere: Self.keyHomes, into: &problems)
        var alerts = AlertSettings()
        if let n = table.integer("raise_window", in: 1...1000, &problems, what: "windows") { alerts.raiseWindow = n }
        if let k = table.integer("raise_count", in: 1...1000, &problems, what: "windows") {
            if k > alerts.raiseWindow {
                problems.add(table.keyPath("raise_count"), "raise_count \(k) is more than raise_window \(alerts.raiseWindow) (expected 1…\(alerts.raiseWindow))")
            } else {
                alerts.raiseCount = k
            }
        }
        if let ratio = table.number("clear_ratio", &problems, what: "a ratio") {
            if ratio > 0 && ratio <= 1 { alerts.clearRatio = ratio } else {
                problems.add(table.keyPath("clear_ratio"), "\(ratio) is out of range (expected a ratio above 0 and at most 1 of the threshold)")
            }
        }
        if let n = table.integer("clear_count", in: 1...100_000, &problems, what: "windows") { alerts.clearCount = n }
        if let d = table.duration("cooldown", &problems, mustBePositive: false) { alerts.cooldown = d }
        if let ratio = table.number("critical_ratio", &problems, what: "a ratio") {
            if ratio >= 1 { alerts.criticalRatio = ratio } else {
                problems.add(table.keyPath("critical_ratio"), "\(ratio) is below 1 (expected a multiple of the threshold, at least 1)")
            }
        }
        if let size = table.byteCount("alert_log_max_size", &problems) { alerts.alertLogMaxBytes = size }
        if let n = table.integer("alert_log_keep", in: 1...1000, &problems, what: "a number of files") { alerts.alertLogKeep = n }
        return alerts
    }

    private mutating func decodeAction(_ table: TableReader, buses: [String: BusConfiguration], machines: [MachineConfiguration]) -> ActionConfiguration? {
        table.rejectUnknownKeys(known: Self.actionKeys, tableName: "[[action]]", elsewhere: Self.keyHomes, into: &problems)
        let type = table.choice("type", [("command", "command"), ("modbus_write", "modbus_write")], &problems, what: "action type")
        if !table.contains("type") { problems.add(table.keyPath("type"), "missing key \"type\" (expected \"command\" or \"modbus_write\")") }
        let events = stringArray(table, "on", allowed: ["raised", "updated", "cleared"]) ?? (type == "modbus_write" ? ["raised", "cleared"] : ["raised"])
        let machineIDs = stringArray(table, "machines", allowed: machines.map(\.id)) ?? []
        let severity = table.choice("min_severity", [("warning", "warning"), ("critical", "critical")], &problems, what: "severity") ?? "warning"
        var kind: ActionConfiguration.Kind? = nil
        switch type {
        case "command":
            let timeout = table.duration("timeout", &problems, mustBePositive: true) ?? .seconds(10)
            if let arguments = stringArray(table, "command", allowed: nil) {
                if arguments.isEmpty || arguments[0].isEmpty {
                    problems.add(table.keyPath("command"), "must name a program (expected [\"/path/to/program\", \"argument\", …]; it runs without a shell)")
                } else {
                    kind = .command(arguments: arguments, timeout: timeout)
                }
            } else if !table.contains("command") {
                problems.add(table.keyPath("command"), "missing key \"command\" (expected [\"/path/to/program\", \"argument\", …])")
            }
        case "modbus_write":
            let bus = table.name("bus", &problems, what: "a bus name")
            if let bus, buses[bus] == nil {
                problems.add(table.keyPath("bus"), "no [[bus]] named \"\(bus)\" (buses: \(buses.keys.sorted().joined(separator: ", ")))")
            }
            let unit = table.integer("unit_id", in: 0...247, &problems, what: "a unit id") ?? 1
            let registerKind = table.choice("kind", [("coil", RegisterKind.coil), ("holding", RegisterKind.holding)], &problems, what: "writable register kind") ?? .coil
            let address = table.integer("address", in: 0...65535, &problems, what: "a register address")
            if !table.contains("address") { problems.add(table.keyPath("address"), "missing key \"address\" (the coil or register to write)") }
            let maxValue = registerKind == .coil ? 1 : 65535
            let on = table.integer("value_on", in: 0...maxValue, &problems, what: "a value") ?? 1
            let off = table.integer("value_off", in: 0...maxValue, &problems, what: "a value") ?? 0
            if let bus, let address, buses[bus] != nil {
                kind = .modbusWrite(bus: bus, unitID: unit, kind: registerKind, address: address, onValue: on, offValue: off)
            }
        default:
            break
        }
        guard let kind else { return nil }
        var action = ActionConfiguration(kind: kind, events: events)
        action.machines = machineIDs
        action.minimumSeverity = severity
        return action
    }

    /// An array of strings, each checked against `allowed` when given.
    private mutating func stringArray(_ table: TableReader, _ key: String, allowed: [String]?) -> [String]? {
        guard let value = table.table[key] else { return nil }
        guard let array = value.array else {
            problems.add(table.keyPath(key), "expected an array of strings such as [\"a\", \"b\"]")
            return nil
        }
        var out: [String] = []
        for index in 0..<array.count {
            guard let text = array[index].string else {
                problems.add("\(table.keyPath(key))[\(index + 1)]", "expected a string")
                return nil
            }
            if let allowed, !allowed.contains(text) {
                problems.add("\(table.keyPath(key))[\(index + 1)]", "unknown value \"\(text)\" (expected one of \(allowed.joined(separator: ", ")))")
                return nil
            }
            out.append(text)
        }
        return out
    }

    private mutating func decodeAgent(_ table: TableReader) -> AgentSettings {
        table.rejectUnknownKeys(known: Self.agentKeys, tableName: "[agent]", elsewhere: Self.keyHomes, into: &problems)
        var agent = AgentSettings()
        if let path = table.name("data_dir", &problems, what: "a directory path") { agent.dataDirectory = resolve(path) }
        if let path = table.name("alert_log", &problems, what: "a file path") { agent.alertLog = resolve(path) }
        if let path = table.name("summary_dir", &problems, what: "a directory path") { agent.summaryDirectory = resolve(path) }
        if let interval = table.duration("summary_interval", &problems, mustBePositive: true) { agent.summaryInterval = interval }
        if let age = table.duration("retention_age", &problems, mustBePositive: true) { agent.retentionAge = age }
        if let size = table.byteCount("retention_size", &problems) { agent.retentionBytes = size }
        if let age = table.duration("alert_retention_age", &problems, mustBePositive: true) { agent.alertRetentionAge = age }
        if let n = table.integer("alert_retention_count", in: 1...10_000_000, &problems, what: "a number of alerts") {
            agent.alertRetentionCount = n
        }
        let levels = AgentSettings.logLevels.map { ($0, $0) }
        if let level = table.choice("log_level", levels, &problems, what: "log level") { agent.logLevel = level }
        return agent
    }

    private mutating func decodeBus(_ table: TableReader) -> BusConfiguration? {
        table.rejectUnknownKeys(known: Self.busKeys, tableName: "[[bus]]", elsewhere: Self.keyHomes, into: &problems)
        let name = table.name("name", &problems, what: "a bus name")
        if !table.contains("name") { problems.add(table.keyPath("name"), "missing key \"name\" (every [[bus]] needs a name that sensors refer to)") }
        if let name { checkIdentifier(name, at: table.keyPath("name"), what: "bus name") }
        let transport = table.choice("type", [("tcp", "tcp"), ("rtu", "rtu")], &problems, what: "bus type")
        if !table.contains("type") { problems.add(table.keyPath("type"), "missing key \"type\" (expected \"tcp\" or \"rtu\")") }

        let host = table.name("host", &problems, what: "a host name or IP address")
        if let host, host.contains(where: { $0 == " " || $0 == "\t" || $0 == "/" }) {
            problems.add(table.keyPath("host"), "\"\(host)\" is not a host name or IP address (no spaces, slashes or URLs; the port goes in \"port\")")
        }
        let port = table.integer("port", in: 1...65535, &problems, what: "a TCP port")
        let device = table.name("device", &problems, what: "a serial device path such as \"/dev/ttyUSB0\"")
        let baud = table.integer("baud", in: 1...4_000_000, &problems, what: "a baud rate")
        if let baud, !Transport.supportedBaudRates.contains(baud) {
            problems.add(table.keyPath("baud"), "\(baud) is not a baud rate the serial driver supports (expected one of \(Transport.supportedBaudRates.map(String.init).joined(separator: ", ")))")
        }
        let parity = table.choice("parity", Parity.allCases.map { ($0.rawValue, $0) }, &problems, what: "parity")
        let dataBits = table.integer("data_bits", in: 5...8, &problems, what: "data bits")
        let stopBits = table.integer("stop_bits", in: 1...2, &problems, what: "stop bits")

        var bus = BusConfiguration(name: name ?? "", transport: .tcp(host: "", port: 0))
        switch transport {
        case "tcp":
            for key in Self.rtuOnlyKeys where table.contains(key) {
                problems.add(table.keyPath(key), "\"\(key)\" applies to rtu buses only (this bus has type = \"tcp\")")
            }
            if !table.contains("host") { problems.add(table.keyPath("host"), "missing key \"host\" (a tcp bus needs the host name or IP address of the device or gateway)") }
            bus.transport = .tcp(host: host ?? "", port: port ?? Transport.defaultPort)
        case "rtu":
            for key in Self.tcpOnlyKeys where table.contains(key) {
                problems.add(table.keyPath(key), "\"\(key)\" applies to tcp buses only (this bus has type = \"rtu\")")
            }
            if !table.contains("device") { problems.add(table.keyPath("device"), "missing key \"device\" (an rtu bus needs its serial device, such as \"/dev/ttyUSB0\")") }
            bus.transport = .rtu(device: device ?? "", baud: baud ?? Transport.defaultBaud, parity: parity ?? Transport.defaultParity,
                                 dataBits: dataBits ?? Transport.defaultDataBits, stopBits: stopBits ?? Transport.defaultStopBits)
        default:
            break
        }
        if let timeout = table.duration("response_timeout", &problems, mustBePositive: true) { bus.responseTimeout = timeout }
        if let pause = table.duration("pause_between_requests", &problems, mustBePositive: false) { bus.pauseBetweenRequests = pause }
        if let count = table.integer("max_registers_per_read", in: 1...125, &problems, what: "registers per read") { bus.maxRegistersPerRead = count }
        if let count = table.integer("max_bits_per_read", in: 1...2000, &problems, what: "bits per read") { bus.maxBitsPerRead = count }
        if let gap = table.integer("max_gap", in: 0...124, &problems, what: "a gap in registers") { bus.maxGap = gap }
        if let backoff = table.duration("max_backoff", &problems, mustBePositive: true) { bus.maxBackoff = backoff }
        // A bus with a bad type is still returned so that its sensors are not also reported
        // as naming an undefined bus; any problem fails the whole load anyway.
        return name == nil ? nil : bus
    }

    private mutating func decodeMachine(_ table: TableReader, buses: [String: BusConfiguration]) -> MachineConfiguration? {
        table.rejectUnknownKeys(known: Self.machineKeys, tableName: "[[machine]]", elsewhere: Self.keyHomes, into: &problems)
        let id = table.name("id", &problems, what: "a machine id")
        if !table.contains("id") { problems.add(table.keyPath("id"), "missing key \"id\" (every [[machine]] needs a unique id such as \"pump-1\")") }
        if let id { checkIdentifier(id, at: table.keyPath("id"), what: "machine id") }
        var machine = MachineConfiguration(id: id ?? "", sensors: [])
        if let text = table.string("description", &problems) { machine.description = text }
        if let interval = table.duration("poll_interval", &problems, mustBePositive: true) { machine.pollInterval = interval }
        if let length = table.integer("window_length", in: 2...100_000, &problems, what: "time steps per window") { machine.windowLength = length }
        if let hop = table.integer("hop", in: 1...100_000, &problems, what: "time steps between windows") {
            if hop > machine.windowLength {
                problems.add(table.keyPath("hop"), "hop \(hop) is longer than window_length \(machine.windowLength) (readings between windows would never be scored; expected 1…\(machine.windowLength))")
            } else {
                machine.hop = hop
            }
        }
        let sensorTables = table.tables("sensor", &problems, header: "[[machine.sensor]]")
        if sensorTables.isEmpty && !table.contains("sensor") {
            problems.add(table.keyPath("sensor"), "machine has no sensors (add at least one [[machine.sensor]] after this [[machine]])")
        }
        var names: [String: String] = [:]
        for sensorTable in sensorTables {
            if let name = sensorTable.table["name"]?.string, !name.isEmpty {
                if let first = names[name] {
                    problems.add(sensorTable.keyPath("name"), "duplicate sensor name \"\(name)\" (already used by \(first)); sensor names must be unique within a machine")
                } else {
                    names[name] = sensorTable.path + lineSuffix(sensorTable.path)
                }
            }
            if let sensor = decodeSensor(sensorTable, buses: buses) { machine.sensors.append(sensor) }
        }
        if let settle = table.duration("settle_after_start", &problems, mustBePositive: false) { machine.settleAfterStart = settle }
        if let score = table.choice("alert_score", AlertScore.allCases.map { ($0.rawValue, $0) }, &problems, what: "alert score") {
            machine.alertScore = score
        }
        if let text = table.string("kind", &problems, what: "a machine kind") {
            if let kind = LoadPriorKind(rawValue: text) {
                machine.kind = kind
            } else {
                let kinds = LoadPriorKind.allCases.map(\.rawValue)
                var message = "unknown machine kind \"\(text)\" (expected one of \(kinds.joined(separator: ", ")))"
                if RegisterKind(rawValue: text) != nil {
                    message += "; a register kind such as \"\(text)\" belongs in a [[machine.sensor]]"
                } else if let suggestion = closest(to: text, among: kinds) {
                    message += "; did you mean \"\(suggestion)\"?"
                }
                problems.add(table.keyPath("kind"), message)
            }
        }
        checkUniqueRoles(of: machine.sensors, in: sensorTables)
        if let signal = table.name("run_signal", &problems, what: "a sensor name") {
            if names[signal] == nil {
                let known = names.keys.sorted()
                var message = "run_signal \"\(signal)\" is not a sensor of this machine"
                if let suggestion = closest(to: signal, among: known) { message += " (did you mean \"\(suggestion)\"?)" }
                problems.add(table.keyPath("run_signal"), message)
            } else {
                machine.runSignal = signal
            }
        } else if table.contains("settle_after_start") {
            problems.add(table.keyPath("settle_after_start"), "settle_after_start needs run_signal (the sensor that says when the machine starts)")
        }
        if let grace = table.duration("stop_grace", &problems, mustBePositive: false) {
            if table.contains("run_signal") {
                machine.stopGrace = grace
            } else {
                problems.add(table.keyPath("stop_grace"), "stop_grace needs run_signal (the sensor that says when the machine stops)")
            }
        }
        if let threshold = table.number("run_threshold", &problems, what: "the run signal's reading from which the machine runs, in its unit") {
            if !table.contains("run_signal") {
                problems.add(table.keyPath("run_threshold"), "run_threshold needs run_signal (the sensor whose reading it is compared with)")
            } else if let signal = machine.runSignal, machine.sensors.first(where: { $0.name == signal })?.type == .bool {
                problems.add(table.keyPath("run_threshold"), "run_threshold applies to a measured run signal (a motor current or speed); \(signal) is a bool, on while the machine runs: leave run_threshold out")
            } else {
                machine.runThreshold = threshold
            }
        }
        return id == nil ? nil : machine
    }

    private mutating func decodeSensor(_ table: TableReader, buses: [String: BusConfiguration]) -> SensorConfiguration? {
        table.rejectUnknownKeys(known: Self.sensorKeys, tableName: "[[machine.sensor]]", elsewhere: Self.keyHomes, into: &problems)
        var valid = true
        let name = table.name("name", &problems, what: "a sensor name")
        if !table.contains("name") { problems.add(table.keyPath("name"), "missing key \"name\" (every sensor needs a name, unique within its machine)") }
        if let name { checkIdentifier(name, at: table.keyPath("name"), what: "sensor name") }

        let busName = table.name("bus", &problems, what: "a bus name")
        var bus: BusConfiguration? = nil
        if let busName {
            bus = buses[busName]
            if bus == nil {
                let known = buses.keys.sorted()
                var message = "bus \"\(busName)\" is not defined"
                if let suggestion = closest(to: busName, among: known) {
                    message += " (did you mean \"\(suggestion)\"?)"
                } else {
                    message += known.isEmpty ? " (no [[bus]] is defined; add one)" : " (defined buses: \(known.joined(separator: ", ")))"
                }
                problems.add(table.keyPath("bus"), message)
            }
        } else if !table.contains("bus") {
            problems.add(table.keyPath("bus"), "missing key \"bus\" (the name of the [[bus]] this sensor is read on)")
        }

        let address = table.integer("address", in: 0...65535, &problems, what: "a register address")
        if !table.contains("address") { problems.add(table.keyPath("address"), "missing key \"address\" (the 0-based register or bit address, 0…65535)") }
        var sensor = SensorConfiguration(name: name ?? "", bus: busName ?? "", address: address ?? 0)

        if let unitID = table.integer("unit_id", in: Int.min...Int.max, &problems, what: "a Modbus unit id") {
            let isTCP: Bool
            if case .tcp = bus?.transport { isTCP = true } else { isTCP = false }
            if case .rtu = bus?.transport, unitID == 0 {
                problems.add(table.keyPath("unit_id"), "unit id 0 is the broadcast address on a serial line; devices do not answer reads to it (expected 1…247)")
                valid = false
            } else if !(0...247).contains(unitID) && !(isTCP && unitID == 255) {
                problems.add(table.keyPath("unit_id"), "unit id \(unitID) is out of range (expected 0…247, or 255 on a tcp bus)")
                valid = false
            }
            sensor.unitID = unitID
        }
        let kinds = RegisterKind.allCases.map { ($0.rawValue, $0) }
        if let kind = table.choice("kind", kinds, &problems, what: "register kind") { sensor.kind = kind }
        let types = DataType.allCases.map { ($0.rawValue, $0) }
        let type = table.choice("type", types, &problems, what: "type")
        let orders = WordOrder.allCases.map { ($0.rawValue, $0) }
        if let order = table.choice("order", orders, &problems, what: "word order") { sensor.order = order }
        let bit = table.integer("bit", in: 0...15, &problems, what: "a bit index")

        if sensor.kind.isBit {
            if let type, type != .bool {
                problems.add(table.keyPath("type"), "a \(sensor.kind.rawValue) is a single bit, so type must be \"bool\" (found \"\(type.rawValue)\")")
                valid = false
            }
            if table.contains("order") { problems.add(table.keyPath("order"), "order applies to register values only (a \(sensor.kind.rawValue) is a single bit)") }
            if table.contains("bit") { problems.add(table.keyPath("bit"), "bit applies to holding and input registers only (a \(sensor.kind.rawValue) is already a single bit)") }
            sensor.type = .bool
        } else {
            sensor.type = type ?? (table.contains("bit") ? .bool : sensor.type)
            if let bit {
                if sensor.type != .bool {
                    problems.add(table.keyPath("bit"), "bit selects one bit of a register and needs type = \"bool\" (found \"\(sensor.type.rawValue)\")")
                    valid = false
                }
                sensor.bit = bit
            }
        }
        if let address, address + sensor.span - 1 > 65535 {
            problems.add(table.keyPath("address"), "\(sensor.type.rawValue) at address \(address) needs \(sensor.span) registers (\(address)…\(address + sensor.span - 1)), past the last register 65535 (expected an address of at most \(65536 - sensor.span))")
            valid = false
        }

        if let bus, !sensor.kind.isBit, sensor.span > bus.maxRegistersPerRead {
            problems.add(table.keyPath("type"), "\(sensor.type.rawValue) needs \(sensor.span) registers in one request, but bus \"\(bus.name)\" reads at most \(bus.maxRegistersPerRead) (raise its max_registers_per_read to \(sensor.span) or more)")
            valid = false
        }
        if let scale = table.number("scale", &problems, what: "a scale factor") {
            if scale == 0 { problems.add(table.keyPath("scale"), "scale must not be 0 (every reading would be 0; expected a factor such as 0.1)") }
            sensor.scale = scale
        }
        if let offset = table.number("offset", &problems, what: "an offset") { sensor.offset = offset }
        if let unit = table.table["unit"] {
            if let text = unit.string {
                sensor.unit = text
            } else {
                problems.add(table.keyPath("unit"), "expected the engineering unit as a string such as \"bar\" (the Modbus unit id is \"unit_id\")")
            }
        }
        sensor.minimum = table.number("min", &problems, what: "the lowest physically possible value")
        sensor.maximum = table.number("max", &problems, what: "the highest physically possible value")
        if let low = sensor.minimum, let high = sensor.maximum, low >= high {
            problems.add(table.keyPath("max"), "max \(high) must be greater than min \(low)")
        }
        if let tolerance = table.number("tolerance", &problems, what: "a tolerated change of the sensor's level, in its unit") {
            if tolerance <= 0 {
                problems.add(table.keyPath("tolerance"), "tolerance must be greater than 0 (found \(tolerance)); leave it out to let calibration alone judge the sensor's normal spread")
            } else if sensor.type == .bool {
                problems.add(table.keyPath("tolerance"), "tolerance applies to measured values; a bool sensor is either on or off")
            } else {
                sensor.tolerance = tolerance
            }
        }
        if let role = table.name("role", &problems, what: "a sensor role of the load prior") {
            if let known = SensorConfiguration.knownRole(matching: role) {
                sensor.role = known
            } else {
                var message = "unknown role \"\(role)\" (the load prior knows: \(SensorConfiguration.knownRoles.joined(separator: ", ")))"
                if let suggestion = closest(to: role, among: SensorConfiguration.knownRoles) { message += "; did you mean \"\(suggestion)\"?" }
                problems.add(table.keyPath("role"), message)
            }
        }
        return name == nil || busName == nil || address == nil || !valid ? nil : sensor
    }

    /// Two sensors of one machine cannot play the same role (the prior would not know which to
    /// follow): neither by `role` nor by a name that is a role while another sensor's `role` says it too.
    /// Roles are compared without regard to case, as the load prior compares them (`Flow` plays `flow`).
    private mutating func checkUniqueRoles(of sensors: [SensorConfiguration], in tables: [TableReader]) {
        var players: [String: String] = [:]
        for sensor in sensors where sensor.role != nil || SensorConfiguration.knownRole(matching: sensor.name) != nil {
            let role = sensor.roleName
            guard let first = players[role] else { players[role] = sensor.name; continue }
            let table = tables.first { $0.table["name"]?.string == sensor.name }
            let path = table.map { $0.keyPath(sensor.role == nil ? "name" : "role") } ?? "sensor"
            problems.add(path, "sensor \"\(sensor.name)\" plays role \"\(role)\", which sensor \"\(first)\" already plays (each role at most once per machine; give one of them another role or none)")
        }
    }

    // MARK: Helpers

    private mutating func checkUniqueBuses(_ buses: [BusConfiguration], _ tables: [TableReader]) -> [String: BusConfiguration] {
        var byName: [String: BusConfiguration] = [:]
        var firstPath: [String: String] = [:]
        for table in tables {
            guard let name = table.table["name"]?.string, !name.isEmpty else { continue }
            if let first = firstPath[name] {
                problems.add(table.keyPath("name"), "duplicate bus name \"\(name)\" (already used by \(first)); bus names must be unique")
            } else {
                firstPath[name] = table.path + lineSuffix(table.path)
            }
        }
        for bus in buses where byName[bus.name] == nil { byName[bus.name] = bus }
        return byName
    }

    /// ` on line N` for a key path, when its line is known.
    private func lineSuffix(_ keyPath: String) -> String {
        problems.sourceMap.line(of: keyPath).map { " on line \($0)" } ?? ""
    }

    /// Ids and names end up in file names, CSV headers and command lines: keep them plain.
    private mutating func checkIdentifier(_ text: String, at keyPath: String, what: String) {
        let allowed = text.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
                || c == UInt8(ascii: ".")
        }
        if !allowed || text.hasPrefix(".") || text.hasPrefix("-") || text.utf8.count > 64 {
            problems.add(keyPath, "\(what) \"\(text)\" may contain only letters, digits, '_', '-' and '.', must not start with '.' or '-', and is at most 64 characters (it appears in file names and on the command line)")
        }
    }

    private func resolve(_ path: String) -> String {
        guard !path.hasPrefix("/"), let baseDirectory else { return path }
        return baseDirectory == "/" ? "/" + path : baseDirectory + "/" + path
    }
}

