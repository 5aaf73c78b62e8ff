import EdgeCore
import Modbus
import ModbusServer

/// A fleet served over Modbus: one unit id per machine (machine `i` is unit `i + 1`), each with
/// the register map of its kind (`RegisterMap`).
///
/// A sensor that dropped out reads NaN from float registers and the type's extreme value
/// (int16 −32768, uint16 65535, int32 −2³¹) from integer ones, outside every sensor's range.
public final class FleetServer: Sendable {
    /// The Modbus server (TCP on loopback, or RTU on a serial device).
    public let server: ModbusServer
    private let plan: [[(entry: RegisterEntry, channel: Int)]]

    /// Starts serving `fleet` at `endpoint`; registers read 0 until the first `publish`.
    /// - Throws: `SimulatorError` when the endpoint cannot be bound or opened.
    public init(fleet: Fleet, endpoint: ModbusServer.Endpoint) throws(SimulatorError) {
        var plan: [[(entry: RegisterEntry, channel: Int)]] = []
        var units: [ModbusServer.Unit] = []
        for (i, machine) in fleet.machines.enumerated() {
            plan.append(RegisterMap.entries(for: machine.kind).compactMap { entry in
                machine.channelIndex(named: entry.channel).map { (entry, $0) }
            })
            units.append(ModbusServer.Unit(unitID: i + 1, addresses: 0..<64))
        }
        self.plan = plan
        do {
            server = try ModbusServer(endpoint: endpoint, units: units)
        } catch {
            throw SimulatorError("cannot serve Modbus: \(error.description)")
        }
    }

    /// Writes every machine's latest values into its registers.
    /// - Throws: `SimulatorError` if a value cannot be stored (a bug in the map).
    public func publish(_ live: LiveFleet) throws(SimulatorError) {
        for (i, entries) in plan.enumerated() {
            for (entry, channel) in entries {
                let value = live.latest[i][channel]
                do {
                    try server.setValue(
                        Self.raw(entry, value), as: entry.type, order: entry.order, kind: entry.kind, unit: i + 1,
                        address: entry.address
                    )
                } catch {
                    throw SimulatorError("\(live.fleet.machines[i].id).\(entry.channel): \(error.description)")
                }
            }
        }
    }

    /// The raw register value for an engineering value.
    static func raw(_ entry: RegisterEntry, _ value: Double) -> RawValue {
        switch entry.type {
        case .bool:
            return .bool(value.isFinite && value.rounded() != 0)
        case .float32, .float64:
            return .float(entry.rawNumber(for: value))
        case .int16, .int32, .int64:
            guard value.isFinite else {
                return .signed(entry.type == .int16 ? Int64(Int16.min) : entry.type == .int32 ? Int64(Int32.min) : Int64.min)
            }
            return .signed(Int64(entry.rawNumber(for: value)))
        case .uint16, .uint32, .uint64:
            guard value.isFinite else {
                return .unsigned(entry.type == .uint16 ? UInt64(UInt16.max) : entry.type == .uint32 ? UInt64(UInt32.max) : UInt64.max)
            }
            return .unsigned(UInt64(entry.rawNumber(for: value)))
        }
    }

    /// Stops serving and closes the endpoint.
    public func stop() {
        server.stop()
    }
}
