import Configuration
import EdgeCore
import Synchronization

/// Polls every sensor of one bus on a thread of its own and hands each poll cycle's readings
/// to a sink.
///
/// - Each machine is polled on its poll interval (monotonic time; machines sharing an interval
///   are polled together, in one `PollGroup`). All units on the bus are served in turn through
///   one connection, with the bus's pause between requests.
/// - Health is per unit: a unit that times out is skipped for a backoff period (doubling up to
///   the bus's `maxBackoff`) while the other units keep their schedule. Its sensors read
///   `.stale` meanwhile.
/// - A broken connection is closed and re-opened with exponential backoff (capped at
///   `maxBackoff`); while it is down every sensor reads `.offline`.
/// - Every cycle yields one `Reading` per sensor with a quality flag, so gaps are explicit.
///
/// ```swift
/// let poller = try BusPoller(bus: bus, machines: config.machines) { readings in store.append(readings) }
/// try poller.start()
/// …
/// poller.stop()
/// ```
public final class BusPoller: Sendable {
    /// Tuning that agent.conf does not expose.
    public struct Options: Sendable {
        /// Backoff after a unit's first timeout (doubled per further timeout, capped at the
        /// bus's `maxBackoff`).
        public var initialUnitBackoff: Duration = .seconds(1)
        /// Wait after the first failed (re)connect (doubled per failure, capped likewise).
        public var initialReconnectBackoff: Duration = .milliseconds(500)
        /// SCHED_FIFO priority (1-99) for the polling thread, so that it polls on its schedule
        /// whatever else wants the cores; nil keeps the normal policy. Where the system refuses
        /// it (no root, no CAP_SYS_NICE, an RLIMIT_RTPRIO below it, systemd's
        /// `RestrictRealtime=`), the thread keeps the normal policy: see `runsRealtime`.
        public var realtimePriority: Int32?

        /// Backoff starting points (the caps come from the bus's `maxBackoff`) and the thread's
        /// scheduling.
        public init(initialUnitBackoff: Duration = .seconds(1), initialReconnectBackoff: Duration = .milliseconds(500),
                    realtimePriority: Int32? = nil) {
            self.initialUnitBackoff = initialUnitBackoff
            self.initialReconnectBackoff = initialReconnectBackoff
            self.realtimePriority = realtimePriority
        }
    }

    /// Receives the readings of one poll cycle, on the poller's thread.
    ///
    /// - Important: return quickly (hand the batch to another thread). The array is the
    ///   poller's reused buffer: keeping it is allowed but costs the poller one copy next cycle.
    public typealias Sink = @Sendable (_ readings: [Reading]) -> Void

    /// The bus being polled.
    public let bus: BusConfiguration
    /// The requests of each poll cycle.
    public let plan: RequestPlan
    private let clock: any AgentClock
    private let options: Options
    private let sink: Sink
    private let healthState: Mutex<BusHealth>
    private let stopping = Atomic<Bool>(false)
    private let realtime = Atomic<Bool>(false)
    private let wake: WakeSignal
    private let thread = Mutex<PosixThread?>(nil)
    private let writes = Mutex<[(write: ModbusWrite, completion: WriteCompletion?)]>([])
    /// The bus's pause between requests, converted once: `Duration`'s 128-bit arithmetic cost
    /// about 180 instructions per request.
    private let pauseNanoseconds: UInt64

    /// Called on the poller's thread with nil when a write succeeded, or the error.
    public typealias WriteCompletion = @Sendable (_ error: ModbusError?) -> Void

