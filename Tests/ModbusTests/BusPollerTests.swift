import Configuration
import EdgeCore
import Foundation
import Modbus
import ModbusServer
import Synchronization
import Testing
import TestSupport

/// Collects every batch a poller delivers.
final class ReadingCollector: Sendable {
    private let batches = Mutex<[[Reading]]>([])

    var sink: BusPoller.Sink { { [self] readings in batches.withLock { $0.append(readings) } } }

    var all: [Reading] { batches.withLock { $0.flatMap { $0 } } }
    var batchCount: Int { batches.withLock { $0.count } }

    func readings(machine: Int32, sensor: Int32) -> [Reading] {
        all.filter { $0.machine == machine && $0.sensor == sensor }
    }

    func reset() { batches.withLock { $0.removeAll() } }
}

/// Collects every cycle a poller delivers, with how long the poller's thread waited for a core
/// (runnable, not running) since the cycle before: `/proc/thread-self/schedstat`'s second field,
/// read on the poller's thread in the sink. Nil where the kernel does not provide it.
final class CycleCollector: Sendable {
    struct Cycle: Sendable {
        var readings: [Reading]
        var waitedForCPU: Duration?
    }

    /// The cycles, and the thread's wait when the last one was delivered (0 when it started).
    private let state = Mutex<(cycles: [Cycle], lastWait: Int64)>(([], 0))

    var sink: BusPoller.Sink {
        { [self] readings in
            let wait = CycleCollector.runnableWaitNanoseconds()
            state.withLock { state in
                state.cycles.append(Cycle(readings: readings, waitedForCPU: wait.map { .nanoseconds($0 - state.lastWait) }))
                state.lastWait = wait ?? 0
            }
        }
    }

    var cycles: [Cycle] { state.withLock { $0.cycles } }
    var cycleCount: Int { state.withLock { $0.cycles.count } }

    func readings(machine: Int32) -> [Reading] {
        cycles.flatMap { $0.readings.filter { $0.machine == machine } }
    }

    /// Nanoseconds the calling thread has spent runnable but waiting for a core.
    static func runnableWaitNanoseconds() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/thread-self/schedstat", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        return fields.count >= 2 ? Int64(fields[1]) : nil
    }
}

func sensor(_ name: String, unit: Int = 1, kind: RegisterKind = .holding, address: Int, type: DataType = .uint16,
            order: WordOrder = .ABCD, scale: Double = 1, offset: Double = 0) -> SensorConfiguration {
    var s = SensorConfiguration(name: name, bus: "line", address: address)
    s.unitID = unit
    s.kind = kind
    s.type = type
    s.order = order
    s.scale = scale
    s.offset = offset
    return s
}

func tcpBus(_ server: ModbusServer, timeout: Duration = .milliseconds(200)) -> BusConfiguration {
    var bus = BusConfiguration(name: "line", transport: .tcp(host: "127.0.0.1", port: server.port))
    bus.responseTimeout = timeout
    bus.maxBackoff = .seconds(2)
    return bus
}

func machine(_ id: String, every interval: Duration, _ sensors: [SensorConfiguration]) -> MachineConfiguration {
    var m = MachineConfiguration(id: id, sensors: sensors)
    m.pollInterval = interval
    return m
}

/// Sleeps on the Swift clock, leaving the test runner's threads free for other suites (at
/// once when the task is cancelled).
func pause(_ duration: Duration) async {
    _ = await pauseUnlessCancelled(duration)
}

/// Waits (polling every 10 ms, without blocking a thread) until `condition` holds or `seconds`
/// pass, or the task is cancelled (TestSupport's `eventually`).
func eventually(within seconds: Double, _ condition: () -> Bool) async -> Bool {
    await TestSupport.eventually(within: seconds, condition)
}

