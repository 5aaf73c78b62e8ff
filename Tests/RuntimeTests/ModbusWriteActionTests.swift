import Configuration
import EdgeCore
import ModbusServer
@testable import Runtime
import TestSupport
import Testing

@Suite struct ModbusWriteActionTests {
    func event(_ change: AlertEvent.Change, severity: AlertSeverity = .warning, machine: String = "pump-1") -> AlertEvent {
        AlertEvent(change: change, time: Timestamp(millisecondsSinceEpoch: 0),
                   alert: Alert(id: "a", machine: machine, kind: .anomaly, severity: severity,
                                started: Timestamp(millisecondsSinceEpoch: 0), message: "m"))
    }

    @Test func stackLightFollowsTheAlertOnARealServer() throws {
        let server = try startLoopbackServer(units: [7])
        defer { server.stop() }
        let bus = BusConfiguration(name: "plc", transport: .tcp(host: "127.0.0.1", port: server.port))
        var configuration = ActionConfiguration(
            kind: .modbusWrite(bus: "plc", unitID: 7, kind: .coil, address: 3, onValue: 1, offValue: 0), events: ["raised", "cleared"])
        configuration.minimumSeverity = "critical"
        let (made, problem) = ConfiguredAction.make(configuration, buses: [bus])
        let action = try #require(made, "\(problem ?? "")")
        #expect(!action.applies(to: event(.raised, severity: .warning)))
        #expect(!action.applies(to: event(.updated, severity: .critical)))
        #expect(action.applies(to: event(.raised, severity: .critical)))
        #expect(action.run(for: event(.raised, severity: .critical)) == nil)
        #expect(try server.bits(kind: .coil, unit: 7, address: 3, count: 1) == [true])
        #expect(action.run(for: event(.cleared, severity: .critical)) == nil)
        #expect(try server.bits(kind: .coil, unit: 7, address: 3, count: 1) == [false])
    }

    @Test func unreachableDeviceIsAReportedFailureAndRTUIsRefused() throws {
        let closed = BusConfiguration(name: "plc", transport: .tcp(host: "127.0.0.1", port: 1))
        let write = ActionConfiguration(kind: .modbusWrite(bus: "plc", unitID: 1, kind: .holding, address: 0, onValue: 5, offValue: 0),
                                        events: ["raised"])
        let action = try #require(ConfiguredAction.make(write, buses: [closed]).0)
        let failure = try #require(action.run(for: event(.raised)))
        #expect(failure.contains("plc"))
        let serial = BusConfiguration(name: "plc", transport: .rtu(device: "/dev/ttyUSB0", baud: 19200, parity: .none, dataBits: 8, stopBits: 1))
        let (refused, reason) = ConfiguredAction.make(write, buses: [serial])
        #expect(refused == nil)
        #expect(reason?.contains("RTU") == true)
    }
}
