import Configuration
import Detection
import EdgeCore
import Runtime
import Simulator

/// `edge-bench restarts [--seeds FIRST-LAST] [--stop-seconds S,S…] [--step-ms MS] [--settle|--no-settle]
/// [--run-seconds S] [--after-minutes M] [--fault KIND] [--trace]`: does a compressor that stops and
/// starts again alert while it warms up? The set-up of `RestartAlertTests` (and
/// `CalibratedCompressor`): a simulated compressor at load 0.6, settled there (`--no-settle`: still
/// moving from where the simulator warmed it up), calibrated on its first 10 minutes of running,
/// judged by its motor current (run threshold 10 % of rated, `settle_after_start` 300 s), run
/// `--run-seconds` more (360), stopped for each of `--stop-seconds` (30,120,600), started again
/// and run `--after-minutes` (6), all through the agent's scoring path (`ScoringEngine`).
/// `--fault KIND` adds that fault (severity 0.5, step) at the stop command, to see that a fault
/// present at the restart still alerts. `--trace` prints each judged row after the start that
/// scored 0.8× the threshold or more: its two largest contributors, their readings (as read) and
/// the window means they were expected within (compensated for the state, as judged). Prints per seed and stop the anomaly alerts raised after
/// the start, the first one's time and leading sensor, and the peak score ÷ threshold judged
/// after the start with the sensor that led it: the largest contributor at the peak of a
/// `DetectorStream` fed the same running rows and restarted as the agent restarts it
/// (`restart(afterStop:recoveryRows:)`; the engine does not expose its contributions). That
/// stream does not hold back the rows within `stop_grace` of the stop as the engine does, so its
/// last window before the stop, and its peak, can differ (then its peak is shown too). Then the
/// count of seeds that alerted per stop. Figures, not a pass/fail:
/// see docs/detection.md ("Restarts").
func restartBenchmark(_ args: [String]) throws -> Int32 {
    var seeds: ClosedRange<UInt64> = 1...24
    var stops = [30, 120, 600]
    var stepMilliseconds: Int64 = 100
    var settle = true
    var runSeconds = 360
    var afterMinutes = 6
    var fault: FaultKind?
    var trace = false
    try forEachBenchOption(args, flags: ["--settle", "--no-settle", "--trace"]) { name, value in
        switch name {
        case "--seeds": seeds = try seedRange(value)
        case "--stop-seconds":
            let parsed = value.split(separator: ",").compactMap { Int($0) }
            guard !parsed.isEmpty, parsed.count == value.split(separator: ",").count, parsed.allSatisfy({ $0 > 0 }) else {
                throw BenchError("--stop-seconds takes seconds > 0, comma-separated (e.g. 30,120,600), not \"\(value)\"")
            }
            stops = parsed
        case "--step-ms":
            guard let ms = Int64(value), ms > 0, 1000 % ms == 0 else { throw BenchError("--step-ms takes a divisor of 1000, not \"\(value)\"") }
            stepMilliseconds = ms
        case "--settle": settle = true
        case "--no-settle": settle = false
        case "--trace": trace = true
        case "--run-seconds":
            guard let s = Int(value), s >= 0 else { throw BenchError("--run-seconds takes seconds ≥ 0, not \"\(value)\"") }
            runSeconds = s
        case "--after-minutes":
            guard let m = Int(value), m > 0 else { throw BenchError("--after-minutes takes minutes > 0, not \"\(value)\"") }
            afterMinutes = m
        case "--fault":
            guard let kind = FaultKind(rawValue: value) else { throw BenchError("--fault: unknown fault \"\(value)\"") }
            fault = kind
        default:
            throw BenchError("unknown argument \"\(name)\" (expected --seeds, --stop-seconds, --step-ms, --settle, --no-settle, --run-seconds, --after-minutes, --fault, --trace)")
        }
    }
    print("restarts: compressor seeds \(seeds.lowerBound)–\(seeds.upperBound), \(settle ? "settled" : "unsettled"), polls every \(stepMilliseconds) ms, run \(runSeconds) s after calibration, stops \(stops.map { "\($0) s" }.joined(separator: ", ")), \(afterMinutes) min after the start (settle_after_start 300 s)\(fault.map { ", \($0.rawValue) from the stop on" } ?? "")")
    var alerted = [Int](repeating: 0, count: stops.count)
    for seed in seeds {
        let compressor = try RestartCompressor(seed: seed, stepMilliseconds: stepMilliseconds, settled: settle)
        for (k, stop) in stops.enumerated() {
            let outcome = try compressor.restart(runSeconds: runSeconds, stopSeconds: stop, afterMinutes: afterMinutes, fault: fault, trace: trace)
            if outcome.raised > 0 { alerted[k] += 1 }
            print("seed \(seed), stop \(stop) s: \(outcome)")
        }
    }
    for (k, stop) in stops.enumerated() { print("stop \(stop) s: \(alerted[k]) of \(seeds.count) seeds alerted after the start") }
    return 0
}