    /// Plans the bus's requests; call `start()` to begin polling.
    ///
    /// - Parameters:
    ///   - bus: the bus (transport, timeouts, caps, backoff cap).
    ///   - machines: all machines of the configuration; readings carry their positions here.
    ///   - clock: wall time for timestamps, monotonic time for scheduling.
    ///   - options: backoff starting points.
    ///   - sink: receives every cycle's readings.
    /// - Throws: `ModbusPollerError` when a sensor cannot be planned or no wake-up pipe is left.
    public init(
        bus: BusConfiguration, machines: [MachineConfiguration], clock: any AgentClock = SystemClock(),
        options: Options = Options(), sink: @escaping Sink
    ) throws(ModbusPollerError) {
        self.bus = bus
        do { plan = try RequestPlan(bus: bus, machines: machines) } catch { throw ModbusPollerError(message: error.description) }
        self.clock = clock
        self.options = options
        self.sink = sink
        pauseNanoseconds = UInt64(max(0, bus.pauseBetweenRequests.totalNanoseconds))
        var unitIDs: [Int] = []
        for read in plan.reads where !unitIDs.contains(read.unitID) { unitIDs.append(read.unitID) }
        healthState = Mutex(BusHealth(bus: bus.name, units: unitIDs.sorted().map { UnitHealth(unitID: $0) }))
        do { wake = try WakeSignal() } catch { throw ModbusPollerError(message: error.description) }
    }

    deinit { stop() }

    /// Starts the polling thread (no effect when already running).
    /// - Throws: `ModbusPollerError` when the system cannot start a thread.
    public func start() throws(ModbusPollerError) {
        let result = thread.withLock { thread -> ModbusPollerError? in
            guard thread == nil else { return nil }
            stopping.store(false, ordering: .sequentiallyConsistent)
            do throws(PosixThreadError) {
                // unowned(unsafe): stop() (also called by deinit) joins the thread before the
                // poller's memory is released; a strong capture would keep a forgotten poller alive.
                let started = try PosixThread(name: "poll-\(bus.name)") { [unowned(unsafe) self] in self.run() }
                realtime.store(options.realtimePriority.map { started.useRealtimeScheduling(priority: $0) } ?? false, ordering: .relaxed)
                thread = started
                return nil
            } catch {
                return ModbusPollerError(message: error.description)
            }
        }
        if let result { throw result }
    }

    /// Whether the polling thread runs with SCHED_FIFO (`Options.realtimePriority` asked for and
    /// allowed); false before `start()`.
    public var runsRealtime: Bool { realtime.load(ordering: .relaxed) }

    /// Stops polling: wakes the thread, waits for it to finish its current request and close
    /// the connection, and fails the writes still queued. Idempotent.
    public func stop() {
        if let running = thread.withLock({ t -> PosixThread? in defer { t = nil }; return t }) {
            stopping.store(true, ordering: .sequentiallyConsistent)
            wake.wake()
            running.join()
        }
        // Writes that never reached the bus are failed, not silently dropped.
        let unsent = writes.withLock { w in defer { w.removeAll() }; return w }
        for item in unsent {
            item.completion?(ModbusError(code: .notConnected, operation: item.write.operation, endpoint: bus.name))
        }
    }

    /// Queues a write (a stack light, a reset) to be sent on this bus's connection by the
    /// poller's thread, before its next request (a `modbus_t` is never shared between threads).
    ///
    /// - Parameters:
    ///   - write: the coil or register(s) to write.
    ///   - completion: called on the poller's thread with nil on success or the `ModbusError`
    ///     (also when the poller stops before sending it).
    public func enqueue(_ write: ModbusWrite, completion: WriteCompletion? = nil) {
        writes.withLock { $0.append((write, completion)) }
        wake.wake()
    }

    /// Sends queued writes (on the polling thread).
    private func performWrites(_ state: inout PollState) {
        var pending: [(write: ModbusWrite, completion: WriteCompletion?)] = []
        writes.withLock { swap(&pending, &$0) }
        guard !pending.isEmpty else { return }
        for (i, item) in pending.enumerated() {
            guard waitOutPause(after: state.lastRequestEnd, now: clock.monotonicNanoseconds()) else {
                // Stopping: `stop()` fails the writes not sent.
                writes.withLock { $0.insert(contentsOf: pending[i...], at: 0) }
                return
            }
            ensureConnected(&state.connection)
            guard let client = state.connection.client, state.connection.isConnected else {
                item.completion?(ModbusError(code: .notConnected, operation: item.write.operation, endpoint: bus.name))
                continue
            }
            do throws(ModbusError) {
                switch item.write {
                case let .coil(unit, address, value): try client.writeCoil(unit: unit, address: address, value: value)
                case let .register(unit, address, value): try client.writeRegister(unit: unit, address: address, value: value)
                case let .registers(unit, address, values): try client.writeRegisters(unit: unit, address: address, values: values)
                }
                item.completion?(nil)
            } catch {
                if error.code.breaksConnection {
                    healthState.withLock { h in
                        h.isConnected = false
                        h.lastConnectionError = error.description
                    }
                    state.connection.nextAttempt = 0
                }
                item.completion?(error)
            }
            state.lastRequestEnd = clock.monotonicNanoseconds()
        }
    }

