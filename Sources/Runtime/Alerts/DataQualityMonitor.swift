import EdgeCore

/// When data alerts fire: how long a sensor may go without a good value, and how long a
/// machine may go without any reading.
public struct DataQualityPolicy: Sendable, Equatable {
    /// A sensor is stale after this many consecutive poll cycles without a good value.
    public var staleAfterCycles: Int = 5
    /// A unit is offline after this many consecutive poll cycles in which none of its sensors answered.
    public var offlineAfterCycles: Int = 3
    /// A machine's data has stopped when no reading (good or bad) arrived for this many poll intervals.
    public var stoppedAfterIntervals: Int = 10
    /// ...and that silence was already there at a check at least this long before: a pause of
    /// the whole agent (its process starved of CPU for a second or two) delays the pollers and
    /// the checks alike, and the first check after it would otherwise find every machine
    /// silent for a moment before the pollers catch up.
    public var stoppedConfirmation: Duration = .seconds(1)
    /// Out-of-range must persist this many cycles before an alert (a single glitch is only flagged).
    public var outOfRangeCycles: Int = 2

    public init() {}
}

/// What the monitor needs to know about one sensor.
public struct MonitoredSensor: Sendable, Equatable {
    public var name: String
    /// Identifies the Modbus unit it is read from (e.g. `bus/unit`), for unit-offline alerts.
    public var unitKey: String
    public var unit: String
    public var minimum: Double?
    public var maximum: Double?

    public init(name: String, unitKey: String, unit: String = "", minimum: Double? = nil, maximum: Double? = nil) {
        self.name = name
        self.unitKey = unitKey
        self.unit = unit
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Whether a value lies outside the sensor's physically possible range: `SensorRange.excludes`,
    /// the test the poller flags `.outOfRange` with and the offline commands blank readings by.
    public func isOutOfRange(_ value: Double) -> Bool {
        SensorRange(minimum: minimum, maximum: maximum).excludes(value)
    }
}

/// Data alerts of one machine, distinct from anomalies: unit offline, sensor stale, value out of
/// physical range, data stopped. Feed it each poll cycle's readings for the machine in order, and
/// call `tick` periodically so a machine whose data stopped is noticed even though nothing arrives.
///
/// A value type with no I/O, so it can be tested and reused anywhere.
public struct DataQualityMonitor: Sendable {
    public let machine: String
    public let sensors: [MonitoredSensor]
    public let policy: DataQualityPolicy
    public let pollIntervalMilliseconds: Int64

    private var badCycles: [Int]
    private var outOfRangeCycles: [Int]
    private var openStale: [Alert?]
    private var openOutOfRange: [Alert?]
    private let unitKeys: [String]
    /// For each sensor, the index of its unit in `unitKeys`; and its physical range: what
    /// `observe` reads per row, rather than a copy of the sensor (three strings) per sensor.
    private let unitOfSensor: [Int]
    private let ranges: [SensorRange]
    private var unitSilentCycles: [Int]
    private var openOffline: [Alert?]
    /// The time of the last cycle `observe` took.
    public private(set) var lastArrival: Timestamp?
    /// Monotonic time of the last arrival, when the caller gives it: silence is then measured on
    /// a clock that a wall-clock step cannot move.
    private var lastArrivalMonotonic: UInt64?
    private var openStopped: Alert?
    /// When a check (`tick`) first found the silence long enough, on the clock `tick` measures
    /// silence with (monotonic milliseconds, else wall-clock milliseconds); nil when it did not.
    private var silenceFoundAt: Int64?

    /// Creates the monitor for one machine.
    public init(machine: String, sensors: [MonitoredSensor], pollInterval: Duration, policy: DataQualityPolicy = DataQualityPolicy()) {
        self.machine = machine
        self.sensors = sensors
        self.policy = policy
        self.pollIntervalMilliseconds = max(1, pollInterval.wholeMilliseconds)
        badCycles = Array(repeating: 0, count: sensors.count)
        outOfRangeCycles = Array(repeating: 0, count: sensors.count)
        openStale = Array(repeating: nil, count: sensors.count)
        openOutOfRange = Array(repeating: nil, count: sensors.count)
        var keys: [String] = []
        for s in sensors where !keys.contains(s.unitKey) { keys.append(s.unitKey) }
        unitKeys = keys
        unitOfSensor = sensors.map { s in keys.firstIndex(of: s.unitKey) ?? 0 }
        ranges = sensors.map { SensorRange(minimum: $0.minimum, maximum: $0.maximum) }
        unitSilentCycles = Array(repeating: 0, count: keys.count)
        openOffline = Array(repeating: nil, count: keys.count)
    }

    /// Whether a reading may be fed to the network: good quality, finite, and within its physical range.
    public func isScorable(sensor index: Int, value: Double, quality: Quality) -> Bool {
        Self.isScorable(value, quality: quality, in: ranges[index])
    }

