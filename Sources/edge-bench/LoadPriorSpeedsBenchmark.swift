import Detection
import EdgeCore
import Simulator

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `edge-bench load-prior-speeds [--kind motor|pump] [--seeds FIRST-LAST] [--load-prior FILE] [--trace] [--levels] [--no-settle]`:
/// `LoadPriorSimulatorTests`' procedure over many seeds. Each simulated machine (no automatic
/// operation) is settled at its top speed (`SimulatedMachine.settle()`; `--no-settle`: as before
/// 2026-11-30, still cooling or warming from the load the simulator warmed it up at) and
/// calibrated for 10 minutes there, then runs 20 minutes at the middle
/// of its speed range and 20 minutes just above its lowest speed (speeds calibration never saw),
/// then 15 minutes of an imbalance (severity 0.8, step) at that low speed. Prints, per seed, the
/// alerted rows in each phase and the sensors that drove the alerts at the unseen speeds, then how
/// many machines alert there at all and how many catch the imbalance on more than 600 of its 900
/// rows (what the test asserts). `--trace`: per driving sensor, its first alerted reading
/// at an unseen speed and what the load compensation made of it. `--levels`: per driving sensor of
/// an alerting machine, its settled level in each phase against the prior's range there and the
/// detector's allowance (see docs/load-prior.md, "Fan motors and pumps at speeds calibration did
/// not see: the mechanisms"). Defaults: fan motors, seeds 22–41, the shipped prior. Figures,
/// not a pass/fail: see docs/load-prior.md ("Fan-motor current outside its band").
func loadPriorSpeedsBenchmark(_ args: [String]) throws -> Int32 {
    var kind = MachineKind.motor
    var seeds: ClosedRange<UInt64> = 22...41
    var prior = LoadPrior.shipped
    var priorName = "shipped"
    var trace = false
    var settle = true
    var levels = false
    try forEachBenchOption(args, flags: ["--trace", "--no-settle", "--levels"]) { name, value in
        switch name {
        case "--kind":
            guard let k = MachineKind(rawValue: value), k != .compressor else {
                throw BenchError("--kind must be motor or pump (speed-driven kinds), not \"\(value)\"")
            }
            kind = k
        case "--seeds":
            seeds = try seedRange(value)
        case "--trace":
            trace = true
        case "--no-settle":
            settle = false
        case "--levels":
            levels = true
        case "--load-prior":
            do {
                prior = try LoadPrior.parse(String(decoding: try TextFile.readBytes(path: value), as: UTF8.self))
            } catch {
                throw BenchError("--load-prior \(value): \(error)")
            }
            priorName = value
        default:
            throw BenchError("unknown argument \"\(name)\" (expected --kind, --seeds, --load-prior, --trace, --levels, --no-settle)")
        }
    }
    print("load-prior-speeds: \(kind.rawValue) seeds \(seeds.lowerBound)–\(seeds.upperBound), prior \(priorName)\(settle ? "" : ", not settled")")
    print("calibrated 10 min at top speed; alerted rows at calibration / middle speed (of 1200) / low speed (of 1200) / imbalance at low speed (of 900); what drove the unseen-speed alerts")
    var alerting = 0, caught = 0, machines = 0, unseenRows = 0
    for seed in seeds {
        let outcome = speedsProcedure(kind: kind, seed: seed, prior: prior, settle: settle, levels: levels)
        machines += 1
        let unseen = outcome.middle + outcome.low
        unseenRows += unseen
        if unseen > 0 { alerting += 1 }
        if outcome.fault > 600 { caught += 1 }
        let drivers = outcome.drivers.sorted { $0.value > $1.value }.prefix(3).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("  seed \(seed): \(outcome.calibration) / \(outcome.middle) / \(outcome.low) / \(outcome.fault)\(drivers.isEmpty ? "" : "  (\(drivers))")")
        if trace { for line in outcome.firstMiss.values.sorted() { print("      first: \(line)") } }
        if levels, unseen > 0 { for line in outcome.levels { print("      \(line)") } }
    }
    print("\(alerting) of \(machines) machines alert at speeds calibration did not see (\(unseenRows) rows); the imbalance alerts on more than 600 rows in \(caught) of \(machines)")
    return 0
}

/// Alerted rows per phase of one machine's run, and the sensors that drove the unseen-speed alerts
/// (per alerted row, the sensor with the largest contribution).
private struct SpeedsOutcome {
    var calibration = 0, middle = 0, low = 0, fault = 0
    var drivers: [String: Int] = [:]
    /// Per driving sensor, its first alerted row at an unseen speed: what the compensation made of it.
    var firstMiss: [String: String] = [:]
    /// With `--levels`: per driving sensor and unseen speed, where its settled level lies against
    /// the prior's settled range and the detector's allowance.
    var levels: [String] = []
}

