import Configuration
import Detection
import EdgeCore
import Runtime
import Simulator

/// `edge-bench calibration-length [--kinds compressor,pump,motor] [--seeds FIRST-LAST]
/// [--minutes 0.5,1,2,5,10,20,30] [--step-ms 1000] [--cycle RUN,STOP] [--no-rise-check] [--settle]`: how the false alarms of
/// the hour after a calibration depend on how much data the calibration had.
///
/// Each simulated machine (no automatic operation: one operating point, so every alert is a
/// false alarm of a too-short calibration, not of a load it never saw) warms up running for
/// 10 minutes, then is calibrated on its next M minutes the way `calibrate` does it (agent.conf
/// run signal and settling → running rows, `Calibrator` with the machine's kind and poll
/// interval, the operating states it showed), then the 60 minutes after the calibration are
/// scored by the agent's own `ScoringEngine`. With `--cycle RUN,STOP` the machine runs RUN
/// minutes and stops STOP minutes, over and over (run stretches). Prints one line per kind,
/// seed and length: the calibration's coverage (used rows, windows, run stretches) and the
/// anomaly alerts raised in the hour; then per kind and length how many seeds stayed quiet.
/// Under each line, `calibrate`'s still-settling verdict (`CalibrationDrift` on the same running
/// rows; `--drift-detail` prints every sensor's measures, `--warm-up 0` is a cold start), and at
/// the end how often it warned on calibrations that alerted and on those that stayed quiet.
/// The machine is moved from the load the simulator warmed it up at to the bench's, so the
/// warm-up runs while its temperatures move toward the new point (what the still-settling
/// warning is measured on); `--settle` settles it there first (`SimulatedMachine.settle()`),
/// so every alert is the calibration length's alone.
/// Figures, not a pass/fail: docs/detection.md, "How much calibration data".
func calibrationLengthBenchmark(_ args: [String]) throws -> Int32 {
    var kinds: [MachineKind] = [.compressor, .pump, .motor]
    var seeds: ClosedRange<UInt64> = 1...5
    var minutes: [Double] = [0.5, 1, 2, 5, 10, 20, 30]
    var stepMilliseconds: Int64 = 1000
    var cycle: (run: Double, stop: Double)? = nil
    var warmUpMinutes = 10.0
    var driftDetail = false
    var riseCheck = true
    var settle = false
    try forEachBenchOption(args, flags: ["--drift-detail", "--quick", "--no-rise-check", "--settle"]) { name, value in
        switch name {
        case "--kinds":
            kinds = try value.split(separator: ",").map {
                guard let kind = MachineKind(rawValue: String($0)) else { throw BenchError("--kinds: unknown kind \"\($0)\" (compressor, pump, motor)") }
                return kind
            }
        case "--seeds":
            seeds = try seedRange(value)
        case "--minutes":
            minutes = value.split(separator: ",").compactMap { Double($0) }
            guard !minutes.isEmpty, minutes.allSatisfy({ $0 > 0 }) else { throw BenchError("--minutes takes lengths such as 0.5,1,10") }
        case "--step-ms":
            guard let step = Int64(value), step > 0 else { throw BenchError("--step-ms takes a poll interval in milliseconds") }
            stepMilliseconds = step
        case "--warm-up":
            guard let m = Double(value), m >= 0 else { throw BenchError("--warm-up takes minutes of running before calibration") }
            warmUpMinutes = m
        case "--drift-detail":
            driftDetail = true
        case "--quick":
            // `make bench-quick` passes it to every benchmark; the whole run takes seconds.
            break
        case "--no-rise-check":
            riseCheck = false
        case "--settle":
            settle = true
        case "--cycle":
            let parts = value.split(separator: ",").compactMap { Double($0) }
            guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { throw BenchError("--cycle takes RUN,STOP minutes (e.g. 4,2)") }
            cycle = (parts[0], parts[1])
        default:
            throw BenchError("unknown argument \"\(name)\" (expected --kinds, --seeds, --minutes, --step-ms, --cycle, --warm-up, --drift-detail, --no-rise-check, --settle)")
        }
    }
    print("calibration-length: \(kinds.map(\.rawValue).joined(separator: ",")) seeds \(seeds.lowerBound)–\(seeds.upperBound), polls every \(stepMilliseconds) ms\(cycle.map { ", running \($0.run) min / stopped \($0.stop) min" } ?? ", running throughout"), \(settle ? "settled, " : "")warmed up \(EvaluationText.fixed(warmUpMinutes, 0)) min")
    print("kind seed minutes: used rows, windows, run stretches, min per state → anomaly alerts raised in the following hour (windows judged)")
    var quiet: [String: (quiet: Int, total: Int, alerts: Int, windows: [Int])] = [:]
    // The still-settling warning against the hour: [warned][alerted] calibrations, per kind.
    var verdicts: [String: [[Int]]] = [:]
    for kind in kinds {
        for seed in seeds {
            for outcome in calibrationLengthProcedure(kind: kind, seed: seed, minutes: minutes, stepMilliseconds: stepMilliseconds, cycle: cycle,
                                                                     warmUpMinutes: warmUpMinutes, riseCheck: riseCheck, settle: settle) {
                let c = outcome.coverage
                let states = c.stateRows.map { "off \(CalibrationCoverage.minutesText(Double($0.off) * c.secondsPerRow / 60)) / on \(CalibrationCoverage.minutesText(Double($0.on) * c.secondsPerRow / 60))" }
                print("  \(kind.rawValue) \(seed) \(EvaluationText.fixed(outcome.minutes, 1)) min: \(c.usedRows) rows, \(c.windows) windows, \(c.runStretches) runs\(states.isEmpty ? "" : ", " + states.joined(separator: ", ")) → \(outcome.alerts) alerts (\(outcome.judged) judged)\(outcome.first.map { "; first at \($0)" } ?? "")\(outcome.refused ? " [refused]" : "")")
                let trending = outcome.drifts.filter { $0.isTrending() }
                let verdict = outcome.drifts.isEmpty ? "too short to say"
                    : trending.isEmpty ? "not settling" : "settling: " + trending.map(\.text).joined(separator: ", ")
                print("    warning: \(verdict)")
                if driftDetail {
                    for d in outcome.drifts { print("    drift \(kind.rawValue) \(seed) \(EvaluationText.fixed(outcome.minutes, 1)) \(d.text)") }
                }
                if !outcome.drifts.isEmpty, !outcome.refused {
                    var table = verdicts[kind.rawValue] ?? [[0, 0], [0, 0]]
                    table[trending.isEmpty ? 0 : 1][outcome.alerts > 0 ? 1 : 0] += 1
                    verdicts[kind.rawValue] = table
                }
                let key = "\(kind.rawValue) \(EvaluationText.fixed(outcome.minutes, 1))"
                var entry = quiet[key] ?? (0, 0, 0, [])
                entry.total += 1
                entry.alerts += outcome.alerts
                entry.windows.append(c.windows)
                // Quiet means watched and silent: a detector that judged under half the hour (a
                // state calibration never saw is not scored) is not counted as quiet.
                // With --cycle the stops and settling leave about half the hour unjudged by
                // design: there quiet means no alert.
                if outcome.alerts == 0, cycle != nil || outcome.judged * 2 > outcome.hourRows { entry.quiet += 1 }
                quiet[key] = entry
            }
        }
    }
    print("per kind and length: seeds quiet (no false alert, and judged more than half the hour), alerts in all, windows (fewest–most)")
    for kind in kinds {
        for m in minutes {
            let key = "\(kind.rawValue) \(EvaluationText.fixed(m, 1))"
            guard let e = quiet[key] else { continue }
            print("  \(key) min: \(e.quiet) of \(e.total) quiet, \(e.alerts) alerts, \(e.windows.min() ?? 0)–\(e.windows.max() ?? 0) windows")
        }
    }
    print("still-settling warning (calibrations long enough to judge, not refused): warned on alerting / warned on quiet")
    var all = [[0, 0], [0, 0]]
    for kind in kinds {
        guard let t = verdicts[kind.rawValue] else { continue }
        for w in 0...1 { for a in 0...1 { all[w][a] += t[w][a] } }
        print("  \(kind.rawValue): warned on \(t[1][1]) of \(t[0][1] + t[1][1]) that alerted, on \(t[1][0]) of \(t[0][0] + t[1][0]) that stayed quiet")
    }
    print("  all: warned on \(all[1][1]) of \(all[0][1] + all[1][1]) that alerted, on \(all[1][0]) of \(all[0][0] + all[1][0]) that stayed quiet")
    return 0
}