@Suite("Bus poller against a real server", .serialized)
struct BusPollerTests {
    @Test func everySensorDecodedWithScaleAndOffset() async throws {
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        try server.setValue(.float(Double(Float(12.5))), as: .float32, order: .CDAB, kind: .holding, unit: 1, address: 0)
        try server.setValue(.signed(-250), as: .int16, order: .ABCD, kind: .holding, unit: 1, address: 2)
        try server.setValue(.unsigned(0x0102_0304), as: .uint32, order: .DCBA, kind: .input, unit: 2, address: 10)
        try server.setBits([true], kind: .coil, unit: 2, address: 3)
        try server.setRegisters([0b100], kind: .holding, unit: 2, address: 0)
        var running = sensor("running", unit: 2, address: 0, type: .bool)
        running.bit = 2
        let machines = [
            machine("pump", every: .milliseconds(50), [
                sensor("flow", address: 0, type: .float32, order: .CDAB),
                sensor("temp", address: 2, type: .int16, scale: 0.1, offset: 40),
            ]),
            machine("motor", every: .milliseconds(50), [
                sensor("count", unit: 2, kind: .input, address: 10, type: .uint32, order: .DCBA),
                sensor("light", unit: 2, kind: .coil, address: 3, type: .bool),
                running,
            ]),
        ]
        let collector = ReadingCollector()
        let poller = try BusPoller(bus: tcpBus(server), machines: machines, sink: collector.sink)
        try poller.start()
        // Three cycles, however long a loaded machine takes to run them (3 polls of 50 ms: 5 s
        // was assumed before, and a failure in a loaded run left no message).
        #expect(await eventually(within: 60) { collector.batchCount >= 3 }, "\(collector.batchCount) cycles in 60 s")
        poller.stop()
        let stoppedAt = collector.batchCount
        let seen = Dictionary(grouping: collector.all, by: \.quality).mapValues(\.count)
        let expected: [(Int32, Int32, Double)] = [(0, 0, 12.5), (0, 1, 15), (1, 0, Double(0x0102_0304)), (1, 1, 1), (1, 2, 1)]
        for (m, s, value) in expected {
            let last = try #require(collector.readings(machine: m, sensor: s).last)
            #expect(last.quality == .good, "machine \(m) sensor \(s): \(last.quality.name); qualities over \(stoppedAt) cycles: \(seen)")
            #expect(abs(last.value - value) < 1e-9, "machine \(m) sensor \(s)")
        }
        // Stopped means stopped: no batch arrives after stop() returned.
        await pause(.milliseconds(150))
        #expect(collector.batchCount == stoppedAt)
        let health = poller.health()
        #expect(health.isConnected)
        #expect(health.units.map(\.unitID) == [1, 2])
        // The server answers like a unit whatever the load (SCHED_FIFO: see startLoopbackServer),
        // so every request is answered in time and decodes.
        #expect(health.units.allSatisfy { $0.lastGoodPoll != nil && $0.errors.total == 0 },
                "\(health.units.map { "unit \($0.unitID): \($0.requests) requests, errors \($0.errors), last good poll \($0.lastGoodPoll?.iso8601 ?? "none")" }); qualities over \(stoppedAt) cycles: \(seen)")
    }

    /// A machine whose sensors take three requests (two units, holding, input and coils), the
    /// server answering each 4 ms late: the requests of a cycle end several milliseconds apart,
    /// yet every reading of the cycle carries one time, so the cycle is one row downstream.
    @Test func everyReadingOfACycleCarriesTheCyclesTime() async throws {
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        try server.setRegisters([7], kind: .holding, unit: 1, address: 0)
        try server.setRegisters([8], kind: .input, unit: 2, address: 10)
        try server.setBits([true], kind: .coil, unit: 2, address: 3)
        server.setFault(.slow(milliseconds: 4), unit: 1)
        server.setFault(.slow(milliseconds: 4), unit: 2)
        let machines = [machine("pump", every: .milliseconds(100), [
            sensor("a", address: 0),
            sensor("b", unit: 2, kind: .input, address: 10),
            sensor("c", unit: 2, kind: .coil, address: 3, type: .bool),
        ])]
        let collector = ReadingCollector()
        let poller = try BusPoller(bus: tcpBus(server), machines: machines, sink: collector.sink)
        try poller.start()
        #expect(await eventually(within: 10) { collector.batchCount >= 5 })
        poller.stop()
        let readings = collector.all
        #expect(readings.filter { $0.quality == .good }.count == readings.count)
        // One time per cycle, each sensor once per time: rows are whole.
        let byTime = Dictionary(grouping: readings, by: \.time)
        #expect(byTime.count == collector.batchCount)
        #expect(byTime.values.allSatisfy { Set($0.map(\.sensor)) == [0, 1, 2] && $0.count == 3 })
    }

    @Test func nanIsADecodeErrorAndOutOfRangeIsFlaggedOutOfRange() async throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        try server.setValue(.float(.nan), as: .float32, kind: .holding, unit: 1, address: 0)
        try server.setValue(.float(500), as: .float32, kind: .holding, unit: 1, address: 2)
        var limited = sensor("limited", address: 2, type: .float32)
        limited.maximum = 100
        let collector = ReadingCollector()
        let poller = try BusPoller(
            bus: tcpBus(server), machines: [machine("m", every: .milliseconds(50), [sensor("nan", address: 0, type: .float32), limited])],
            sink: collector.sink)
        try poller.start()
        #expect(await eventually(within: 5) { collector.batchCount >= 1 })
        poller.stop()
        let nan = try #require(collector.readings(machine: 0, sensor: 0).first)
        #expect(nan.quality == .decodeError)
        #expect(nan.value.isNaN)
        // Out of range: flagged as such, the decoded value kept for the out_of_range alert to name.
        let outside = try #require(collector.readings(machine: 0, sensor: 1).first)
        #expect(outside.quality == .outOfRange)
        #expect(outside.value == 500)
        // The unit answered properly: only the NaN counts as its decode error.
        let cycles = collector.readings(machine: 0, sensor: 0).count
        #expect(poller.health().units.first?.errors.decodeErrors == cycles)
    }

    /// At a limit's rounding edge the poller decides as `calibrate` does: 16.000000016 with
    /// `max = 16` is 16 as the `Float` the detector sees and calibration learns, so it is good;
    /// 16.001 is out of range. Before, the poller compared the `Double` and flagged the first,
    /// while `calibrate` (and the buffer's readers, which round to `Float`) took it as in range.
    @Test func valueAtTheLimitsRoundingEdgeIsJudgedAsTheDetectorSeesIt() async throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        try server.setRegisters([16_000, 16_001, 1_000], kind: .holding, unit: 1, address: 0)
        var sensors = (0..<3).map { sensor("s\($0)", address: $0, scale: 0.001000000001) }
        for i in 0..<2 { sensors[i].maximum = 16 }
        sensors[2].minimum = 1  // 0.999999999: below 1 as a Double, 1 as a Float
        sensors[2].scale = 0.000999999999
        let collector = ReadingCollector()
        let poller = try BusPoller(bus: tcpBus(server), machines: [machine("m", every: .milliseconds(50), sensors)], sink: collector.sink)
        try poller.start()
        #expect(await eventually(within: 5) { collector.batchCount >= 1 })
        poller.stop()
        let edge = try #require(collector.readings(machine: 0, sensor: 0).first)
        #expect(edge.value > 16 && Float(edge.value) == 16, "\(edge.value)")
        #expect(edge.quality == .good)
        let beyond = try #require(collector.readings(machine: 0, sensor: 1).first)
        #expect(beyond.quality == .outOfRange && Float(beyond.value) > 16)
        let low = try #require(collector.readings(machine: 0, sensor: 2).first)
        #expect(low.value < 1 && Float(low.value) == 1, "\(low.value)")
        #expect(low.quality == .good)
        // The one comparison, as the offline commands make it on the Float they hold.
        for (reading, s) in [(edge, sensors[0]), (beyond, sensors[1])] {
            #expect(SensorRange(minimum: s.minimum, maximum: s.maximum).excludes(Float(reading.value)) == (reading.quality == .outOfRange))
        }
    }

    @Test func exceptionForOneAddressFlagsOnlyThatSensor() async throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        try server.setRegisters([10, 11, 12, 13, 14, 15], kind: .holding, unit: 1, address: 0)
        server.addException(.illegalDataAddress, unit: 1, kind: .holding, addresses: 3..<4)
        let sensors = (0..<6).map { sensor("s\($0)", address: $0) }
        let collector = ReadingCollector()
        let poller = try BusPoller(bus: tcpBus(server), machines: [machine("m", every: .milliseconds(50), sensors)], sink: collector.sink)
        #expect(poller.plan.reads.count == 1)  // one merged read, refused as a whole by the device
        try poller.start()
        #expect(await eventually(within: 5) { collector.batchCount >= 3 })
        poller.stop()
        for s in 0..<6 {
            let last = try #require(collector.readings(machine: 0, sensor: Int32(s)).last)
            if s == 3 {
                #expect(last.quality == .exception)
            } else {
                #expect(last.quality == .good, "sensor \(s)")
                #expect(last.value == Double(10 + s))
            }
        }
        #expect(poller.health().unit(1)?.errors.exceptions ?? 0 >= 3)
    }

    /// A dead unit (silent, or answering 400 ms late against a 150 ms timeout) does not stall the
    /// two other units on its bus: per-unit backoff waits its timeout once per backoff period.
    ///
    /// Measured against a control in the same run: a second poller of three healthy units, on a
    /// server of their own, polled at the same rate over the same time. Both pollers run with
    /// SCHED_FIFO where allowed (`Options.realtimePriority`, below the servers'): the test is
    /// about which requests the poller makes, and beside six busy loops a poller at the normal
    /// policy waited up to 0.54 s at a time for a core (its thread's schedstat) and made 11 polls
    /// to its twin's 37 at the same policy: against a fixed 40 polls in 2 s, or against a
    /// control at the normal policy, the test measured the scheduler.
    @Test(arguments: [ModbusServer.Fault.silent, .slow(milliseconds: 400)])
    func deadUnitDoesNotStallItsNeighbours(fault: ModbusServer.Fault) async throws {
        let server = try startLoopbackServer(units: [1, 2, 3])
        defer { server.stop() }
        let controlServer = try startLoopbackServer(units: [1, 2, 3])
        defer { controlServer.stop() }
        for unit in [1, 2, 3] {
            try server.setRegisters([UInt16(unit * 100)], kind: .holding, unit: unit, address: 0)
            try controlServer.setRegisters([UInt16(unit * 100)], kind: .holding, unit: unit, address: 0)
        }
        server.setFault(fault, unit: 2)
        let interval = 50
        let machines = [1, 2, 3].map { machine("m\($0)", every: .milliseconds(interval), [sensor("v", unit: $0, address: 0)]) }
        let collector = CycleCollector()
        let control = CycleCollector()
        let options = BusPoller.Options(initialUnitBackoff: .milliseconds(500), realtimePriority: Self.pollerPriority)
        let poller = try BusPoller(bus: tcpBus(server, timeout: .milliseconds(150)), machines: machines, options: options, sink: collector.sink)
        let controlPoller = try BusPoller(
            bus: tcpBus(controlServer, timeout: .milliseconds(150)), machines: machines, options: options, sink: control.sink)
        try controlPoller.start()
        try poller.start()
        #expect(poller.runsRealtime == controlPoller.runsRealtime)
        await pause(.seconds(2))
        poller.stop()
        controlPoller.stop()
        // Without per-unit backoff every cycle would wait 150 ms for unit 2: at most 1/3 of the
        // control's rate. With it, neighbours keep (nearly) their full rate.
        for m: Int32 in [0, 2] {
            let good = collector.readings(machine: m).filter { $0.quality == .good }
            let controlGood = control.readings(machine: m).filter { $0.quality == .good }
            #expect(Double(good.count) >= 0.6 * Double(controlGood.count),
                    "unit \(m + 1): \(good.count) good polls, the control's \(controlGood.count) (\(control.cycleCount) cycles)")
            #expect(good.allSatisfy { $0.value == Double((m + 1) * 100) })
        }
        let health = poller.health()
        let unit2 = try #require(health.unit(2))
        #expect(unit2.errors.timeouts >= 2)
        #expect(unit2.backoffUntil != nil)
        #expect(health.unit(1)?.errors.total == 0 || fault != .silent)
        // Unit 2 is never read good, except in a cycle in which the poller's thread itself waited
        // 250 ms or more for a core: the kernel wakes select() at the 150 ms timeout, but when
        // the thread runs only after the answer came (400 ms), select() finds it and libmodbus
        // reads it. That is the machine's load, not a timeout ignored.
        let dead = collector.cycles.flatMap { cycle in
            cycle.readings.filter { $0.machine == 1 }.map { (reading: $0, waitedForCPU: cycle.waitedForCPU) }
        }
        #expect(dead.contains { $0.reading.quality == .stale })
        let readGood = dead.filter { !($0.reading.quality == .timeout || $0.reading.quality == .stale) }
        #expect(readGood.allSatisfy { $0.reading.quality == .good && ($0.waitedForCPU ?? .zero) >= .milliseconds(250) },
                "unit 2 read \(readGood.map { "\($0.reading.quality.name), the poller \($0.waitedForCPU.map { "\($0)" } ?? "(unknown)") runnable waiting for a core" })")
        #expect(unit2.lastGoodPoll == nil || !readGood.isEmpty)
        func waited(_ c: CycleCollector) -> String {
            let cycles = c.cycles
            guard cycles.allSatisfy({ $0.waitedForCPU != nil }) else { return "unknown" }
            let total = cycles.reduce(Duration.zero) { $0 + $1.waitedForCPU! }
            return "\(total) (longest \(cycles.map { $0.waitedForCPU! }.max() ?? .zero))"
        }
        print("dead unit \(fault): neighbours \([0, 2].map { m in collector.readings(machine: m).filter { $0.quality == .good }.count }) good polls, "
              + "control \([0, 2].map { m in control.readings(machine: m).filter { $0.quality == .good }.count }); unit 2 read good \(readGood.count) times; "
              + "waiting for a core: poller \(waited(collector)), control \(waited(control))")
    }

    /// SCHED_FIFO for the pollers of tests about what a poller requests, below the stand-ins for
    /// hardware (`DevicePriority`), so a unit's answer never waits for the master's thread.
    static let pollerPriority = DevicePriority.priority - 5

    /// `Options.realtimePriority` gives the polling thread SCHED_FIFO where the system allows it
    /// (here when the stand-ins get it too), and `runsRealtime` says so; without it the thread
    /// keeps the normal policy.
    @Test(arguments: [nil, pollerPriority])
    func realtimePriorityWhereAllowed(priority: Int32?) async throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        let policies = Mutex<[Int32]>([])
        let poller = try BusPoller(
            bus: tcpBus(server), machines: [machine("m", every: .milliseconds(20), [sensor("v", address: 0)])],
            options: .init(realtimePriority: priority)) { _ in
                var policy: Int32 = -1
                var parameters = sched_param()
                _ = pthread_getschedparam(pthread_self(), &policy, &parameters)
                policies.withLock { $0.append(policy) }
            }
        try poller.start()
        #expect(await eventually(within: 30) { policies.withLock { $0.count } >= 3 })
        poller.stop()
        let allowed = priority != nil && DevicePriority.isAllowed
        #expect(poller.runsRealtime == allowed)
        // The first cycle may run before the policy is set; every later one has it.
        #expect(policies.withLock { $0.dropFirst() }.allSatisfy { $0 == (allowed ? SCHED_FIFO : SCHED_OTHER) })
    }

    @Test func serverStoppedMidPollThenBackReconnects() async throws {
        var server = try startLoopbackServer(units: [1])
        let port = server.port
        try server.setRegisters([7], kind: .holding, unit: 1, address: 0)
        let collector = ReadingCollector()
        var bus = tcpBus(server)
        bus.maxBackoff = .milliseconds(400)
        let poller = try BusPoller(
            bus: bus, machines: [machine("m", every: .milliseconds(50), [sensor("v", address: 0)])],
            options: .init(initialReconnectBackoff: .milliseconds(100)), sink: collector.sink)
        try poller.start()
        defer { poller.stop() }
        #expect(await eventually(within: 5) { collector.all.contains { $0.quality == .good } })

        server.stop()
        #expect(await eventually(within: 5) { collector.all.last?.quality == .offline })
        #expect(await eventually(within: 5) { poller.health().connectFailures >= 1 })
        #expect(!poller.health().isConnected)

        server = try ModbusServer(endpoint: .tcp(host: "127.0.0.1", port: port), units: [.init(unitID: 1)])
        defer { server.stop() }
        try server.setRegisters([8], kind: .holding, unit: 1, address: 0)
        #expect(await eventually(within: 5) { collector.all.last.map { $0.quality == .good && $0.value == 8 } ?? false })
        let health = poller.health()
        #expect(health.isConnected)
        #expect(health.reconnects >= 1)
    }

    @Test func droppedConnectionReconnectsAtOnce() async throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        try server.setRegisters([5], kind: .holding, unit: 1, address: 0)
        let collector = ReadingCollector()
        let poller = try BusPoller(bus: tcpBus(server), machines: [machine("m", every: .milliseconds(30), [sensor("v", address: 0)])], sink: collector.sink)
        try poller.start()
        defer { poller.stop() }
        #expect(await eventually(within: 5) { collector.batchCount >= 2 })
        server.dropAllConnections()
        #expect(await eventually(within: 5) { poller.health().reconnects >= 1 })
        collector.reset()
        #expect(await eventually(within: 5) { collector.all.contains { $0.quality == .good && $0.value == 5 } })
    }

    /// What else happens on a paced bus while the pause is measured.
    enum PacedBusTraffic: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// Reads only.
        case reads
        /// Writes queued while the poller waits out its pauses (an alert action's stack light):
        /// each write is a request too, and a write's wake-up must not end a read's pause.
        case writesQueued
        /// Unit 1 answers 300 ms late against a 200 ms timeout: a later read takes its stale
        /// answer and is asked again on a fresh connection.
        case lateAnswers
        var testDescription: String { rawValue }
    }

    /// The bus's pause separates every request the server receives (reads, reads asked again,
    /// writes, and none after the stop), measured there as the smallest gap between two
    /// arrivals. The server notes a request before answering it, and the poller waits for the
    /// answer (or its timeout: 10 s, 200 ms for the late unit) and then the pause: load can
    /// only lengthen a gap, so the bound is the pause itself. Before, a count per second of
    /// wall time was bounded by when this test's task came back from a 1 s sleep (and needed 8
    /// requests within it), which missed the request a stop sent at once.
    @Test(arguments: PacedBusTraffic.allCases)
    func pauseBetweenRequestsIsHonoured(_ traffic: PacedBusTraffic) async throws {
        let server = try startLoopbackServer(units: [1, 2, 3, 4])
        defer { server.stop() }
        if traffic == .lateAnswers { server.setFault(.slow(milliseconds: 300), unit: 1) }
        var bus = tcpBus(server, timeout: traffic == .lateAnswers ? .milliseconds(200) : .seconds(10))
        bus.pauseBetweenRequests = .milliseconds(40)
        let machines = [machine("m", every: .milliseconds(10), (1...4).map { sensor("v\($0)", unit: $0, address: 0) })]
        let collector = ReadingCollector()
        let poller = try BusPoller(bus: bus, machines: machines, sink: collector.sink)
        try poller.start()
        let writesDone = Mutex(0)
        var writesQueued = 0
        let measured = await eventually(within: 60) {
            if traffic == .writesQueued, server.recentRequests().count >= 4 * (writesQueued + 1), writesQueued < 4 {
                writesQueued += 1
                poller.enqueue(.register(unit: 2, address: 1, value: UInt16(writesQueued))) { _ in writesDone.withLock { $0 += 1 } }
            }
            return server.recentRequests().count >= 24 && (traffic != .lateAnswers || poller.health().reconnects >= 2)
                && (traffic != .writesQueued || writesDone.withLock { $0 } == 4)
        }
        poller.stop()
        let arrivals = server.recentRequests().map(\.monotonicNanoseconds)
        #expect(measured, "\(arrivals.count) requests, \(poller.health().reconnects) reconnects, \(writesDone.withLock { $0 }) of 4 writes in 60 s")
        let gaps = zip(arrivals.dropFirst(), arrivals).map { Double($0 - $1) / 1e6 }
        // The poller sends when its pause ends, deadlines within 50 µs counting as reached
        // (`WakeSignal.wait`).
        let smallest = gaps.min() ?? 0
        #expect(smallest >= 40 - 0.05, "a gap of \(smallest) ms between two requests (pause 40 ms); gaps: \(gaps.map { String(format: "%.1f", $0) })")
        print("pause between requests (\(traffic)): \(arrivals.count) requests, smallest gap \(String(format: "%.2f", smallest)) ms, \(poller.health().reconnects) reconnects")
    }

    @Test func rtuPollerOverSocat() async throws {
        guard SocatPair.isAvailable else { return }
        let pair = try await SocatPair()
        defer { pair.stop() }
        let server = try ModbusServer(endpoint: .rtu(device: pair.serverEnd, baud: 115_200), units: [.init(unitID: 1), .init(unitID: 2)])
        defer { server.stop() }
        _ = server.useRealtimeScheduling(priority: DevicePriority.priority)  // a unit answers whatever the load
        try server.setValue(.float(Double(Float(3.25))), as: .float32, order: .BADC, kind: .holding, unit: 1, address: 4)
        try server.setRegisters([99], kind: .input, unit: 2, address: 0)
        var bus = BusConfiguration(name: "line", transport: .rtu(device: pair.clientEnd, baud: 115_200, parity: .none, dataBits: 8, stopBits: 1))
        bus.responseTimeout = .milliseconds(300)
        bus.pauseBetweenRequests = .milliseconds(5)
        let machines = [machine("m", every: .milliseconds(50), [
            sensor("a", address: 4, type: .float32, order: .BADC), sensor("b", unit: 2, kind: .input, address: 0),
        ])]
        let collector = ReadingCollector()
        let poller = try BusPoller(bus: bus, machines: machines, sink: collector.sink)
        try poller.start()
        // Until both units' values have been read: on a loaded machine socat (the wire) may wait
        // for a core past the 300 ms response timeout, and that poll is rightly flagged a timeout;
        // what is tested here is reading and decoding over RTU, not the machine's latency.
        let read = await eventually(within: 30) {
            collector.batchCount >= 3 && collector.readings(machine: 0, sensor: 0).last?.value == 3.25
                && collector.readings(machine: 0, sensor: 1).last?.value == 99
        }
        poller.stop()
        #expect(read, "last readings: \(String(describing: collector.readings(machine: 0, sensor: 0).last)), \(String(describing: collector.readings(machine: 0, sensor: 1).last))")
    }
}