private func speedsProcedure(kind: MachineKind, seed: UInt64, prior: LoadPrior?, settle: Bool, levels: Bool = false) -> SpeedsOutcome {
    var options = MachineOptions()
    options.automaticOperation = false
    var machine = SimulatedMachine(kind: kind, id: "m", seed: seed, options: options)
    let keep = machine.channels.indices.filter { machine.channels[$0].name != "running" }
    let names = keep.map { machine.channels[$0].name }
    func rows(minutes: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(minutes * 60 * keep.count)
        for _ in 0..<(minutes * 60) {
            let sample = machine.step()
            for k in keep { out.append(Float(sample.values[k])) }
        }
        return out
    }
    let top = machine.loadRange.upperBound, low = machine.loadRange.lowerBound
    machine.setOperatingPoint(running: true, load: top)
    if settle { machine.settle() }
    let calibration = rows(minutes: 10)
    machine.setOperatingPoint(running: true, load: (top + low) / 2)
    let middle = rows(minutes: 20)
    machine.setOperatingPoint(running: true, load: low + 0.05)
    let lowest = rows(minutes: 20)
    // A known fault kind and profile cannot fail to inject.
    try? machine.inject(.imbalance, severity: 0.8, durationSeconds: 900, profile: .step)
    let fault = rows(minutes: 15)

    var settings = CalibrationSettings()
    settings.loadPrior = prior
    let detector = Calibrator(settings: settings).calibrate(values: calibration[...], sensorNames: names).detector
    var stream = detector.makeStream()
    // A second compensator beside the stream's, to show what the driving sensor's reading became.
    var compensator = detector.load.map { LoadCompensator($0) }
    var compensated = [Float](repeating: .nan, count: names.count)
    var outcome = SpeedsOutcome()
    let n = names.count
    for (phase, block) in [calibration, middle, lowest, fault].enumerated() {
        for r in 0..<(block.count / n) {
            let row = block[(r * n)..<(r * n + n)]
            for (k, x) in row.enumerated() { compensated[k] = x }
            compensated.withUnsafeMutableBufferPointer { compensator?.apply($0) }
            guard stream.process(row: row).alert else { continue }
            switch phase {
            case 0: outcome.calibration += 1
            case 1: outcome.middle += 1
            case 2: outcome.low += 1
            default: outcome.fault += 1
            }
            if phase == 1 || phase == 2 {
                let c = stream.contributions
                if let top = c.indices.max(by: { c[$0] < c[$1] }) {
                    outcome.drivers[names[top], default: 0] += 1
                    if outcome.firstMiss[names[top]] == nil, let load = detector.load, load.reference[top].isFinite {
                        let speed = row[row.startIndex + load.driver] / load.referenceDriver
                        outcome.firstMiss[names[top]] = "\(names[top]) at phase row \(r): \(EvaluationText.fixed(Double(row[row.startIndex + top]), 3)) → \(EvaluationText.fixed(Double(compensated[top]), 3)) (reference \(EvaluationText.fixed(Double(load.reference[top]), 3)), speed ratio \(EvaluationText.fixed(Double(speed), 3)))"
                    }
                }
            }
        }
    }
    if levels, let load = detector.load {
        outcome.levels = speedLevels(load: load, detector: detector, names: names, phases: [calibration, middle, lowest],
                                     sensors: outcome.drivers.keys.compactMap { names.firstIndex(of: $0) }.sorted())
    }
    return outcome
}

/// Per sensor and phase (calibration, middle, low speed): the median of the phase's last 10
/// minutes against the prior's range at that speed settled (no lags), in % of the calibration
/// level; the row-to-row noise there; the secant elasticity from calibration; and the
/// detector's allowance (threshold × tolerated window spread ÷ weight, % of the level).
private func speedLevels(load: LoadCompensation, detector: MachineDetector, names: [String], phases: [[Float]], sensors: [Int]) -> [String] {
    let n = names.count
    var lines: [String] = []
    func pct(_ x: Float) -> String { EvaluationText.fixed(Double(100 * x), 2) }
    for s in sensors where load.reference[s].isFinite {
        let level = load.reference[s]
        let b = detector.baseline
        let allowance = detector.threshold * b.windowScale[s] * b.scale[s] / max(b.weight[s], 1e-6) / abs(level)
        var line = "\(names[s]): prior \(EvaluationText.fixed(Double(load.elasticity[s]), 3)) ± \(EvaluationText.fixed(Double(load.band[s]), 3)) tol \(pct(load.tolerance[s]))%\(load.lagged[s] ? " lagged" : ""), allowance \(pct(allowance))% (threshold \(EvaluationText.fixed(Double(detector.threshold), 2)), weight \(EvaluationText.fixed(Double(b.weight[s]), 3)))"
        for (p, block) in phases.enumerated() {
            let rows = block.count / n
            let tail = (rows / 2)..<rows
            let x = tail.map { block[$0 * n + s] }
            let v = tail.map { block[$0 * n + load.driver] }
            let median = RobustStatistics.median(x), speed = RobustStatistics.median(v)
            let steps = zip(x.dropFirst(), x).map { $0 - $1 }
            let noise = RobustStatistics.scaledMAD(steps, center: 0) / Float(2).squareRoot()
            guard let point = load.settledPoint(driver: speed) else { continue }
            let range = load.readingRange(sensor: s, compensated: (Double(level), Double(level)), at: point)
            let expected = (low: Float(range.low), high: Float(range.high))
            let miss = median < expected.low ? (median - expected.low) / level : (median > expected.high ? (median - expected.high) / level : 0)
            let secant = abs(point.now) > 1e-3 ? log(median / level) / point.now : .nan
            line += "; \(["calibration", "middle", "low"][p]) ×\(EvaluationText.fixed(Double(exp(point.now)), 3)): \(EvaluationText.fixed(Double(median), 3)) in \(EvaluationText.fixed(Double(expected.low), 3))…\(EvaluationText.fixed(Double(expected.high), 3)) miss \(pct(miss))%, noise \(pct(noise / median))%, secant \(EvaluationText.fixed(Double(secant), 3))"
        }
        lines.append(line)
    }
    return lines
}
