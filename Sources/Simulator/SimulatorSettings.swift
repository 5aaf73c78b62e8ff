#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import TOMLKit

/// The settings of `edge-agent simulate`: from sim.toml, overridden by command-line options.
///
/// ```toml
/// seed = 1                 # same seed, same machines and data
/// machines = 3             # pump-1, motor-1, compressor-1 (units 1, 2, 3)
/// speed = 1.0              # simulated seconds per real second
/// step = "1s"              # simulated time between samples
/// port = 5020              # Modbus TCP on 127.0.0.1
/// control_port = 5021      # fault injection line protocol on 127.0.0.1 (0 = off)
/// sensors = "standard"     # standard | all | random
/// change_interval = "20m"  # mean time between normal setpoint steps and stops ("0s" = none)
/// # rtu = "/dev/ttyUSB0"   # serve Modbus RTU on a serial device instead of TCP
/// # baud = 19200
/// faults = ["pump-1 cavitation at=2m for=1m severity=0.8"]
/// ```
public struct SimulatorSettings: Sendable, Equatable {
    /// Fixes the machines, their operation and noise.
    public var seed: UInt64 = SimulatorDefaults.seed
    /// How many machines.
    public var machines = 3
    /// Simulated seconds per real second.
    public var speed = 1.0
    /// Simulated time between samples.
    public var stepMilliseconds: Int64 = 1000
    /// Modbus TCP port on 127.0.0.1.
    public var port = SimulatorDefaults.port
    /// Control port on 127.0.0.1 (0 = none).
    public var controlPort = SimulatorDefaults.controlPort
    /// Which channels each machine has.
    public var sensors: ChannelSelection = .standard
    /// Mean simulated time between normal operating-point changes (setpoint steps, stops); 0 = never.
    public var changeIntervalSeconds = 1200.0
    /// Serve Modbus RTU on this serial device instead of TCP.
    public var rtuDevice: String?
    /// RTU baud rate.
    public var baud = 19_200
    /// Faults scheduled from the start of the run.
    public var faults: [FaultSpecification] = []

    /// The defaults.
    public init() {}

    /// The keys sim.toml may contain.
    public static let keys = ["seed", "machines", "speed", "step", "port", "control_port", "sensors", "change_interval", "rtu", "baud", "faults"]

    /// Parses a `--sensors` value.
    public static func channelSelection(_ text: String) -> ChannelSelection? {
        switch text {
        case "standard": return .standard
        case "all": return .all
        case "random": return .random(minimum: 4)
        default: return nil
        }
    }

    /// Reads sim.toml.
    /// - Throws: `SimulatorError` naming the file, the key and what was expected.
    public static func load(path: String) throws(SimulatorError) -> SimulatorSettings {
        let text = try readText(path)
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch {
            throw SimulatorError("\(path): TOML syntax error: \(error)")
        }
        var settings = SimulatorSettings()
        func fail(_ key: String, _ expected: String) -> SimulatorError {
            SimulatorError("\(path): \(key): expected \(expected)")
        }
        for key in table.keys where !keys.contains(key) {
            throw SimulatorError("\(path): unknown key \"\(key)\" (expected one of \(keys.joined(separator: ", ")))")
        }
        if let v = table["seed"] {
            guard let n = v.int, n >= 0 else { throw fail("seed", "a whole number ≥ 0") }
            settings.seed = UInt64(n)
        }
        if let v = table["machines"] {
            guard let n = v.int, (1...247).contains(n) else { throw fail("machines", "a whole number 1…247") }
            settings.machines = n
        }
        if let v = table["speed"] {
            guard let n = v.double ?? v.int.map(Double.init), n > 0, n.isFinite else { throw fail("speed", "a positive number") }
            settings.speed = n
        }
        if let v = table["step"] {
            guard let s = v.string, let seconds = parseDurationSeconds(Substring(s)), seconds >= 0.001 else {
                throw fail("step", "a duration such as \"1s\" or \"100ms\"")
            }
            settings.stepMilliseconds = Int64((seconds * 1000).rounded())
        }
        if let v = table["port"] {
            guard let n = v.int, (0...65535).contains(n) else { throw fail("port", "a TCP port 0…65535") }
            settings.port = n
        }
        if let v = table["control_port"] {
            guard let n = v.int, (0...65535).contains(n) else { throw fail("control_port", "a TCP port 0…65535 (0 = no control port)") }
            settings.controlPort = n
        }
        if let v = table["sensors"] {
            guard let s = v.string, let selection = channelSelection(s) else { throw fail("sensors", "\"standard\", \"all\" or \"random\"") }
            settings.sensors = selection
        }
        if let v = table["change_interval"] {
            guard let text = v.string, let seconds = parseDurationSeconds(Substring(text)) else {
                throw fail("change_interval", "a duration such as \"20m\" (\"0s\" = no operating changes)")
            }
            settings.changeIntervalSeconds = seconds
        }
        if let v = table["rtu"] {
            guard let s = v.string, !s.isEmpty else { throw fail("rtu", "a serial device path such as \"/dev/ttyUSB0\"") }
            settings.rtuDevice = s
        }
        if let v = table["baud"] {
            guard let n = v.int, n > 0 else { throw fail("baud", "a baud rate such as 19200") }
            settings.baud = n
        }
        if let v = table["faults"] {
            guard let array = v.array else { throw fail("faults", "an array of strings such as [\"pump-1 cavitation at=2m for=1m\"]") }
            for (i, element) in array.enumerated() {
                guard let s = element.string else { throw fail("faults[\(i)]", "a string such as \"pump-1 cavitation at=2m\"") }
                do {
                    settings.faults.append(try FaultSpecification.parse(Substring(s)))
                } catch {
                    throw SimulatorError("\(path): faults[\(i)]: \(error.message)")
                }
            }
        }
        return settings
    }

    private static func readText(_ path: String) throws(SimulatorError) -> String {
        guard let file = fopen(path, "r") else {
            let code = errno
            throw SimulatorError("\(path): cannot open: \(String(cString: strerror(code)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
