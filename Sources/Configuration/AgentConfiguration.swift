import EdgeCore

/// The whole of agent.conf, parsed and validated.
///
/// Produced by `ConfigurationLoader`; every value here has passed validation, so the layers
/// below can use it without re-checking.
public struct AgentConfiguration: Sendable, Equatable {
    /// Where the configuration was read from (for messages).
    public var sourcePath: String
    /// The `[agent]` table.
    public var agent: AgentSettings
    /// The `[[bus]]` tables, in file order.
    public var buses: [BusConfiguration]
    /// The `[[machine]]` tables, in file order.
    public var machines: [MachineConfiguration]
    /// The `[alerts]` table: when anomaly alerts are raised and cleared.
    public var alerts: AlertSettings
    /// The `[[action]]` tables: local actions on alert events (none by default).
    public var actions: [ActionConfiguration]

    public init(sourcePath: String, agent: AgentSettings, buses: [BusConfiguration], machines: [MachineConfiguration],
                alerts: AlertSettings = AlertSettings(), actions: [ActionConfiguration] = []) {
        self.sourcePath = sourcePath
        self.agent = agent
        self.buses = buses
        self.machines = machines
        self.alerts = alerts
        self.actions = actions
    }

    /// The bus with this name, if any.
    public func bus(named name: String) -> BusConfiguration? { buses.first { $0.name == name } }
    /// The machine with this id, if any.
    public func machine(id: String) -> MachineConfiguration? { machines.first { $0.id == id } }
}

/// The `[agent]` table: where files go and how long data is kept.
public struct AgentSettings: Sendable, Equatable {
    /// Directory for the SQLite buffer and model state.
    public var dataDirectory: String = "/var/lib/edge-agent"
    /// The alert log (JSON Lines).
    public var alertLog: String = "/var/log/edge-agent/alerts.jsonl"
    /// Directory for periodic summary files.
    public var summaryDirectory: String = "/var/lib/edge-agent/summaries"
    /// How often summary files are written.
    public var summaryInterval: Duration = .seconds(3600)
    /// Readings older than this are deleted.
    public var retentionAge: Duration = .seconds(30 * 86_400)
    /// The buffer is kept below this many bytes on disk.
    public var retentionBytes: Int64 = 1 << 30
    /// Cleared alerts that ended longer ago than this are deleted from the buffer (open and
    /// acknowledged ones never are).
    public var alertRetentionAge: Duration = .seconds(365 * 86_400)
    /// The buffer keeps at most this many alerts: beyond it the oldest cleared ones are deleted.
    public var alertRetentionCount: Int = 20_000
    /// Default log level (`trace` … `critical`), overridden by `--log-level`.
    public var logLevel: String = "info"

    /// The accepted `log_level` values, least to most severe (swift-log's level names).
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public init() {}
}

/// How a bus reaches its devices.
public enum Transport: Sendable, Equatable {
    /// Modbus TCP to a host name, IPv4 or IPv6 address.
    case tcp(host: String, port: Int)
    /// Modbus RTU on a serial device.
    case rtu(device: String, baud: Int, parity: Parity, dataBits: Int, stopBits: Int)

    /// The Modbus TCP port when `port` is not given.
    public static let defaultPort = 502
    /// The baud rate when `baud` is not given (the Modbus serial-line specification's default).
    public static let defaultBaud = 19200
    /// The parity when `parity` is not given (even, as the Modbus serial-line specification requires by default).
    public static let defaultParity = Parity.even
    /// The data bits when `data_bits` is not given.
    public static let defaultDataBits = 8
    /// The stop bits when `stop_bits` is not given.
    public static let defaultStopBits = 1
    /// Baud rates the serial driver (termios) and libmodbus support.
    public static let supportedBaudRates = [
        110, 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200, 230_400, 460_800,
        500_000, 576_000, 921_600, 1_000_000, 1_152_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000,
        3_500_000, 4_000_000,
    ]

    /// `tcp` or `rtu`, as written in agent.conf.
    public var name: String {
        switch self {
        case .tcp: return "tcp"
        case .rtu: return "rtu"
        }
    }
}

/// Serial parity.
public enum Parity: String, Sendable, Equatable, CaseIterable {
    case none = "N", even = "E", odd = "O"
}

/// One `[[bus]]`: a TCP connection or serial line shared by the units on it, polled by one thread.
public struct BusConfiguration: Sendable, Equatable {
    /// Unique name that sensors refer to.
    public var name: String
    public var transport: Transport
    /// How long to wait for a response.
    public var responseTimeout: Duration = .milliseconds(500)
    /// Pause between two requests on this bus (RTU devices need one).
    public var pauseBetweenRequests: Duration = .zero
    /// Largest register read in one request (1…125).
    public var maxRegistersPerRead: Int = 125
    /// Largest bit read in one request (1…2000).
    public var maxBitsPerRead: Int = 2000
    /// Sensors whose registers are at most this many apart are merged into one read.
    public var maxGap: Int = 10
    /// Reconnect/backoff cap for a unit or connection that keeps failing.
    public var maxBackoff: Duration = .seconds(60)