    /// A consistent copy of the bus's and its units' health (safe from any thread).
    public func health() -> BusHealth { healthState.withLock { $0 } }

    // MARK: The polling thread

    /// Per-unit scheduling state, touched only by the polling thread.
    private struct UnitRuntime {
        var backoff: Backoff
        var backoffUntil: UInt64 = 0
        var healthIndex: Int
        var skipThisCycle = false
        var cycleFailed = false
        var answered = false
    }

    /// Everything the polling thread mutates, kept together and reused between cycles.
    private struct PollState {
        var connection: Connection
        var units: [UnitRuntime?]
        /// The unit ids on the bus (indexes into `units`).
        var unitIDs: [Int]
        var registers: [UInt16]
        var bits: [UInt8]
        var readings: [Reading] = []
        var lastRequestEnd: UInt64 = 0
        /// The time every reading of the cycle being polled carries: the cycle's start. One
        /// poll of a machine is one row, even when its sensors take several requests (on a
        /// serial line tens of milliseconds apart); stamping each request's own time split rows.
        var cycleTime = Timestamp(millisecondsSinceEpoch: 0)
        /// Reads that a device refused with "illegal data address" as a whole (a hole in its
        /// map), replaced by one read per sensor: `splits[group][read]`.
        var splits: [[[PlannedRead]?]]
    }

    private func run() {
        var units = [UnitRuntime?](repeating: nil, count: 256)
        let unitIDs = health().units.map(\.unitID).filter { (0..<256).contains($0) }
        for (index, id) in unitIDs.enumerated() {
            units[id] = UnitRuntime(backoff: Backoff(initial: options.initialUnitBackoff, maximum: bus.maxBackoff), healthIndex: index)
        }
        var state = PollState(
            connection: Connection(bus: bus, backoff: Backoff(initial: options.initialReconnectBackoff, maximum: bus.maxBackoff)),
            units: units,
            unitIDs: unitIDs,
            registers: [UInt16](repeating: 0, count: max(bus.maxRegistersPerRead, 125)),
            bits: [UInt8](repeating: 0, count: max(bus.maxBitsPerRead, 2000)),
            splits: plan.groups.map { [[PlannedRead]?](repeating: nil, count: $0.reads.count) })
        state.readings.reserveCapacity(plan.reads.reduce(0) { $0 + $1.sensors.count })
        var due = [UInt64](repeating: clock.monotonicNanoseconds(), count: plan.groups.count)
        let intervals = plan.groups.map { UInt64(max(1_000, $0.interval.totalNanoseconds)) }

        defer { state.connection.close() }
        while !stopping.load(ordering: .sequentiallyConsistent) {
            performWrites(&state)
            guard let next = due.indices.min(by: { due[$0] < due[$1] }) else {
                // No sensors on this bus: idle until stopped.
                _ = wake.wait(untilMonotonicNanoseconds: UInt64.max, now: clock.monotonicNanoseconds)
                continue
            }
            let now = clock.monotonicNanoseconds()
            if due[next] > now {
                if wake.wait(untilMonotonicNanoseconds: due[next], now: clock.monotonicNanoseconds) { wake.drain() }
                continue
            }
            state.readings.removeAll(keepingCapacity: true)
            pollCycle(group: next, state: &state)
            if stopping.load(ordering: .sequentiallyConsistent) { break }
            healthState.withLock { $0.cycles += 1 }
            sink(state.readings)
            // Next slot on the grid; slots missed while the bus was busy are skipped, not run in a burst.
            let after = clock.monotonicNanoseconds()
            due[next] += intervals[next]
            if due[next] <= after { due[next] += ((after - due[next]) / intervals[next] + 1) * intervals[next] }
        }
    }

