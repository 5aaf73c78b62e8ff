import ArgumentParser
import Configuration
import EdgeCore
import Modbus

/// `edge-agent read`: reads registers or bits from a device once and prints the decoded values,
/// for commissioning (checking a register map before writing agent.conf), like mbpoll.
struct ReadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read registers or bits from a Modbus device and print the decoded values.",
        discussion: """
            Use it to check a device's register map before writing agent.conf. Choose the \
            device with --bus (a bus from agent.conf), --tcp HOST:PORT, or --rtu DEVICE --baud N. \
            Addresses are 0-based (register 40001 is holding address 0). Prints one value per \
            line, or one JSON array with --json; exits with status 1 and a message on failure.

            Examples:
              edge-agent read --tcp 192.168.1.20:502 --unit 1 --kind holding --address 100 --type float32 --order CDAB
              edge-agent read --tcp [::1]:5020 --kind input --address 0 --count 4 --scale 0.1
              edge-agent read --rtu /dev/ttyUSB0 --baud 9600 --parity E --unit 3 --kind coil --address 0 --count 8
              edge-agent read --config /etc/edge-agent/agent.conf --bus line1 --unit 2 --address 10 --type int32 --json
            """
    )

    @Option(help: "Path to agent.conf (with --bus).")
    var config: String = "/etc/edge-agent/agent.conf"

    @Option(help: "Read through this bus of agent.conf (its transport and response timeout).")
    var bus: String?

    @Option(help: ArgumentHelp("Modbus TCP device or gateway: HOST:PORT, e.g. 10.0.0.5:502 or [::1]:502.", valueName: "host:port"))
    var tcp: String?

    @Option(help: ArgumentHelp("Modbus RTU serial device, e.g. /dev/ttyUSB0 (needs --baud).", valueName: "device"))
    var rtu: String?

    @Option(help: "Serial speed for --rtu, e.g. 9600 or 19200.")
    var baud: Int?

    @Option(help: ArgumentHelp("Serial parity for --rtu: N (none), E (even) or O (odd).", valueName: "N|E|O"))
    var parity: String = "N"

    @Option(name: .customLong("data-bits"), help: "Serial data bits for --rtu.")
    var dataBits: Int = 8

    @Option(name: .customLong("stop-bits"), help: "Serial stop bits for --rtu.")
    var stopBits: Int = 1

    @Option(help: "Unit (slave) id, 0…247 (255 for some TCP devices).")
    var unit: Int = 1

    @Option(help: ArgumentHelp("Register kind: coil, discrete, holding or input.", valueName: "kind"))
    var kind: String = "holding"

    @Option(help: "First register or bit, 0-based.")
    var address: Int

    @Option(help: "Number of values to read (a float32 value takes 2 registers).")
    var count: Int = 1

    @Option(help: ArgumentHelp(
        "Data type: bool, int16, uint16, int32, uint32, int64, uint64, float32 or float64 (default: bool for coil/discrete, uint16 otherwise).",
        valueName: "type"))
    var type: String?

    @Option(help: ArgumentHelp("Word and byte order of multi-register values: ABCD, DCBA, BADC or CDAB.", valueName: "order"))
    var order: String = "ABCD"

    @Option(parsing: .unconditional, help: "Multiply each value by this.")
    var scale: Double = 1

    @Option(parsing: .unconditional, help: "Then add this (negative values work: --offset -40).")
    var offset: Double = 0

    @Option(help: ArgumentHelp("Response timeout, as in agent.conf: 500ms, 2s (a bare number is milliseconds). Default: the bus's, or 1s.", valueName: "duration"))
    var timeout: String?

    @Flag(help: "Print one JSON array of numbers (null for NaN or infinite values).")
    var json = false

    func validate() throws {
        let transports = [bus != nil, tcp != nil, rtu != nil].filter { $0 }.count
        guard transports == 1 else { throw ValidationError("give exactly one of --bus NAME, --tcp HOST:PORT or --rtu DEVICE") }
        if rtu != nil && baud == nil { throw ValidationError("--rtu needs --baud, e.g. --baud 19200") }
        guard RegisterKind(rawValue: kind) != nil else { throw ValidationError("--kind must be coil, discrete, holding or input, not \"\(kind)\"") }
        if let type, DataType(rawValue: type) == nil {
            throw ValidationError("--type must be one of \(DataType.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(type)\"")
        }
        guard WordOrder(rawValue: order) != nil else { throw ValidationError("--order must be ABCD, DCBA, BADC or CDAB, not \"\(order)\"") }
        guard Parity(rawValue: parity.uppercased()) != nil else { throw ValidationError("--parity must be N, E or O, not \"\(parity)\"") }
        guard (0...255).contains(unit) else { throw ValidationError("--unit must be 0…255") }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard (0...65_535).contains(address) else { throw ValidationError("--address must be 0…65535 (0-based)") }
        if let timeout {
            guard (ReadCommand.milliseconds(timeout) ?? 0) > 0 else {
                throw ValidationError("--timeout must be a positive duration such as \(ConfigurationValueText.durationExample), or a whole number of milliseconds, not \"\(timeout)\"")
            }
        }
    }

    func run() throws {
        // validate() has checked every value parsed here.
        let kind = RegisterKind(rawValue: kind) ?? .holding
        let type = type.flatMap(DataType.init(rawValue:)) ?? (kind.isBit ? .bool : .uint16)
        let order = WordOrder(rawValue: order) ?? .ABCD
        if kind.isBit && type != .bool { throw failure("coils and discrete inputs hold single bits: use --type bool (or leave --type out)") }
        let span = kind.isBit ? 1 : type.registerCount
        if address + count * span > 65_536 { throw failure("addresses \(address)…\(address + count * span - 1) go past 65535") }

        var transport: Transport
        var responseTimeout: Duration = .milliseconds(1000)
        if let bus {
            let configuration: AgentConfiguration
            do {
                configuration = try ConfigurationLoader.load(path: config)
            } catch {
                throw failure("\(error.description)\n(fix agent.conf, or use --tcp/--rtu instead of --bus)")
            }
            guard let found = configuration.bus(named: bus) else {
                throw failure("no bus named \"\(bus)\" in \(config) (buses: \(configuration.buses.map(\.name).joined(separator: ", ")))")
            }
            transport = found.transport
            responseTimeout = found.responseTimeout
        } else if let tcp {
            guard let endpoint = ReadCommand.parseHostPort(tcp) else {
                throw failure("--tcp must be HOST:PORT, e.g. 192.168.1.20:502 or [fe80::1]:502, not \"\(tcp)\"")
            }
            transport = .tcp(host: endpoint.host, port: endpoint.port)
        } else {
            transport = .rtu(device: rtu ?? "", baud: baud ?? 19_200, parity: Parity(rawValue: parity.uppercased()) ?? .none,
                             dataBits: dataBits, stopBits: stopBits)
        }
        if let timeout, let milliseconds = ReadCommand.milliseconds(timeout) { responseTimeout = .milliseconds(milliseconds) }

        let values: [String]
        do {
            let client = try ModbusClient(transport: transport, responseTimeout: responseTimeout)
            try client.connect()
            defer { client.close() }
            values = try readValues(client: client, kind: kind, type: type, order: order, span: span)
        } catch {
            throw failure(error.description)
        }
        if json {
            print("[" + values.joined(separator: ", ") + "]")
        } else {
            for value in values { print(value) }
        }
    }

    /// Reads `count` values in as few requests as the protocol allows and formats each.
    private func readValues(client: ModbusClient, kind: RegisterKind, type: DataType, order: WordOrder, span: Int) throws(ModbusError) -> [String] {
        var out: [String] = []
        let perRequest = kind.isBit ? 2000 : 125 / span
        var first = 0
        var registers = [UInt16](repeating: 0, count: 125)
        var bits = [UInt8](repeating: 0, count: 2000)
        while first < count {
            let n = min(perRequest, count - first)
            let start = address + first * span
            if kind.isBit {
                try client.readBits(kind, unit: unit, address: start, count: n, into: &bits)
                for i in 0..<n { out.append(format(raw: .bool(bits[i] != 0), type: type)) }
            } else {
                try client.readRegisters(kind, unit: unit, address: start, count: n * span, into: &registers)
                registers.withUnsafeBufferPointer { buffer in
                    for i in 0..<n {
                        out.append(format(raw: RegisterCodec.decodeRaw(buffer, start: i * span, type: type, order: order), type: type))
                    }
                }
            }
            first += n
        }
        return out
    }

    /// The raw value exactly when no scale or offset applies (64-bit integers keep every digit,
    /// float32 prints as the shortest float32); otherwise `raw * scale + offset` as a double.
    private func format(raw: RawValue, type: DataType) -> String {
        if scale == 1 && offset == 0 {
            switch raw {
            case .bool, .signed, .unsigned: return raw.description
            case .float(let v):
                guard v.isFinite else { return json ? "null" : "\(v)" }
                return type == .float32 ? "\(Float(v))" : "\(v)"
            }
        }
        let value = raw.doubleValue * scale + offset
        guard value.isFinite else { return json ? "null" : "\(value)" }
        if value == value.rounded(), abs(value) < 1e15 { return "\(Int64(value))" }
        return "\(value)"
    }

    /// `--timeout` in milliseconds: a duration as agent.conf writes it (`500ms`, `2s`), or a
    /// bare whole number of milliseconds (what the option took before); nil when it is neither.
    static func milliseconds(_ text: String) -> Int64? {
        if let bare = Int64(text) { return bare }
        return ConfigurationValueText.durationMilliseconds(text)
    }

    /// `host:port`, `[v6]:port`; a host alone means port 502.
    static func parseHostPort(_ text: String) -> (host: String, port: Int)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return host.isEmpty ? nil : (host, 502) }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65_535).contains(port), !host.isEmpty else { return nil }
            return (host, port)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 1 { return text.isEmpty ? nil : (text, 502) }
        // More than one colon without brackets is a bare IPv6 address.
        if parts.count > 2 { return (text, 502) }
        guard let port = Int(parts[1]), (1...65_535).contains(port), !parts[0].isEmpty else { return nil }
        return (String(parts[0]), port)
    }

    /// Prints `message` and returns the exit code to throw.
    private func failure(_ message: String) -> ExitCode {
        printToStandardError("edge-agent read: \(message)")
        return ExitCode.failure
    }
}