    /// `isScorable(sensor:value:quality:)` for a sensor of physical range `range`: for the
    /// scoring stage's hot path, which keeps the ranges itself rather than read them through a
    /// monitor (a struct read out of a class's property is copied whole, arrays and alerts).
    public static func isScorable(_ value: Double, quality: Quality, in range: SensorRange) -> Bool {
        quality == .good && value.isFinite && !range.excludes(value)
    }

    /// Takes one poll cycle of this machine: `values[i]` and `qualities[i]` for sensor `i`.
    /// - Parameters:
    ///   - monotonicNanoseconds: when the cycle arrived on the monotonic clock; given here and to
    ///     `tick`, data-stopped checks ignore wall-clock steps.
    /// - Returns: the data alert events this cycle causes (raised or cleared).
    public mutating func observe(time: Timestamp, values: [Double], qualities: [Quality], monotonicNanoseconds: UInt64? = nil) -> [AlertEvent] {
        precondition(values.count == sensors.count && qualities.count == sensors.count)
        var events: [AlertEvent] = []
        lastArrival = time
        lastArrivalMonotonic = monotonicNanoseconds
        silenceFoundAt = nil
        if var stopped = openStopped {
            stopped.ended = time
            openStopped = nil
            events.append(AlertEvent(change: .cleared, time: time, alert: stopped))
        }

        // Units: offline when none of their sensors answered (timeout/offline) this cycle.
        for u in unitKeys.indices {
            var answered = false
            for i in sensors.indices where unitOfSensor[i] == u {
                if qualities[i] != .timeout && qualities[i] != .offline && qualities[i] != .stale { answered = true; break }
            }
            if answered {
                unitSilentCycles[u] = 0
                if var alert = openOffline[u] {
                    alert.ended = time
                    openOffline[u] = nil
                    events.append(AlertEvent(change: .cleared, time: time, alert: alert))
                }
            } else {
                unitSilentCycles[u] += 1
                if unitSilentCycles[u] == policy.offlineAfterCycles, openOffline[u] == nil {
                    let key = unitKeys[u]
                    let started = Timestamp(millisecondsSinceEpoch: time.millisecondsSinceEpoch - Int64(policy.offlineAfterCycles - 1) * pollIntervalMilliseconds)
                    let alert = Alert(
                        id: "\(machine)-\(key)-offline-\(started.millisecondsSinceEpoch)", machine: machine, kind: .unitOffline,
                        severity: .critical, started: started,
                        message: "\(machine): Modbus unit \(key) not answering for \(policy.offlineAfterCycles) poll cycles (\(qualities.first { $0 != .good }?.name ?? "no answer"))"
                    )
                    openOffline[u] = alert
                    events.append(AlertEvent(change: .raised, time: time, alert: alert))
                }
            }
        }

        for i in sensors.indices {
            let good = qualities[i] == .good && values[i].isFinite
            // A value outside the physical range: the poller flags it `.outOfRange` and keeps it
            // (a good value is tested too, for readings that come from elsewhere).
            let outOfRange = qualities[i] == .outOfRange || (good && ranges[i].excludes(values[i]))
            // Stale: no answer the sensor could be judged by for several cycles (only when its
            // unit is not already offline). An out-of-range value is an answer: its own alert
            // says what the sensor reads, rather than a stale one saying it reads nothing.
            if good || outOfRange {
                badCycles[i] = 0
                if var alert = openStale[i] {
                    alert.ended = time
                    openStale[i] = nil
                    events.append(AlertEvent(change: .cleared, time: time, alert: alert))
                }
            } else {
                badCycles[i] += 1
                if badCycles[i] == policy.staleAfterCycles, openStale[i] == nil, openOffline[unitOfSensor[i]] == nil {
                    let sensor = sensors[i]
                    let alert = Alert(
                        id: "\(machine)-\(sensor.name)-stale-\(time.millisecondsSinceEpoch)", machine: machine, kind: .sensorStale,
                        severity: .warning, started: time,
                        topSensors: [SensorContribution(sensor: sensor.name, value: .nan, unit: sensor.unit, contribution: 0,
                                                        normalLow: sensor.minimum ?? .nan, normalHigh: sensor.maximum ?? .nan)],
                        message: "\(machine): sensor \(sensor.name) has had no good value for \(policy.staleAfterCycles) poll cycles (last quality: \(qualities[i].name))"
                    )
                    openStale[i] = alert
                    events.append(AlertEvent(change: .raised, time: time, alert: alert))
                }
            }
            // Out of range: a value outside the physical range, persisting.
            if outOfRange {
                outOfRangeCycles[i] += 1
                if outOfRangeCycles[i] == policy.outOfRangeCycles, openOutOfRange[i] == nil {
                    let sensor = sensors[i]
                    let range = "\(sensor.minimum.map { "\($0)" } ?? "-∞")…\(sensor.maximum.map { "\($0)" } ?? "∞")"
                    let alert = Alert(
                        id: "\(machine)-\(sensor.name)-range-\(time.millisecondsSinceEpoch)", machine: machine, kind: .outOfRange,
                        severity: .warning, started: time,
                        topSensors: [SensorContribution(sensor: sensor.name, value: values[i], unit: sensor.unit, contribution: 0,
                                                        normalLow: sensor.minimum ?? -.infinity, normalHigh: sensor.maximum ?? .infinity)],
                        message: "\(machine): sensor \(sensor.name) reads \(values[i])\(sensor.unit.isEmpty ? "" : " " + sensor.unit), outside its physical range \(range)"
                    )
                    openOutOfRange[i] = alert
                    events.append(AlertEvent(change: .raised, time: time, alert: alert))
                }
            } else if good {
                outOfRangeCycles[i] = 0
                if var alert = openOutOfRange[i] {
                    alert.ended = time
                    openOutOfRange[i] = nil
                    events.append(AlertEvent(change: .cleared, time: time, alert: alert))
                }
            }
        }
        return events
    }

