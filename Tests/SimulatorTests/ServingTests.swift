import Configuration
import EdgeCore
import Foundation
import Modbus
import ModbusServer
import Testing
import TestSupport
@testable import Simulator

/// The fleet served over a real libmodbus server on loopback, read back with the real client.
@Suite(.serialized) struct ServingTests {
    /// Reads every sensor agent.conf would describe and decodes it as the agent does.
    static func readAll(
        _ client: ModbusClient, fleet: Fleet
    ) throws -> [[String: (value: Double, quality: Quality)]] {
        var result: [[String: (value: Double, quality: Quality)]] = []
        var registers = [UInt16](repeating: 0, count: 8)
        var bits = [UInt8](repeating: 0, count: 8)
        for (i, machine) in fleet.machines.enumerated() {
            var values: [String: (value: Double, quality: Quality)] = [:]
            for sensor in RegisterMap.sensors(of: machine, unitID: i + 1, bus: "sim") {
                if sensor.kind.isBit {
                    try client.readBits(sensor.kind, unit: sensor.unitID, address: sensor.address, count: 1, into: &bits)
                    values[sensor.name] = (bits[0] != 0 ? 1 : 0, .good)
                } else {
                    try client.readRegisters(sensor.kind, unit: sensor.unitID, address: sensor.address, count: sensor.span, into: &registers)
                    values[sensor.name] = registers.withUnsafeBufferPointer {
                        RegisterCodec.decode($0, start: 0, type: sensor.type, order: sensor.order, bit: sensor.bit, scale: sensor.scale, offset: sensor.offset)
                    }
                }
            }
            result.append(values)
        }
        return result
    }

    @Test func registersDecodeToTheSimulatedValues() throws {
        let fleet = Fleet(seed: 1, count: 6)
        let server = try FleetServer(fleet: fleet, endpoint: .tcp(host: "127.0.0.1", port: 0))
        defer { server.stop() }
        let client = try ModbusClient(transport: .tcp(host: "127.0.0.1", port: server.server.port))
        try client.connect()
        defer { client.close() }
        try Self.compareRounds(5, fleet: fleet, server: server, client: client)
    }

    @Test(.enabled(if: SocatPair.isAvailable)) func registersDecodeOverRTU() async throws {
        let pair = try await SocatPair()
        defer { pair.stop() }
        let fleet = Fleet(seed: 4, count: 3)
        let server = try FleetServer(fleet: fleet, endpoint: .rtu(device: pair.serverEnd, baud: 115_200))
        defer { server.stop() }
        let client = try ModbusClient(
            transport: .rtu(device: pair.clientEnd, baud: 115_200, parity: .none, dataBits: 8, stopBits: 1),
            responseTimeout: .seconds(1)
        )
        try client.connect()
        defer { client.close() }
        try Self.compareRounds(2, fleet: fleet, server: server, client: client)
    }

    /// Publishes `rounds` times (7 simulated seconds apart) and compares every register with the simulation.
    static func compareRounds(_ rounds: Int, fleet: Fleet, server: FleetServer, client: ModbusClient) throws {
        var live = LiveFleet(fleet: fleet, speed: 1)
        var clock: UInt64 = 1_000_000_000
        var compared = 0
        for _ in 0..<rounds {
            // Advance 7 simulated seconds per round (a fake monotonic clock: no waiting).
            _ = live.advance(toMonotonicNanoseconds: clock)
            clock += 7_000_000_000
            try server.publish(live)
            let read = try Self.readAll(client, fleet: fleet)
            for (i, machine) in fleet.machines.enumerated() {
                for entry in RegisterMap.entries(for: machine.kind) {
                    let simulated = try #require(live.value(machine: i, channel: entry.channel))
                    let decoded = try #require(read[i][entry.channel])
                    #expect(decoded.quality == .good)
                    let tolerance: Double
                    switch entry.type {
                    case .float32: tolerance = abs(simulated) * 1e-6 + 1e-9
                    case .bool: tolerance = 0
                    default: tolerance = entry.scale / 2 + 1e-9
                    }
                    let expected = entry.type == .bool ? (simulated != 0 ? 1 : 0) : simulated
                    #expect(abs(decoded.value - expected) <= tolerance, "\(machine.id).\(entry.channel): \(decoded.value) vs \(simulated)")
                    compared += 1
                }
            }
        }
        #expect(compared == rounds * fleet.machines.map { RegisterMap.entries(for: $0.kind).count }.reduce(0, +))
    }

