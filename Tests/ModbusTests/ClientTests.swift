import Configuration
import EdgeCore
import Foundation
import Modbus
import ModbusServer
import Testing
import TestSupport

func tcpClient(_ server: ModbusServer, timeout: Duration = .milliseconds(500)) throws -> ModbusClient {
    let client = try ModbusClient(transport: .tcp(host: "127.0.0.1", port: server.port), responseTimeout: timeout)
    try client.connect()
    return client
}

@Suite("Client against a real libmodbus server")
struct ClientTests {
    @Test(arguments: everyTypeAndOrder)
    func everyTypeAndOrderOverTCP(_ c: TypeOrderCase) throws {
        let server = try startLoopbackServer(units: [7])
        defer { server.stop() }
        let value = try #require(distinctValues[c.type])
        for kind in [RegisterKind.holding, .input] {
            try server.setValue(value, as: c.type, order: c.order, kind: kind, unit: 7, address: 1234)
        }
        let client = try tcpClient(server)
        var registers = [UInt16](repeating: 0, count: 8)
        for kind in [RegisterKind.holding, .input] {
            try client.readRegisters(kind, unit: 7, address: 1234, count: c.type.registerCount, into: &registers)
            let decoded = registers.withUnsafeBufferPointer {
                RegisterCodec.decodeRaw($0, start: 0, type: c.type, order: c.order)
            }
            #expect(decoded == value, "\(kind.rawValue)")
        }
    }

