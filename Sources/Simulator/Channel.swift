/// The kind of a simulated machine.
public enum MachineKind: String, Sendable, CaseIterable, Hashable {
    /// A centrifugal pump on a variable-speed drive, pumping water into a system with static head.
    case pump
    /// An electric motor on a variable-speed drive, driving a fan.
    case motor
    /// An oil-injected rotary screw air compressor with load/unload control and a receiver.
    case compressor

    /// All channels a machine of this kind can have, in a fixed order.
    public var allChannels: [SensorChannel] {
        switch self {
        case .pump: return PumpModel.channels
        case .motor: return MotorModel.channels
        case .compressor: return CompressorModel.channels
        }
    }

    /// The channels a machine of this kind has unless told otherwise (and that the Modbus map serves).
    public var standardChannels: [SensorChannel] {
        allChannels.filter(\.isStandard)
    }

    /// The process faults that make physical sense for this kind (sensor faults apply to all).
    public var applicableFaults: [FaultKind] {
        switch self {
        case .pump:
            return [.bearingWear, .cavitation, .inletValveClosing, .outletValveClosing, .imbalance, .overheating, .leak]
        case .motor:
            return [.bearingWear, .imbalance, .overheating]
        case .compressor:
            return [.bearingWear, .inletValveClosing, .outletValveClosing, .imbalance, .overheating, .leak]
        }
    }
}

/// One measured signal of a simulated machine.
public struct SensorChannel: Sendable, Hashable {
    /// Column and sensor name, e.g. `outlet_pressure`.
    public var name: String
    /// Engineering unit, e.g. `bar`.
    public var unit: String
    /// Digits after the decimal point that the sensor resolves (used in CSV files and scaled registers).
    public var decimals: Int
    /// Lower end of the physically possible range.
    public var minimum: Double
    /// Upper end of the physically possible range.
    public var maximum: Double
    /// Whether machines have this channel by default.
    public var isStandard: Bool

    /// Creates a channel description.
    public init(name: String, unit: String, decimals: Int, minimum: Double, maximum: Double, isStandard: Bool = true) {
        self.name = name
        self.unit = unit
        self.decimals = decimals
        self.minimum = minimum
        self.maximum = maximum
        self.isStandard = isStandard
    }
}
