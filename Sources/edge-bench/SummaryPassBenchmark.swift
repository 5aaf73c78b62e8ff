// One pass vs a pass per machine: what the periodic summaries cost reading a period from the
// buffer. The buffer is keyed by time, so reading one machine's readings visits every reading
// of the period; `BufferSummarySource.inputs(machines:)` reads the period once for all the
// machines it is given. Runs both over the same period of an agent.conf's buffer (fill one with
// `edge-bench buffer-fill`), reports CPU time, wall time and bytes SQLite read, and checks that
// both give the same summary files byte for byte.
import Configuration
import EdgeCore
import Foundation
import Store
import Summaries

func summaryPassBenchmark(_ arguments: [String]) throws -> Int32 {
    func option(_ name: String) -> String? { arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil } }
    guard let conf = option("--config"), let fromText = option("--from"), let untilText = option("--until"),
          let from = Timestamp(iso8601: Substring(fromText)), let until = Timestamp(iso8601: Substring(untilText)), from < until else {
        printToStandardError("usage: edge-bench summary-pass --config AGENT.CONF --from ISO-8601 --until ISO-8601 [--repeats N] [--output DIR]")
        return 2
    }
    let repeats = option("--repeats").flatMap(Int.init) ?? 3
    let output = option("--output") ?? NSTemporaryDirectory() + "edge-bench-summary-pass"
    let configuration = try ConfigurationLoader.load(path: conf)
    let database = try BufferDatabase(path: Store.databasePath(dataDirectory: configuration.agent.dataDirectory), access: .readOnly)
    let machines = configuration.machines.map(\.id)
    let generated = Timestamp(iso8601: "2026-01-01T00:00:00Z")!
    print("summary-pass: \(machines.count) machines, \(configuration.machines.reduce(0) { $0 + $1.sensors.count }) sensors, \(from.iso8601) – \(until.iso8601)")

    var perMachine: [SummaryInput] = []
    var together: [SummaryInput] = []
    for round in 1...repeats {
        let a = try measured { perMachine = try machines.map { try BufferSummarySource.input(machine: $0, configuration: configuration, from: from, until: until, database: database, generated: generated) } }
        let b = try measured { together = try BufferSummarySource.inputs(machines: machines, configuration: configuration, from: from, until: until, database: database, generated: generated) }
        print("  round \(round): a pass per machine \(a.text); one pass \(b.text)")
    }
    let readings = perMachine.reduce(0) { $0 + $1.sensors.reduce(0) { $0 + $1.readingCount } }
    print("  readings summarized: \(readings)")
    var differing = 0
    for k in machines.indices {
        let a = try SummaryWriter.write(perMachine[k], to: output + "/per-machine")
        let b = try SummaryWriter.write(together[k], to: output + "/one-pass")
        for (x, y) in [(a.json, b.json), (a.csv, b.csv), (a.html, b.html)] where FileManager.default.contents(atPath: x) != FileManager.default.contents(atPath: y) {
            printToStandardError("summary-pass: \(x) and \(y) differ")
            differing += 1
        }
    }
    print("  summary files identical: \(differing == 0 ? "yes" : "NO (\(differing) differ)") (\(3 * machines.count) files each, in \(output))")
    return differing == 0 ? 0 : 1
}

/// CPU seconds (user + system), wall seconds and bytes read through read(2)/pread(2) (`rchar`
/// of /proc/self/io: SQLite's page reads, from the page cache or the disk) while `body` runs.
private func measured(_ body: () throws -> Void) throws -> (cpu: Double, wall: Double, bytesRead: Int64, text: String) {
    func cpuSeconds() -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(0), &usage) == 0 else { return .nan }  // RUSAGE_SELF
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
    func bytesRead() -> Int64 {
        let text = (try? String(contentsOfFile: "/proc/self/io", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").first { $0.hasPrefix("rchar:") }.flatMap { Int64($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) } ?? 0
    }
    let c0 = cpuSeconds(), r0 = bytesRead(), w0 = SystemClock.monotonicNanoseconds()
    try body()
    let wall = Double(SystemClock.monotonicNanoseconds() - w0) / 1e9
    let cpu = cpuSeconds() - c0, read = bytesRead() - r0
    let text = "CPU \(String(format: "%.2f", cpu)) s, wall \(String(format: "%.2f", wall)) s, read \(String(format: "%.1f", Double(read) / 1e6)) MB (\(read / 4096) pages)"
    return (cpu, wall, read, text)
}