    /// A cycle of this machine arrived at `monotonicNanoseconds` but is not observed yet (it
    /// waits to be scored): its data has not stopped. Moves the last arrival that `tick`
    /// measures silence from later, never earlier; nothing before the first observed cycle.
    public mutating func noteArrival(monotonicNanoseconds: UInt64) {
        guard let arrived = lastArrivalMonotonic, monotonicNanoseconds > arrived else { return }
        lastArrivalMonotonic = monotonicNanoseconds
        silenceFoundAt = nil
    }

    /// Checks for a machine whose data stopped; call it on a timer (e.g. every poll interval).
    /// - Parameters:
    ///   - monotonicNanoseconds: now on the monotonic clock; when both this and the last
    ///     arrival's monotonic time are known, the silence is measured with them (a wall clock
    ///     that jumps forward then raises no false alarm, one that jumps back hides no real one).
    public mutating func tick(now: Timestamp, monotonicNanoseconds: UInt64? = nil) -> AlertEvent? {
        guard openStopped == nil, let last = lastArrival else { return nil }
        let silence: Int64
        if let monotonicNanoseconds, let arrived = lastArrivalMonotonic {
            silence = monotonicNanoseconds >= arrived ? Int64((monotonicNanoseconds - arrived) / 1_000_000) : 0
        } else {
            silence = now.millisecondsSinceEpoch - last.millisecondsSinceEpoch
        }
        guard silence >= Int64(policy.stoppedAfterIntervals) * pollIntervalMilliseconds else {
            silenceFoundAt = nil
            return nil
        }
        // Raise only when an earlier check already found it, long enough ago for the pollers
        // to have delivered had the agent itself merely been paused.
        let checkedAt = monotonicNanoseconds.map { Int64($0 / 1_000_000) } ?? now.millisecondsSinceEpoch
        guard let found = silenceFoundAt, checkedAt - found >= policy.stoppedConfirmation.wholeMilliseconds else {
            if silenceFoundAt == nil || checkedAt < silenceFoundAt! { silenceFoundAt = checkedAt }
            return nil
        }
        silenceFoundAt = nil
        let alert = Alert(
            id: "\(machine)-stopped-\(last.millisecondsSinceEpoch)", machine: machine, kind: .dataStopped,
            severity: .critical, started: last,
            message: "\(machine): no reading for \(silence / 1000) s (since \(last.iso8601)); is its bus poller running?"
        )
        openStopped = alert
        return AlertEvent(change: .raised, time: now, alert: alert)
    }

    /// Ends every open data alert with a `cleared` event that gives `reason` (see
    /// `AlertEvent.ending`) and restarts the cycle counts, as for a monitor just created.
    /// - Parameter time: when they end (the events' time too).
    public mutating func endOpenAlerts(at time: Timestamp, reason: String) -> [AlertEvent] {
        let events = openAlerts.map { AlertEvent.ending($0, at: time, time: time, reason: reason) }
        for i in badCycles.indices { badCycles[i] = 0 }
        for i in outOfRangeCycles.indices { outOfRangeCycles[i] = 0 }
        for i in unitSilentCycles.indices { unitSilentCycles[i] = 0 }
        for i in openStale.indices { openStale[i] = nil }
        for i in openOutOfRange.indices { openOutOfRange[i] = nil }
        for i in openOffline.indices { openOffline[i] = nil }
        openStopped = nil
        silenceFoundAt = nil
        return events
    }

    /// Data alerts currently open.
    public var openAlerts: [Alert] {
        (openOffline + openStale + openOutOfRange + [openStopped]).compactMap { $0 }
    }
}
