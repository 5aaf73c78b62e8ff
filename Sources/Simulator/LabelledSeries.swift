import EdgeCore

/// A machine's samples over a stretch of simulated time, with a label per row: what
/// meta-training, evaluation and tests consume. Values are row-major `Float`s.
public struct LabelledSeries: Sendable {
    /// The machine's id.
    public let machineID: String
    /// The machine's kind.
    public let kind: MachineKind
    /// The columns, in order.
    public let channels: [SensorChannel]
    /// Time of row 0.
    public let startTime: Timestamp
    /// Time between rows.
    public let stepMilliseconds: Int64
    /// The machine's faults (label bit `i` refers to `faults[i]`).
    public internal(set) var faults: [Fault]
    /// Row-major values: row `r`, channel `c` at `r * channels.count + c`; NaN where a sensor dropped out.
    public private(set) var values: [Float]
    /// Per row: whether any fault acts.
    public private(set) var anomaly: [Bool]
    /// Per row: which faults act (bit `i` = `faults[i]`).
    public private(set) var faultMask: [UInt64]
    /// Per row: which channels show a fault (bit `c` = `channels[c]`).
    public private(set) var faultyChannelMask: [UInt64]

    init(machine: SimulatedMachine, startTime: Timestamp, capacity: Int) {
        machineID = machine.id
        kind = machine.kind
        channels = machine.channels
        self.startTime = startTime
        stepMilliseconds = machine.options.stepMilliseconds
        faults = machine.faults
        values = []
        values.reserveCapacity(capacity * machine.channels.count)
        anomaly = []
        anomaly.reserveCapacity(capacity)
        faultMask = []
        faultMask.reserveCapacity(capacity)
        faultyChannelMask = []
        faultyChannelMask.reserveCapacity(capacity)
    }

    mutating func append(_ row: [Double], label: SampleLabel) {
        for v in row { values.append(Float(v)) }
        anomaly.append(label.anomaly)
        faultMask.append(label.faults)
        faultyChannelMask.append(label.channels)
    }

    /// Number of rows.
    public var rowCount: Int { anomaly.count }

    /// The timestamp of row `row`.
    public func time(ofRow row: Int) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: startTime.millisecondsSinceEpoch + Int64(row) * stepMilliseconds)
    }

    /// The value of channel `channel` in row `row`.
    public func value(row: Int, channel: Int) -> Float {
        values[row * channels.count + channel]
    }

    /// All values of the channel named `name`, or nil if the series has no such column.
    public func column(named name: String) -> [Float]? {
        guard let c = channels.firstIndex(where: { $0.name == name }) else { return nil }
        return (0..<rowCount).map { values[$0 * channels.count + c] }
    }

    /// The fraction of rows labelled anomalous.
    public var anomalyFraction: Double {
        rowCount == 0 ? 0 : Double(anomaly.lazy.filter { $0 }.count) / Double(rowCount)
    }
}

/// A fleet of simulated machines with varied ratings, built from one seed.
///
/// Machines cycle through the kinds (pump-1, motor-1, compressor-1, pump-2, …); machine `i`
/// depends only on the seed and `i`, so a larger fleet starts with the same machines.
public struct Fleet: Sendable {
    /// The machines, in unit-id order (machine `i` is Modbus unit `i + 1` when served).
    public var machines: [SimulatedMachine]

    /// Builds `count` machines.
    /// - Parameters:
    ///   - seed: fixes every machine's ratings, operation, noise and random faults.
    ///   - count: how many machines.
    ///   - options: time step, start time, channels, automatic operation (for every machine).
    ///   - kinds: the kinds to cycle through.
    public init(seed: UInt64, count: Int, options: MachineOptions = MachineOptions(), kinds: [MachineKind] = MachineKind.allCases) {
        var perKind: [MachineKind: Int] = [:]
        var machines: [SimulatedMachine] = []
        let kinds = kinds.isEmpty ? MachineKind.allCases : kinds
        for i in 0..<max(count, 0) {
            let kind = kinds[i % kinds.count]
            let n = (perKind[kind] ?? 0) + 1
            perKind[kind] = n
            var mixer = SplitMix64(seed: seed ^ (UInt64(i + 1) &* 0xD1B5_4A32_D192_ED03))
            machines.append(SimulatedMachine(kind: kind, id: "\(kind.rawValue)-\(n)", seed: mixer.next(), options: options))
        }
        self.machines = machines
    }

    /// The index of the machine with this id.
    public func index(of id: String) -> Int? {
        machines.firstIndex { $0.id == id }
    }

    /// Gives every machine `count` random faults after its first `faultFreeFraction` of `hours`.
    public mutating func addRandomFaults(count: Int, hours: Double, faultFreeFraction: Double = 0.25) {
        for i in machines.indices {
            machines[i].addRandomFaults(
                count: count, earliestStartSeconds: hours * 3600 * faultFreeFraction, horizonSeconds: hours * 3600
            )
        }
    }

    /// Generates `hours` of every machine as labelled series, in machine order.
    public mutating func generate(hours: Double) -> [LabelledSeries] {
        machines.indices.map { machines[$0].generate(hours: hours) }
    }
}
