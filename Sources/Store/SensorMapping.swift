import Configuration

/// Maps the configuration's machine and sensor indices (`Reading.machine`, `Reading.sensor`)
/// to the database's sensor ids, in flat arrays so the hot path looks them up without
/// allocating.
public struct SensorMapping: Sendable, Equatable {
    /// Machine ids from the configuration, in configuration order.
    public let machineNames: [String]
    /// `slotStart[m] ..< slotStart[m + 1]` are machine `m`'s slots in the flat arrays.
    let slotStart: [Int]
    /// Database sensor id per slot; -1 when the sensor is not in the database (read-only lookup).
    let ids: [Int64]
    /// Sensor names per slot.
    let names: [String]

    init(machineNames: [String], slotStart: [Int], ids: [Int64], names: [String]) {
        self.machineNames = machineNames
        self.slotStart = slotStart
        self.ids = ids
        self.names = names
    }

    /// The number of machines.
    public var machineCount: Int { machineNames.count }

    /// The database id of sensor `sensor` of machine `machine`, or nil when either index is out
    /// of range or the sensor is unknown to the database.
    @inline(__always)
    public func sensorID(machine: Int32, sensor: Int32) -> Int64? {
        let m = Int(machine)
        guard m >= 0, m < machineNames.count else { return nil }
        let slot = slotStart[m] + Int(sensor)
        guard sensor >= 0, slot < slotStart[m + 1] else { return nil }
        let id = ids[slot]
        return id >= 0 ? id : nil
    }

    /// The index of the machine with this configuration id, if any.
    public func machineIndex(named name: String) -> Int32? {
        machineNames.firstIndex(of: name).map { Int32($0) }
    }

    /// The sensor names of a machine, in column order.
    public func sensorNames(ofMachine machine: Int32) -> ArraySlice<String> {
        names[slotStart[Int(machine)]..<slotStart[Int(machine) + 1]]
    }

    /// The database sensor ids of a machine, in column order (-1 for unknown sensors).
    public func sensorIDs(ofMachine machine: Int32) -> ArraySlice<Int64> {
        ids[slotStart[Int(machine)]..<slotStart[Int(machine) + 1]]
    }

    /// Builds the mapping for `configuration` with ids from `lookUp(machine, sensor, unit)`.
    static func build(
        _ configuration: AgentConfiguration, lookUp: (String, String, String) throws -> Int64
    ) rethrows -> SensorMapping {
        var slotStart = [0]
        var ids: [Int64] = []
        var names: [String] = []
        for machine in configuration.machines {
            for sensor in machine.sensors {
                ids.append(try lookUp(machine.id, sensor.name, sensor.unit))
                names.append(sensor.name)
            }
            slotStart.append(ids.count)
        }
        return SensorMapping(
            machineNames: configuration.machines.map(\.id), slotStart: slotStart, ids: ids, names: names)
    }
}
