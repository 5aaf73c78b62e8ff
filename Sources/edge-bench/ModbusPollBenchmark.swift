// `edge-bench modbus-poll [--quick] [--seconds S] [--runs R] [--units U] [--sensors N]`:
// acquisition against its limit. The agent's BusPoller (and, to separate the poller's own
// cost, a bare ModbusClient loop) reads U units × N float32 holding registers per cycle from
// the libmodbus test server on loopback, back to back; a minimal C program built from
// bench/c/modbus_loop.c issues the same request plan in a tight loop. Reports requests/s,
// registers/s, µs per request (the loopback round trip) and CPU µs per reading (getrusage:
// the polling thread for Swift, the whole process for C), median and range over R runs.
import Configuration
import EdgeCore
import Modbus
import ModbusServer
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One measured run of one contender.
private struct PollFigures {
    var requests: Int = 0
    var readings: Int = 0
    var wallMicroseconds: Double = 0
    var cpuMicroseconds: Double = 0
    var errors: Int = 0

    var requestsPerSecond: Double { Double(requests) / wallMicroseconds * 1e6 }
    var microsecondsPerRequest: Double { wallMicroseconds / Double(max(requests, 1)) }
    var cpuPerReading: Double { cpuMicroseconds / Double(max(readings, 1)) }
}