    /// The bus connection and its reconnect schedule.
    private struct Connection {
        let bus: BusConfiguration
        var client: ModbusClient?
        var backoff: Backoff
        var nextAttempt: UInt64 = 0
        var everConnected = false

        init(bus: BusConfiguration, backoff: Backoff) {
            self.bus = bus
            self.backoff = backoff
        }

        var isConnected: Bool { client?.isConnected ?? false }

        mutating func close() { client?.close() }
    }

    /// Connects when disconnected and the reconnect backoff allows; records the outcome.
    private func ensureConnected(_ connection: inout Connection) {
        if connection.isConnected { return }
        let now = clock.monotonicNanoseconds()
        guard now >= connection.nextAttempt else { return }
        do throws(ModbusError) {
            if connection.client == nil {
                connection.client = try ModbusClient(transport: bus.transport, responseTimeout: bus.responseTimeout)
            }
            try connection.client?.connect()
            connection.backoff.reset()
            let reconnect = connection.everConnected
            connection.everConnected = true
            healthState.withLock { h in
                h.isConnected = true
                h.nextConnectAttempt = nil
                if reconnect { h.reconnects += 1 }
            }
        } catch {
            let wait = connection.backoff.fail()
            connection.nextAttempt = clock.monotonicNanoseconds() + wait
            let at = Timestamp(millisecondsSinceEpoch: clock.now().millisecondsSinceEpoch + Int64(wait / 1_000_000))
            healthState.withLock { h in
                h.isConnected = false
                h.connectFailures += 1
                h.nextConnectAttempt = at
                h.lastConnectionError = error.description
            }
        }
    }

    private func pollCycle(group g: Int, state: inout PollState) {
        let group = plan.groups[g]
        state.cycleTime = clock.now()
        for id in state.unitIDs {
            state.units[id]?.skipThisCycle = false
            state.units[id]?.cycleFailed = false
            state.units[id]?.answered = false
        }
        ensureConnected(&state.connection)
        for (r, read) in group.reads.enumerated() {
            if stopping.load(ordering: .sequentiallyConsistent) { return }
            if let parts = state.splits[g][r] {
                for part in parts { _ = poll(part, state: &state) }
                continue
            }
            if poll(read, state: &state, mayAskForSplit: read.sensors.count > 1) {
                let parts = read.sensors.map { slot in
                    var single = slot
                    single.position = 0
                    return PlannedRead(unitID: read.unitID, kind: read.kind, address: read.address + slot.position,
                                       count: read.kind.isBit ? 1 : slot.type.registerCount, sensors: [single])
                }
                state.splits[g][r] = parts
                for part in parts { _ = poll(part, state: &state) }
            }
        }
        // Units that answered every read of this cycle had a good poll.
        let time = clock.now()
        healthState.withLock { h in
            for id in state.unitIDs {
                if let runtime = state.units[id], runtime.answered, !runtime.cycleFailed {
                    h.units[runtime.healthIndex].lastGoodPoll = time
                }
            }
        }
    }

    /// Waits until the bus's pause has passed since `lastRequestEnd` (0: no request yet; `now`:
    /// the monotonic time already read). Every request waits for it: reads, a read asked again
    /// and writes. A write queued meanwhile does not end it (the loop sends writes between
    /// cycles: it is woken again for them); a stop does.
    /// - Returns: false when the poller is stopping (send nothing more).
    private func waitOutPause(after lastRequestEnd: UInt64, now: UInt64) -> Bool {
        let pause = pauseNanoseconds
        guard pause > 0, lastRequestEnd > 0, now < lastRequestEnd + pause else {
            return !stopping.load(ordering: .sequentiallyConsistent)
        }
        var wokenForWrites = false
        while wake.wait(untilMonotonicNanoseconds: lastRequestEnd + pause, now: clock.monotonicNanoseconds) {
            if stopping.load(ordering: .sequentiallyConsistent) { break }
            wake.drain()
            wokenForWrites = true
        }
        if wokenForWrites { wake.wake() }
        return !stopping.load(ordering: .sequentiallyConsistent)
    }