    public init(name: String, transport: Transport) {
        self.name = name
        self.transport = transport
    }
}

/// One `[[machine]]`: a pump, motor or compressor, scored by its own model.
public struct MachineConfiguration: Sendable, Equatable {
    /// Unique id used on the command line (`calibrate --machine ID`), in files and alerts.
    public var id: String
    /// Free text for people.
    public var description: String = ""
    /// How often its sensors are polled.
    public var pollInterval: Duration = .seconds(1)
    /// Time steps per scored window.
    public var windowLength: Int = 32
    /// Time steps between two scored windows.
    public var hop: Int = 1
    /// Name of one of its sensors that says whether the machine runs (at or above
    /// `runningLevel`: running). While it is stopped the machine is not scored and calibration
    /// leaves those rows out; nil: the machine is always scored.
    public var runSignal: String? = nil
    /// The run signal's reading, in its sensor's unit, from which the machine counts as running
    /// (`run_threshold`: e.g. a motor current well above a stopped motor's noise and well below
    /// its unloaded current); nil: a running contact (true, or ≥ `RunState.contactLevel`).
    public var runThreshold: Double? = nil
    /// After a start (run signal back on), how long the machine is left to settle (warm up,
    /// reach its setpoint) before scoring resumes. Calibration leaves those rows out too.
    public var settleAfterStart: Duration = .zero
    /// How long before the run signal shows a stop the machine may already be stopping
    /// (`stop_grace`); rows in that time are not judged, so every row is judged that much
    /// later. nil: `RunState.measuredSignalStopGraceMilliseconds` with `runThreshold` (a motor
    /// current decays for about a second), 0 for a running contact.
    public var stopGrace: Duration? = nil
    /// Which score raises its anomaly alerts.
    public var alertScore: AlertScore = .deviation
    /// What kind of machine it is, for the load prior (`kind`); nil: the prior picks the kind
    /// whose roles match the most sensors.
    public var kind: LoadPriorKind? = nil
    /// The sensors, in file order (their index is the column in a window).
    public var sensors: [SensorConfiguration]

    public init(id: String, sensors: [SensorConfiguration]) {
        self.id = id
        self.sensors = sensors
    }

    /// The run signal's level from which the machine runs: `runThreshold`, or
    /// `RunState.contactLevel` for a running contact (true reads 1).
    public var runningLevel: Double { runThreshold ?? RunState.contactLevel }

    /// `stopGrace` as configured, or its default, in milliseconds (0 without a run signal).
    public var stopGraceMilliseconds: Int64 {
        guard runSignal != nil else { return 0 }
        return stopGrace?.wholeMilliseconds ?? (runThreshold != nil ? RunState.measuredSignalStopGraceMilliseconds : 0)
    }

    /// How this machine's run signal decides which rows are scored, in milliseconds (the
    /// agent's time): `runningLevel`, `settleAfterStart`, a missing reading held for
    /// `RunState.heldPolls` poll intervals, and `stopGraceMilliseconds`; nil without a run signal.
    public func runState() -> RunState? {
        guard runSignal != nil else { return nil }
        return RunState(runningLevel: runningLevel, settleTime: settleAfterStart.wholeMilliseconds,
                        holdTime: Int64(RunState.heldPolls) * pollInterval.wholeMilliseconds,
                        stopGrace: stopGraceMilliseconds)
    }

    /// `settleAfterStart` in poll intervals, rounded up: the rows a recorded table of this
    /// machine leaves out after each start (`calibrate`).
    public var settleRows: Int {
        let interval = max(1, pollInterval.wholeMilliseconds)
        return Int((settleAfterStart.wholeMilliseconds + interval - 1) / interval)
    }
}

/// The kinds of machine the shipped load prior knows (`kind` of a `[[machine]]`; named apart from
/// the simulator's `MachineKind`).
public enum LoadPriorKind: String, Sendable, Equatable, CaseIterable {
    /// A centrifugal pump on a drive: flow, pressures, current follow its speed.
    case pump
    /// A motor on a drive (a fan motor): current, torque, vibration follow its speed.
    case motor
    /// A screw compressor switching between loaded and unloaded: temperatures follow its duty cycle.
    case compressor
}

extension SensorConfiguration {
    /// The sensor roles calibration knows: the shipped load prior's (`models/load-prior.txt`),
    /// the drivers (`speed`, a compressor's `loaded`) and the sensors that follow them, and the
    /// sensors judged over another (`discharge_temperature` over `oil_temperature`). A test keeps
    /// this list equal to those (Configuration does not import Detection).
    public static let knownRoles = [
        "speed", "loaded", "flow", "inlet_pressure", "outlet_pressure", "suction_pressure", "motor_current",
        "supply_voltage", "torque", "shaft_power", "electrical_power", "bearing_temperature", "winding_temperature",
        "discharge_temperature", "oil_temperature", "ambient_temperature", "vibration_x", "vibration_y",
    ]