    @Test func bitsOverTCP() throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        let pattern: [Bool] = [true, false, true, true, false, false, true, false, true, true, true]
        try server.setBits(pattern, kind: .coil, unit: 1, address: 100)
        try server.setBits(pattern.map { !$0 }, kind: .discrete, unit: 1, address: 200)
        let client = try tcpClient(server)
        var bits = [UInt8](repeating: 9, count: 16)
        try client.readBits(.coil, unit: 1, address: 100, count: pattern.count, into: &bits)
        #expect(bits[0..<pattern.count].map { $0 == 1 } == pattern)
        try client.readBits(.discrete, unit: 1, address: 200, count: pattern.count, into: &bits)
        #expect(bits[0..<pattern.count].map { $0 == 1 } == pattern.map { !$0 })
    }

    @Test func writesReachTheServer() throws {
        let server = try startLoopbackServer(units: [3])
        defer { server.stop() }
        let client = try tcpClient(server)
        try client.writeCoil(unit: 3, address: 5, value: true)
        try client.writeRegister(unit: 3, address: 10, value: 0xBEEF)
        try client.writeRegisters(unit: 3, address: 20, values: [1, 2, 3, 4])
        #expect(try server.bits(kind: .coil, unit: 3, address: 4, count: 3) == [false, true, false])
        #expect(try server.registers(kind: .holding, unit: 3, address: 10, count: 1) == [0xBEEF])
        #expect(try server.registers(kind: .holding, unit: 3, address: 20, count: 4) == [1, 2, 3, 4])
    }

    @Test func unitsHaveSeparateMaps() throws {
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        try server.setRegisters([111], kind: .holding, unit: 1, address: 0)
        try server.setRegisters([222], kind: .holding, unit: 2, address: 0)
        let client = try tcpClient(server)
        var r = [UInt16](repeating: 0, count: 1)
        try client.readRegisters(.holding, unit: 1, address: 0, count: 1, into: &r)
        #expect(r == [111])
        try client.readRegisters(.holding, unit: 2, address: 0, count: 1, into: &r)
        #expect(r == [222])
    }

    @Test(arguments: [ModbusExceptionCode.illegalDataAddress, .serverDeviceFailure, .serverDeviceBusy])
    func exceptionsCarryTheirCode(code: ModbusExceptionCode) throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        server.addException(code, unit: 1, kind: .holding, addresses: 50..<51)
        let client = try tcpClient(server)
        var r = [UInt16](repeating: 0, count: 4)
        let error = try #require(throws: ModbusError.self) {
            try client.readRegisters(.holding, unit: 1, address: 48, count: 4, into: &r)
        }
        #expect(error.code == .exception)
        #expect(error.exceptionCode == code)
        // The connection is still usable, and other addresses still answer.
        try client.readRegisters(.holding, unit: 1, address: 51, count: 4, into: &r)
        #expect(client.isConnected)
    }

    @Test func addressOutsideTheMapIsIllegalDataAddress() throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        let client = try tcpClient(server)
        var r = [UInt16](repeating: 0, count: 2)
        let error = try #require(throws: ModbusError.self) {
            try client.readRegisters(.holding, unit: 1, address: 9_999, count: 2, into: &r)
        }
        #expect(error.code == .exception)
        #expect(error.exceptionCode == .illegalDataAddress)
    }

    @Test func silentUnitTimesOutAndTheConnectionStaysUsable() throws {
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        server.setFault(.silent, unit: 2)
        try server.setRegisters([42], kind: .holding, unit: 1, address: 0)
        let client = try tcpClient(server, timeout: .milliseconds(100))
        var r = [UInt16](repeating: 0, count: 1)
        let start = ContinuousClock.now
        let error = try #require(throws: ModbusError.self) {
            try client.readRegisters(.holding, unit: 2, address: 0, count: 1, into: &r)
        }
        #expect(error.code == .timeout)
        #expect(ContinuousClock.now - start >= .milliseconds(90))
        try client.readRegisters(.holding, unit: 1, address: 0, count: 1, into: &r)
        #expect(r == [42])
    }

    /// Unit 2's answer is held until the client has timed out, then sent: it waits on the
    /// connection when unit 1 is asked. Before, unit 2 answered 150 ms late against an 80 ms
    /// timeout, and a client thread that waited that long for a core found the answer there
    /// and took it in time (no timeout: the test failed under load).
    @Test func lateAnswerIsFlushedOrRejectedNeverMisread() async throws {
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        server.setFault(.held, unit: 2)
        try server.setRegisters([1], kind: .holding, unit: 1, address: 0)
        try server.setRegisters([2], kind: .holding, unit: 2, address: 0)
        let client = try tcpClient(server, timeout: .milliseconds(80))
        var r = [UInt16](repeating: 0, count: 1)
        let timedOut = try #require(throws: ModbusError.self) { try client.readRegisters(.holding, unit: 2, address: 0, count: 1, into: &r) }
        #expect(timedOut.code == .timeout)
        server.setFault(nil, unit: 2)
        server.releaseHeldAnswers(unit: 2)
        #expect(await eventually(within: 30) { server.heldAnswersSent(unit: 2) == 1 }, "the late answer was not sent")
        // The late answer from unit 2 must never be taken for unit 1's value.
        for _ in 0..<5 {
            do {
                try client.readRegisters(.holding, unit: 1, address: 0, count: 1, into: &r)
                #expect(r == [1])
            } catch {
                #expect(error.code == .invalidResponse || error.code == .timeout)
            }
        }
    }

    @Test func droppedConnectionIsReportedAndReconnectWorks() throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        let client = try tcpClient(server)
        var r = [UInt16](repeating: 0, count: 1)
        try client.readRegisters(.holding, unit: 1, address: 0, count: 1, into: &r)
        server.setFault(.dropConnection, unit: 1)
        let error = try #require(throws: ModbusError.self) {
            try client.readRegisters(.holding, unit: 1, address: 0, count: 1, into: &r)
        }
        #expect(error.code == .connectionLost)
        #expect(!client.isConnected)
        server.setFault(nil, unit: 1)
        try client.connect()
        try client.readRegisters(.holding, unit: 1, address: 0, count: 1, into: &r)
    }

    @Test func concurrentConnectionsAreServed() async throws {
        let server = try startLoopbackServer(units: [1, 2])
        defer { server.stop() }
        try server.setRegisters([10, 20, 30], kind: .holding, unit: 1, address: 0)
        // Three clients connected at once, each reading in turn on its own connection.
        let clients = try (0..<3).map { _ in try tcpClient(server) }
        var r = [UInt16](repeating: 0, count: 1)
        for round in 0..<5 {
            for (i, client) in clients.enumerated() {
                try client.readRegisters(.holding, unit: 1, address: i, count: 1, into: &r)
                #expect(r == [UInt16(10 * (i + 1))], "round \(round) client \(i)")
            }
        }
        // A slow answer on one connection does not hold up the others.
        server.setFault(.slow(milliseconds: 400), unit: 2)
        let done = DispatchSemaphore(value: 0)
        let port = server.port
        DispatchQueue.global().async {
            if let slow = try? ModbusClient(transport: .tcp(host: "127.0.0.1", port: port), responseTimeout: .seconds(2)) {
                try? slow.connect()
                var b = [UInt16](repeating: 0, count: 1)
                try? slow.readRegisters(.holding, unit: 2, address: 0, count: 1, into: &b)
            }
            done.signal()
        }
        try await Task.sleep(for: .milliseconds(50))  // let the slow request reach the server
        let start = ContinuousClock.now
        try clients[1].readRegisters(.holding, unit: 1, address: 1, count: 1, into: &r)
        #expect(ContinuousClock.now - start < .milliseconds(250))
        // Polled, not waited for: this test runs on the cooperative pool.
        #expect(await eventually(within: 30) { done.wait(timeout: .now()) == .success })
    }

    @Test func refusedConnection() throws {
        // A port held bound and never listened on: a stopped server's port may be taken meanwhile.
        let refusing = try RefusingPort()
        let port = refusing.port
        let client = try ModbusClient(transport: .tcp(host: "127.0.0.1", port: port))
        let error = try #require(throws: ModbusError.self) { try client.connect() }
        #expect(error.code == .connectionRefused)
        #expect(error.description.contains("127.0.0.1:\(port)"))
    }

    @Test func unknownHostIsNamed() throws {
        let client = try ModbusClient(transport: .tcp(host: "no-such-host.invalid", port: 502))
        let error = try #require(throws: ModbusError.self) { try client.connect() }
        #expect(error.code == .hostNotFound)
    }

    @Test func ipv6Loopback() throws {
        let server: ModbusServer
        do {
            server = try ModbusServer(endpoint: .tcp(host: "::1", port: 0), units: [.init(unitID: 1)])
        } catch {
            // No IPv6 on this machine: nothing to test.
            return
        }
        defer { server.stop() }
        try server.setRegisters([6], kind: .input, unit: 1, address: 3)
        let client = try ModbusClient(transport: .tcp(host: "::1", port: server.port))
        try client.connect()
        var r = [UInt16](repeating: 0, count: 1)
        try client.readRegisters(.input, unit: 1, address: 3, count: 1, into: &r)
        #expect(r == [6])
    }

    @Test func hostNameLocalhost() throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        try server.setRegisters([77], kind: .holding, unit: 1, address: 0)
        let client = try ModbusClient(transport: .tcp(host: "localhost", port: server.port))
        try client.connect()
        var r = [UInt16](repeating: 0, count: 1)
        try client.readRegisters(.holding, unit: 1, address: 0, count: 1, into: &r)
        #expect(r == [77])
    }

    @Test func invalidArgumentsAreRejectedBeforeTheWire() throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        let client = try tcpClient(server)
        var r = [UInt16](repeating: 0, count: 200)
        #expect(throws: ModbusError.self) { try client.readRegisters(.holding, unit: 1, address: 0, count: 126, into: &r) }
        #expect(throws: ModbusError.self) { try client.readRegisters(.coil, unit: 1, address: 0, count: 1, into: &r) }
    }
}