private struct LengthOutcome {
    var minutes: Double
    var coverage: CalibrationCoverage
    var alerts: Int
    var judged: Int
    var refused: Bool
    /// Rows in the scored hour.
    var hourRows: Int
    /// What the still-settling check measured on the running rows, named.
    var drifts: [NamedDrift] = []
    /// The first alert: minutes into the hour and its top sensor.
    var first: String? = nil
}

/// The machine's agent.conf entry as a plant would write it for the simulator's registers:
/// pumps and fan motors judged by their running contact, compressors by their motor current
/// (10 % of rated) with `loaded` a state sensor; 5 minutes of settling after a start.
private func simulatedMachineConfiguration(_ sim: SimulatedMachine, stepMilliseconds: Int64) -> MachineConfiguration {
    var machine = MachineConfiguration(id: sim.id, sensors: sim.channels.enumerated().map { i, channel in
        var sensor = SensorConfiguration(name: channel.name, bus: "b", address: i)
        sensor.unit = channel.unit
        if channel.name == "loaded" || channel.name == "running" {
            sensor.kind = .discrete
            sensor.type = .bool
        }
        return sensor
    })
    machine.pollInterval = .milliseconds(stepMilliseconds)
    machine.settleAfterStart = .seconds(300)
    machine.kind = LoadPriorKind(rawValue: sim.kind.rawValue)
    if sim.kind == .compressor, let rated = sim.typicalMagnitude(ofChannel: "motor_current") {
        machine.runSignal = "motor_current"
        machine.runThreshold = (0.1 * rated * 10).rounded() / 10
    } else {
        machine.runSignal = "running"
    }
    return machine
}

