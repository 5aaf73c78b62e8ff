// Fills an agent's buffer with readings, so that `edge-agent run` started on it has a whole
// period behind it when a summary is due: the agent's periodic summary then reads what it would
// read after an hour of polling, without waiting an hour. Every sensor of the agent.conf gets a
// good reading every poll interval of its machine over [--from, --until); the sensors are
// registered as the agent registers them (same database ids). With --csv DIR, a machine whose
// `DIR/ID.csv` exists (`edge-agent simulate --export DIR`) gets that file's rows, one per poll,
// in a loop, in place of the synthetic values: what its detector would really see.
import Configuration
import Detection
import EdgeCore
import Foundation
import Store

func bufferFillBenchmark(_ arguments: [String]) throws -> Int32 {
    func option(_ name: String) -> String? { arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil } }
    guard let conf = option("--config"), let fromText = option("--from"), let untilText = option("--until"),
          let from = Timestamp(iso8601: Substring(fromText)), let until = Timestamp(iso8601: Substring(untilText)), from < until else {
        printToStandardError("usage: edge-bench buffer-fill --config AGENT.CONF --from ISO-8601 --until ISO-8601 [--csv DIR] (UTC, from before until)")
        return 2
    }
    let configuration = try ConfigurationLoader.load(path: conf)
    // Per machine: its exported rows, and each sensor's column in them (nil: synthetic values).
    let recorded: [(table: SensorTable, columns: [Int?])?] = try configuration.machines.map { machine in
        guard let directory = option("--csv"), FileManager.default.fileExists(atPath: "\(directory)/\(machine.id).csv") else { return nil }
        let table = try CSVReader().read(path: "\(directory)/\(machine.id).csv")
        guard table.rowCount > 0 else { return nil }
        return (table, machine.sensors.map { table.sensorNames.firstIndex(of: $0.name) })
    }
    try FileManager.default.createDirectory(atPath: configuration.agent.dataDirectory, withIntermediateDirectories: true)
    let path = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)
    let writer = try benchmarkWriter(for: configuration)
    var random = SplitMix64(seed: 7)
    let begin = SystemClock.monotonicNanoseconds()
    // One cycle per distinct poll time of any machine, in time order (the buffer's key order).
    let intervals = configuration.machines.map { max(1, $0.pollInterval.wholeMilliseconds) }
    let step = intervals.reduce(intervals.first ?? 1) { gcd($0, $1) }
    var cycle: [Reading] = []
    var written: Int64 = 0
    var cycles: Int64 = 0
    var time = from.millisecondsSinceEpoch
    while time < until.millisecondsSinceEpoch {
        cycle.removeAll(keepingCapacity: true)
        for (m, machine) in configuration.machines.enumerated() where (time - from.millisecondsSinceEpoch) % intervals[m] == 0 {
            let poll = Int((time - from.millisecondsSinceEpoch) / intervals[m])
            for s in machine.sensors.indices {
                var value = 10 * Double(s + 1) + sin(Double(time - from.millisecondsSinceEpoch) / 300_000 + Double(m)) + 0.2 * random.gaussian()
                var quality = Quality.good
                if let (table, columns) = recorded[m], let column = columns[s] {
                    let x = table.values[(poll % table.rowCount) * table.sensorCount + column]
                    value = Double(x)
                    if !x.isFinite { quality = .timeout }
                }
                cycle.append(Reading(machine: Int32(m), sensor: Int32(s), time: Timestamp(millisecondsSinceEpoch: time), value: value, quality: quality))
            }
        }
        if !cycle.isEmpty {
            while case .rejectedQueueFull = writer.append(cycle) { _ = writer.flush(timeout: .seconds(60)) }
            written += Int64(cycle.count)
            cycles += 1
            // Let the writer catch up now and then: its queue never overflows.
            if cycles % 2000 == 0 { _ = writer.flush(timeout: .seconds(60)) }
        }
        time += step
    }
    guard writer.flush(timeout: .seconds(600)) else {
        printToStandardError("buffer-fill: the writer did not commit everything")
        return 1
    }
    _ = writer.close()
    let seconds = Double(SystemClock.monotonicNanoseconds() - begin) / 1e9
    print("buffer-fill: wrote \(written) readings (\(configuration.machines.count) machines, \(cycles) poll times, \(from.iso8601) – \(until.iso8601)) in \(Double(Int64((seconds * 100).rounded())) / 100) s to \(path)")
    return 0
}

private func gcd(_ a: Int64, _ b: Int64) -> Int64 { b == 0 ? a : gcd(b, a % b) }

/// A writer into `configuration`'s buffer (created if needed, its sensors registered) that never
/// deletes by age: benchmarks fill it with readings from any time they choose.
func benchmarkWriter(for configuration: AgentConfiguration) throws -> ReadingWriter {
    let path = Store.databasePath(dataDirectory: configuration.agent.dataDirectory)
    let database = try BufferDatabase(path: path)
    let mapping = try database.registerSensors(configuration)
    var options = ReadingWriter.Options()
    options.retentionAge = nil
    return try ReadingWriter(path: path, mapping: mapping, options: options)
}
