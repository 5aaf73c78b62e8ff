import Detection
import EdgeCore

#if canImport(Glibc)
import Glibc
#endif

/// `edge-bench calibration-settling [--dataset DIR] [--rows 400] [--seconds-per-row 1]`: which
/// files of a labelled data set (SKAB) would get `calibrate`'s still-settling warning if each were
/// calibrated on its first `--rows` rows, as `evaluate --calibration-rows` does: per file, the
/// sensors still trending (change in short-term spreads / end change in calibration spreads) and the largest
/// values; then how many files. A report, not a tuning target: the rule is
/// `CalibrationDrift.Rule.standard`, set on the simulator.
func calibrationSettlingBenchmark(_ args: [String]) throws -> Int32 {
    let teamDataset = "../shared/data/skab"
    var dataset = teamDataset, rows = 400, secondsPerRow = 1.0
    try forEachBenchOption(args, flags: ["--quick"]) { name, value in
        switch name {
        case "--dataset": dataset = value
        case "--rows":
            guard let r = Int(value), r >= 10 else { throw BenchError("--rows takes a number of rows (at least 10)") }
            rows = r
        case "--quick":
            // `make bench-quick` passes it to every benchmark; the whole run takes well under a second.
            break
        case "--seconds-per-row":
            guard let s = Double(value), s > 0 else { throw BenchError("--seconds-per-row takes seconds between rows") }
            secondsPerRow = s
        default: throw BenchError("unknown argument \"\(name)\" (expected --dataset, --rows, --seconds-per-row)")
        }
    }
    // The team's data set sits beside the repository and is absent from a fresh clone elsewhere:
    // `make bench` then reports the benchmark as skipped, as the tests skip. A --dataset the
    // user names must exist.
    if dataset == teamDataset, access(dataset, F_OK) != 0 {
        print("calibration-settling: skipped: \(dataset) is not present (the team's SKAB data, beside the repository)")
        return 0
    }
    let files = try DatasetEvaluation.csvFiles(under: dataset)
    print("calibration-settling: \(files.count) files under \(dataset), first \(rows) rows each; rule: |change| ≥ \(CalibrationDrift.Rule.standard.changeNoises) short-term spreads and ≥ \(CalibrationDrift.Rule.standard.endChangeSpreads) calibration spreads over the last fifth the same way")
    var warned = 0, judged = 0
    for file in files {
        let table = try CSVReader().read(path: dataset + "/" + file).prefix(rows: rows)
        let drifts = CalibrationDrift.measure(table: table, secondsPerRow: secondsPerRow)
        guard !drifts.isEmpty else { print("  \(file): too few rows to say"); continue }
        judged += 1
        let trending = drifts.filter { $0.isTrending() }
        if !trending.isEmpty { warned += 1 }
        func text(_ d: CalibrationDrift) -> String {
            "\(table.sensorNames[d.column]) \(EvaluationText.fixed(d.changeNoises, 1))/\(EvaluationText.fixed(d.endChangeSpreads, 2))"
        }
        let largest = drifts.max { abs($0.changeNoises) < abs($1.changeNoises) }.map(text) ?? ""
        print("  \(file): \(trending.isEmpty ? "no warning" : "warns: " + trending.map(text).joined(separator: ", ")) (largest change: \(largest))")
    }
    print("warned on \(warned) of \(judged) files")
    return 0
}
