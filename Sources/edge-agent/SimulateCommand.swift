import ArgumentParser
import EdgeCore
import ModbusServer
import Simulator

#if canImport(Glibc)
import Glibc
#endif

/// `edge-agent simulate`: the built-in machine simulator.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate pumps, motors and compressors: serve them over Modbus, or write labelled CSVs.",
        discussion: """
            Without --export, serves the fleet over Modbus TCP on 127.0.0.1 (--port, default 5020; or RTU \
            with --rtu DEVICE): machine N is unit id N (pump-1 = 1, motor-1 = 2, compressor-1 = 3, …), with \
            the register map printed at start (and by --print-map). The repository's agent.conf describes \
            exactly this map. It prints "ready" when serving, and runs until Ctrl-C, SIGTERM or `quit`.

            Faults at run time: connect to the control port (127.0.0.1:5021) and send one command per line, \
            e.g. `echo "inject pump-1 cavitation for=2m severity=0.8" | nc -q1 127.0.0.1 5021`. \
            Commands: inject, clear, stop, start, load, status, values, quit (send `help`).

            With --export DIR, generates --hours of simulated data per machine (faster than real time) and \
            writes one CSV per machine (timestamp, one column per sensor, anomaly 0/1) plus manifest.json \
            and faults.csv.

            Faults (--faults): `random` (export default: 2 per machine after a fault-free first quarter), \
            `random:N`, `none`, or a list separated by `;` of `MACHINE FAULT [at=2h] [for=30m] [severity=0.8] \
            [profile=step|ramp|spike] [ramp=10m] [sensor=NAME]` (`at` counts from the start). Fault kinds: \
            \(FaultKind.allCases.map(\.rawValue).joined(separator: ", ")).
            """
    )

    @Option(help: ArgumentHelp("sim.toml with the simulator's settings; options given here override it, and the defaults below apply to what neither sets.", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("Write labelled CSV files into this directory instead of serving.", valueName: "dir"))
    var export: String?

    @Option(help: "Number of simulated machines (they cycle pump, motor, compressor). (default: 3)")
    var machines: Int?

    @Option(help: "Export: simulated hours to generate per machine.")
    var hours: Double = 24

    @Option(help: "Seed: the same seed gives the same machines and data. (default: 1)")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Simulated time between samples, e.g. 1s or 100ms. (default: 1s)", valueName: "duration"))
    var step: String?

    @Option(help: "Serving: simulated time runs this many times faster than real time. (default: 1)")
    var speed: Double?

    @Option(help: "Serving: Modbus TCP port on 127.0.0.1. (default: 5020)")
    var port: Int?

    @Option(help: "Serving: control port on 127.0.0.1 for fault injection (0 = none). (default: 5021)")
    var controlPort: Int?

    @Option(help: ArgumentHelp("Serving: Modbus RTU on this serial device instead of TCP.", valueName: "device"))
    var rtu: String?

    @Option(help: "Serving: RTU baud rate, with 8 data bits, no parity, 1 stop bit. (default: 19200)")
    var baud: Int?

    @Option(help: ArgumentHelp("Faults: random, random:N, none, or `MACHINE FAULT [key=value]...; ...`. (default: random with --export, none when serving)", valueName: "plan"))
    var faults: String?

    @Option(help: ArgumentHelp("Sensors per machine: standard, all, or random (a varied subset per machine). (default: standard)", valueName: "set"))
    var sensors: String?

    @Option(help: ArgumentHelp("Mean simulated time between normal operating changes (setpoint steps, stops and starts); 0s = none. (default: 20m)", valueName: "duration"))
    var changeInterval: String?

    @Option(help: ArgumentHelp("Serving: append one JSON line per fault that begins or ends to this file (ground truth for alerts).", valueName: "path"))
    var faultLog: String?

    @Option(help: ArgumentHelp("Export: timestamp of the first sample (ISO-8601 UTC).", valueName: "time"))
    var start: String = "2026-01-01T00:00:00Z"

    @Flag(help: "Print the Modbus register map of the fleet (unit, sensor, table, address, type, order, scale) and exit.")
    var printMap = false

    @Flag(help: "Print the agent.conf [[machine]] tables that describe the served fleet, and exit.")
    var printConfig = false

    func validate() throws {
        if let machines, !(1...247).contains(machines) { throw ValidationError("--machines must be 1…247 (one Modbus unit each)") }
        guard hours > 0 else { throw ValidationError("--hours must be positive") }
        if let step, (parseDurationSeconds(Substring(step)) ?? 0) < 0.001 {
            throw ValidationError("--step \(step): expected a duration such as 1s or 100ms")
        }
        if let speed, !(speed > 0 && speed.isFinite) { throw ValidationError("--speed must be a positive number") }
        guard Timestamp(iso8601: Substring(start)) != nil else {
            throw ValidationError("--start \(start): expected an ISO-8601 time such as 2026-01-01T00:00:00Z")
        }
        if let changeInterval, parseDurationSeconds(Substring(changeInterval)) == nil {
            throw ValidationError("--change-interval \(changeInterval): expected a duration such as 20m, or 0s for none")
        }
        if let sensors, SimulatorSettings.channelSelection(sensors) == nil {
            throw ValidationError("--sensors \(sensors): expected standard, all or random")
        }
    }

    /// sim.toml (if any) with the command-line options applied over it.
    func settings() throws -> SimulatorSettings {
        var s = try config.map { path throws(SimulatorError) in try SimulatorSettings.load(path: path) } ?? SimulatorSettings()
        if let machines { s.machines = machines }
        if let seed { s.seed = seed }
        if let step { s.stepMilliseconds = Int64(((parseDurationSeconds(Substring(step)) ?? 1) * 1000).rounded()) }
        if let speed { s.speed = speed }
        if let port { s.port = port }
        if let controlPort { s.controlPort = controlPort }
        if let rtu { s.rtuDevice = rtu }
        if let baud { s.baud = baud }
        if let sensors, let selection = SimulatorSettings.channelSelection(sensors) { s.sensors = selection }
        if let changeInterval { s.changeIntervalSeconds = parseDurationSeconds(Substring(changeInterval)) ?? s.changeIntervalSeconds }
        return s
    }

    func run() throws {
        let settings = try settings()
        var options = MachineOptions()
        options.stepMilliseconds = settings.stepMilliseconds
        options.channels = settings.sensors
        options.automaticOperation = settings.changeIntervalSeconds > 0
        if settings.changeIntervalSeconds > 0 { options.meanSecondsBetweenChanges = settings.changeIntervalSeconds }
        if printMap || printConfig {
            let fleet = Fleet(seed: settings.seed, count: settings.machines, options: options)
            // Temperatures settle within about 10 simulated minutes of a start.
            let settle = "\(max(1, Int((600 / settings.speed).rounded())))s"
            print(printMap ? RegisterMap.table(of: fleet) : RegisterMap.agentConfiguration(of: fleet, bus: "sim", settleAfterStart: settle))
            return
        }
        if let directory = export {
            options.startTime = Timestamp(iso8601: Substring(start)) ?? options.startTime
            try runExport(settings: settings, options: options, directory: directory)
        } else {
            try serve(settings: settings, options: options)
        }
    }

    private func faultPlan(default fallback: String, settings: SimulatorSettings) throws -> FaultPlan {
        let text = faults ?? (settings.faults.isEmpty ? fallback : "")
        if faults == nil && !settings.faults.isEmpty { return .listed(settings.faults) }
        if text == "none" { return .none }
        if text == "random" { return .random(perMachine: 2) }
        if text.hasPrefix("random:") {
            guard let n = Int(text.dropFirst(7)), n >= 0 else {
                throw ValidationError("--faults \(text): expected random:N with N a whole number")
            }
            return .random(perMachine: n)
        }
        return .listed(try FaultSpecification.parseList(text))
    }

    private func runExport(settings: SimulatorSettings, options: MachineOptions, directory: String) throws {
        let plan = try faultPlan(default: "random", settings: settings)
        let clock = SystemClock()
        let began = clock.monotonicNanoseconds()
        let summary = try FleetExport.export(
            seed: settings.seed, count: settings.machines, hours: hours, options: options, faults: plan, directory: directory
        )
        let seconds = Double(clock.monotonicNanoseconds() - began) / 1e9
        let rows = summary.rowsPerMachine * settings.machines
        print("wrote \(settings.machines) machines × \(summary.rowsPerMachine) rows (\(rows) rows, "
            + "\(summary.faultCount) faults, \(summary.anomalousRows) anomalous rows) in "
            + "\(Int(seconds * 1000)) ms to \(directory)")
        for file in summary.files { print("  \(file)") }
    }

    private func serve(settings: SimulatorSettings, options: MachineOptions) throws {
        var options = options
        options.startTime = Timestamp.now()
        var fleet = Fleet(seed: settings.seed, count: settings.machines, options: options)
        switch try faultPlan(default: "none", settings: settings) {
        case .none:
            break
        case .random(let perMachine):
            throw ValidationError("--faults random:\(perMachine) is for --export; when serving, list faults or inject them on the control port")
        case .listed(let specifications):
            for spec in specifications {
                guard let i = fleet.index(of: spec.machineID) else {
                    throw ValidationError("fault for unknown machine \"\(spec.machineID)\" (machines: \(fleet.machines.map(\.id).joined(separator: ", ")))")
                }
                try fleet.machines[i].add(spec.fault)
            }
        }

        // SIGINT/SIGTERM end the loop cleanly (it checks at least every 50 ms).
        let signals = try TerminationSignals()
        let endpoint: ModbusServer.Endpoint = settings.rtuDevice.map { .rtu(device: $0, baud: settings.baud) }
            ?? .tcp(host: "127.0.0.1", port: settings.port)
        let server = try FleetServer(fleet: fleet, endpoint: endpoint)
        defer { server.stop() }
        let control = try settings.controlPort == 0 ? nil : ControlServer(port: settings.controlPort)

        var live = LiveFleet(fleet: fleet, speed: settings.speed)
        _ = live.advance(toMonotonicNanoseconds: SystemClock.monotonicNanoseconds())
        try server.publish(live)

        let transport = settings.rtuDevice.map { "Modbus RTU on \($0) at \(settings.baud) baud (8N1)" }
            ?? "Modbus TCP on 127.0.0.1:\(server.server.port)"
        print("edge-agent simulate: \(settings.machines) machines, seed \(settings.seed), step \(settings.stepMilliseconds) ms, "
            + "speed \(settings.speed)×, serving \(transport)")
        for (i, machine) in fleet.machines.enumerated() {
            print("  unit \(i + 1): \(machine.id) — \(machine.ratingSummary)")
        }
        for fault in settings.faults + (faults.flatMap { try? FaultSpecification.parseList($0) } ?? []) {
            print("  scheduled: \(fault.machineID) \(fault.fault.kind.rawValue) at +\(Int(fault.fault.startSeconds)) s")
        }
        print(RegisterMap.table(of: fleet))
        if let control {
            print("control: 127.0.0.1:\(control.port), one command per line (send `help`), e.g. "
                + "echo \"inject pump-1 cavitation for=2m\" | nc -q1 127.0.0.1 \(control.port)")
        }
        print("ready")
        fflush(nil)  // all streams: stdout may be a pipe to the demo script

        let log = try faultLog.map { path throws(ExportError) in try FaultLog(path: path) }
        try SimulationLoop.run(&live, control: control, signals: signals, events: { happened in
            for event in happened {
                let what = event.began ? "fault begins" : "fault ends"
                print("\(what): \(event.machineID) \(event.fault.kind.rawValue) severity \(event.fault.severity) "
                    + "(\(event.channels.joined(separator: ", "))) at simulated \(event.simulatedTime.iso8601)")
            }
            fflush(nil)
            try log?.append(happened, wallTime: Timestamp.now())
        }, publish: { live throws(SimulatorError) in
            try server.publish(live)
        })
        print("stopped at simulated time \(live.simulatedTime.iso8601)")
    }
}
