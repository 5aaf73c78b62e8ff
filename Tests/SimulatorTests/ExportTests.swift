import EdgeCore
import Foundation
import Testing
import TestSupport
@testable import Simulator

@Suite struct ExportTests {
    @Test func exportWritesLabelledCSVsAndAManifest() throws {
        let dir = try TemporaryDirectory(prefix: "sim-export")
        defer { dir.remove() }
        let out = dir.file("nested/out")
        let specs = try FaultSpecification.parseList("pump-1 cavitation at=20m for=10m severity=0.9; compressor-1 sensor-dropout at=5m sensor=oil_temperature severity=1")
        let summary = try FleetExport.export(
            seed: 11, count: 3, hours: 0.5, options: MachineOptions(), faults: .listed(specs), directory: out
        )
        #expect(summary.rowsPerMachine == 1800)
        #expect(summary.faultCount == 2)

        let pump = try String(contentsOfFile: "\(out)/pump-1.csv", encoding: .utf8)
        let lines = pump.split(separator: "\n")
        #expect(lines.count == 1801)
        #expect(lines[0] == "timestamp,flow,inlet_pressure,outlet_pressure,motor_current,supply_voltage,bearing_temperature,winding_temperature,vibration_x,vibration_y,speed,running,anomaly")
        #expect(lines[1].hasPrefix("2026-01-01T00:00:00.000Z,"))
        #expect(lines[2].hasPrefix("2026-01-01T00:00:01.000Z,"))
        let anomalies = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).last! }
        // Cavitation from 20 min for 10 min: rows 1200 ..< 1800 are labelled, the rest not.
        #expect(anomalies.prefix(1200).allSatisfy { $0 == "0" })
        #expect(anomalies.dropFirst(1200).allSatisfy { $0 == "1" })
        // Every field parses as a number, to the sensor's resolution.
        let fields = lines[5].split(separator: ",", omittingEmptySubsequences: false)
        #expect(fields.count == 13)
        #expect(fields.dropFirst().allSatisfy { Double($0) != nil })
        #expect(fields[2].split(separator: ".").last?.count == 3)

        // The dropped-out sensor leaves empty fields.
        let compressor = try String(contentsOfFile: "\(out)/compressor-1.csv", encoding: .utf8).split(separator: "\n")
        let oil = compressor[0].split(separator: ",").firstIndex(of: "oil_temperature")!
        let row = compressor[400].split(separator: ",", omittingEmptySubsequences: false)
        #expect(row[oil].isEmpty)
        #expect(row.last == "1")

        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/manifest.json"))) as! [String: Any]
        let machines = manifest["machines"] as! [[String: Any]]
        #expect(machines.map { $0["id"] as! String } == ["pump-1", "motor-1", "compressor-1"])
        let faults = machines[0]["faults"] as! [[String: Any]]
        #expect(faults.count == 1)
        #expect(faults[0]["kind"] as? String == "cavitation")
        #expect(faults[0]["start"] as? String == "2026-01-01T00:20:00.000Z")
        #expect(faults[0]["end"] as? String == "2026-01-01T00:30:00.000Z")
        #expect((faults[0]["channels"] as! [String]).contains("inlet_pressure"))
        let table = try String(contentsOfFile: "\(out)/faults.csv", encoding: .utf8).split(separator: "\n")
        #expect(table.count == 3)
        #expect(table[2].hasPrefix("compressor-1,sensor-dropout,2026-01-01T00:05:00.000Z,2026-01-01T00:30:00.000Z,1,step,oil_temperature,"))
    }

    @Test func exportRefusesAFaultForAnUnknownMachine() throws {
        let dir = try TemporaryDirectory(prefix: "sim-export")
        defer { dir.remove() }
        let specs = try FaultSpecification.parseList("pump-7 leak")
        #expect(throws: FaultError.self) {
            try FleetExport.export(seed: 1, count: 3, hours: 0.01, options: MachineOptions(), faults: .listed(specs), directory: dir.path)
        }
    }

    struct SpecCase: Sendable, CustomStringConvertible {
        var text: String
        var machine: String?
        var kind: FaultKind?
        var start: Double = 0
        var duration: Double? = nil
        var description: String { text }
    }

    @Test(arguments: [
        SpecCase(text: "pump-1 cavitation", machine: "pump-1", kind: .cavitation),
        SpecCase(text: "motor-2 imbalance at=90s for=5m profile=spike", machine: "motor-2", kind: .imbalance, start: 90, duration: 300),
        SpecCase(text: "compressor-1 leak at=1.5h for=500ms severity=0.4", machine: "compressor-1", kind: .leak, start: 5400, duration: 0.5),
        SpecCase(text: "pump-1 sensor-drift at=2d sensor=flow", machine: "pump-1", kind: .sensorDrift, start: 172_800),
        SpecCase(text: "pump-1 cavitaton"),
        SpecCase(text: "pump-1"),
        SpecCase(text: "pump-1 leak severity=2"),
        SpecCase(text: "pump-1 leak at=soon"),
        SpecCase(text: "pump-1 leak colour=red"),
        SpecCase(text: "pump-1 leak profile=wave"),
    ])
    func faultSpecifications(_ c: SpecCase) {
        do {
            let spec = try FaultSpecification.parse(Substring(c.text))
            #expect(spec.machineID == c.machine)
            #expect(spec.fault.kind == c.kind)
            #expect(spec.fault.startSeconds == c.start)
            #expect(spec.fault.durationSeconds == c.duration)
        } catch {
            #expect(c.kind == nil, "unexpected error: \(error)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test func fixedPointFormatting() {
        func text(_ v: Double, _ d: Int) -> String {
            var out: [UInt8] = []
            SeriesExport.appendFixed(v, decimals: d, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(text(3.14159, 2) == "3.14")
        #expect(text(-0.0004, 3) == "0.000")
        #expect(text(-1.25, 1) == "-1.3" || text(-1.25, 1) == "-1.2")
        #expect(text(0.05, 3) == "0.050")
        #expect(text(1234.5, 0) == "1235" || text(1234.5, 0) == "1234")
        #expect(text(.nan, 2) == "")
        #expect(text(100, 1) == "100.0")
    }
}
