import Configuration
import EdgeCore
import Modbus

/// Writes a coil or holding register when an alert is raised (`onValue`) and when it clears
/// (`offValue`), e.g. to switch a stack light. Runs on the action thread, over a connection of
/// its own, so the poller's schedule is untouched.
///
/// - Important: RTU buses are refused at start: a second opening of the serial port would
///   fight the poller for the line.
struct ModbusWriteAction: Sendable {
    let bus: BusConfiguration
    let unitID: Int
    let kind: RegisterKind
    let address: Int
    let onValue: Int
    let offValue: Int

    /// Writes the value for `event` (raised/updated → on, cleared → off).
    func run(for event: AlertEvent) throws(ModbusError) {
        let value = event.change == .cleared ? offValue : onValue
        let client = try ModbusClient(transport: bus.transport, responseTimeout: bus.responseTimeout)
        try client.connect()
        defer { client.close() }
        switch kind {
        case .coil: try client.writeCoil(unit: unitID, address: address, value: value != 0)
        default: try client.writeRegister(unit: unitID, address: address, value: UInt16(truncatingIfNeeded: value))
        }
    }
}

/// An `[[action]]` from agent.conf, ready to run: its filter and what it does.
struct ConfiguredAction: Sendable {
    enum Work: Sendable {
        case command(CommandAction)
        case modbusWrite(ModbusWriteAction)
    }

    let work: Work
    let events: Set<AlertEvent.Change>
    let machines: Set<String>
    let minimumSeverity: AlertSeverity

    /// Builds the action; nil with a reason when it cannot run here.
    static func make(_ configuration: ActionConfiguration, buses: [BusConfiguration]) -> (ConfiguredAction?, String?) {
        let events = Set(configuration.events.compactMap(AlertEvent.Change.init(rawValue:)))
        let severity = AlertSeverity(rawValue: configuration.minimumSeverity) ?? .warning
        switch configuration.kind {
        case let .command(arguments, timeout):
            let action = CommandAction(arguments: arguments, timeout: timeout, events: events)
            return (ConfiguredAction(work: .command(action), events: events, machines: Set(configuration.machines), minimumSeverity: severity), nil)
        case let .modbusWrite(busName, unitID, kind, address, on, off):
            guard let bus = buses.first(where: { $0.name == busName }) else { return (nil, "no bus \(busName)") }
            if case .rtu = bus.transport {
                return (nil, "modbus_write on the RTU bus \(busName) is not supported (it would need the poller's serial line); use a TCP bus")
            }
            let action = ModbusWriteAction(bus: bus, unitID: unitID, kind: kind, address: address, onValue: on, offValue: off)
            return (ConfiguredAction(work: .modbusWrite(action), events: events, machines: Set(configuration.machines), minimumSeverity: severity), nil)
        }
    }

    /// Whether `event` should trigger this action.
    func applies(to event: AlertEvent) -> Bool {
        events.contains(event.change)
            && (machines.isEmpty || machines.contains(event.alert.machine))
            && event.alert.severity >= minimumSeverity
    }

    /// Runs it; returns a description of a failure, nil on success.
    func run(for event: AlertEvent) -> String? {
        switch work {
        case .command(let action):
            let outcome = action.run(for: event)
            return outcome == .exited(0) ? nil : "command \(action.arguments.first ?? ""): \(outcome)"
        case .modbusWrite(let action):
            do {
                try action.run(for: event)
                return nil
            } catch {
                return "modbus write to unit \(action.unitID) address \(action.address) on \(action.bus.name): \(error)"
            }
        }
    }
}
