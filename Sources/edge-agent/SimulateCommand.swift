import ArgumentParser
import EdgeCore
import Simulator

/// `edge-agent simulate`: the built-in machine simulator.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate pumps, motors and compressors: write labelled CSVs, or serve them over Modbus.",
        discussion: """
            With --export DIR, generates --hours of simulated data for --machines machines (faster than \
            real time) and writes one CSV per machine (timestamp, one column per sensor, anomaly 0/1), \
            plus manifest.json and faults.csv listing the injected faults.

            Faults (--faults): `random` (2 per machine after a fault-free first quarter), `random:N`, \
            `none`, or a list separated by `;` of `MACHINE FAULT [at=2h] [for=30m] [severity=0.8] \
            [profile=step|ramp|spike] [ramp=10m] [sensor=NAME]`. Fault kinds: \
            \(FaultKind.allCases.map(\.rawValue).joined(separator: ", ")).
            """
    )

    @Option(help: ArgumentHelp("Write labelled CSV files into this directory instead of serving.", valueName: "dir"))
    var export: String?

    @Option(help: "Number of simulated machines (they cycle pump, motor, compressor).")
    var machines: Int = 3

    @Option(help: "Simulated hours to generate per machine (with --export).")
    var hours: Double = 24

    @Option(help: "Seed: the same seed gives the same machines and data.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Simulated time between samples, e.g. 1s or 100ms.", valueName: "duration"))
    var step: String = "1s"

    @Option(help: ArgumentHelp("Faults: random, random:N, none, or `MACHINE FAULT [key=value]...; ...`.", valueName: "plan"))
    var faults: String = "random"

    @Option(help: ArgumentHelp("Sensors per machine: standard, all, or random (a varied subset per machine).", valueName: "set"))
    var sensors: String = "standard"

    @Option(help: ArgumentHelp("Timestamp of the first sample (ISO-8601 UTC).", valueName: "time"))
    var start: String = "2026-01-01T00:00:00Z"

    @Flag(help: "Print the Modbus register map of the fleet (unit, sensor, table, address, type, order, scale) and exit.")
    var printMap = false

    @Flag(help: "Print the agent.conf [[machine]] tables that describe the served fleet, and exit.")
    var printConfig = false

    func validate() throws {
        guard machines >= 1, machines <= 247 else { throw ValidationError("--machines must be 1…247 (one Modbus unit each)") }
        guard hours > 0 else { throw ValidationError("--hours must be positive") }
        guard let s = parseDurationSeconds(Substring(step)), s >= 0.001 else {
            throw ValidationError("--step \(step): expected a duration such as 1s or 100ms")
        }
        _ = s
        guard Timestamp(iso8601: Substring(start)) != nil else {
            throw ValidationError("--start \(start): expected an ISO-8601 time such as 2026-01-01T00:00:00Z")
        }
    }

    func run() throws {
        var options = MachineOptions()
        options.stepMilliseconds = Int64(((parseDurationSeconds(Substring(step)) ?? 1) * 1000).rounded())
        options.startTime = Timestamp(iso8601: Substring(start)) ?? options.startTime
        switch sensors {
        case "standard": options.channels = .standard
        case "all": options.channels = .all
        case "random": options.channels = .random(minimum: 4)
        default: throw ValidationError("--sensors \(sensors): expected standard, all or random")
        }
        if printMap || printConfig {
            let fleet = Fleet(seed: seed, count: machines, options: options)
            print(printMap ? RegisterMap.table(of: fleet) : RegisterMap.agentConfiguration(of: fleet, bus: "sim"))
            return
        }
        guard let directory = export else {
            throw ValidationError("serving over Modbus is not available in this build yet; use --export DIR")
        }
        let plan: FaultPlan
        if faults == "none" {
            plan = .none
        } else if faults == "random" {
            plan = .random(perMachine: 2)
        } else if faults.hasPrefix("random:") {
            guard let n = Int(faults.dropFirst(7)), n >= 0 else {
                throw ValidationError("--faults \(faults): expected random:N with N a whole number")
            }
            plan = .random(perMachine: n)
        } else {
            plan = .listed(try FaultSpecification.parseList(faults))
        }
        let clock = SystemClock()
        let began = clock.monotonicNanoseconds()
        let summary = try FleetExport.export(
            seed: seed, count: machines, hours: hours, options: options, faults: plan, directory: directory
        )
        let seconds = Double(clock.monotonicNanoseconds() - began) / 1e9
        let rows = summary.rowsPerMachine * machines
        print("wrote \(machines) machines × \(summary.rowsPerMachine) rows (\(rows) rows, "
            + "\(summary.faultCount) faults, \(summary.anomalousRows) anomalous rows) in "
            + "\(Int(seconds * 1000)) ms to \(directory)")
        for file in summary.files { print("  \(file)") }
    }
}