/// A compressor calibrated as `CalibratedCompressor` (tests) calibrates it, at any poll interval.
private struct RestartCompressor {
    var sim: SimulatedMachine
    var machine: MachineConfiguration
    let detector: MachineDetector
    let file: DetectorFile
    let current: Int
    let stepMilliseconds: Int64

    init(seed: UInt64, stepMilliseconds: Int64, settled: Bool) throws {
        var options = MachineOptions()
        options.stepMilliseconds = stepMilliseconds
        options.automaticOperation = false
        sim = SimulatedMachine(kind: .compressor, id: "compressor-1", seed: seed, options: options)
        sim.setOperatingPoint(running: true, load: 0.6)
        if settled { sim.settle() }
        guard let rated = sim.typicalMagnitude(ofChannel: "motor_current"), let current = sim.channelIndex(named: "motor_current") else {
            throw BenchError("the compressor has no motor_current")
        }
        machine = MachineConfiguration(id: "compressor-1", sensors: sim.channels.enumerated().map { i, channel in
            var sensor = SensorConfiguration(name: channel.name, bus: "b", address: i)
            sensor.unit = channel.unit
            return sensor
        })
        machine.runSignal = "motor_current"
        machine.runThreshold = (0.1 * rated * 10).rounded() / 10
        machine.settleAfterStart = .seconds(300)
        machine.pollInterval = .milliseconds(stepMilliseconds)
        machine.kind = .compressor
        self.current = current
        self.stepMilliseconds = stepMilliseconds
        // Calibrated on 10 minutes of running (the receiver's load cycles included).
        var calibration: [Float] = [], times: [String] = [], row: [Double] = []
        for _ in 0..<Int(600_000 / stepMilliseconds) {
            times.append(sim.time.iso8601)
            _ = sim.step(into: &row)
            calibration += row.map(Float.init)
        }
        let table = SensorTable(sensorNames: sim.channels.map(\.name), timestamps: times, values: calibration)
        var settings = CalibrationSettings()
        settings.secondsPerRow = Float(stepMilliseconds) / 1000
        settings.machineKind = "compressor"
        let (detector, report) = Calibrator(settings: settings).calibrate(table: table)
        self.detector = detector
        file = DetectorFile(machine: machine.id, calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
    }

    struct Outcome: CustomStringConvertible {
        var raised = 0
        var firstAlertSeconds: Double?
        var firstAlertSensor = "-"
        var peakRatio = 0.0
        var streamPeakRatio = 0.0
        var streamPeakSensor = "-"
        var description: String {
            let first = firstAlertSeconds.map { "first at \(EvaluationText.fixed($0, 1)) s [\(firstAlertSensor)]" } ?? "no alert"
            // The stream follows the engine row for row; were their peaks to differ, both are shown.
            let apart = abs(peakRatio - streamPeakRatio) >= 0.005 ? " (stream's peak \(EvaluationText.fixed(streamPeakRatio, 2))×)" : ""
            return "raised \(raised), \(first); peak \(EvaluationText.fixed(peakRatio, 2))× [\(streamPeakSensor)]\(apart)"
        }
    }

    /// Runs a copy of `sim` `runSeconds`, stops it `stopSeconds` (adding `fault` at the stop
    /// command), starts it and runs it `afterMinutes`.
    func restart(runSeconds: Int, stopSeconds: Int, afterMinutes: Int, fault: FaultKind?, trace: Bool) throws -> Outcome {
        var sim = sim
        var engine = ScoringEngine(machines: [machine], models: [MachineModel(path: "memory", file: file)])
        var run = machine.runState()!
        var stream = detector.makeStream()
        // The model's columns in the machine's rows (calibration may leave a channel out).
        let columns = detector.sensorNames.map { sim.channelIndex(named: $0) }
        var values = [Float](repeating: .nan, count: columns.count)
        var stoppedRow: [Float]?
        let recoveryRows = machine.settleRows
        var outcome = Outcome()
        var afterStart = false
        var startTime: Int64 = 0
        var row: [Double] = []
        let perSecond = Int(1000 / stepMilliseconds)
        func poll(_ count: Int) {
            for _ in 0..<count {
                let time = sim.time
                _ = sim.step(into: &row)
                let readings = row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
                let events = engine.process(readings) { scored in
                    if afterStart { outcome.peakRatio = max(outcome.peakRatio, scored.score / scored.threshold) }
                }
                for event in events where afterStart && event.alert.kind == .anomaly && event.change == .raised {
                    outcome.raised += 1
                    if outcome.firstAlertSeconds == nil {
                        outcome.firstAlertSeconds = Double(event.time.millisecondsSinceEpoch - startTime) / 1000
                        outcome.firstAlertSensor = event.alert.topSensors.first?.sensor ?? "-"
                    }
                }
                for (c, k) in columns.enumerated() { values[c] = k.map { Float(row[$0]) } ?? .nan }
                let phase = run.observe(row[current], at: time.millisecondsSinceEpoch)
                if phase == .stopped { stoppedRow = values }
                if run.startsAfresh {
                    stream.restart(afterStop: stoppedRow, recoveryRows: recoveryRows)
                    stoppedRow = nil
                }
                guard phase == .running else { continue }
                let (score, _) = stream.process(row: values)
                guard afterStart, score.isFinite, stream.isJudged(hop: 1) else { continue }
                let ratio = Double(score / detector.alertThreshold)
                if trace, ratio >= 0.8 {
                    let c = stream.contributions
                    let order = c.indices.filter { c[$0].isFinite }.sorted { c[$0] > c[$1] }.prefix(2)
                    var text = "  \(EvaluationText.fixed(Double(time.millisecondsSinceEpoch - startTime) / 1000, 1)) s \(EvaluationText.fixed(ratio, 2))×"
                    for top in order {
                        text += " \(detector.sensorNames[top]) \(EvaluationText.fixed(Double(c[top]), 2)) read \(values[top])"
                        if let e = stream.expectation(column: top) { text += " expects \(e.low)…\(e.high)" }
                    }
                    print(text)
                }
                if ratio > outcome.streamPeakRatio {
                    outcome.streamPeakRatio = ratio
                    let c = stream.contributions
                    if let top = c.indices.filter({ c[$0].isFinite }).max(by: { c[$0] < c[$1] }) { outcome.streamPeakSensor = detector.sensorNames[top] }
                }
            }
        }
        poll(runSeconds * perSecond)
        sim.setOperatingPoint(running: false, load: 0.6)
        if let fault { try sim.add(Fault(fault, startSeconds: sim.elapsedSeconds, severity: 0.5, profile: .step)) }
        poll(stopSeconds * perSecond)
        sim.setOperatingPoint(running: true, load: 0.6)
        afterStart = true
        startTime = sim.time.millisecondsSinceEpoch
        poll(afterMinutes * 60 * perSecond)
        return outcome
    }
}
