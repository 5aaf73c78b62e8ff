// `edge-bench store-crash-writer DB TAG`: the child process of the Store crash-safety test.
// Appends batches forever and prints `committed N` (unbuffered) after each commit returns;
// the test SIGKILLs it at random moments and checks every reported batch is on disk.
import Configuration
import EdgeCore
import Store

#if canImport(Glibc)
import Glibc
#endif

/// Sensors per batch in the crash writer; batch `n` of run `TAG` holds one reading per sensor at
/// time `TAG × 1e9 + n` ms with value `n`.
let crashWriterSensors = 10

func storeCrashWriter(_ args: [String]) throws -> Int32 {
    guard args.count == 2, let tag = Int64(args[1]) else {
        printToStandardError("usage: edge-bench store-crash-writer DATABASE TAG")
        return 2
    }
    let path = args[0]
    var machine = MachineConfiguration(
        id: "crash", sensors: (0..<crashWriterSensors).map { SensorConfiguration(name: "s\($0)", bus: "bus", address: $0) })
    machine.pollInterval = .milliseconds(1)
    let configuration = AgentConfiguration(
        sourcePath: "(crash writer)", agent: AgentSettings(), buses: [BusConfiguration(name: "bus", transport: .tcp(host: "127.0.0.1", port: 502))],
        machines: [machine])
    let mapping = try BufferDatabase(path: path).registerSensors(configuration)
    var options = ReadingWriter.Options()
    options.queueCapacity = 20_000
    options.maxReadingsPerTransaction = 2_000
    let writer = try ReadingWriter(path: path, mapping: mapping, options: options, onCommit: { sequence in
        writeLine("committed \(sequence)")
    })
    var next: UInt64 = 1
    while true {
        let time = Timestamp(millisecondsSinceEpoch: tag * 1_000_000_000 + Int64(next))
        let batch = (0..<crashWriterSensors).map {
            Reading(machine: 0, sensor: Int32($0), time: time, value: Double(next), quality: .good)
        }
        switch writer.append(batch) {
        case .queued(let sequence):
            guard sequence == next else {
                printToStandardError("store-crash-writer: expected sequence \(next), got \(sequence)")
                return 1
            }
            next += 1
        case .rejectedQueueFull:
            usleep(500)
        case .rejectedClosed:
            return 1
        }
    }
}

/// Writes a line to standard output with one write(2) call (no buffering to lose on SIGKILL).
private func writeLine(_ text: String) {
    var line = text
    line.append("\n")
    line.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            guard let base = buffer.baseAddress else { return }
            let n = write(1, base + offset, buffer.count - offset)
            if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
            offset += n
        }
    }
}
