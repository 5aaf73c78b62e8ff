// Summaries from the buffer: fills a buffer with a period of N machines × M sensors polled at
// a fixed interval (default an hour of 10 × 10 at 100 ms, 3.6 M readings), then runs
// `edge-agent summarize` for each machine as its own process under /usr/bin/time and reports
// its peak RSS and wall time: the memory one periodic summary costs the agent.
import Configuration
import EdgeCore
import Foundation
import Store

func summaryBufferBenchmark(_ arguments: [String]) throws -> Int32 {
    func option(_ name: String) -> String? { arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil } }
    let machines = option("--machines").flatMap(Int.init) ?? 10
    let sensors = option("--sensors").flatMap(Int.init) ?? 10
    let intervalMs = option("--interval-ms").flatMap(Int64.init) ?? 100
    let minutes = option("--minutes").flatMap(Int64.init) ?? 60
    let directory = option("--dir") ?? "/tmp/edge-bench-summary-buffer"
    let agent = option("--agent") ?? ".build/release/edge-agent"
    let conf = directory + "/agent.conf"
    // The period: the hour (or --minutes) starting at this time, UTC.
    let start = Timestamp(iso8601: "2026-11-29T01:00:00Z")!
    let end = Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + minutes * 60_000)

    if FileManager.default.fileExists(atPath: conf) {
        print("summary-buffer: reusing the buffer in \(directory) (remove it to fill a new one)")
    } else {
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        var text = "[agent]\ndata_dir = \"\(directory)/data\"\nsummary_dir = \"\(directory)/summaries\"\nretention_age = \"3650d\"\n\n"
        text += "[[bus]]\nname = \"sim\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = 5020\n\n"
        for m in 0..<machines {
            text += "[[machine]]\nid = \"m\(m + 1)\"\npoll_interval = \"\(intervalMs)ms\"\n"
            for s in 0..<sensors {
                text += "  [[machine.sensor]]\n  name = \"s\(s + 1)\"\n  bus = \"sim\"\n  unit_id = \(m + 1)\n  address = \(2 * s)\n  type = \"float32\"\n  unit = \"bar\"\n"
            }
            text += "\n"
        }
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: conf)
        let path = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)
        let writer = try benchmarkWriter(for: configuration)
        var random = SplitMix64(seed: 5)
        let polls = minutes * 60_000 / intervalMs
        let begin = SystemClock.monotonicNanoseconds()
        var cycle: [Reading] = []
        cycle.reserveCapacity(machines * sensors)
        for k in 0..<polls {
            let time = Timestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + k * intervalMs)
            cycle.removeAll(keepingCapacity: true)
            for m in 0..<machines {
                for s in 0..<sensors {
                    let value = 10 * Double(s + 1) + sin(Double(k) / 3000 + Double(m)) + 0.2 * random.gaussian()
                    cycle.append(Reading(machine: Int32(m), sensor: Int32(s), time: time, value: value, quality: .good))
                }
            }
            while case .rejectedQueueFull = writer.append(cycle) { _ = writer.flush(timeout: .seconds(60)) }
            // Let the writer catch up now and then: the queue (1 M readings) never overflows.
            if k % 2000 == 1999 { _ = writer.flush(timeout: .seconds(60)) }
        }
        guard writer.flush(timeout: .seconds(600)) else {
            printToStandardError("summary-buffer: the writer did not commit everything")
            return 1
        }
        _ = writer.close()
        let seconds = Double(SystemClock.monotonicNanoseconds() - begin) / 1e9
        print("summary-buffer: wrote \(polls * Int64(machines * sensors)) readings (\(machines) machines × \(sensors) sensors × \(polls) polls) in \(hundredths(seconds)) s to \(path)")
    }

    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
        printToStandardError("summary-buffer: needs /usr/bin/time (apt-get install time)")
        return 1
    }
    print("summary-buffer: \(agent) summarize, one process per machine, period \(start) – \(end)")
    var peaks: [Int] = []
    var walls: [Double] = []
    for m in 0..<machines {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "%M %e", agent, "summarize", "--config", conf, "--machine", "m\(m + 1)",
                             "--from", start.iso8601, "--until", end.iso8601, "--output", directory + "/summaries", "--json"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        let fields = last.split(separator: " ")
        guard process.terminationStatus == 0, fields.count == 2, let kb = Int(fields[0]), let wall = Double(fields[1]) else {
            printToStandardError("summary-buffer: summarize m\(m + 1) failed (status \(process.terminationStatus)): \(text)")
            return 1
        }
        peaks.append(kb)
        walls.append(wall)
    }
    let sortedPeaks = peaks.sorted()
    let sortedWalls = walls.sorted()
    print("  max RSS per summarize process: median \(sortedPeaks[sortedPeaks.count / 2]) KiB, range \(sortedPeaks[0])–\(sortedPeaks[sortedPeaks.count - 1]) KiB")
    print("  wall time per machine: median \(hundredths(sortedWalls[sortedWalls.count / 2])) s, range \(hundredths(sortedWalls[0]))–\(hundredths(sortedWalls[sortedWalls.count - 1])) s")
    return 0
}

/// `value` rounded to hundredths, as text.
private func hundredths(_ value: Double) -> String { "\(Double(Int64((value * 100).rounded())) / 100)" }
