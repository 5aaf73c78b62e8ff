import Configuration
import EdgeCore
import Testing

/// `[alerts]` and `[[action]]`.
@Suite struct AlertActionConfigurationTests {
    static let base = """
        [[bus]]
        name = "sim"
        type = "tcp"
        host = "127.0.0.1"

        [[machine]]
        id = "pump-1"

        [[machine.sensor]]
        name = "flow"
        bus = "sim"
        address = 0

        """

    static func parse(_ extra: String) throws(ConfigurationError) -> AgentConfiguration {
        try ConfigurationLoader.parse(base + extra, path: "test.conf")
    }

    static func problems(_ extra: String) -> [String] {
        do {
            _ = try parse(extra)
            return []
        } catch {
            return error.problems.map { "\($0.line.map(String.init) ?? "?"):\($0.keyPath): \($0.message)" }
        }
    }

    @Test func defaultsWhenAbsent() throws {
        let configuration = try Self.parse("")
        #expect(configuration.alerts == AlertSettings())
        #expect(configuration.actions.isEmpty)
    }

    @Test func readsAlertsAndBothActionKinds() throws {
        let configuration = try Self.parse("""
            [alerts]
            raise_count = 2
            raise_window = 4
            cooldown = "5m"
            critical_ratio = 3

            [[action]]
            type = "command"
            command = ["/usr/bin/logger", "-t", "edge"]
            on = ["raised", "cleared"]
            min_severity = "critical"
            timeout = "2s"

            [[action]]
            type = "modbus_write"
            bus = "sim"
            unit_id = 9
            address = 4
            machines = ["pump-1"]
            """)
        #expect(configuration.alerts.raiseCount == 2 && configuration.alerts.raiseWindow == 4)
        #expect(configuration.alerts.cooldown == .seconds(300))
        #expect(configuration.alerts.criticalRatio == 3)
        #expect(configuration.actions.count == 2)
        #expect(configuration.actions[0].kind == .command(arguments: ["/usr/bin/logger", "-t", "edge"], timeout: .seconds(2)))
        #expect(configuration.actions[0].events == ["raised", "cleared"])
        #expect(configuration.actions[0].minimumSeverity == "critical")
        #expect(configuration.actions[1].kind == .modbusWrite(bus: "sim", unitID: 9, kind: .coil, address: 4, onValue: 1, offValue: 0))
        #expect(configuration.actions[1].events == ["raised", "cleared"])
        #expect(configuration.actions[1].machines == ["pump-1"])
    }

    @Test(arguments: [
        ("[alerts]\nraise_count = 6\n", "alerts.raise_count: raise_count 6 is more than raise_window 5"),
        ("[alerts]\nclear_ratio = 1.5\n", "alerts.clear_ratio: 1.5 is out of range"),
        ("[alerts]\ncooldwn = \"1m\"\n", "unknown key \"cooldwn\" in [alerts] (did you mean \"cooldown\"?)"),
        ("[[action]]\ntype = \"command\"\ncommand = \"/bin/true\"\n", "action[1].command: expected an array of strings"),
        ("[[action]]\ntype = \"command\"\n", "action[1].command: missing key \"command\""),
        ("[[action]]\ntype = \"email\"\n", "action[1].type: unknown action type \"email\""),
        ("[[action]]\ntype = \"command\"\ncommand = [\"/bin/true\"]\non = [\"fired\"]\n", "action[1].on[1]: unknown value \"fired\""),
        ("[[action]]\ntype = \"command\"\ncommand = [\"/bin/true\"]\nmachines = [\"pump-9\"]\n", "action[1].machines[1]: unknown value \"pump-9\""),
        ("[[action]]\ntype = \"modbus_write\"\nbus = \"plc\"\naddress = 1\n", "action[1].bus: no [[bus]] named \"plc\""),
        ("[[action]]\ntype = \"modbus_write\"\nbus = \"sim\"\naddress = 1\nkind = \"coil\"\nvalue_on = 2\n", "action[1].value_on"),
    ])
    func badSettingsNameTheirKeyPathAndLine(extra: String, expected: String) {
        let found = Self.problems(extra)
        #expect(found.contains { $0.contains(expected) }, "got \(found)")
        // Every problem is placed on a line of the file.
        #expect(found.allSatisfy { !$0.hasPrefix("?:") }, "a problem without a line: \(found)")
    }
}
