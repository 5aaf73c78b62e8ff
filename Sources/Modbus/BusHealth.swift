import EdgeCore

/// Error counters by kind, for one unit.
public struct ErrorCounts: Sendable, Hashable {
    /// Requests the unit did not answer in time.
    public var timeouts = 0
    /// Modbus exception answers.
    public var exceptions = 0
    /// CRC errors, invalid or oversized answers.
    public var invalidResponses = 0
    /// Requests that failed because the connection broke.
    public var connectionLosses = 0
    /// Sensors whose value was NaN, infinite or outside its physical range.
    public var decodeErrors = 0

    /// All errors together.
    public var total: Int { timeouts + exceptions + invalidResponses + connectionLosses + decodeErrors }

    /// No errors yet.
    public init() {}
}

/// The health of one unit (slave) on a bus.
public struct UnitHealth: Sendable, Hashable {
    /// The unit id.
    public var unitID: Int
    /// When the unit last answered every read of a poll cycle.
    public var lastGoodPoll: Timestamp?
    /// Failed requests since the last good answer.
    public var consecutiveErrors = 0
    /// Errors since the poller started, by kind.
    public var errors = ErrorCounts()
    /// Requests sent to the unit.
    public var requests = 0
    /// While set and in the future, the unit is skipped (its sensors read `.stale`).
    public var backoffUntil: Timestamp?

    /// Whether the unit is being skipped at `time`.
    public func isInBackoff(at time: Timestamp) -> Bool {
        guard let backoffUntil else { return false }
        return backoffUntil > time
    }

    /// A unit that has not been polled yet.
    public init(unitID: Int) { self.unitID = unitID }
}

/// The health of one bus: its connection and each unit on it.
public struct BusHealth: Sendable, Hashable {
    /// The bus name.
    public var bus: String
    /// Whether the connection (socket or serial device) is open.
    public var isConnected = false
    /// Successful connects after the first one.
    public var reconnects = 0
    /// Failed connection attempts.
    public var connectFailures = 0
    /// When the next connection attempt is due, while disconnected.
    public var nextConnectAttempt: Timestamp?
    /// The last connection error, for people.
    public var lastConnectionError: String?
    /// Completed poll cycles.
    public var cycles = 0
    /// Each unit of the bus, by unit id.
    public var units: [UnitHealth]

    /// A bus that has not connected yet, with its units.
    public init(bus: String, units: [UnitHealth]) {
        self.bus = bus
        self.units = units
    }

    /// The unit with this id, if it is on the bus.
    public func unit(_ id: Int) -> UnitHealth? { units.first { $0.unitID == id } }
}

/// Exponential backoff: `initial`, doubling after each failure, never beyond `maximum`.
struct Backoff {
    let initialNanoseconds: UInt64
    let maximumNanoseconds: UInt64
    private(set) var failures = 0

    init(initial: Duration, maximum: Duration) {
        initialNanoseconds = UInt64(max(1, initial.totalNanoseconds))
        maximumNanoseconds = UInt64(max(1, maximum.totalNanoseconds))
    }

    /// Records a failure; returns how long to wait now.
    mutating func fail() -> UInt64 {
        failures += 1
        let shift = UInt64(min(failures - 1, 40))
        let (delay, overflow) = initialNanoseconds.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? maximumNanoseconds : min(delay, maximumNanoseconds)
    }

    /// Records a success: the next failure starts from `initial` again.
    mutating func reset() { failures = 0 }
}