/// A sensor's `CalibrationDrift` with its name.
private struct NamedDrift {
    var name: String
    var drift: CalibrationDrift
    func isTrending() -> Bool { drift.isTrending() }
    /// "winding_temperature -84.4/-0.48 (-7.323)": change in short-term spreads, end change
    /// (last fifth) in calibration spreads, and the change in the sensor's unit.
    var text: String {
        func signed(_ v: Double, _ d: Int) -> String { (v >= 0 ? "+" : "") + EvaluationText.fixed(v, d) }
        return "\(name) \(signed(drift.changeNoises, 1))/\(signed(drift.endChangeSpreads, 2)) (\(signed(drift.change, 3)))"
    }
}

private func calibrationLengthProcedure(kind: MachineKind, seed: UInt64, minutes: [Double], stepMilliseconds: Int64,
                                        cycle: (run: Double, stop: Double)?, warmUpMinutes: Double, riseCheck: Bool,
                                        settle: Bool) -> [LengthOutcome] {
    var options = MachineOptions()
    options.automaticOperation = false
    options.stepMilliseconds = stepMilliseconds
    var sim = SimulatedMachine(kind: kind, id: "\(kind.rawValue)-1", seed: seed, options: options)
    // Compressors at a demand that loads them now and then; pumps and motors mid-range.
    let load = kind == .compressor ? 0.6 : (sim.loadRange.lowerBound + sim.loadRange.upperBound) / 2
    let machine = simulatedMachineConfiguration(sim, stepMilliseconds: stepMilliseconds)
    let rowsPerMinute = Int(60_000 / stepMilliseconds)
    let longest = Int((minutes.max() ?? 1) * Double(rowsPerMinute))
    let hour = 60 * rowsPerMinute
    var row: [Double] = []
    sim.setOperatingPoint(running: true, load: load)
    if settle { sim.settle() }
    for _ in 0..<Int(warmUpMinutes * Double(rowsPerMinute)) { _ = sim.step(into: &row) }
    var times: [Int64] = [], values: [Float] = []
    for r in 0..<(longest + hour) {
        if let cycle {
            let period = (cycle.run + cycle.stop) * Double(rowsPerMinute)
            let phase = Double(r).truncatingRemainder(dividingBy: period)
            let running = phase < cycle.run * Double(rowsPerMinute)
            if running != sim.operatingPoint.running { sim.setOperatingPoint(running: running, load: load) }
        }
        times.append(sim.time.millisecondsSinceEpoch)
        _ = sim.step(into: &row)
        values += row.map(Float.init)
    }
    let names = sim.channels.map(\.name)
    let n = names.count
    let stateColumns = machine.sensors.filter { $0.type == .bool && $0.name != machine.runSignal }.compactMap { names.firstIndex(of: $0.name) }
    var outcomes: [LengthOutcome] = []
    for m in minutes {
        let count = Int(m * Double(rowsPerMinute))
        let table = SensorTable(sensorNames: names, timestamps: times[0..<count].map { Timestamp(millisecondsSinceEpoch: $0).iso8601 },
                                values: Array(values[0..<(count * n)]))
        // What `calibrate` does with agent.conf's run signal (CalibrateCommand.runningRowSelection).
        guard let state = machine.runState(), let signal = machine.runSignal else { continue }
        let running = table.runningRowSelection(signal: signal, keepSignal: machine.runThreshold != nil, state: state,
                                                rowTimes: Array(times[0..<count])).table
        let columns = stateColumns.compactMap { running.sensorNames.firstIndex(of: names[$0]) }
        var settings = CalibrationSettings()
        settings.secondsPerRow = Float(stepMilliseconds) / 1000
        settings.machineKind = kind.rawValue
        settings.checkTemperatureRise = riseCheck
        let coverage = CalibrationCoverage.measure(table: running, givenRows: count, windowRows: settings.deviation.windowRows,
                                                   stateColumns: columns, secondsPerRow: Double(stepMilliseconds) / 1000)
        let refused = !coverage.shortfalls(minimum: .required, sensorNames: running.sensorNames).isEmpty
        // What `calibrate` measures for its still-settling warning (state sensors skipped).
        let drifts = CalibrationDrift.measure(table: running, skipping: columns, secondsPerRow: coverage.secondsPerRow)
            .map { NamedDrift(name: running.sensorNames[$0.column], drift: $0) }
        guard running.rowCount >= 2 else {
            outcomes.append(LengthOutcome(minutes: m, coverage: coverage, alerts: 0, judged: 0, refused: true, hourRows: hour))
            continue
        }
        var (detector, report) = Calibrator(settings: settings).calibrate(table: running)
        if !columns.isEmpty {
            detector.calibratedStates = CalibratedStates.observe(values: running.values[...], sensorCount: running.sensorCount, columns: columns)
        }
        // The agent matches agent.conf's sensors to the detector's columns by name.
        let file = DetectorFile(machine: machine.id, calibratedAt: "2026-01-01T00:00:00.000Z", detector: detector, report: report)
        var engine = ScoringEngine(machines: [machine], models: [MachineModel(path: "memory", file: file)])
        var alerts = 0, judged = 0
        var first: String? = nil
        // With stops, the agent has seen the calibration rows' stops and starts: a run under way
        // when the hour begins is settling, not judged at once as after an unknown stretch.
        // Alerts in these rows are not counted.
        if cycle != nil {
            for r in 0..<count {
                let time = Timestamp(millisecondsSinceEpoch: times[r])
                _ = engine.process((0..<n).map { s in Reading(machine: 0, sensor: Int32(s), time: time, value: Double(values[r * n + s]), quality: .good) })
            }
        }
        for r in count..<(count + hour) {
            let time = Timestamp(millisecondsSinceEpoch: times[r])
            let readings = (0..<n).map { s in
                Reading(machine: 0, sensor: Int32(s), time: time, value: Double(values[r * n + s]), quality: .good)
            }
            for event in engine.process(readings, scored: { _ in judged += 1 }) where event.alert.kind == .anomaly && event.change == .raised {
                alerts += 1
                if first == nil {
                    first = "\(EvaluationText.fixed(Double(r - count) * Double(stepMilliseconds) / 60_000, 1)) min (\(event.alert.topSensors.first?.sensor ?? "?"))"
                }
            }
        }
        outcomes.append(LengthOutcome(minutes: m, coverage: coverage, alerts: alerts, judged: judged, refused: refused, hourRows: hour, drifts: drifts, first: first))
    }
    return outcomes
}
