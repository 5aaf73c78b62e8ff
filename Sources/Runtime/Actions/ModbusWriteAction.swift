#if canImport(Glibc)
import Glibc
#endif
import Configuration
import EdgeCore
import Modbus

/// Writes a coil or holding register when an alert is raised (`onValue`) and when it clears
/// (`offValue`), e.g. to switch a stack light. The write is queued on the bus's poller, which
/// sends it on its own connection between two requests (TCP and RTU alike: the line is never
/// opened twice); the action thread waits for the answer.
struct ModbusWriteAction: Sendable {
    let poller: BusPoller
    let unitID: Int
    let kind: RegisterKind
    let address: Int
    let onValue: Int
    let offValue: Int
    /// How long to wait for the poller to send the write.
    let timeout: Duration

    /// Writes the value for `event` (raised/updated → on, cleared → off) and waits for the answer.
    func run(for event: AlertEvent) throws(ModbusError) {
        let value = event.change == .cleared ? offValue : onValue
        let write: ModbusWrite = kind == .coil
            ? .coil(unit: unitID, address: address, value: value != 0)
            : .register(unit: unitID, address: address, value: UInt16(truncatingIfNeeded: value))
        let done = Completion()
        poller.enqueue(write) { error in done.finish(error) }
        guard let outcome = done.wait(timeout: timeout) else {
            // The poller did not get to send it in time (bus in backoff or stuck).
            throw ModbusError(code: .timeout, operation: .write(kind: kind, unit: unitID, address: address, count: 1),
                              endpoint: "bus \(poller.bus.name)")
        }
        if let error = outcome { throw error }
    }

    /// A one-shot result handed from the poller's thread to the waiting action thread.
    private final class Completion: @unchecked Sendable {
        // @unchecked Sendable: `result` is written once and read only with `mutex` held.
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        private var result: ModbusError?? = nil

        init() {
            pthread_mutex_init(mutex, nil)
            pthread_cond_init(condition, nil)
        }

        deinit {
            pthread_cond_destroy(condition)
            pthread_mutex_destroy(mutex)
            mutex.deallocate()
            condition.deallocate()
        }

        func finish(_ error: ModbusError?) {
            pthread_mutex_lock(mutex)
            result = .some(error)
            pthread_cond_signal(condition)
            pthread_mutex_unlock(mutex)
        }

        /// The outcome (nil inside: success), or nil when `timeout` passed first.
        func wait(timeout: Duration) -> ModbusError?? {
            let deadline = SystemClock.monotonicNanoseconds() + UInt64(max(0, timeout.wholeNanoseconds))
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            while result == nil {
                let now = SystemClock.monotonicNanoseconds()
                if now >= deadline { return nil }
                var ts = timespec()
                clock_gettime(CLOCK_REALTIME, &ts)
                let wait = min(deadline - now, 50_000_000)
                let total = UInt64(ts.tv_nsec) + wait
                ts.tv_sec += Int(total / 1_000_000_000)
                ts.tv_nsec = Int(total % 1_000_000_000)
                pthread_cond_timedwait(condition, mutex, &ts)
            }
            return result
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
    /// - Parameter pollers: the running bus pollers (Modbus writes go through them).
    static func make(_ configuration: ActionConfiguration, pollers: [BusPoller]) -> (ConfiguredAction?, String?) {
        let events = Set(configuration.events.compactMap(AlertEvent.Change.init(rawValue:)))
        let severity = AlertSeverity(rawValue: configuration.minimumSeverity) ?? .warning
        switch configuration.kind {
        case let .command(arguments, timeout):
            let action = CommandAction(arguments: arguments, timeout: timeout)
            return (ConfiguredAction(work: .command(action), events: events, machines: Set(configuration.machines), minimumSeverity: severity), nil)
        case let .modbusWrite(busName, unitID, kind, address, on, off):
            guard let poller = pollers.first(where: { $0.bus.name == busName }) else { return (nil, "no poller for bus \(busName)") }
            let timeout = poller.bus.responseTimeout * 4 + .seconds(2)
            let action = ModbusWriteAction(poller: poller, unitID: unitID, kind: kind, address: address, onValue: on, offValue: off, timeout: timeout)
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
                return "modbus write to unit \(action.unitID) address \(action.address) on \(action.poller.bus.name): \(error)"
            }
        }
    }
}
