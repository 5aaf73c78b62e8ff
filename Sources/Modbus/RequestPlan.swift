import Configuration
import EdgeCore

/// One sensor's place in a planned read, with everything needed to decode it.
public struct PlannedSensor: Sendable, Hashable {
    /// Index of the machine in the configuration.
    public var machine: Int32
    /// Index of the sensor within its machine.
    public var sensor: Int32
    /// Registers (or bits) from the start of the read to the sensor's first one.
    public var position: Int
    /// How the registers are interpreted.
    public var type: DataType
    /// The device's word and byte order.
    public var order: WordOrder
    /// For `bool` in a register: the bit, 0 = least significant.
    public var bit: Int?
    /// Engineering value = raw × `scale` + `offset`.
    public var scale: Double
    /// Added after scaling.
    public var offset: Double
    /// Physically possible range; values outside (`SensorRange.excludes`) are flagged `.outOfRange`,
    /// keeping the decoded value.
    public var minimum: Double?
    /// Upper end of the physically possible range.
    public var maximum: Double?

    /// Creates a sensor slot.
    public init(
        machine: Int32, sensor: Int32, position: Int, type: DataType, order: WordOrder = .ABCD, bit: Int? = nil,
        scale: Double = 1, offset: Double = 0, minimum: Double? = nil, maximum: Double? = nil
    ) {
        self.machine = machine
        self.sensor = sensor
        self.position = position
        self.type = type
        self.order = order
        self.bit = bit
        self.scale = scale
        self.offset = offset
        self.minimum = minimum
        self.maximum = maximum
    }
}

/// One Modbus request: `count` registers or bits of `kind` from `address` on unit `unitID`,
/// and the sensors decoded from the answer.
public struct PlannedRead: Sendable, Hashable, CustomStringConvertible {
    /// The unit (slave) id.
    public var unitID: Int
    /// The register table.
    public var kind: RegisterKind
    /// The first register or bit, 0-based.
    public var address: Int
    /// Registers (for holding/input) or bits (for coil/discrete).
    public var count: Int
    /// The sensors in this read, in address order.
    public var sensors: [PlannedSensor]

    /// Creates a read.
    public init(unitID: Int, kind: RegisterKind, address: Int, count: Int, sensors: [PlannedSensor] = []) {
        self.unitID = unitID
        self.kind = kind
        self.address = address
        self.count = count
        self.sensors = sensors
    }

    /// `unit 1 holding 100–109 (10 registers, 4 sensors)`.
    public var description: String {
        let range = count == 1 ? "\(address)" : "\(address)–\(address + count - 1)"
        let what = kind.isBit ? (count == 1 ? "bit" : "bits") : (count == 1 ? "register" : "registers")
        let sensorsText = sensors.count == 1 ? "1 sensor" : "\(sensors.count) sensors"
        return "unit \(unitID) \(kind.rawValue) \(range) (\(count) \(what), \(sensorsText))"
    }
}

/// The reads of the machines on one bus that share a poll interval.
public struct PollGroup: Sendable, Hashable {
    /// How often these reads run.
    public var interval: Duration
    /// Indexes (in the configuration) of the machines polled together.
    public var machines: [Int]
    /// The reads, ordered by unit, kind and address (units served in turn).
    public var reads: [PlannedRead]
}

/// A sensor that cannot be planned; says which and why.
public struct RequestPlanError: Error, Sendable, CustomStringConvertible {
    /// The bus.
    public var bus: String
    /// `machine[2].sensor[1]` (0-based, as in the configuration's key paths) and the sensor's name.
    public var sensor: String
    /// What is wrong and how to fix it.
    public var message: String

    /// `bus NAME: machine[i].sensor[j] (…): message`.
    public var description: String { "bus \(bus): \(sensor): \(message)" }
}

/// The fewest reads that cover the sensors of one bus.
///
/// Rules: sensors of the same unit id and register kind are merged into one read when the gap
/// between them is at most `maxGap` registers (bits, for coils and discrete inputs), never
/// beyond `maxRegistersPerRead` registers or `maxBitsPerRead` bits. Reads never span machines
/// with different poll intervals (each interval is its own `PollGroup`), and a sensor is never
/// split over two requests (its value would not be read atomically).
public struct RequestPlan: Sendable, Hashable, CustomStringConvertible {
    /// The bus name.
    public var bus: String
    /// One group per distinct poll interval, shortest interval first.
    public var groups: [PollGroup]

    /// Every read of the bus, group after group.
    public var reads: [PlannedRead] { groups.flatMap(\.reads) }