func modbusPollBenchmark(_ args: [String]) throws -> Int32 {
    var seconds = 3.0, runs = 3, units = 2, sensors = 50
    var i = 0
    while i < args.count {
        let value = i + 1 < args.count ? args[i + 1] : ""
        switch args[i] {
        case "--quick": seconds = 1; runs = 3; i -= 1
        case "--seconds": seconds = Double(value) ?? seconds
        case "--runs": runs = Int(value) ?? runs
        case "--units": units = Int(value) ?? units
        case "--sensors": sensors = Int(value) ?? sensors
        default:
            printToStandardError("usage: edge-bench modbus-poll [--quick] [--seconds S] [--runs R] [--units U] [--sensors N (≤ 62)]")
            return 2
        }
        i += 2
    }
    guard units >= 1, units <= 247, sensors >= 1, sensors <= 62, seconds > 0, runs >= 1 else {
        printToStandardError("modbus-poll: need 1 ≤ units ≤ 247, 1 ≤ sensors ≤ 62 (one request per unit), seconds > 0, runs ≥ 1")
        return 2
    }
    let server = try ModbusServer(endpoint: .tcp(host: "127.0.0.1", port: 0), units: (1...units).map { ModbusServer.Unit(unitID: $0, addresses: 0..<256) })
    defer { server.stop() }
    for unit in 1...units {
        for s in 0..<sensors {
            try server.setValue(.float(Double(s) + 0.25 * Double(unit)), as: .float32, order: .ABCD, kind: .holding, unit: unit, address: 2 * s)
        }
    }
    let loop = try buildCLoop()
    defer { unlink(loop) }

    print("modbus-poll: \(units) units × \(sensors) float32 sensors (\(2 * sensors) registers per request, \(units) requests per cycle), loopback TCP to the libmodbus test server, \(runs) runs × \(seconds) s")
    var c: [PollFigures] = [], client: [PollFigures] = [], poller: [PollFigures] = []
    for _ in 0..<runs {
        c.append(try runCLoop(loop, port: server.port, units: units, sensors: sensors, seconds: seconds))
        client.append(try runClientLoop(port: server.port, units: units, sensors: sensors, seconds: seconds))
        poller.append(try runPoller(port: server.port, units: units, sensors: sensors, seconds: seconds))
    }
    func f(_ x: Double, _ digits: Int = 0) -> String {
        var text = String(x.rounded(toPlaces: digits))
        if digits == 0, text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
    func row(_ name: String, _ figures: [PollFigures]) {
        func stat(_ key: (PollFigures) -> Double, _ digits: Int) -> String {
            let values = figures.map(key).sorted()
            let median = values[values.count / 2]
            return values.count > 1 ? "\(f(median, digits)) (\(f(values.first ?? 0, digits))–\(f(values.last ?? 0, digits)))" : f(median, digits)
        }
        let errors = figures.reduce(0) { $0 + $1.errors }
        print("\(name.padding(18))  \(stat(\.requestsPerSecond, 0).padding(24))  \(stat({ $0.requestsPerSecond * Double(2 * sensors) }, 0).padding(28))  \(stat(\.microsecondsPerRequest, 1).padding(20))  \(stat(\.cpuPerReading, 3))\(errors > 0 ? "  errors: \(errors)" : "")")
    }
    print("\("".padding(18))  \("requests/s".padding(24))  \("registers/s".padding(28))  \("µs/request".padding(20))  CPU µs/reading")
    row("C libmodbus loop", c)
    row("Swift ModbusClient", client)
    row("Swift BusPoller", poller)
    let median: ([PollFigures]) -> Double = { figures in figures.map(\.cpuPerReading).sorted()[figures.count / 2] }
    print("ratio BusPoller/C, CPU per reading: \(f(median(poller) / median(c), 2)) (target ≤ 1.25); ModbusClient/C: \(f(median(client) / median(c), 2))")
    return 0
}

/// CPU time (user + system) of the calling thread, in microseconds.
private func threadCPUMicroseconds() -> Double {
    var usage = rusage()
    // RUSAGE_THREAD (1) is Linux-specific and not exported to Swift by Glibc.
    guard getrusage(__rusage_who_t(1), &usage) == 0 else { return .nan }
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
}

private func monotonicMicroseconds() -> Double { Double(SystemClock.monotonicNanoseconds()) / 1000 }

/// The agent: a BusPoller with back-to-back cycles; CPU sampled on its own thread in the sink.
private func runPoller(port: Int, units: Int, sensors: Int, seconds: Double) throws -> PollFigures {
    var bus = BusConfiguration(name: "bench", transport: .tcp(host: "127.0.0.1", port: port))
    bus.responseTimeout = .seconds(1)
    let machines = (1...units).map { unit in
        var machine = MachineConfiguration(id: "m\(unit)", sensors: (0..<sensors).map { s in
            var sensor = SensorConfiguration(name: "s\(s)", bus: "bench", address: 2 * s)
            sensor.unitID = unit
            sensor.type = .float32
            return sensor
        })
        machine.pollInterval = .microseconds(1)  // back to back: the bus is the limit
        return machine
    }
    struct Window { var cycles = 0; var readings = 0; var bad = 0; var startCPU = 0.0; var startWall = 0.0; var endCPU = 0.0; var endWall = 0.0 }
    let window = Mutex(Window())
    let warmupCycles = 20
    let poller = try BusPoller(bus: bus, machines: machines) { readings in
        let cpu = threadCPUMicroseconds(), wall = monotonicMicroseconds()
        var bad = 0
        for reading in readings where reading.quality != .good { bad += 1 }
        window.withLock { w in
            w.cycles += 1
            if w.cycles == warmupCycles {
                w.startCPU = cpu
                w.startWall = wall
            } else if w.cycles > warmupCycles {
                w.readings += readings.count
                w.bad += bad
                w.endCPU = cpu
                w.endWall = wall
            }
        }
    }
    let requestsPerCycle = poller.plan.reads.count
    try poller.start()
    sleep(seconds: seconds)
    poller.stop()
    let w = window.withLock { $0 }
    let measuredCycles = max(0, w.cycles - warmupCycles)
    return PollFigures(requests: measuredCycles * requestsPerCycle, readings: w.readings, wallMicroseconds: w.endWall - w.startWall,
                       cpuMicroseconds: w.endCPU - w.startCPU, errors: w.bad)
}

/// A bare ModbusClient loop on its own thread: the same requests and Swift decoding, no poller.
private func runClientLoop(port: Int, units: Int, sensors: Int, seconds: Double) throws -> PollFigures {
    let result = Mutex<Result<PollFigures, ModbusError>?>(nil)
    let thread = try PosixThread(name: "bench-client") {
        do throws(ModbusError) {
            let client = try ModbusClient(transport: .tcp(host: "127.0.0.1", port: port), responseTimeout: .seconds(1))
            try client.connect()
            var registers = [UInt16](repeating: 0, count: 125)
            var figures = PollFigures()
            var total = 0.0
            let cpu0 = threadCPUMicroseconds(), start = monotonicMicroseconds()
            let deadline = start + seconds * 1e6
            while monotonicMicroseconds() < deadline {
                for unit in 1...units {
                    try client.readRegisters(.holding, unit: unit, address: 0, count: 2 * sensors, into: &registers)
                    figures.requests += 1
                    registers.withUnsafeBufferPointer { buffer in
                        for s in 0..<sensors { total += RegisterCodec.decode(buffer, start: 2 * s, type: .float32, order: .ABCD).value }
                    }
                    figures.readings += sensors
                }
            }
            figures.wallMicroseconds = monotonicMicroseconds() - start
            figures.cpuMicroseconds = threadCPUMicroseconds() - cpu0
            if total.isNaN { figures.errors += 1 }
            let done = figures
            result.withLock { $0 = .success(done) }
        } catch {
            result.withLock { $0 = .failure(error) }
        }
    }
    thread.join()
    switch result.withLock({ $0 }) {
    case .success(let figures)?: return figures
    case .failure(let error)?: throw error
    case nil: throw BenchmarkFailure("client loop produced no result")
    }
}

/// The C loop, run as its own process; it reports its own getrusage figures.
private func runCLoop(_ executable: String, port: Int, units: Int, sensors: Int, seconds: Double) throws -> PollFigures {
    let line = try runCommand("'\(executable)' 127.0.0.1 \(port) \(units) \(sensors) \(seconds)")
    let fields = line.split(separator: " ")
    func value(_ key: String) -> Double? {
        guard let i = fields.firstIndex(where: { $0 == key }), i + 1 < fields.count else { return nil }
        return Double(fields[i + 1])
    }
    guard let requests = value("requests"), let readings = value("readings"), let wall = value("wall_us"), let cpu = value("cpu_us") else {
        throw BenchmarkFailure("unexpected output from modbus_loop: \(line)")
    }
    return PollFigures(requests: Int(requests), readings: Int(readings), wallMicroseconds: wall, cpuMicroseconds: cpu, errors: Int(value("errors") ?? 0))
}

/// Compiles bench/c/modbus_loop.c with the system's C compiler and libmodbus (pkg-config).
private func buildCLoop() throws -> String {
    let candidates = ["bench/c/modbus_loop.c", sourceRoot() + "/bench/c/modbus_loop.c"]
    guard let source = candidates.first(where: { access($0, R_OK) == 0 }) else {
        throw BenchmarkFailure("bench/c/modbus_loop.c not found (run edge-bench from the repository root)")
    }
    let output = "/tmp/edge-bench-modbus-loop-\(getpid())"
    _ = try runCommand("cc -O2 -o '\(output)' '\(source)' $(pkg-config --cflags --libs libmodbus) && echo built")
    guard access(output, X_OK) == 0 else { throw BenchmarkFailure("could not build \(source): is a C compiler installed?") }
    return output
}

/// The repository root, from this file's path at build time (Sources/edge-bench/…).
private func sourceRoot(_ file: String = #filePath) -> String {
    var parts = file.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}

/// Runs `command` with /bin/sh and returns the first line it prints; throws on a non-zero exit.
private func runCommand(_ command: String) throws -> String {
    guard let pipe = popen(command, "r") else { throw BenchmarkFailure("cannot run \(command)") }
    var output = ""
    var buffer = [CChar](repeating: 0, count: 4096)
    while fgets(&buffer, Int32(buffer.count), pipe) != nil {
        let length = buffer.firstIndex(of: 0) ?? buffer.count
        output += String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    let status = pclose(pipe)
    guard status == 0 else { throw BenchmarkFailure("`\(command)` failed with status \(status)") }
    return String(output.split(separator: "\n").first ?? "")
}

private func sleep(seconds: Double) {
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
}

/// A benchmark could not run; says why.
struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Double {
    fileprivate func rounded(toPlaces places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
