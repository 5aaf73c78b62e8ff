import EdgeCore
import Simulator

/// `edge-bench simulator [--hours H]`: how much faster than real time the simulator generates data.
///
/// Figures: machine-steps per second in memory (`generate(hours:)`), the same with the
/// allocation-free `step(into:)`, and CSV export throughput. The practical limit is the
/// meta-training need: many machine-days in seconds.
func simulatorBenchmark(_ args: [String]) throws -> Int32 {
    var hours = 24.0
    if let i = args.firstIndex(of: "--hours"), i + 1 < args.count, let h = Double(args[i + 1]) { hours = h }
    let clock = SystemClock()
    func seconds(_ start: UInt64) -> Double { Double(clock.monotonicNanoseconds() - start) / 1e9 }

    var fleet = Fleet(seed: 1, count: 3)
    fleet.addRandomFaults(count: 2, hours: hours)
    var start = clock.monotonicNanoseconds()
    let series = fleet.generate(hours: hours)
    let generate = seconds(start)
    let steps = Double(series.map(\.rowCount).reduce(0, +))
    print("generate(hours: \(hours)) × 3 machines: \(Int(steps)) steps in \(format(generate)) s = "
        + "\(Int(steps / generate)) steps/s, \(Int(steps / generate / 3600)) machine-hours per second")

    var machine = SimulatedMachine(kind: .pump, id: "pump-1", seed: 2)
    var values: [Double] = []
    let n = Int(hours * 3600)
    start = clock.monotonicNanoseconds()
    var anomalies = 0
    for _ in 0..<n where machine.step(into: &values).anomaly { anomalies += 1 }
    let stepping = seconds(start)
    print("step(into:) pump: \(n) steps in \(format(stepping)) s = \(Int(Double(n) / stepping)) steps/s "
        + "(\(format(stepping / Double(n) * 1e9)) ns per step)")

    let directory = "/tmp/edge-bench-simulator-\(clock.monotonicNanoseconds())"
    start = clock.monotonicNanoseconds()
    let summary = try FleetExport.export(
        seed: 1, count: 3, hours: hours, options: MachineOptions(), faults: .random(perMachine: 2), directory: directory
    )
    let export = seconds(start)
    print("export --machines 3 --hours \(hours): \(summary.rowsPerMachine * 3) rows in \(format(export)) s = "
        + "\(Int(Double(summary.rowsPerMachine * 3) / export)) rows/s (files in \(directory))")
    return 0
}

private func format(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
}
