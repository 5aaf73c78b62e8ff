import EdgeCore
import Foundation
import Testing
import TestSupport

/// `calibrate` says when a variable-speed machine was calibrated at one steady speed: the load
/// prior then compensates every other speed untested on this machine (docs/load-prior.md: on the
/// simulator about half of the fan motors and pumps calibrated so alert at speeds they were not
/// calibrated at). A calibration over two speeds 20 % apart tests the prior and does not warn.
@Suite("calibrate: a variable-speed machine calibrated at one speed")
struct CalibrationSpeedCoverageTests {
    static let executable = builtExecutable(named: "edge-agent") ?? repositoryRoot() + "/.build/debug/edge-agent"

    /// agent.conf of pump `p` (speed, flow, outlet pressure, motor current at 1 s polls).
    static func configuration(_ folder: TemporaryDirectory) throws -> String {
        let path = folder.file("agent.conf")
        var text = offlineAgentConfigurationHead(dataDirectory: folder.file("data")) + "\n[[machine]]\nid = \"p\"\npoll_interval = \"1s\"\n"
        for (address, name) in ["speed", "flow", "outlet_pressure", "motor_current"].enumerated() {
            text += "\n  [[machine.sensor]]\n  name = \"\(name)\"\n  bus = \"b\"\n  address = \(address)\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A CSV of the pump: 1 s rows, the speed of each row from `speed`, the other sensors
    /// following it by the pump's laws (flow ∝ n, pressure ∝ n², current ∝ n^2.2) with noise.
    static func csv(_ folder: TemporaryDirectory, _ name: String, rows: Int, speed: (Int) -> Double) throws -> String {
        var random = SplitMix64(seed: 5)
        var text = "timestamp,speed,flow,outlet_pressure,motor_current\n"
        for r in 0..<rows {
            let n = speed(r) * (1 + 0.002 * random.gaussian())
            let ratio = n / 1450
            let minute = r / 60, second = r % 60
            text += String(format: "2026-11-29T%02d:%02d:%02d.000Z,%.1f,%.2f,%.3f,%.2f\n", minute / 60, minute % 60, second, n,
                           200 * ratio * (1 + 0.01 * random.gaussian()), 5 * ratio * ratio * (1 + 0.01 * random.gaussian()),
                           60 * pow(ratio, 2.2) * (1 + 0.01 * random.gaussian()))
        }
        let path = folder.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func calibrate(_ config: String, _ input: String, json: Bool = false) async throws -> ProgramRun {
        try await runProgram(Self.executable, ["calibrate", "--config", config, "--machine", "p", "--input", input] + (json ? ["--json"] : []))
    }

    @Test("20 minutes at 1450 rpm or a hunting speed warn (text and JSON); 10 minutes at 1450 then 10 at 1200 do not",
          .enabled(if: FileManager.default.isExecutableFile(atPath: executable), "build edge-agent first (swift build)"))
    func oneSpeedWarns() async throws {
        let folder = try TemporaryDirectory(prefix: "calspeed")
        defer { folder.remove() }
        let config = try Self.configuration(folder)

        let oneSpeed = try Self.csv(folder, "one.csv", rows: 1200) { _ in 1450 }
        let warned = try await calibrate(config, oneSpeed)
        #expect(warned.status == 0, "\(warned.standardError)")
        #expect(warned.standardOutput.contains("load prior (pump)"), "\(warned.standardOutput)")
        #expect(warned.standardOutput.contains("warning: calibration saw p at one steady speed only (speed 1450): at other speeds its readings are compensated by the load prior alone"),
                "\(warned.standardOutput)")
        #expect(warned.standardOutput.contains("If p runs at other speeds, calibrate over a stretch that shows them: edge-agent calibrate --machine p with --input covering the speeds it runs at"))
        let warnedRun = try await calibrate(config, oneSpeed, json: true)
        let warnedJSON = try #require(try JSONSerialization.jsonObject(with: Data(warnedRun.standardOutput.utf8)) as? [String: Any])
        #expect(warnedJSON["load_prior_tested"] as? Bool == false)
        let speeds = try #require(warnedJSON["calibrated_speeds"] as? [Double])
        #expect(speeds.count == 1 && abs(speeds[0] - 1450) < 5, "\(speeds)")
        #expect((warnedJSON["warnings"] as? [String] ?? []).contains { $0.hasPrefix("calibration saw p at one steady speed only") })

        let twoSpeeds = try Self.csv(folder, "two.csv", rows: 1200) { $0 < 600 ? 1450 : 1200 }
        let quiet = try await calibrate(config, twoSpeeds)
        #expect(quiet.status == 0, "\(quiet.standardError)")
        #expect(quiet.standardOutput.contains("load prior (pump)"), "\(quiet.standardOutput)")
        #expect(!quiet.standardOutput.contains("steady speed"), "\(quiet.standardOutput)")
        let quietRun = try await calibrate(config, twoSpeeds, json: true)
        let quietJSON = try #require(try JSONSerialization.jsonObject(with: Data(quietRun.standardOutput.utf8)) as? [String: Any])
        #expect(quietJSON["load_prior_tested"] as? Bool == true)
        let both = try #require(quietJSON["calibrated_speeds"] as? [Double])
        #expect(both.count == 2 && abs(both[0] - 1200) < 5 && abs(both[1] - 1450) < 5, "\(both)")

        // A speed that never holds steady (hunting ±10 % with a 60 s period) warns too.
        let hunting = try Self.csv(folder, "hunting.csv", rows: 1200) { 1450 * (1 + 0.1 * sin(2 * Double.pi * Double($0) / 60)) }
        let ramped = try await calibrate(config, hunting)
        #expect(ramped.standardOutput.contains("warning: calibration saw p at one steady speed only") == false)
        #expect(ramped.standardOutput.contains("warning: calibration never saw p at a steady speed (speed did not stay within 2 % for 20 rows)"),
                "\(ramped.standardOutput)")
    }
}
