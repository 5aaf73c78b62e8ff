import Configuration
import EdgeCore
import Foundation
import Testing
import TestSupport

@Suite("Loader details")
struct LoaderDetailTests {
    @Test("a minimal file gets the documented defaults")
    func defaults() throws {
        let configuration = try ConfigurationLoader.parse("""
            [[bus]]
            name = "plc"
            type = "tcp"
            host = "plc.local"

            [[machine]]
            id = "fan"

            [[machine.sensor]]
            name = "speed"
            bus = "plc"
            address = 7
            """, path: "/etc/edge-agent/agent.conf")
        #expect(configuration.agent == AgentSettings())
        #expect(configuration.agent.dataDirectory == "/var/lib/edge-agent")
        let bus = try #require(configuration.buses.first)
        #expect(bus.transport == .tcp(host: "plc.local", port: 502))
        #expect(bus.responseTimeout == .milliseconds(500) && bus.pauseBetweenRequests == .zero)
        #expect(bus.maxRegistersPerRead == 125 && bus.maxBitsPerRead == 2000 && bus.maxGap == 10 && bus.maxBackoff == .seconds(60))
        let machine = try #require(configuration.machines.first)
        #expect(machine.pollInterval == .seconds(1) && machine.windowLength == 32 && machine.hop == 1 && machine.description.isEmpty)
        let sensor = try #require(machine.sensors.first)
        #expect(sensor.unitID == 1 && sensor.kind == .holding && sensor.type == .uint16 && sensor.order == .ABCD)
        #expect(sensor.bit == nil && sensor.scale == 1 && sensor.offset == 0 && sensor.unit.isEmpty)
        #expect(sensor.minimum == nil && sensor.maximum == nil && sensor.addresses == 7...7)
    }

    @Test("the commented RTU example in agent.conf is valid once uncommented, with serial defaults")
    func rtuExample() throws {
        let path = repositoryRoot() + "/agent.conf"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines: [String] = []
        var inExample = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# [[bus]]") { inExample = true }
            if inExample && !line.hasPrefix("#") { inExample = false }
            if inExample && line.hasPrefix("# ") && !line.hasPrefix("# # ") {
                lines.append(String(line.dropFirst(2)))
            } else {
                lines.append(String(line))
            }
        }
        let configuration = try ConfigurationLoader.parse(lines.joined(separator: "\n"), path: "agent.conf")
        let bus = try #require(configuration.bus(named: "line-a"))
        #expect(bus.transport == .rtu(device: "/dev/ttyUSB0", baud: 19200, parity: .even, dataBits: 8, stopBits: 1))
        #expect(bus.pauseBetweenRequests == .milliseconds(20))

        let defaults = try ConfigurationLoader.parse("""
            [[bus]]
            name = "line-b"
            type = "rtu"
            device = "/dev/ttyS1"
            [[machine]]
            id = "m"
            [[machine.sensor]]
            name = "s"
            bus = "line-b"
            address = 0
            """, path: "x.conf")
        #expect(defaults.buses.first?.transport == .rtu(device: "/dev/ttyS1", baud: Transport.defaultBaud, parity: .even, dataBits: 8, stopBits: 1))
    }

    @Test("lines stay right after multi-line strings, multi-line arrays and quoted keys")
    func sourceMapSkipsValues() {
        let text = """
            [[bus]]
            name = "sim"
            type = "tcp"
            host = "127.0.0.1"

            [[machine]]
            id = "pump-1"
            description = \"\"\"
            not a header:
            [[machine]]
            id = "fake"
            \"\"\"
            "poll_interval" = "1s"

            [[machine.sensor]]
            name = "flow"
            bus = "sim"
            address = 0
            type = 'float32'

            [[machine.sensor]]
            name = "level"
            bus = "sim"
            address = 2
            type = "flaot32"
            """
        do {
            _ = try ConfigurationLoader.parse(text, path: "t.conf")
            Issue.record("expected an error")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.problems.first?.keyPath == "machine[1].sensor[2].type")
            #expect(error.problems.first?.line == 25)
        }
    }

    @Test("brackets inside a multi-line array are not mistaken for table headers")
    func bracketsInArrays() {
        let text = """
            [[machine]]
            id = "m"
            description = [
              [ "not", "a header" ],
              [ # nor this
              ],
            ]
            """
        do {
            _ = try ConfigurationLoader.parse(text, path: "a.conf")
            Issue.record("expected an error")
        } catch {
            let problem = error.problems.first { $0.keyPath == "machine[1].description" }
            #expect(problem?.line == 3)
            #expect(problem?.message.contains("expected a string, found an array") == true)
            #expect(!error.problems.contains { $0.message.contains("TOML syntax error") })
        }
    }

    @Test("relative paths are resolved against the folder holding the file")
    func relativePaths() throws {
        let text = """
            [agent]
            data_dir = "data"
            alert_log = "/var/log/alerts.jsonl"
            [[bus]]
            name = "b"
            type = "tcp"
            host = "h"
            [[machine]]
            id = "m"
            [[machine.sensor]]
            name = "s"
            bus = "b"
            address = 0
            """
        #expect(try ConfigurationLoader.parse(text, path: "/opt/plant/agent.conf").agent.dataDirectory == "/opt/plant/data")
        #expect(try ConfigurationLoader.parse(text, path: "agent.conf").agent.dataDirectory == "data")
        #expect(try ConfigurationLoader.parse(text, path: "/opt/plant/agent.conf").agent.alertLog == "/var/log/alerts.jsonl")
    }

    @Test("a syntax error reports TOMLKit's line and column")
    func syntaxError() {
        do {
            _ = try ConfigurationLoader.parse("[agent]\nlog_level = \"info\"\nretention_age = 30d\n", path: "s.conf")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.problems.first?.line == 3)
            #expect(error.problems.first?.message.hasPrefix("TOML syntax error at column") == true)
        }
    }

    @Test("a NUL byte is reported instead of silently truncating the file")
    func nulByte() {
        do {
            _ = try ConfigurationLoader.parse(bytes: Array("[agent]\n\0log_level = 1\n".utf8), path: "n.conf")
            Issue.record("expected an error")
        } catch {
            #expect(error.problems.first?.line == 2)
            #expect(error.problems.first?.message.contains("NUL") == true)
        }
    }
}
