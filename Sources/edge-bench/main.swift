// edge-bench: `edge-bench NAME [args]` runs one benchmark; `edge-bench list` lists them.
// Each benchmark lives in its own file and registers itself in `benchmarks` below.
import EdgeCore

#if canImport(Glibc)
import Glibc
#endif

/// A named benchmark: takes its arguments, prints its figures, returns an exit code.
struct Benchmark {
    let name: String
    let summary: String
    let run: ([String]) throws -> Int32
}

/// All benchmarks, one line each (add yours here; keep one line per benchmark).
let benchmarks: [Benchmark] = [
    Benchmark(name: "store-ingest", summary: "buffer ingest: Store writer vs raw SQLite loop, bytes per reading (--quick: 1 M)", run: storeIngestBenchmark),
    Benchmark(name: "simulator", summary: "simulator: steps/s in memory and CSV export rows/s (--hours H, default 24)", run: simulatorBenchmark),
    Benchmark(name: "store-crash", summary: "buffer crash safety: SIGKILL a writer N times (--kills N, default 100), check every commit", run: storeCrashBenchmark),
    Benchmark(name: "modbus-poll", summary: "acquisition: BusPoller and ModbusClient vs a C libmodbus loop, loopback (--quick: 3 × 1 s)", run: modbusPollBenchmark),
    Benchmark(name: "summary-buffer", summary: "peak RSS of `edge-agent summarize` per machine over an hour of 10 × 10 sensors at 100 ms in a buffer (--dir, --agent)", run: summaryBufferBenchmark),
    Benchmark(name: "summary-pass", summary: "periodic summaries from the buffer: one pass for all machines vs a pass per machine (CPU, bytes read, same files; --config, --from, --until)", run: summaryPassBenchmark),
    Benchmark(name: "buffer-fill", summary: "(bench helper) fills an agent.conf's buffer with readings of every sensor over --from – --until, so a run's summary reads a whole period (--csv DIR: simulate --export rows)", run: bufferFillBenchmark),
    Benchmark(name: "summary", summary: "summary files: compute and write JSON/CSV/HTML for 1 h and 24 h of 1 s readings (--repeats N)", run: summaryBenchmark),
    Benchmark(name: "scoring", summary: "one window, int8 vs float32, 4/8/16/64 sensors × 32 steps; int8 model size (--quick)", run: scoringBenchmark),
    Benchmark(name: "calibration", summary: "calibrate one machine from 400 rows × 8 sensors incl. network adaptation and int8 (target < 2 s)", run: calibrationBenchmark),
    Benchmark(name: "calibration-length", summary: "false alerts in the hour after a calibration of 0.5–30 min, per kind and seed (--kinds, --seeds 1-5, --minutes, --step-ms, --cycle RUN,STOP, --warm-up, --drift-detail, --no-rise-check); with the still-settling warning's verdict", run: calibrationLengthBenchmark),
    Benchmark(name: "calibration-settling", summary: "files of a data set (SKAB) whose first --rows rows would get calibrate's still-settling warning (--dataset, --rows 400)", run: calibrationSettlingBenchmark),
    Benchmark(name: "fuzz-config", summary: "agent.conf mutation fuzzing through the loader (--count N, default 10000; --seed S; --show INDEX)", run: configurationFuzzBenchmark),
    Benchmark(name: "load-prior-speeds", summary: "load prior: alerts at speeds a 10-min top-speed calibration did not see, per seed (--kind motor|pump, --seeds 22-41, --load-prior FILE, --trace, --levels, --no-settle)", run: loadPriorSpeedsBenchmark),
    Benchmark(name: "vibration-faults", summary: "vibration faults (imbalance, bearing wear) after a 10-min calibration: weights, false alerts, first alert, peak (--kind, --seeds, --step-ms, --fault, --channel, --severity, --fault-minutes, --wander-power, --automatic, --no-phase-means, --phase-states, --no-load-prior, --no-rise-check, --no-spike-check, --levels, --settle, --no-settle)", run: vibrationFaultsBenchmark),
    Benchmark(name: "restarts", summary: "a settled compressor stopped and started again: alerts while it warms up, per seed and stop (--seeds 1-24, --stop-seconds 30,120,600, --step-ms, --no-settle, --run-seconds, --after-minutes, --fault)", run: restartBenchmark),
    Benchmark(name: "store-crash-writer", summary: "(test helper) appends batches forever, prints each commit", run: storeCrashWriter),
]

let args = Array(CommandLine.arguments.dropFirst())
guard let name = args.first, name != "list", name != "--help" else {
    print("usage: edge-bench NAME [args]\n")
    for b in benchmarks { print("  \(b.name)\(String(repeating: " ", count: max(1, 20 - b.name.count)))\(b.summary)") }
    exit(0)
}
guard let bench = benchmarks.first(where: { $0.name == name }) else {
    printToStandardError("edge-bench: unknown benchmark \(name) (try `edge-bench list`)")
    exit(2)
}
do {
    exit(try bench.run(Array(args.dropFirst())))
} catch {
    printToStandardError("edge-bench \(name): \(error)")
    exit(1)
}