    /// Polls one read and appends a reading per sensor.
    /// - Returns: true (and appends nothing) when `mayAskForSplit` and the device refused the
    ///   read as a whole with "illegal data address": the caller then reads sensor by sensor.
    private func poll(_ read: PlannedRead, state: inout PollState, mayAskForSplit: Bool = false) -> Bool {
        let unit = read.unitID
        guard var runtime = state.units[unit] else { return false }
        if !state.connection.isConnected {
            ensureConnected(&state.connection)
            if !state.connection.isConnected {
                emit(read, quality: .offline, time: state.cycleTime, into: &state.readings)
                return false
            }
        }
        let now = clock.monotonicNanoseconds()
        if runtime.skipThisCycle || runtime.backoffUntil > now {
            emit(read, quality: .stale, time: state.cycleTime, into: &state.readings)
            return false
        }
        // Stopped during the pause: no request after the stop (the cycle is not handed over).
        guard waitOutPause(after: state.lastRequestEnd, now: now) else { return false }
        var outcome = perform(read, client: state.connection.client, registers: &state.registers, bits: &state.bits)
        state.lastRequestEnd = clock.monotonicNanoseconds()
        if let error = outcome, error.code == .invalidResponse {
            // Most likely a late answer to an earlier, timed-out request: the answers are out of
            // step with the requests. A flush cannot catch answers still in flight, so on TCP
            // start a fresh connection (late answers then go to the old socket); on a serial
            // line the client has flushed. Then ask once more, after the pause like any request.
            if case .tcp = bus.transport {
                state.connection.close()
                state.connection.nextAttempt = 0
                ensureConnected(&state.connection)
            }
            if state.connection.isConnected, waitOutPause(after: state.lastRequestEnd, now: clock.monotonicNanoseconds()) {
                outcome = perform(read, client: state.connection.client, registers: &state.registers, bits: &state.bits)
                state.lastRequestEnd = clock.monotonicNanoseconds()
            }
        }
        let index = runtime.healthIndex
        guard let error = outcome else {
            let decodeErrors = decode(read, registers: state.registers, bits: state.bits, time: state.cycleTime, into: &state.readings)
            runtime.backoff.reset()
            runtime.backoffUntil = 0
            runtime.answered = true
            state.units[unit] = runtime
            healthState.withLock { h in
                h.units[index].requests += 1
                h.units[index].consecutiveErrors = 0
                h.units[index].backoffUntil = nil
                h.units[index].errors.decodeErrors += decodeErrors
            }
            return false
        }
        if mayAskForSplit, error.code == .exception, error.exceptionCode == .illegalDataAddress {
            healthState.withLock { $0.units[index].requests += 1 }
            return true
        }
        let quality: Quality
        switch error.code {
        case .timeout: quality = .timeout
        case .exception: quality = .exception
        case .crcError, .invalidResponse, .tooManyData: quality = .decodeError
        default: quality = .offline
        }
        emit(read, quality: quality, time: state.cycleTime, into: &state.readings)
        runtime.cycleFailed = true
        var backoffUntil: Timestamp? = nil
        if quality == .timeout {
            // The unit is probably gone: skip it for a while so its neighbours keep their rate.
            let wait = runtime.backoff.fail()
            runtime.backoffUntil = state.lastRequestEnd + wait
            runtime.skipThisCycle = true
            backoffUntil = Timestamp(millisecondsSinceEpoch: clock.now().millisecondsSinceEpoch + Int64(wait / 1_000_000))
        }
        state.units[unit] = runtime
        let lost = quality == .offline
        healthState.withLock { h in
            h.units[index].requests += 1
            h.units[index].consecutiveErrors += 1
            switch quality {
            case .timeout: h.units[index].errors.timeouts += 1
            case .exception: h.units[index].errors.exceptions += 1
            case .decodeError: h.units[index].errors.invalidResponses += 1
            default: h.units[index].errors.connectionLosses += 1
            }
            if let backoffUntil { h.units[index].backoffUntil = backoffUntil }
            if lost {
                h.isConnected = false
                h.lastConnectionError = error.description
            }
        }
        if lost {
            // Reconnect at once; if that fails, the reconnect backoff applies.
            state.connection.close()
            state.connection.nextAttempt = 0
        }
        return false
    }

