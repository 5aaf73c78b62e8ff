import CModbus
import Foundation
import Testing
import TestSupport
@testable import Modbus

@Suite("errno → ModbusError")
struct ModbusErrorTests {
    @Test(arguments: [
        (ETIMEDOUT, ModbusError.Code.timeout, UInt8?.none),
        (ECONNREFUSED, .connectionRefused, nil),
        (ECONNRESET, .connectionLost, nil),
        (EPIPE, .connectionLost, nil),
        (ENOTCONN, .connectionLost, nil),
        (ENOENT, .deviceUnavailable, nil),
        (EACCES, .deviceUnavailable, nil),
        (EINVAL, .invalidArgument, nil),
        (CModbus_EMBBADCRC, .crcError, nil),
        (CModbus_EMBMDATA, .tooManyData, nil),
        (CModbus_EMBBADDATA, .invalidResponse, nil),
        (CModbus_EMBBADSLAVE, .invalidResponse, nil),
        (CModbus_EMBBADEXC, .invalidResponse, nil),
        (CModbus_EMBXILFUN, .exception, 1),
        (CModbus_EMBXILADD, .exception, 2),
        (CModbus_EMBXILVAL, .exception, 3),
        (CModbus_EMBXSFAIL, .exception, 4),
        (CModbus_EMBXSBUSY, .exception, 6),
        (CModbus_EMBXGTAR, .exception, 11),
    ])
    func mapsErrno(errno value: Int32, code: ModbusError.Code, exception: UInt8?) {
        let error = ModbusError(errno: value, operation: .read(kind: .holding, unit: 1, address: 0, count: 1), endpoint: "127.0.0.1:502")
        #expect(error.code == code)
        #expect(error.exceptionCode?.rawValue == exception)
        #expect(error.systemErrno == value)
    }

    @Test func descriptionSaysWhatWhereAndWhatToDo() {
        let error = ModbusError(errno: CModbus_EMBXILADD, operation: .read(kind: .input, unit: 3, address: 100, count: 10), endpoint: "10.0.0.5:502")
        #expect(error.description == "read 10 input from address 100 on unit 3 on 10.0.0.5:502 failed: device answered with exception 2 (illegal data address); the address or count does not exist on this device: check the register map")
    }
}

@Suite("check-config prints the request plan", .enabled(if: builtExecutable(named: "edge-agent") != nil))
struct CheckConfigPlanTests {
    @Test func planUnderEachBus() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let conf = directory.file("agent.conf")
        try """
            [[bus]]
            name = "line1"
            type = "tcp"
            host = "127.0.0.1"
            max_registers_per_read = 4

            [[machine]]
            id = "pump"
            poll_interval = "250ms"

              [[machine.sensor]]
              name = "a"
              bus = "line1"
              address = 0
              type = "float32"

              [[machine.sensor]]
              name = "b"
              bus = "line1"
              address = 2
              type = "float32"

              [[machine.sensor]]
              name = "c"
              bus = "line1"
              unit_id = 2
              kind = "coil"
              address = 7
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        let run = try await runProgram(builtExecutable(named: "edge-agent") ?? "", ["check-config", "--config", conf])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput.contains("""
              request plan
                every 250 ms: 2 requests
                  unit 1 holding 0–3 (4 registers, 2 sensors)
                  unit 2 coil 7 (1 bit, 1 sensor)
            """))
        let json = try await runProgram(builtExecutable(named: "edge-agent") ?? "", ["check-config", "--config", conf, "--json"])
        #expect(json.status == 0)
        #expect(json.standardOutput.contains("\"requests\""))
        #expect(json.standardOutput.contains("\"interval_ms\""))
    }
}
