/// The four Modbus data tables.
public enum RegisterKind: String, Sendable, CaseIterable, Hashable {
    /// Read/write single bits (function 1).
    case coil
    /// Read-only single bits (function 2).
    case discrete
    /// Read/write 16-bit registers (function 3).
    case holding
    /// Read-only 16-bit registers (function 4).
    case input

    /// Whether this table holds single bits rather than 16-bit registers.
    public var isBit: Bool { self == .coil || self == .discrete }
}

/// How a sensor's raw registers are interpreted.
public enum DataType: String, Sendable, CaseIterable, Hashable {
    case bool, int16, uint16, int32, uint32, int64, uint64, float32, float64

    /// How many 16-bit registers one value occupies (1 for `bool`, which may be a bit of a register).
    public var registerCount: Int {
        switch self {
        case .bool, .int16, .uint16: return 1
        case .int32, .uint32, .float32: return 2
        case .int64, .uint64, .float64: return 4
        }
    }
}

/// Word and byte order of multi-register values, named by where the bytes of the big-endian
/// value `A B C D` end up on the wire.
///
/// - `ABCD`: big-endian words, big-endian bytes (the Modbus default).
/// - `DCBA`: little-endian words, little-endian bytes.
/// - `BADC`: big-endian words, bytes swapped within each word.
/// - `CDAB`: little-endian words (word swap), big-endian bytes.
///
/// For 64-bit values the same rule extends to eight bytes (`ABCD` = `ABCDEFGH`).
public enum WordOrder: String, Sendable, CaseIterable, Hashable {
    case ABCD, DCBA, BADC, CDAB
}

/// The quality of one reading. Anything but `.good` marks a gap that is explicit downstream.
public enum Quality: UInt8, Sendable, CaseIterable, Hashable {
    /// The value was read and decoded.
    case good = 0
    /// The device did not answer in time.
    case timeout = 1
    /// The device answered with a Modbus exception.
    case exception = 2
    /// The response could not be decoded (bad length, CRC error, NaN/Inf).
    case decodeError = 3
    /// The value was not refreshed in time (the unit is in backoff or the bus is down).
    case stale = 4
    /// The connection to the device is down.
    case offline = 5
    /// The value was read and decoded but lies outside the sensor's `min`…`max`
    /// (`SensorRange.excludes`): a transmitter reading 65535 or a broken 4–20 mA loop, not a
    /// wiring or bus fault. The value is kept (in memory and in the buffer) as evidence, but
    /// never scored or calibrated on.
    case outOfRange = 6

    /// A short lower-case name for logs and files.
    public var name: String {
        switch self {
        case .good: return "good"
        case .timeout: return "timeout"
        case .exception: return "exception"
        case .decodeError: return "decode_error"
        case .stale: return "stale"
        case .offline: return "offline"
        case .outOfRange: return "out_of_range"
        }
    }
}

/// One value of one sensor at one time.
public struct Reading: Sendable, Hashable {
    /// Index of the machine in the configuration (stable for the life of one config).
    public var machine: Int32
    /// Index of the sensor within its machine.
    public var sensor: Int32
    /// When the value was polled.
    public var time: Timestamp
    /// The engineering value (`raw * scale + offset`); NaN when `quality` is neither `.good` nor
    /// `.outOfRange` (which keeps the decoded value so the `out_of_range` alert can name it and
    /// the buffer can keep it). Only `.good` values are ever scored.
    public var value: Double
    /// Whether `value` can be trusted.
    public var quality: Quality

    public init(machine: Int32, sensor: Int32, time: Timestamp, value: Double, quality: Quality) {
        self.machine = machine
        self.sensor = sensor
        self.time = time
        self.value = value
        self.quality = quality
    }
}

/// A sensor's physically possible range (`min`…`max` in agent.conf), and the one test of whether
/// a value lies outside it: the poller's flag, the data alerts, scoring, `calibrate`, `replay` and
/// `evaluate --config` all decide with `excludes`, so a value is out of range everywhere or nowhere.
///
/// The test compares the value as the detector sees it, rounded to `Float` (the agent scores and
/// calibration learns `Float`s; a CSV file or a calibration table holds nothing finer), with the
/// limit rounded the same way. Comparing `Double`s live and `Float`s offline disagreed within a
/// rounding of a limit: 16.000000016 with `max = 16` was flagged by the poller but learnt by
/// `calibrate` (it is 16 as a `Float`).
public struct SensorRange: Sendable, Hashable {
    /// The lowest possible value (nil: no lower limit).
    public var minimum: Double?
    /// The highest possible value (nil: no upper limit).
    public var maximum: Double?

    /// Creates the range; either limit may be missing.
    public init(minimum: Double?, maximum: Double?) {
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Whether `value`, rounded to `Float`, lies outside the range (each limit rounded to
    /// `Float` too). NaN is not out of range (it is a missing value).
    @inline(__always)
    public func excludes(_ value: Double) -> Bool {
        excludes(Float(value))
    }

    /// Whether `value` lies outside the range, each limit rounded to `Float`.
    @inline(__always)
    public func excludes(_ value: Float) -> Bool {
        if let minimum, value < Float(minimum) { return true }
        if let maximum, value > Float(maximum) { return true }
        return false
    }
}

extension Float {
    /// The NaN a calibration table holds for a reading left out because it lay outside its
    /// sensor's `min`…`max`: missing to every computation (it is NaN), but told apart from a
    /// reading that never came (`isOutOfRangeMark`), so `calibrate` counts it as out of range
    /// rather than as missing, the way R marks NA with one NaN payload. The payload survives
    /// copying between tables; arithmetic on it is never needed.
    public static let outOfRangeMark = Float(nan: 0x0F_0F, signaling: false)

    /// Whether this is `Float.outOfRangeMark` (and not another NaN).
    public var isOutOfRangeMark: Bool { isNaN && bitPattern == Float.outOfRangeMark.bitPattern }
}
