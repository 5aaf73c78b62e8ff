import EdgeCore
import Foundation
import Modbus
import ModbusServer
import Testing
import TestSupport

/// `edge-agent read`, run as a built program against the real test server.
@Suite("edge-agent read", .enabled(if: builtExecutable(named: "edge-agent") != nil))
struct ReadCommandTests {
    let agent = builtExecutable(named: "edge-agent") ?? ""

    @Test func float32ValuesInEveryOrder() async throws {
        let server = try startLoopbackServer(units: [4])
        defer { server.stop() }
        for (i, order) in WordOrder.allCases.enumerated() {
            try server.setValue(.float(Double(Float(1234.5678))), as: .float32, order: order, kind: .holding, unit: 4, address: 10 + 2 * i)
        }
        for (i, order) in WordOrder.allCases.enumerated() {
            let run = try await runProgram(agent, ["read", "--tcp", "127.0.0.1:\(server.port)", "--unit", "4", "--kind", "holding",
                                             "--address", "\(10 + 2 * i)", "--type", "float32", "--order", order.rawValue])
            #expect(run.status == 0, "\(run.standardError)")
            // The shortest text that reads back as the same float32.
            #expect(run.standardOutput == "\(Float(1234.5678))\n")
            #expect(run.standardOutput == "1234.5677\n")
        }
    }

    @Test func countScaleOffsetAndJSON() async throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        try server.setRegisters([100, 250, 65_535], kind: .input, unit: 1, address: 0)
        let text = try await runProgram(agent, ["read", "--tcp", "127.0.0.1:\(server.port)", "--kind", "input", "--address", "0", "--count", "3",
                                          "--scale", "0.1", "--offset", "-5"])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput == "5\n20\n6548.5\n")
        let json = try await runProgram(agent, ["read", "--tcp", "127.0.0.1:\(server.port)", "--kind", "input", "--address", "0", "--count", "3",
                                          "--type", "int16", "--json"])
        #expect(json.status == 0, "\(json.standardError)")
        #expect(json.standardOutput == "[100, 250, -1]\n")
    }

    @Test func int64KeepsEveryDigitAndCountSpansRequests() async throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        // 40 uint64 values need 160 registers: two requests.
        for i in 0..<40 {
            try server.setValue(.unsigned(0x1122_3344_5566_7700 + UInt64(i)), as: .uint64, order: .CDAB, kind: .holding, unit: 1, address: 4 * i)
        }
        let run = try await runProgram(agent, ["read", "--tcp", "127.0.0.1:\(server.port)", "--address", "0", "--count", "40", "--type", "uint64", "--order", "CDAB"])
        #expect(run.status == 0, "\(run.standardError)")
        let lines = run.standardOutput.split(separator: "\n")
        #expect(lines.count == 40)
        #expect(lines.first == "\(0x1122_3344_5566_7700 as UInt64)")
        #expect(lines.last == "\(0x1122_3344_5566_7700 + 39 as UInt64)")
    }

    @Test func coilsAsJSON() async throws {
        let server = try startLoopbackServer(units: [2])
        defer { server.stop() }
        try server.setBits([true, false, true], kind: .coil, unit: 2, address: 7)
        let run = try await runProgram(agent, ["read", "--tcp", "127.0.0.1:\(server.port)", "--unit", "2", "--kind", "coil", "--address", "7", "--count", "3", "--json"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput == "[1, 0, 1]\n")
    }

    @Test func bracketedIPv6Address() async throws {
        let server: ModbusServer
        do {
            server = try ModbusServer(endpoint: .tcp(host: "::1", port: 0), units: [.init(unitID: 1)])
        } catch {
            return  // no IPv6 loopback on this machine
        }
        defer { server.stop() }
        try server.setRegisters([4321], kind: .holding, unit: 1, address: 9)
        let run = try await runProgram(agent, ["read", "--tcp", "[::1]:\(server.port)", "--address", "9"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput == "4321\n")
    }

    @Test func busFromConfiguration() async throws {
        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        try server.setRegisters([17], kind: .holding, unit: 1, address: 3)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let conf = directory.file("agent.conf")
        try """
            [[bus]]
            name = "line1"
            type = "tcp"
            host = "127.0.0.1"
            port = \(server.port)

            [[machine]]
            id = "pump"

              [[machine.sensor]]
              name = "p"
              bus = "line1"
              address = 3
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        let run = try await runProgram(agent, ["read", "--config", conf, "--bus", "line1", "--address", "3"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput == "17\n")
        let missing = try await runProgram(agent, ["read", "--config", conf, "--bus", "line9", "--address", "3"])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("no bus named \"line9\""))
    }

    @Test func failuresSayWhatAndExitOne() async throws {
        let server = try startLoopbackServer(units: [1])
        let port = server.port
        server.addException(.illegalDataAddress, unit: 1, kind: .holding, addresses: 0..<1)
        let exception = try await runProgram(agent, ["read", "--tcp", "127.0.0.1:\(port)", "--address", "0"])
        #expect(exception.status == 1)
        #expect(exception.standardError.contains("exception 2 (illegal data address)"))
        server.setFault(.silent, unit: 1)
        let timeout = try await runProgram(agent, ["read", "--tcp", "127.0.0.1:\(port)", "--address", "5", "--timeout", "100"])
        #expect(timeout.status == 1)
        #expect(timeout.standardError.contains("timeout"))
        // The timeout as agent.conf writes durations; a bare number stays milliseconds (above).
        let duration = try await runProgram(agent, ["read", "--tcp", "127.0.0.1:\(port)", "--address", "5", "--timeout", "150ms"])
        #expect(duration.status == 1)
        #expect(duration.standardError.contains("timeout") && !duration.standardError.contains("--timeout"), "\(duration.standardError)")
        let unknownUnit = try await runProgram(agent, ["read", "--tcp", "127.0.0.1:\(port)", "--address", "5", "--timeout", "2 parsecs"])
        #expect(unknownUnit.status != 0)
        #expect(unknownUnit.standardError.contains("--timeout must be a positive duration"), "\(unknownUnit.standardError)")
        server.stop()
        // A port held bound and never listened on (the stopped server's port may be anyone's by now).
        let refusing = try RefusingPort()
        let refused = try await runProgram(agent, ["read", "--tcp", "127.0.0.1:\(refusing.port)", "--address", "0"])
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("connection refused"), "\(refused.standardError)")
        let bad = try await runProgram(agent, ["read", "--tcp", "127.0.0.1:\(refusing.port)", "--address", "0", "--type", "flaot32"])
        #expect(bad.status != 0)
        #expect(bad.standardError.contains("--type must be one of"))
    }

    @Test func rtuOverSocat() async throws {
        guard SocatPair.isAvailable else { return }
        let pair = try await SocatPair()
        defer { pair.stop() }
        let server = try ModbusServer(endpoint: .rtu(device: pair.serverEnd, baud: 9600, parity: .even), units: [.init(unitID: 3)])
        defer { server.stop() }
        _ = server.useRealtimeScheduling(priority: DevicePriority.priority)  // a unit answers whatever the load
        try server.setValue(.signed(-123_456_789), as: .int32, order: .BADC, kind: .input, unit: 3, address: 2)
        let run = try await runProgram(agent, ["read", "--rtu", pair.clientEnd, "--baud", "9600", "--parity", "E", "--data-bits", "8", "--stop-bits", "1",
                                         "--unit", "3", "--kind", "input", "--address", "2", "--type", "int32", "--order", "BADC"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput == "-123456789\n")
    }
}
