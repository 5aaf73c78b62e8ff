import CompressorRig
import Configuration
import Detection
import EdgeCore
import Runtime
import Simulator

/// `edge-bench restarts [--seeds FIRST-LAST] [--stop-seconds S,S…] [--step-ms MS] [--settle|--no-settle]
/// [--run-seconds S] [--after-minutes M] [--fault KIND] [--trace]`: does a compressor that stops and
/// starts again alert while it warms up? The rig `RestartAlertTests` runs (CompressorRig's
/// `CalibratedCompressor` and its `restart`): a simulated compressor at load 0.6, settled there (`--no-settle`: still
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
        let compressor = try CalibratedCompressor(seed: seed, stepMilliseconds: stepMilliseconds, settled: settle)
        for (k, stop) in stops.enumerated() {
            let plan = RestartPlan(runSeconds: runSeconds, stopSeconds: stop, afterMinutes: afterMinutes, fault: fault)
            let outcome = try RestartFigures.measure(compressor, plan, trace: trace)
            if outcome.raised > 0 { alerted[k] += 1 }
            print("seed \(seed), stop \(stop) s: \(outcome)")
        }
    }
    for (k, stop) in stops.enumerated() { print("stop \(stop) s: \(alerted[k]) of \(seeds.count) seeds alerted after the start") }
    return 0
}

/// One restart run of a `CalibratedCompressor` (CompressorRig, the rig `RestartAlertTests`
/// runs): the engine's alerts and peak, and the peak of a `DetectorStream` restarted as the agent
/// restarts it, fed the same running rows.
private struct RestartFigures: CustomStringConvertible {
    var engine: RestartOutcome
    var streamPeakRatio = 0.0
    var streamPeakSensor = "-"
    var raised: Int { engine.raised }
    var description: String {
        let first = engine.firstAlertSeconds.map { "first at \(EvaluationText.fixed($0, 1)) s [\(engine.firstAlertSensor ?? "-")]" } ?? "no alert"
        // The stream follows the engine row for row; were their peaks to differ, both are shown.
        let apart = abs(engine.peakRatio - streamPeakRatio) >= 0.005 ? " (stream's peak \(EvaluationText.fixed(streamPeakRatio, 2))×)" : ""
        return "raised \(engine.raised), \(first); peak \(EvaluationText.fixed(engine.peakRatio, 2))× [\(streamPeakSensor)]\(apart)"
    }

    /// Runs `plan` on `compressor`; `trace` prints each judged row after the start that scored
    /// 0.8× the threshold or more.
    static func measure(_ compressor: CalibratedCompressor, _ plan: RestartPlan, trace: Bool) throws -> RestartFigures {
        let detector = compressor.detector
        var stream = detector.makeStream()
        // The model's columns in the machine's rows (calibration may leave a channel out).
        let columns = detector.sensorNames.map { compressor.sim.channelIndex(named: $0) }
        var values = [Float](repeating: .nan, count: columns.count)
        var stoppedRow: [Float]?
        let recoveryRows = compressor.machine.settleRows
        var streamPeakRatio = 0.0, streamPeakSensor = "-"
        let engine = try compressor.restart(plan) { row in
            for (c, k) in columns.enumerated() { values[c] = k.map { Float(row.values[$0]) } ?? .nan }
            if row.phase == .stopped { stoppedRow = values }
            if row.startsAfresh {
                stream.restart(afterStop: stoppedRow, recoveryRows: recoveryRows)
                stoppedRow = nil
            }
            guard row.phase == .running else { return }
            let (score, _) = stream.process(row: values)
            guard row.afterStart, score.isFinite, stream.isJudged(hop: 1) else { return }
            let ratio = Double(score / detector.alertThreshold)
            if trace, ratio >= 0.8 {
                let c = stream.contributions
                let order = c.indices.filter { c[$0].isFinite }.sorted { c[$0] > c[$1] }.prefix(2)
                var text = "  \(EvaluationText.fixed(Double(row.time.millisecondsSinceEpoch - row.startMilliseconds) / 1000, 1)) s \(EvaluationText.fixed(ratio, 2))×"
                for top in order {
                    text += " \(detector.sensorNames[top]) \(EvaluationText.fixed(Double(c[top]), 2)) read \(values[top])"
                    if let e = stream.expectation(column: top) { text += " expects \(e.low)…\(e.high)" }
                }
                print(text)
            }
            if ratio > streamPeakRatio {
                streamPeakRatio = ratio
                let c = stream.contributions
                if let top = c.indices.filter({ c[$0].isFinite }).max(by: { c[$0] < c[$1] }) { streamPeakSensor = detector.sensorNames[top] }
            }
        }
        return RestartFigures(engine: engine, streamPeakRatio: streamPeakRatio, streamPeakSensor: streamPeakSensor)
    }
}