    /// The known role `text` names, in any case (`"Flow"` → `"flow"`), or nil. Roles are
    /// matched without regard to case everywhere: in `role`, in a sensor's own name and by the
    /// load prior, which compares names case-insensitively.
    public static func knownRole(matching text: String) -> String? {
        let lower = text.lowercased()
        return knownRoles.first { $0 == lower }
    }

    /// The name the load prior matches this sensor by: its `role`, else the role its name is
    /// (in any case: a sensor named `Speed` plays `speed`), else its name.
    public var roleName: String { role ?? SensorConfiguration.knownRole(matching: name) ?? name }
}

/// Which of a calibrated machine's two scores raises its anomaly alerts (`alert_score`).
public enum AlertScore: String, Sendable, Equatable, CaseIterable {
    /// The window-deviation score: each sensor's level off the machine's operating directions,
    /// in units of its normal spread. The default: on real pump data it decides best.
    case deviation
    /// The int8 network's score over its window, against the network's own threshold.
    case network
    /// Whichever is further past its own threshold (each score divided by its threshold;
    /// the alert threshold is then 1).
    case either
}

/// One `[[machine.sensor]]`: a value read from a register or bit.
public struct SensorConfiguration: Sendable, Equatable {
    /// Unique within its machine.
    public var name: String
    /// Name of the bus it is read on.
    public var bus: String
    /// Modbus unit (slave) id, 0…247.
    public var unitID: Int = 1
    public var kind: RegisterKind = .holding
    /// 0-based register or bit address.
    public var address: Int
    public var type: DataType = .uint16
    public var order: WordOrder = .ABCD
    /// For `bool` read from a 16-bit register: which bit (0 = least significant).
    public var bit: Int? = nil
    public var scale: Double = 1
    public var offset: Double = 0
    /// Engineering unit for people (`bar`, `A`, `°C`).
    public var unit: String = ""
    /// Physically possible range; values outside it are flagged, never scored.
    public var minimum: Double? = nil
    public var maximum: Double? = nil
    /// How far the sensor's level may move from its calibration level, in its unit, and still be
    /// normal (a dead band: a supply voltage wandering with the grid). Only the change beyond it
    /// counts as a deviation; nil: calibration alone judges the normal spread.
    public var tolerance: Double? = nil
    /// The load prior's sensor name this sensor plays (`role`, e.g. `flow`, `speed`), so that a
    /// plant's own names (`Pump1_Flow`) get the prior's compensation; nil: its name is matched
    /// as it is.
    public var role: String? = nil

    public init(name: String, bus: String, address: Int) {
        self.name = name
        self.bus = bus
        self.address = address
    }

    /// How many registers (or bits, for coil/discrete) this sensor occupies from `address`.
    public var span: Int {
        if kind.isBit { return 1 }
        return type.registerCount
    }

    /// The registers (or bits) this sensor reads: `address … address + span - 1`.
    public var addresses: ClosedRange<Int> { address...(address + span - 1) }
}

/// The `[alerts]` table: debouncing, hysteresis, cooldown and severity of anomaly alerts.
public struct AlertSettings: Sendable, Equatable {
    /// Raise when `raiseCount` of the last `raiseWindow` scored windows are above threshold.
    public var raiseCount: Int = 3
    public var raiseWindow: Int = 5
    /// Clear after `clearCount` consecutive windows below `clearRatio` × threshold.
    public var clearRatio: Double = 0.8
    public var clearCount: Int = 10
    /// No new alert for a machine this long after one cleared.
    public var cooldown: Duration = .seconds(60)
    /// Critical (instead of warning) when the score reaches `criticalRatio` × threshold.
    public var criticalRatio: Double = 2.0
    /// The alert log is rotated when it would grow past this size.
    public var alertLogMaxBytes: Int64 = 10 << 20
    /// Rotated alert logs kept (`alerts.jsonl.1` …).
    public var alertLogKeep: Int = 5

    public init() {}
}

/// One `[[action]]`: something done locally when an alert event happens.
public struct ActionConfiguration: Sendable, Equatable {
    /// What the action does.
    public enum Kind: Sendable, Equatable {
        /// Run a program directly (never through a shell), alert fields in its environment.
        case command(arguments: [String], timeout: Duration)
        /// Write a coil or holding register (e.g. a stack light): `onValue` when an alert is
        /// raised, `offValue` when it clears.
        case modbusWrite(bus: String, unitID: Int, kind: RegisterKind, address: Int, onValue: Int, offValue: Int)
    }

    public var kind: Kind
    /// Which events trigger it: any of `raised`, `updated`, `cleared`.
    public var events: [String]
    /// Only alerts of these machines; empty for all.
    public var machines: [String] = []
    /// Only alerts at least this severe (`warning` or `critical`).
    public var minimumSeverity: String = "warning"

    public init(kind: Kind, events: [String]) {
        self.kind = kind
        self.events = events
    }
}
