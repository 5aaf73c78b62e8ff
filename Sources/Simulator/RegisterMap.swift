import Configuration
import EdgeCore

/// Where one channel of a served machine lives in its unit's Modbus tables, and how it is encoded.
///
/// The map deliberately mixes types and byte orders (float32 ABCD/CDAB/DCBA, scaled uint16 and
/// int16, scaled int32, status bits in a register and in discrete inputs) so that serving the
/// simulator exercises the acquisition code the way a real plant does.
public struct RegisterEntry: Sendable, Hashable {
    /// The channel's name (and the sensor's name in agent.conf).
    public var channel: String
    /// The table.
    public var kind: RegisterKind
    /// 0-based address.
    public var address: Int
    /// How the raw value is encoded.
    public var type: DataType
    /// Word/byte order of multi-register values.
    public var order: WordOrder
    /// Engineering value = raw × scale.
    public var scale: Double
    /// For a bool kept in a holding/input register: which bit.
    public var bit: Int?

    /// Creates an entry.
    public init(_ channel: String, _ kind: RegisterKind, _ address: Int, _ type: DataType,
                order: WordOrder = .ABCD, scale: Double = 1, bit: Int? = nil) {
        self.channel = channel
        self.kind = kind
        self.address = address
        self.type = type
        self.order = order
        self.scale = scale
        self.bit = bit
    }

    /// The raw number to encode for engineering value `value`: `value / scale`, rounded and
    /// clamped to the type's range for integer types; NaN stays NaN for floats and becomes 0 otherwise.
    public func rawNumber(for value: Double) -> Double {
        if type == .float32 || type == .float64 { return value / scale }
        guard value.isFinite else { return 0 }
        let raw = (value / scale).rounded()
        switch type {
        case .bool: return raw != 0 ? 1 : 0
        case .int16: return min(max(raw, -32768), 32767)
        case .uint16: return min(max(raw, 0), 65535)
        case .int32: return min(max(raw, -2_147_483_648), 2_147_483_647)
        case .uint32: return min(max(raw, 0), 4_294_967_295)
        case .int64, .uint64: return raw
        case .float32, .float64: return raw
        }
    }
}

/// The Modbus register map of each machine kind, as served by `edge-agent simulate` and
/// described by the repository's agent.conf (unit id = machine's position in the fleet + 1).
public enum RegisterMap {
    /// The entries of a kind, one per standard channel.
    public static func entries(for kind: MachineKind) -> [RegisterEntry] {
        switch kind {
        case .pump:
            return [
                RegisterEntry("flow", .holding, 0, .float32, order: .ABCD),
                RegisterEntry("inlet_pressure", .holding, 2, .float32, order: .CDAB),
                RegisterEntry("outlet_pressure", .holding, 4, .float32, order: .CDAB),
                RegisterEntry("vibration_x", .holding, 6, .float32, order: .ABCD),
                RegisterEntry("vibration_y", .holding, 8, .float32, order: .DCBA),
                RegisterEntry("running", .holding, 10, .bool, bit: 0),
                RegisterEntry("speed", .holding, 12, .int32, order: .CDAB, scale: 0.1),
                RegisterEntry("motor_current", .input, 0, .uint16, scale: 0.01),
                RegisterEntry("supply_voltage", .input, 1, .uint16, scale: 0.1),
                RegisterEntry("bearing_temperature", .input, 2, .int16, scale: 0.01),
                RegisterEntry("winding_temperature", .input, 3, .int16, scale: 0.01),
            ]
        case .motor:
            return [
                RegisterEntry("speed", .holding, 0, .int32, order: .ABCD, scale: 0.1),
                RegisterEntry("winding_temperature", .holding, 2, .float32, order: .CDAB),
                RegisterEntry("bearing_temperature", .holding, 4, .float32, order: .CDAB),
                RegisterEntry("vibration_x", .holding, 6, .float32, order: .ABCD),
                RegisterEntry("vibration_y", .holding, 8, .float32, order: .ABCD),
                RegisterEntry("torque", .holding, 10, .int32, order: .CDAB, scale: 0.1),
                RegisterEntry("motor_current", .input, 0, .uint16, scale: 0.01),
                RegisterEntry("supply_voltage", .input, 1, .uint16, scale: 0.1),
                RegisterEntry("running", .discrete, 0, .bool),
            ]
        case .compressor:
            return [
                RegisterEntry("discharge_pressure", .holding, 0, .float32, order: .ABCD),
                RegisterEntry("receiver_pressure", .holding, 2, .float32, order: .ABCD),
                RegisterEntry("suction_pressure", .holding, 4, .float32, order: .CDAB),
                RegisterEntry("discharge_temperature", .holding, 6, .float32, order: .CDAB),
                RegisterEntry("vibration_x", .holding, 8, .float32, order: .ABCD),
                RegisterEntry("vibration_y", .holding, 10, .float32, order: .DCBA),
                RegisterEntry("motor_current", .input, 0, .uint16, scale: 0.1),
                RegisterEntry("oil_temperature", .input, 1, .int16, scale: 0.1),
                RegisterEntry("loaded", .discrete, 0, .bool),
            ]
        }
    }

