// Summary files: how long one machine's summary takes to compute and write (JSON, CSV, HTML),
// for an hour and a day of 1 s readings, against the practical limit of one pass over the samples.
import EdgeCore
import Summaries

#if canImport(Glibc)
import Glibc
#endif

func summaryBenchmark(_ arguments: [String]) throws -> Int32 {
    let repeats = arguments.firstIndex(of: "--repeats").flatMap { Int(arguments[$0 + 1]) } ?? 5
    let directory = "/tmp/edge-bench-summary-\(getpid())"
    defer {
        for ext in ["json", "csv", "html"] {
            let input = SampleSummary.input()
            for hours in [1, 24] {
                let end = Timestamp(millisecondsSinceEpoch: input.start.millisecondsSinceEpoch + Int64(hours) * 3_600_000)
                unlink(directory + "/" + SummaryFileName(machine: "pump-1", start: input.start, end: end).fileName(extension: ext))
            }
        }
        rmdir(directory)
    }
    print("summary: 5 sensors at 1 s plus anomaly scores every 2 s, best of \(repeats)")
    for hours in [1, 24] {
        let input = SampleSummary.input(hours: hours)
        let samples = input.sensors.reduce(0) { $0 + $1.samples.count }
        // The practical limit: one pass reading every sample once (what any summary must do).
        var floor = Double.infinity
        var sink = 0.0
        for _ in 0..<repeats {
            let begin = SystemClock.monotonicNanoseconds()
            for series in input.sensors { for s in series.samples where s.quality == .good { sink += s.value } }
            floor = min(floor, Double(SystemClock.monotonicNanoseconds() - begin) / 1e6)
        }
        // Statistics and the three texts, without I/O.
        var render = Double.infinity
        var bytes = 0
        for _ in 0..<repeats {
            let begin = SystemClock.monotonicNanoseconds()
            let statistics = SummaryStatistics(input)
            bytes = SummaryJSON.render(input, statistics: statistics).utf8.count + SummaryCSV.render(input, statistics: statistics).utf8.count
                + SummaryHTML.render(input, statistics: statistics).utf8.count
            render = min(render, Double(SystemClock.monotonicNanoseconds() - begin) / 1e6)
        }
        var best = Double.infinity
        var files: SummaryFiles?
        for _ in 0..<repeats {
            let begin = SystemClock.monotonicNanoseconds()
            files = try SummaryWriter.write(input, to: directory)
            best = min(best, Double(SystemClock.monotonicNanoseconds() - begin) / 1e6)
        }
        func size(_ path: String?) -> Int {
            var info = stat()
            guard let path, stat(path, &info) == 0 else { return -1 }
            return Int(info.st_size)
        }
        print("  \(hours == 1 ? "1 h " : "24 h"): \(samples) samples: compute + render \(format2(render)) ms "
              + "(one pass over the samples: \(format2(floor)) ms, ratio \(format2(render / max(floor, 1e-6)))), "
              + "write with 3 file fsyncs + directory fsyncs \(format2(best)) ms; "
              + "json \(size(files?.json)) B, csv \(size(files?.csv)) B, html \(size(files?.html)) B (\(bytes) B rendered)")
        if sink.isNaN { print("") }
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print("  peak RSS \(usage.ru_maxrss / 1024) MiB (includes the generated inputs)")
    return 0
}

/// Two decimals without Foundation.
private func format2(_ value: Double) -> String {
    guard value.isFinite else { return "–" }
    let scaled = Int64((value * 100).rounded())
    let fraction = scaled % 100
    return "\(scaled / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