@Suite("RTU over a socat pty pair", .enabled(if: SocatPair.isAvailable))
struct RTUTests {
    @Test func everyTypeAndOrderOverRTU() async throws {
        let pair = try await SocatPair()
        defer { pair.stop() }
        let server = try ModbusServer(endpoint: .rtu(device: pair.serverEnd, baud: 115_200), units: [.init(unitID: 5), .init(unitID: 6)])
        defer { server.stop() }
        _ = server.useRealtimeScheduling(priority: DevicePriority.priority)  // a unit answers whatever the load
        var address = 0
        var expected: [(TypeOrderCase, Int, RawValue)] = []
        for c in everyTypeAndOrder {
            let value = try #require(distinctValues[c.type])
            try server.setValue(value, as: c.type, order: c.order, kind: .holding, unit: 5, address: address)
            expected.append((c, address, value))
            address += c.type.registerCount
        }
        try server.setRegisters([606], kind: .input, unit: 6, address: 0)
        try server.setBits([true, false, true], kind: .coil, unit: 6, address: 0)

        let client = try ModbusClient(
            transport: .rtu(device: pair.clientEnd, baud: 115_200, parity: .none, dataBits: 8, stopBits: 1),
            responseTimeout: .milliseconds(500))
        try client.connect()
        var registers = [UInt16](repeating: 0, count: 8)
        for (c, address, value) in expected {
            try client.readRegisters(.holding, unit: 5, address: address, count: c.type.registerCount, into: &registers)
            let decoded = registers.withUnsafeBufferPointer { RegisterCodec.decodeRaw($0, start: 0, type: c.type, order: c.order) }
            #expect(decoded == value, "\(c.testDescription)")
        }
        // Another unit on the same line, other kinds, and a write.
        try client.readRegisters(.input, unit: 6, address: 0, count: 1, into: &registers)
        #expect(registers[0] == 606)
        var bits = [UInt8](repeating: 0, count: 3)
        try client.readBits(.coil, unit: 6, address: 0, count: 3, into: &bits)
        #expect(bits == [1, 0, 1])
        try client.writeRegister(unit: 6, address: 9, value: 99)
        #expect(try server.registers(kind: .holding, unit: 6, address: 9, count: 1) == [99])
    }