    /// The sensors of `machine` as agent.conf describes them when served as unit `unitID` on `bus`.
    public static func sensors(of machine: SimulatedMachine, unitID: Int, bus: String) -> [SensorConfiguration] {
        entries(for: machine.kind).compactMap { entry in
            guard let channel = machine.channels.first(where: { $0.name == entry.channel }) else { return nil }
            var sensor = SensorConfiguration(name: entry.channel, bus: bus, address: entry.address)
            sensor.unitID = unitID
            sensor.kind = entry.kind
            sensor.type = entry.type
            sensor.order = entry.order
            sensor.bit = entry.bit
            sensor.scale = entry.scale
            sensor.unit = channel.unit
            if entry.type != .bool {
                sensor.minimum = channel.minimum
                sensor.maximum = channel.maximum
            }
            return sensor
        }
    }

    /// A table of what a fleet serves, for people: unit, machine, channel, table, address, type, order, scale, unit.
    public static func table(of fleet: Fleet) -> String {
        var rows: [[String]] = [["unit", "machine", "sensor", "table", "address", "type", "order", "scale", "unit"]]
        for (i, machine) in fleet.machines.enumerated() {
            for s in sensors(of: machine, unitID: i + 1, bus: "sim") {
                rows.append([
                    "\(s.unitID)", machine.id, s.name, s.kind.rawValue,
                    s.bit.map { "\(s.address) bit \($0)" } ?? "\(s.address)", s.type.rawValue,
                    s.type.registerCount > 1 ? s.order.rawValue : "-", s.scale == 1 ? "1" : "\(s.scale)", s.unit,
                ])
            }
        }
        var widths = Array(repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in cell + String(repeating: " ", count: widths[i] - cell.count) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }

    /// The `[[machine]]` tables of agent.conf that describe what `fleet` serves on bus `bus`;
    /// machines with a `running` channel get it as their run signal and `settleAfterStart`;
    /// machines without one (compressors) get their motor current, running from 10 % of rated.
    public static func agentConfiguration(of fleet: Fleet, bus: String, settleAfterStart: String = "2m") -> String {
        var out = ""
        for (i, machine) in fleet.machines.enumerated() {
            out += "[[machine]]\nid = \"\(machine.id)\"\ndescription = \"Simulated: \(machine.ratingSummary)\"\n"
            // The load prior's kind; each channel named like a role plays it (the same match as
            // by name, written out so that the file shows where a plant's own names get roles).
            if let kind = LoadPriorKind(rawValue: machine.kind.rawValue) { out += "kind = \"\(kind.rawValue)\"\n" }
            // Pumps and motors report whether they run: stops are not scored, and the first
            // minutes after a start (temperatures settling) neither.
            if machine.channels.contains(where: { $0.name == "running" }) {
                out += "run_signal = \"running\"\nsettle_after_start = \"\(settleAfterStart)\"\n"
            } else if machine.channels.contains(where: { $0.name == "motor_current" }),
                      let rated = machine.typicalMagnitude(ofChannel: "motor_current") {
                // Compressors have no running contact: their motor current says it. 10 % of the
                // rated current is far below the unloaded current (38 %) and far above a stopped
                // motor's noise (0.4 %).
                out += "run_signal = \"motor_current\"\nrun_threshold = \((0.1 * rated * 10).rounded() / 10)\n"
                out += "settle_after_start = \"\(settleAfterStart)\"\n"
            }
            for s in sensors(of: machine, unitID: i + 1, bus: bus) {
                out += "\n  [[machine.sensor]]\n  name = \"\(s.name)\"\n  bus = \"\(s.bus)\"\n  unit_id = \(s.unitID)\n"
                if SensorConfiguration.knownRoles.contains(s.name) { out += "  role = \"\(s.name)\"\n" }
                if s.kind != .holding { out += "  kind = \"\(s.kind.rawValue)\"\n" }
                out += "  address = \(s.address)\n  type = \"\(s.type.rawValue)\"\n"
                if s.type.registerCount > 1 { out += "  order = \"\(s.order.rawValue)\"\n" }
                if let bit = s.bit { out += "  bit = \(bit)\n" }
                if s.scale != 1 { out += "  scale = \(s.scale)\n" }
                if !s.unit.isEmpty { out += "  unit = \"\(s.unit)\"\n" }
                if let lo = s.minimum, let hi = s.maximum { out += "  min = \(lo)\n  max = \(hi)\n" }
                // The grid moves the supply voltage by a few percent: normal whatever calibration saw.
                if s.name == "supply_voltage", let magnitude = machine.typicalMagnitude(ofChannel: s.name) {
                    out += "  tolerance = \((0.6 * magnitude * 10).rounded() / 10)\n"
                }
            }
            out += "\n"
        }
        return out
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

/// Defaults of `edge-agent simulate` that agent.conf and the demo rely on.
public enum SimulatorDefaults {
    /// The Modbus TCP port the fleet is served on (agent.conf's `sim` bus).
    public static let port = 5020
    /// The loopback port of the control protocol (fault injection).
    public static let controlPort = 5021
    /// The seed of the served fleet.
    public static let seed: UInt64 = 1
}