@Suite("Writes through a running poller")
struct BusPollerWriteTests {
    @Test func writesAreSentOnThePollersConnection() async throws {
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        let collector = ReadingCollector()
        let poller = try BusPoller(bus: tcpBus(server), machines: [machine("m", every: .milliseconds(200), [sensor("v", address: 0)])], sink: collector.sink)
        try poller.start()
        let results = Mutex<[String]>([])
        poller.enqueue(.coil(unit: 2, address: 4, value: true)) { error in results.withLock { $0.append(error.map { "\($0.code)" } ?? "ok") } }
        poller.enqueue(.registers(unit: 1, address: 10, values: [0x0102, 0x0304])) { error in results.withLock { $0.append(error.map { "\($0.code)" } ?? "ok") } }
        server.addException(.illegalDataAddress, unit: 1, kind: .holding, addresses: 50..<51)
        poller.enqueue(.register(unit: 1, address: 50, value: 9)) { error in
            results.withLock { $0.append(error.map { "\($0.code) \($0.exceptionCode?.rawValue ?? 0)" } ?? "ok") }
        }
        #expect(await eventually(within: 5) { results.withLock { $0.count } == 3 })
        #expect(results.withLock { $0 } == ["ok", "ok", "Modbus exception 2"])
        #expect(try server.bits(kind: .coil, unit: 2, address: 4, count: 1) == [true])
        #expect(try server.registers(kind: .holding, unit: 1, address: 10, count: 2) == [0x0102, 0x0304])
        poller.stop()
    }

    @Test func writesQueuedWhenStoppingAreFailedNotDropped() async throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        let poller = try BusPoller(bus: tcpBus(server), machines: [machine("m", every: .seconds(1), [sensor("v", address: 0)])]) { _ in }
        let result = Mutex<ModbusError?>(nil)
        poller.enqueue(.coil(unit: 1, address: 0, value: true)) { error in result.withLock { $0 = error } }
        poller.stop()  // never started: the write cannot be sent
        #expect(result.withLock { $0?.code } == .notConnected)
        #expect(try server.bits(kind: .coil, unit: 1, address: 0, count: 1) == [false])
    }
}
