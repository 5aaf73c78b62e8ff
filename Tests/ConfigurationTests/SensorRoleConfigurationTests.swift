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

/// Roles are matched without regard to case everywhere, as the load prior matches names.
@Suite("Sensor roles in any case")
struct SensorRoleCaseTests {
    @Test("a role written in another case is the known role", arguments: ["Flow", "FLOW", "flow", "fLoW"])
    func roleInAnyCase(spelling: String) throws {
        let text = SensorRoleConfigurationTests.text.replacingOccurrences(of: "role = \"flow\"", with: "role = \"\(spelling)\"")
        let pump = try #require(try ConfigurationLoader.parse(text, path: "test.conf").machine(id: "P-101"))
        #expect(pump.sensors[0].role == "flow")
        #expect(pump.sensors[0].roleName == "flow")
    }

    @Test("a sensor named like a role in another case plays it, as the load prior reads it")
    func nameInAnyCase() throws {
        let text = SensorRoleConfigurationTests.text.replacingOccurrences(of: "name = \"speed\"", with: "name = \"Speed\"")
        let fan = try #require(try ConfigurationLoader.parse(text, path: "test.conf").machine(id: "fan"))
        #expect(fan.sensors[0].role == nil)
        #expect(fan.sensors[0].roleName == "speed")
    }

    @Test("a name that is a role in another case counts against the same role given to another sensor",
          arguments: ["SPEED", "Speed", "speed"])
    func duplicateAcrossCase(name: String) throws {
        let text = SensorRoleConfigurationTests.text.replacingOccurrences(of: "name = \"Panel_Temp\"", with: "name = \"\(name)\"")
        do {
            _ = try ConfigurationLoader.parse(text, path: "test.conf")
            Issue.record("expected \(name) and Drive_RPM's role speed to be rejected")
        } catch {
            let problem = try #require(error.problems.first)
            #expect(error.problems.count == 1)
            #expect(problem.keyPath == "machine[1].sensor[3].name")
            #expect(problem.line == 23)
            #expect(problem.message.contains("\"\(name)\" plays role \"speed\", which sensor \"Drive_RPM\" already plays"))
        }
    }

    @Test("an unknown role names file, line and key, and suggests the known one")
    func unknownRole() throws {
        let text = SensorRoleConfigurationTests.text.replacingOccurrences(of: "role = \"flow\"", with: "role = \"Flwo\"")
        do {
            _ = try ConfigurationLoader.parse(text, path: "test.conf")
            Issue.record("expected an unknown role to be rejected")
        } catch {
            #expect(error.description.hasPrefix("test.conf:14: machine[1].sensor[1].role: unknown role \"Flwo\""))
            #expect(error.description.contains("did you mean \"flow\"?"))
        }
    }
}