    /// Plans the reads for the sensors on `bus`.
    ///
    /// - Parameters:
    ///   - bus: the bus (its caps and gap).
    ///   - machines: all machines of the configuration (their positions are the machine indexes
    ///     in readings); only sensors on `bus` are planned.
    /// - Throws: `RequestPlanError` for a sensor wider than the bus's cap or past address 65535.
    public init(bus: BusConfiguration, machines: [MachineConfiguration]) throws(RequestPlanError) {
        self.bus = bus.name
        var intervals: [Duration] = []
        for machine in machines where machine.sensors.contains(where: { $0.bus == bus.name }) {
            if !intervals.contains(machine.pollInterval) { intervals.append(machine.pollInterval) }
        }
        intervals.sort()
        var groups: [PollGroup] = []
        for interval in intervals {
            var items: [PlanItem] = []
            var members: [Int] = []
            for (m, machine) in machines.enumerated() where machine.pollInterval == interval {
                var member = false
                for (s, sensor) in machine.sensors.enumerated() where sensor.bus == bus.name {
                    member = true
                    items.append(PlanItem(
                        unitID: sensor.unitID, kind: sensor.kind, address: sensor.address, span: sensor.span,
                        slot: PlannedSensor(
                            machine: Int32(m), sensor: Int32(s), position: 0, type: sensor.type, order: sensor.order,
                            bit: sensor.bit, scale: sensor.scale, offset: sensor.offset,
                            minimum: sensor.minimum, maximum: sensor.maximum),
                        name: "machine[\(m)].sensor[\(s)] (\(machine.id).\(sensor.name))"))
                }
                if member { members.append(m) }
            }
            let reads = try RequestPlan.reads(
                for: items, maxGap: bus.maxGap, maxRegistersPerRead: bus.maxRegistersPerRead,
                maxBitsPerRead: bus.maxBitsPerRead, bus: bus.name)
            groups.append(PollGroup(interval: interval, machines: members, reads: reads))
        }
        self.groups = groups
    }

    /// One sensor to plan: where it is and how wide.
    public struct PlanItem: Sendable {
        /// The unit (slave) id.
        public var unitID: Int
        /// The register table.
        public var kind: RegisterKind
        /// The first register or bit, 0-based.
        public var address: Int
        /// Registers (or bits) it occupies.
        public var span: Int
        /// Its decoding slot (`position` is filled in by the planner).
        public var slot: PlannedSensor
        /// How errors name it.
        public var name: String

        /// Creates an item.
        public init(unitID: Int, kind: RegisterKind, address: Int, span: Int, slot: PlannedSensor, name: String) {
            self.unitID = unitID
            self.kind = kind
            self.address = address
            self.span = span
            self.slot = slot
            self.name = name
        }
    }

    /// The planning rule itself: merges `items` into the fewest reads.
    ///
    /// - Throws: `RequestPlanError` for an item wider than its cap or past address 65535.
    /// - Returns: reads ordered by unit id, register kind (coil, discrete, holding, input) and address.
    public static func reads(
        for items: [PlanItem], maxGap: Int, maxRegistersPerRead: Int, maxBitsPerRead: Int, bus: String = ""
    ) throws(RequestPlanError) -> [PlannedRead] {
        func rank(_ kind: RegisterKind) -> Int {
            switch kind {
            case .coil: return 0
            case .discrete: return 1
            case .holding: return 2
            case .input: return 3
            }
        }
        let sorted = items.sorted {
            ($0.unitID, rank($0.kind), $0.address, -$0.span) < ($1.unitID, rank($1.kind), $1.address, -$1.span)
        }
        var reads: [PlannedRead] = []
        var end = 0  // one past the last register of the current read
        for item in sorted {
            let cap = max(1, item.kind.isBit ? maxBitsPerRead : maxRegistersPerRead)
            guard item.span <= cap else {
                throw RequestPlanError(
                    bus: bus, sensor: item.name,
                    message: "occupies \(item.span) registers but the bus reads at most \(cap) per request; raise max_registers_per_read to \(item.span) or more")
            }
            guard item.address >= 0, item.address + item.span <= 65_536 else {
                throw RequestPlanError(bus: bus, sensor: item.name, message: "registers \(item.address)…\(item.address + item.span - 1) are outside 0…65535")
            }
            let itemEnd = item.address + item.span
            if var current = reads.last, current.unitID == item.unitID, current.kind == item.kind,
               item.address - end <= maxGap, max(end, itemEnd) - current.address <= cap {
                end = max(end, itemEnd)
                current.count = end - current.address
                var slot = item.slot
                slot.position = item.address - current.address
                current.sensors.append(slot)
                reads[reads.count - 1] = current
            } else {
                var slot = item.slot
                slot.position = 0
                reads.append(PlannedRead(unitID: item.unitID, kind: item.kind, address: item.address, count: item.span, sensors: [slot]))
                end = itemEnd
            }
        }
        return reads
    }

    /// The plan for people, one line per read, grouped by poll interval.
    public var description: String { lines().joined(separator: "\n") }

    /// The plan for people: a heading per poll group, then one line per read.
    public func lines() -> [String] {
        var out: [String] = []
        for group in groups {
            let requests = group.reads.count == 1 ? "1 request" : "\(group.reads.count) requests"
            out.append("every \(RequestPlan.text(group.interval)): \(requests)")
            for read in group.reads { out.append("  \(read)") }
        }
        if groups.isEmpty { out.append("no sensors on this bus") }
        return out
    }

    static func text(_ duration: Duration) -> String {
        let ms = duration.totalNanoseconds / 1_000_000
        if ms % 1000 == 0 { return "\(ms / 1000) s" }
        return "\(ms) ms"
    }
}
