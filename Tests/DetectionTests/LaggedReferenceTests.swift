import Detection
import Simulator
import Testing

/// A fan motor whose plant steps its speed during the 10 calibration minutes (`--automatic`):
/// its winding is still warming toward the new speed's level, so the median reading is a level
/// on its way, not the level settled at the calibration's speed. Taken as settled, the load
/// prior's range sat too low and the winding, still warming normally, alerted in the normal
/// stretch (seeds 2 and 22: 3,018 and 1,796 rows). The reference is now the level the readings
/// point to once taken back over their moving averages (`LoadCompensation.fit`;
/// docs/detection.md, "Pumps and fan motors under the plant's own load changes").
@Suite struct LaggedReferenceTests {
    /// Rows (row-major, without the run signal) of a fan motor (or `kind`) under the plant's
    /// own load changes at 100 ms: 10 minutes of calibration, 10 normal minutes, then 10
    /// minutes of overheating at severity 0.5.
    static func run(kind: MachineKind = .motor, seed: UInt64) throws -> (names: [String], calibration: [Float], normal: [Float], faulty: [Float], loads: Set<Double>) {
        var options = MachineOptions()
        options.stepMilliseconds = 100
        options.automaticOperation = true
        var machine = SimulatedMachine(kind: kind, id: "m", seed: seed, options: options)
        let keep = machine.channels.indices.filter { machine.channels[$0].name != "running" }
        var sample: [Double] = []
        var loads: Set<Double> = []
        func rows(minutes: Int) -> [Float] {
            var out: [Float] = []
            for _ in 0..<(minutes * 600) {
                _ = machine.step(into: &sample)
                loads.insert(machine.operatingPoint.load)
                for k in keep { out.append(Float(sample[k])) }
            }
            return out
        }
        let calibration = rows(minutes: 10), normal = rows(minutes: 10)
        try machine.inject(.overheating, severity: 0.5, durationSeconds: 600, profile: .step, channel: nil)
        let faulty = rows(minutes: 10)
        return (keep.map { machine.channels[$0].name }, calibration, normal, faulty, loads)
    }

    @Test("a fan motor calibrated across a speed step does not alert as its winding goes on warming, and its overheating still alerts",
          arguments: [UInt64(2), 22])
    func warmingAfterAStepIsNormal(seed: UInt64) throws {
        let run = try Self.run(seed: seed)
        // The plant did change the speed (more than one operating point in the runs).
        #expect(run.loads.count >= 2)
        let result = TemperatureRiseTests.alerts((run.names, run.calibration, run.normal, run.faulty),
                                                 stepMilliseconds: 100, riseCheck: true)
        let detector = result.detector
        let winding = try #require(run.names.firstIndex(of: "winding_temperature"))
        let load = try #require(detector.load)
        #expect(load.lagged[winding])
        // The winding warmed through calibration: its reference lies above the median reading.
        let readings = (0..<(run.calibration.count / run.names.count)).map { run.calibration[$0 * run.names.count + winding] }
        #expect(load.reference[winding] > RobustStatistics.median(readings))
        let normal = result.normal
        #expect(normal == 0, "seed \(seed): \(normal) alerted rows in the normal stretch")
        let caught = try #require(result.first, "seed \(seed): overheating not caught in 10 minutes")
        #expect(caught > 0 && caught < 600, "seed \(seed): overheating first alerted after \(caught) s")
    }
}