    /// Sends one planned read; nil on success.
    private func perform(_ read: PlannedRead, client: ModbusClient?, registers: inout [UInt16], bits: inout [UInt8]) -> ModbusError? {
        guard let client else {
            return ModbusError(code: .notConnected, operation: .read(kind: read.kind, unit: read.unitID, address: read.address, count: read.count), endpoint: bus.name)
        }
        do throws(ModbusError) {
            if read.kind.isBit {
                try client.readBits(read.kind, unit: read.unitID, address: read.address, count: read.count, into: &bits)
            } else {
                try client.readRegisters(read.kind, unit: read.unitID, address: read.address, count: read.count, into: &registers)
            }
            return nil
        } catch {
            return error
        }
    }

    private func emit(_ read: PlannedRead, quality: Quality, time: Timestamp, into readings: inout [Reading]) {
        for slot in read.sensors {
            readings.append(Reading(machine: slot.machine, sensor: slot.sensor, time: time, value: .nan, quality: quality))
        }
    }

    /// Decodes every sensor of a successful read; returns how many failed to decode (a value
    /// outside its sensor's `min`…`max` was decoded: it is flagged `.outOfRange`, not counted).
    private func decode(_ read: PlannedRead, registers: [UInt16], bits: [UInt8], time: Timestamp, into readings: inout [Reading]) -> Int {
        var failures = 0
        let isBit = read.kind.isBit
        registers.withUnsafeBufferPointer { buffer in
            // Room for the read's readings is made once: `Array.append` checked the array's
            // uniqueness (a runtime call) and capacity for every reading.
            readings.append(addingCapacity: read.sensors.count) { readings in
                for slot in read.sensors {
                    var result: (value: Double, quality: Quality)
                    if isBit {
                        result = RegisterCodec.scaled(bits[slot.position] != 0 ? 1 : 0, scale: slot.scale, offset: slot.offset)
                    } else {
                        result = RegisterCodec.decode(buffer, start: slot.position, type: slot.type, order: slot.order,
                                                      bit: slot.bit, scale: slot.scale, offset: slot.offset)
                    }
                    // Outside the physical range: flagged, the decoded value kept so the data alert
                    // can say what the sensor read and the buffer can keep it; nothing scores it. The
                    // unit answered properly, so it is no decode error of the unit.
                    if result.quality == .good, SensorRange(minimum: slot.minimum, maximum: slot.maximum).excludes(result.value) {
                        result.quality = .outOfRange
                    }
                    if result.quality != .good && result.quality != .outOfRange { failures += 1 }
                    readings.append(Reading(machine: slot.machine, sensor: slot.sensor, time: time, value: result.value, quality: result.quality))
                }
            }
        }
        return failures
    }
}

/// A write the runtime asks a bus to perform (`BusPoller.enqueue(_:completion:)`).
public enum ModbusWrite: Sendable, Hashable {
    /// Set one coil (function 5).
    case coil(unit: Int, address: Int, value: Bool)
    /// Write one holding register (function 6).
    case register(unit: Int, address: Int, value: UInt16)
    /// Write consecutive holding registers (function 16).
    case registers(unit: Int, address: Int, values: [UInt16])

    /// How a `ModbusError` describes it.
    var operation: ModbusError.Operation {
        switch self {
        case let .coil(unit, address, _): return .write(kind: .coil, unit: unit, address: address, count: 1)
        case let .register(unit, address, _): return .write(kind: .holding, unit: unit, address: address, count: 1)
        case let .registers(unit, address, values): return .write(kind: .holding, unit: unit, address: address, count: values.count)
        }
    }
}

/// A poller could not be set up; says why.
public struct ModbusPollerError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and what to do.
    public var message: String
/// The message.
    public var description: String { message }
}
