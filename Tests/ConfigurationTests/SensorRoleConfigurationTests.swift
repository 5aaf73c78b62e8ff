import Configuration
import Foundation
import Testing

/// `role` of a sensor and `kind` of a machine: how a plant's own sensor names reach the load prior.
@Suite("Sensor roles and machine kind")
struct SensorRoleConfigurationTests {
    static let text = """
        [[bus]]
        name = "plc"
        type = "tcp"
        host = "plc.local"

        [[machine]]
        id = "P-101"
        kind = "pump"

        [[machine.sensor]]
        name = "Pump1_Flow"
        bus = "plc"
        address = 0
        role = "flow"

        [[machine.sensor]]
        name = "Drive_RPM"
        bus = "plc"
        address = 1
        role = "speed"

        [[machine.sensor]]
        name = "Panel_Temp"
        bus = "plc"
        address = 2

        [[machine]]
        id = "fan"

        [[machine.sensor]]
        name = "speed"
        bus = "plc"
        address = 10
        """

    @Test("role and kind are read; without them a sensor plays its own name and the kind is left to the prior")
    func parsed() throws {
        let configuration = try ConfigurationLoader.parse(Self.text, path: "test.conf")
        let pump = try #require(configuration.machine(id: "P-101"))
        #expect(pump.kind == .pump)
        #expect(pump.sensors.map(\.role) == ["flow", "speed", nil])
        #expect(pump.sensors.map(\.roleName) == ["flow", "speed", "Panel_Temp"])
        let fan = try #require(configuration.machine(id: "fan"))
        #expect(fan.kind == nil)
        #expect(fan.sensors.first?.role == nil)
        #expect(fan.sensors.first?.roleName == "speed")
    }

    @Test("two sensors with the same role: an error naming the second one's line and role")
    func duplicateRole() throws {
        let text = Self.text.replacingOccurrences(of: "address = 2\n", with: "address = 2\nrole = \"speed\"\n")
        #expect(text != Self.text)
        do {
            _ = try ConfigurationLoader.parse(text, path: "test.conf")
            Issue.record("expected a duplicate role to be rejected")
        } catch {
            let problem = try #require(error.problems.first)
            #expect(error.problems.count == 1)
            #expect(problem.keyPath == "machine[1].sensor[3].role")
            #expect(problem.line == 26)
            #expect(problem.message.contains("\"Panel_Temp\" plays role \"speed\", which sensor \"Drive_RPM\" already plays"))
            #expect(error.description.hasPrefix("test.conf:26: machine[1].sensor[3].role: "))
        }
    }
}
