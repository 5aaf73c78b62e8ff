import Configuration
import EdgeCore
import Modbus
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
        let poller = try BusPoller(bus: bus, machines: []) { _ in }
        try poller.start()
        defer { poller.stop() }
        var configuration = ActionConfiguration(
            kind: .modbusWrite(bus: "plc", unitID: 7, kind: .coil, address: 3, onValue: 1, offValue: 0), events: ["raised", "cleared"])
        configuration.minimumSeverity = "critical"
        let (made, problem) = ConfiguredAction.make(configuration, pollers: [poller])
        let action = try #require(made, "\(problem ?? "")")
        #expect(!action.applies(to: event(.raised, severity: .warning)))
        #expect(!action.applies(to: event(.updated, severity: .critical)))
        #expect(action.applies(to: event(.raised, severity: .critical)))
        #expect(action.run(for: event(.raised, severity: .critical)) == nil)
        #expect(try server.bits(kind: .coil, unit: 7, address: 3, count: 1) == [true])
        #expect(action.run(for: event(.cleared, severity: .critical)) == nil)
        #expect(try server.bits(kind: .coil, unit: 7, address: 3, count: 1) == [false])
    }

    @Test func unreachableDeviceIsAReportedFailureAndAnUnpolledBusIsRefused() throws {
        var closed = BusConfiguration(name: "plc", transport: .tcp(host: "127.0.0.1", port: 1))
        closed.responseTimeout = .milliseconds(100)
        let poller = try BusPoller(bus: closed, machines: []) { _ in }
        try poller.start()
        defer { poller.stop() }
        let write = ActionConfiguration(kind: .modbusWrite(bus: "plc", unitID: 1, kind: .holding, address: 0, onValue: 5, offValue: 0),
                                        events: ["raised"])
        let action = try #require(ConfiguredAction.make(write, pollers: [poller]).0)
        let failure = try #require(action.run(for: event(.raised)))
        #expect(failure.contains("plc"))
        let (refused, reason) = ConfiguredAction.make(write, pollers: [])
        #expect(refused == nil)
        #expect(reason?.contains("plc") == true)
    }
}