    @Test func droppedOutSensorsReadAsMissingOrOutOfRange() throws {
        var fleet = Fleet(seed: 2, count: 3)
        try fleet.machines[0].add(Fault(.sensorDropout, startSeconds: 0, severity: 1, channel: "flow"))
        try fleet.machines[0].add(Fault(.sensorDropout, startSeconds: 0, severity: 1, channel: "bearing_temperature"))
        try fleet.machines[2].add(Fault(.sensorDropout, startSeconds: 0, severity: 1, channel: "motor_current"))
        let server = try FleetServer(fleet: fleet, endpoint: .tcp(host: "127.0.0.1", port: 0))
        defer { server.stop() }
        let client = try ModbusClient(transport: .tcp(host: "127.0.0.1", port: server.server.port))
        try client.connect()
        defer { client.close() }
        var live = LiveFleet(fleet: fleet, speed: 1)
        _ = live.advance(toMonotonicNanoseconds: 1)
        try server.publish(live)
        let read = try Self.readAll(client, fleet: fleet)
        let pump = RegisterMap.sensors(of: fleet.machines[0], unitID: 1, bus: "sim")
        let compressor = RegisterMap.sensors(of: fleet.machines[2], unitID: 3, bus: "sim")
        // A float register carries NaN: the decoder flags it.
        #expect(read[0]["flow"]?.quality == .decodeError)
        // Integer registers carry the type's extreme value: outside the sensor's range in agent.conf.
        let bearing = try #require(read[0]["bearing_temperature"]?.value)
        let bearingSensor = try #require(pump.first { $0.name == "bearing_temperature" })
        #expect(bearing < bearingSensor.minimum!)
        let current = try #require(read[2]["motor_current"]?.value)
        let currentSensor = try #require(compressor.first { $0.name == "motor_current" })
        #expect(current > currentSensor.maximum!)
        #expect(read[0]["outlet_pressure"]?.quality == .good)
    }

    @Test func controlPortInjectsFaultsAndQuits() async throws {
        let done = DispatchSemaphore(value: 0)
        let ready = DispatchSemaphore(value: 0)
        let published = LockedCounter()
        let port = LockedCounter()
        let begins = LockedCounter()
        let ends = LockedCounter()
        // The control server belongs to the loop's thread: create it there and report its port.
        let thread = Thread {
            guard let control = try? ControlServer(port: 0) else { ready.signal(); done.signal(); return }
            port.set(control.port)
            ready.signal()
            var live = LiveFleet(fleet: Fleet(seed: 3, count: 3), speed: 100)
            SimulationLoop.run(&live, control: control, signals: nil, events: { happened in
                for event in happened where event.machineID == "pump-1" { event.began ? begins.increment() : ends.increment() }
            }, publish: { _ in published.increment() })
            done.signal()
        }
        thread.start()
        // Waited for by polling: the test runs on the cooperative pool and must not block it.
        #expect(await eventually(within: 60) { ready.wait(timeout: .now()) == .success })
        try #require(port.value > 0, "the control server could not listen")

        let connection = try LineConnection(port: port.value)
        #expect(try connection.ask("help").hasPrefix("ok commands:"))
        #expect(try connection.ask("inject pump-1 cavitation for=1h severity=0.9").hasPrefix("ok pump-1 cavitation severity=0.9"))
        #expect(try connection.ask("inject pump-9 leak").hasPrefix("error: unknown machine \"pump-9\""))
        #expect(try connection.ask("inject motor-1 cavitation").hasPrefix("error: cavitation does not apply to a motor"))
        #expect(try connection.ask("inject compressor-1 sensor-stuck sensor=oil_temperature at=1s").hasPrefix("ok compressor-1 sensor-stuck"))
        // The loop applies commands between its steps, which wait for a core on a loaded machine.
        var status = ""
        let applied = try await eventually {
            status = try connection.ask("status")
            return status.contains("\"faults\": [\"sensor-stuck\"]")
        }
        #expect(applied, "\(status)")
        #expect(status.contains("\"id\": \"pump-1\", \"kind\": \"pump\", \"unit\": 1, \"running\": true"))
        #expect(status.contains("\"faults\": [\"cavitation\"]"))
        #expect(status.contains("\"faults\": [\"sensor-stuck\"]"))
        #expect(try await eventually { try connection.ask("values pump-1").contains("\"anomaly\": true") })
        #expect(try connection.ask("stop motor-1") == "ok motor-1 stopped")
        #expect(try connection.ask("clear all") == "ok cleared all")
        var after = ""
        let cleared = try await eventually {
            after = try connection.ask("status")
            return !after.contains("cavitation")
        }
        #expect(cleared, "\(after)")
        #expect(after.contains("\"id\": \"motor-1\", \"kind\": \"motor\", \"unit\": 2, \"running\": false"))
        #expect(try connection.ask("frobnicate").hasPrefix("error: unknown command"))
        // Running long enough to publish, and to report the cavitation's end (the loop reports
        // events at its next step, after `status` already shows the fault gone), however quickly
        // the answers came.
        #expect(await eventually { published.value > 5 && ends.value >= 1 })
        #expect(try connection.ask("quit") == "ok stopping")
        #expect(await eventually(within: 10) { done.wait(timeout: .now()) == .success })
        // Speed 100 for about a second: on the order of a hundred steps, published in batches.
        #expect(published.value > 5)
        // pump-1's cavitation began once and ended once (cleared).
        #expect(begins.value == 1 && ends.value == 1)
    }
}


/// A thread-safe integer (a counter for the loop's publish callback, the control port).
final class LockedCounter: @unchecked Sendable {
    // @unchecked Sendable: `count` is only touched while `lock` is held.
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    func set(_ value: Int) { lock.lock(); count = value; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

/// A line-oriented TCP client for the control port.
final class LineConnection {
    private let handle: FileHandle
    private var buffer = Data()

    init(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, rc == 0 else { throw SimulatorError("cannot connect to the control port \(port)") }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    func ask(_ line: String) throws -> String {
        handle.write(Data((line + "\n").utf8))
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let answer = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return answer
            }
            let chunk = handle.availableData
            if chunk.isEmpty { throw SimulatorError("control port closed the connection") }
            buffer.append(chunk)
        }
    }
}