    @Test func silentRTUUnitTimesOutWithoutDisturbingItsNeighbour() async throws {
        let pair = try await SocatPair()
        defer { pair.stop() }
        let server = try ModbusServer(endpoint: .rtu(device: pair.serverEnd, baud: 115_200), units: [.init(unitID: 1), .init(unitID: 2)])
        defer { server.stop() }
        _ = server.useRealtimeScheduling(priority: DevicePriority.priority)  // a unit answers whatever the load
        server.setFault(.silent, unit: 2)
        try server.setRegisters([11], kind: .holding, unit: 1, address: 0)
        let client = try ModbusClient(transport: .rtu(device: pair.clientEnd, baud: 115_200, parity: .none, dataBits: 8, stopBits: 1), responseTimeout: .milliseconds(150))
        try client.connect()
        var r = [UInt16](repeating: 0, count: 1)
        let error = try #require(throws: ModbusError.self) { try client.readRegisters(.holding, unit: 2, address: 0, count: 1, into: &r) }
        #expect(error.code == .timeout)
        try client.readRegisters(.holding, unit: 1, address: 0, count: 1, into: &r)
        #expect(r == [11])
    }

    /// Bytes that reach the master while no request is outstanding (a unit's answer that came
    /// after the response timeout, noise on the line) are not taken for the next answer. Before,
    /// the next request read them first and failed: here each of the four as an invalid response
    /// or a CRC error; in SerialGarbageTests, one or two such bytes also made a read wait out
    /// libmodbus's 500 ms byte timeout and time out, which put a healthy unit into backoff.
    @Test func bytesBetweenRequestsAreNotTakenForTheNextAnswer() async throws {
        let pair = try await SocatPair()
        defer { pair.stop() }
        let server = try ModbusServer(endpoint: .rtu(device: pair.serverEnd, baud: 115_200), units: [.init(unitID: 1), .init(unitID: 2)])
        defer { server.stop() }
        _ = server.useRealtimeScheduling(priority: DevicePriority.priority)  // a unit answers whatever the load
        try server.setRegisters([11], kind: .holding, unit: 1, address: 0)
        let client = try ModbusClient(transport: .rtu(device: pair.clientEnd, baud: 115_200, parity: .none, dataBits: 8, stopBits: 1), responseTimeout: .milliseconds(150))
        try client.connect()
        var r = [UInt16](repeating: 0, count: 1)
        try client.readRegisters(.holding, unit: 1, address: 0, count: 1, into: &r)
        #expect(r == [11])
        // Written at the units' end of the line while the master waits for nothing.
        let line = open(pair.serverEnd, O_WRONLY | O_NOCTTY | O_CLOEXEC)
        try #require(line >= 0)
        defer { close(line) }
        let bytes: [(String, [UInt8])] = [
            ("unit 2's late answer (20 in holding 0)", [0x02, 0x03, 0x02, 0x00, 0x14, 0xFC, 0x4B]),
            ("the start of a frame", [0x01, 0x03]),
            ("one byte of noise", [0xFF]),
            ("an exception frame's start", [0x02, 0x83, 0x02, 0x31]),
        ]
        for (what, noise) in bytes {
            #expect(noise.withUnsafeBytes { write(line, $0.baseAddress, $0.count) } == noise.count)
            try await Task.sleep(for: .milliseconds(100))  // across socat (SCHED_FIFO where allowed)
            r = [0]
            do throws(ModbusError) {
                try client.readRegisters(.holding, unit: 1, address: 0, count: 1, into: &r)
                #expect(r == [11], "after \(what)")
            } catch {
                Issue.record("after \(what): \(error)")
            }
        }
    }

    @Test func missingSerialDeviceIsDeviceUnavailable() throws {
        let client = try ModbusClient(transport: .rtu(device: "/dev/does-not-exist-edge", baud: 9600, parity: .even, dataBits: 8, stopBits: 1))
        let error = try #require(throws: ModbusError.self) { try client.connect() }
        #expect(error.code == .deviceUnavailable)
    }
}
