import Configuration
import EdgeCore
import Foundation
import Modbus
import ModbusServer
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Misbehaving devices against the whole agent running in a process of its own (an exit test; `AgentRuntime`: pollers,
/// writer, scoring, alerts) with a real SQLite buffer: the agent never exits, healthy units on
/// the same and on another bus keep their schedule, every poll of the faulty unit is in the
/// buffer with a quality flag (no silent gap), and the unit is read again within the backoff
/// bound once the fault ends.
@Suite(.serialized) struct DeviceFaultTests {
    /// The faults, each on unit 2 of bus `a` (shared with healthy unit 1) or on a bus of its own.
    enum DeviceFault: String, CaseIterable, Sendable, Codable, CustomTestStringConvertible {
        case refusesConnections, resetsMidResponse, answersSlowly, answersExceptions, flaps
        var testDescription: String { rawValue }
        /// Whether the faulty unit sits on its own bus `f` (a connection-level fault).
        var ownBus: Bool { self == .refusesConnections || self == .flaps }
        /// Qualities its sensor may read while the fault lasts.
        var faultQualities: Set<Quality> {
            switch self {
            case .refusesConnections: [.offline]
            case .resetsMidResponse: [.offline, .stale]
            case .answersSlowly: [.timeout, .stale]
            case .answersExceptions: [.exception]
            case .flaps: [.offline, .timeout, .stale, .good]
            }
        }
    }

    static let pollMilliseconds = 100
    static let maxBackoffMilliseconds = 1000

    static func configuration(directory: String, busA: Int, busB: Int, busF: Int, fault: DeviceFault) -> String {
        var text = agentTable(directory)
        for (name, port) in [("a", busA), ("b", busB), ("f", busF)] {
            text += """

                [[bus]]
                name = "\(name)"
                type = "tcp"
                host = "127.0.0.1"
                port = \(port)
                response_timeout = "200ms"
                max_backoff = "\(maxBackoffMilliseconds)ms"

                """
        }
        let machines = [("healthy-a", "a", 1), ("faulty", fault.ownBus ? "f" : "a", fault.ownBus ? 1 : 2), ("healthy-b", "b", 1)]
        for (id, bus, unit) in machines {
            text += """

                [[machine]]
                id = "\(id)"
                poll_interval = "\(pollMilliseconds)ms"

                  [[machine.sensor]]
                  name = "v"
                  bus = "\(bus)"
                  unit_id = \(unit)
                  address = 0

                """
        }
        return text
    }

    @Test(.enabled(if: sqlite3Available), .timeLimit(.minutes(2)), arguments: DeviceFault.allCases)
    func agentRidesOutFault(_ fault: DeviceFault) async throws {
        let result = await #expect(processExitsWith: .success, observing: childOutput) { [fault] in
            try await DeviceFaultTests.agentRidesOutFaultScenario(fault)
        }
        printChildOutput(result)
    }

    /// The scenario, in its exit test's process (see `childOutput`).
    static func agentRidesOutFaultScenario(_ fault: DeviceFault) async throws {
        let dir = try TemporaryDirectory(prefix: "device-fault")
        defer { dir.remove() }
        let serverA = try startLoopbackServer(units: [1, 2])
        defer { serverA.stop() }
        let serverB = try startLoopbackServer(units: [1])
        defer { serverB.stop() }
        for unit in [1, 2] { try serverA.setRegisters([UInt16(unit * 10)], kind: .holding, unit: unit, address: 0) }
        try serverB.setRegisters([30], kind: .holding, unit: 1, address: 0)
        let portF = try unusedPort()
        // The faulty unit's own server (bus f); nil while it is down.
        let serverF = Mutex<ModbusServer?>(nil)
        defer { serverF.withLock { $0?.stop() } }
        func startF() throws {
            let server = try ModbusServer(endpoint: .tcp(host: "127.0.0.1", port: portF), units: [.init(unitID: 1)])
            try server.setRegisters([20], kind: .holding, unit: 1, address: 0)
            serverF.withLock { $0 = server }
        }
        func stopF() { serverF.withLock { $0?.stop(); $0 = nil } }
        if fault.ownBus { try startF() }

        let configuration = try loadConfiguration(
            Self.configuration(directory: dir.path, busA: serverA.port, busB: serverB.port, busF: portF, fault: fault), in: dir)
        let agent = RunningAgent(configuration)
        #expect(await agent.waitUntilReady())
        let started = Timestamp.now()
        try await Task.sleep(for: .seconds(1))

        // Taken once the fault is in place, so a poll stamped later cannot have been answered
        // before it: taken just before, a test task that then waited for a core on a loaded
        // machine let a good reading in after faultStart + 300 ms (resetsMidResponse, once).
        let faultStart: Timestamp
        switch fault {
        case .refusesConnections: stopF(); faultStart = Timestamp.now()
        case .resetsMidResponse: serverA.setFault(.dropConnection, unit: 2); faultStart = Timestamp.now()
        case .answersSlowly: serverA.setFault(.slow(milliseconds: 700), unit: 2); faultStart = Timestamp.now()
        case .answersExceptions:
            serverA.addException(.serverDeviceFailure, unit: 2, kind: .holding, addresses: 0..<10)
            faultStart = Timestamp.now()
        case .flaps:
            // Down and up every second, four times.
            stopF()
            faultStart = Timestamp.now()
            for _ in 0..<2 {
                try await Task.sleep(for: .seconds(1))
                try startF()
                try await Task.sleep(for: .seconds(1))
                stopF()
            }
        }
        try await Task.sleep(for: .seconds(fault == .flaps ? 1 : 3))
        #expect(!agent.hasEnded, "the agent stopped during the fault: \(agent.log.all.suffix(5))")

        let faultEnd = Timestamp.now()
        switch fault {
        case .refusesConnections, .flaps: try startF()
        case .resetsMidResponse, .answersSlowly: serverA.setFault(nil, unit: 2)
        case .answersExceptions: serverA.clearExceptions(unit: 2)
        }
        try await Task.sleep(for: .seconds(3))
        let ended = Timestamp.now()
        #expect(!agent.hasEnded)
        let failure = await agent.stop()
        #expect(failure == nil, "run() failed: \(failure ?? "")")

        let database = dir.file("data/edge-agent.db")
        let span = Double(ended.millisecondsSinceEpoch - started.millisecondsSinceEpoch)
        let expectedCycles = span / Double(Self.pollMilliseconds)
        // Healthy units, on the faulty unit's bus and on another bus, keep their schedule.
        var healthyShares: [String] = []
        for machine in ["healthy-a", "healthy-b"] {
            let good = try await storedReadings(database, machine: machine, sensor: "v")
                .filter { $0.quality == .good && $0.milliseconds >= started.millisecondsSinceEpoch }
            #expect(Double(good.count) >= 0.6 * expectedCycles,
                    "\(fault): \(machine) has \(good.count) good readings of \(Int(expectedCycles)) expected")
            healthyShares.append("\(machine) \(Int((100 * Double(good.count) / expectedCycles).rounded())) %")
        }

        let faulty = try await storedReadings(database, machine: "faulty", sensor: "v")
            .filter { $0.milliseconds >= started.millisecondsSinceEpoch }
        // Every poll cycle of the faulty unit is recorded, good or with a quality flag: no gap
        // longer than a poll interval plus a response timeout and a reconnect (generously 1.5 s).
        #expect(Double(faulty.count) >= 0.6 * expectedCycles, "\(fault): only \(faulty.count) readings of \(Int(expectedCycles)) cycles")
        let gaps = zip(faulty.dropFirst(), faulty).map { $0.milliseconds - $1.milliseconds }
        #expect((gaps.max() ?? 0) <= 1500, "\(fault): a gap of \(gaps.max() ?? 0) ms with no reading recorded")
        // During the fault (after the first poll that noticed it) the flags say what happened.
        // A reading is stamped when its poll cycle starts, and the server judges the request
        // when its thread gets to it: on a loaded machine that can be after the fault is gone
        // for a poll stamped shortly before faultEnd (the poller and the server thread both wait
        // for a core; the answer is good then). So the last second before faultEnd is left out.
        let during = faulty.filter {
            $0.milliseconds > faultStart.millisecondsSinceEpoch + 300 && $0.milliseconds < faultEnd.millisecondsSinceEpoch - 1000
        }
        #expect(!during.isEmpty)
        let unexpected = during.filter { !fault.faultQualities.contains($0.quality) }
        #expect(unexpected.isEmpty, "\(fault): unexpected qualities \(Set(unexpected.map(\.quality.name))) at \(unexpected.map { "fault start + \($0.milliseconds - faultStart.millisecondsSinceEpoch) ms" }), fault end at + \(faultEnd.millisecondsSinceEpoch - faultStart.millisecondsSinceEpoch) ms")
        #expect(during.contains { $0.quality != .good }, "\(fault): the fault left no flagged reading")
        // Recovery within the backoff bound (max_backoff) plus a poll interval and margin.
        let recovered = faulty.first { $0.quality == .good && $0.milliseconds > faultEnd.millisecondsSinceEpoch }
        let recovery = recovered.map { $0.milliseconds - faultEnd.millisecondsSinceEpoch }
        #expect(recovery != nil, "\(fault): never read again after the fault ended")
        if let recovery {
            #expect(recovery <= Int64(Self.maxBackoffMilliseconds + Self.pollMilliseconds + 1000),
                    "\(fault): recovered after \(recovery) ms (bound \(Self.maxBackoffMilliseconds) ms backoff)")
        }
        // Good readings resume on the schedule after recovery.
        let afterRecovery = faulty.filter { $0.milliseconds > (recovered?.milliseconds ?? Int64.max) }
        let expectedAfter = Double(ended.millisecondsSinceEpoch - (recovered?.milliseconds ?? ended.millisecondsSinceEpoch)) / Double(Self.pollMilliseconds)
        #expect(Double(afterRecovery.filter { $0.quality == .good }.count) >= 0.6 * expectedAfter)
        print("\(fault): \(faulty.count) readings of the faulty unit (\(during.count) during the fault, flags \(Set(during.map(\.quality.name)).sorted())), recovery \(recovery ?? -1) ms, max gap \(gaps.max() ?? 0) ms; healthy units' polls: \(healthyShares.joined(separator: ", "))")
    }
}
