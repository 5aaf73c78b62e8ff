import Configuration
import EdgeCore
import Foundation
import Testing
import TestSupport

@Suite("The repository's agent.conf")
struct ShippedConfigurationTests {
    let path = repositoryRoot() + "/agent.conf"

    @Test("passes the checker and describes the demo fleet")
    func shippedFilePasses() throws {
        let configuration = try ConfigurationLoader.load(path: path)
        #expect(configuration.sourcePath == path)
        #expect(configuration.buses.map(\.name) == ["sim"])
        #expect(configuration.buses.first?.transport == .tcp(host: "127.0.0.1", port: 5020))
        #expect(configuration.machines.map(\.id) == ["pump-1", "motor-1", "compressor-1"])
        let root = repositoryRoot()
        #expect(configuration.agent.dataDirectory == root + "/demo-out/data")
        #expect(configuration.agent.alertLog == root + "/demo-out/alerts.jsonl")
        #expect(configuration.agent.summaryDirectory == root + "/demo-out/summaries")
        #expect(configuration.agent.retentionBytes == 1 << 30)
        #expect(configuration.agent.retentionAge == .seconds(30 * 86_400))
        #expect(configuration.agent.alertRetentionAge == AgentSettings().alertRetentionAge)
        #expect(configuration.agent.alertRetentionCount == AgentSettings().alertRetentionCount)

        let pump = try #require(configuration.machine(id: "pump-1"))
        for name in ["flow", "inlet_pressure", "outlet_pressure", "motor_current", "supply_voltage", "bearing_temperature", "vibration_x", "vibration_y"] {
            #expect(pump.sensors.contains { $0.name == name }, "pump-1 lacks \(name)")
        }
        #expect(pump.sensors.allSatisfy { $0.unitID == 1 })
        let motor = try #require(configuration.machine(id: "motor-1"))
        #expect(Set(motor.sensors.map(\.name)).isSuperset(of: ["motor_current", "supply_voltage", "speed", "winding_temperature", "bearing_temperature", "vibration_x"]))
        #expect(motor.sensors.allSatisfy { $0.unitID == 2 })
        let compressor = try #require(configuration.machine(id: "compressor-1"))
        #expect(Set(compressor.sensors.map(\.name)).isSuperset(of: ["discharge_pressure", "suction_pressure", "discharge_temperature", "motor_current", "vibration_x", "oil_temperature"]))
        #expect(compressor.sensors.allSatisfy { $0.unitID == 3 })

        // The mix of types and orders the demo is meant to exercise.
        let sensors = configuration.machines.flatMap(\.sensors)
        #expect(sensors.contains { $0.type == .float32 && $0.order == .ABCD })
        #expect(sensors.contains { $0.type == .float32 && $0.order == .CDAB })
        #expect(sensors.contains { $0.type == .uint16 && $0.scale != 1 })
        #expect(sensors.contains { $0.type == .int32 })
        #expect(sensors.contains { $0.type == .bool && $0.bit != nil })
        let flow = try #require(pump.sensors.first { $0.name == "flow" })
        #expect(flow.kind == .holding && flow.type == .float32 && flow.addresses == 0...1 && flow.unit == "m³/h")
        #expect(flow.minimum == 0 && flow.maximum == 2000)
        #expect(pump.kind == .pump && compressor.kind == .compressor)
        #expect(flow.role == "flow")
        let loaded = try #require(compressor.sensors.first { $0.name == "loaded" })
        #expect(loaded.role == "loaded")
        #expect(loaded.kind == .discrete && loaded.type == .bool)
    }

    @Test("shows every option of [agent], [[bus]], [[machine]] and [[machine.sensor]] with its default")
    func everyOptionIsDocumented() throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let keys = ["data_dir", "alert_log", "summary_dir", "summary_interval", "retention_age", "retention_size", "alert_retention_age",
                    "alert_retention_count", "log_level",
                    "name", "type", "host", "port", "device", "baud", "parity", "data_bits", "stop_bits", "response_timeout",
                    "pause_between_requests", "max_registers_per_read", "max_bits_per_read", "max_gap", "max_backoff",
                    "id", "description", "poll_interval", "window_length", "hop", "run_signal", "run_threshold", "settle_after_start", "stop_grace",
                    "bus", "unit_id", "kind", "address", "order", "bit", "scale", "offset", "unit", "min", "max", "role"]
        for key in keys {
            #expect(text.contains("\(key) = "), "agent.conf does not show \(key)")
        }
        #expect(text.contains("1MB = 2^20"))
    }
}
