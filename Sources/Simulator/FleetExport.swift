#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// Which faults an exported fleet gets.
public enum FaultPlan: Sendable, Hashable {
    /// No faults: normal operation only.
    case none
    /// This many random faults per machine, after a fault-free first quarter (for calibration).
    case random(perMachine: Int)
    /// Exactly these faults.
    case listed([FaultSpecification])
}

/// What an export wrote.
public struct ExportSummary: Sendable {
    /// The CSV files, one per machine, then the manifests.
    public var files: [String]
    /// Rows per machine.
    public var rowsPerMachine: Int
    /// Faults injected, over all machines.
    public var faultCount: Int
    /// Rows labelled anomalous, over all machines.
    public var anomalousRows: Int
}

/// Generates a fleet and writes it as labelled CSVs plus `manifest.json` and `faults.csv`.
public enum FleetExport {
    /// Writes `count` machines × `hours` of simulated data into `directory` (created if missing).
    /// - Parameters:
    ///   - seed: fixes everything.
    ///   - count: number of machines.
    ///   - hours: simulated hours per machine.
    ///   - options: step, start time, channels, automatic operation.
    ///   - faults: which faults to inject.
    ///   - directory: where the files go.
    /// - Throws: `FaultError` for a fault that names an unknown machine or does not apply;
    ///   `ExportError` when a file cannot be written.
    public static func export(
        seed: UInt64, count: Int, hours: Double, options: MachineOptions, faults: FaultPlan, directory: String
    ) throws -> ExportSummary {
        var fleet = Fleet(seed: seed, count: count, options: options)
        switch faults {
        case .none:
            break
        case .random(let perMachine):
            fleet.addRandomFaults(count: perMachine, hours: hours)
        case .listed(let specifications):
            for spec in specifications {
                guard let i = fleet.index(of: spec.machineID) else {
                    throw FaultError(
                        "fault for unknown machine \"\(spec.machineID)\" (the fleet has: "
                            + fleet.machines.map(\.id).joined(separator: ", ") + ")"
                    )
                }
                try fleet.machines[i].add(spec.fault)
            }
        }
        try makeDirectory(directory)

        var files: [String] = []
        var manifest = "{\n  \"seed\": \(seed),\n  \"hours\": \(json(hours)),\n  \"step_ms\": \(options.stepMilliseconds),\n"
        manifest += "  \"start\": \"\(options.startTime.iso8601)\",\n  \"machines\": ["
        var faultTable = "machine,fault,start,end,severity,profile,sensor,channels\n"
        var rows = 0
        var faultCount = 0
        var anomalous = 0
        for i in fleet.machines.indices {
            let series = fleet.machines[i].generate(hours: hours)
            let machine = fleet.machines[i]
            let file = "\(machine.id).csv"
            try SeriesExport.writeCSV(series, toFile: "\(directory)/\(file)")
            files.append("\(directory)/\(file)")
            rows = series.rowCount
            anomalous += series.anomaly.lazy.filter { $0 }.count
            faultCount += series.faults.count

            manifest += i == 0 ? "\n" : ",\n"
            manifest += "    {\"id\": \(json(machine.id)), \"kind\": \(json(machine.kind.rawValue)), \"unit_id\": \(i + 1), "
            manifest += "\"file\": \(json(file)), \"rows\": \(series.rowCount), "
            manifest += "\"anomaly_fraction\": \(json(series.anomalyFraction)), \"ratings\": \(json(machine.ratingSummary)),\n"
            manifest += "     \"channels\": ["
            manifest += series.channels.map { "{\"name\": \(json($0.name)), \"unit\": \(json($0.unit))}" }.joined(separator: ", ")
            manifest += "],\n     \"faults\": ["
            var entries: [String] = []
            for fault in series.faults {
                let start = time(series, fault.startSeconds)
                let endSeconds = min(fault.endSeconds, hours * 3600)
                let end = time(series, endSeconds)
                let shown = channelsShowing(fault, machine: machine)
                var entry = "{\"kind\": \(json(fault.kind.rawValue)), \"start\": \"\(start.iso8601)\", \"end\": \"\(end.iso8601)\", "
                entry += "\"start_seconds\": \(json(fault.startSeconds)), \"duration_seconds\": \(json(endSeconds - fault.startSeconds)), "
                entry += "\"severity\": \(json(fault.severity)), \"profile\": \(json(fault.profile.rawValue)), "
                entry += "\"sensor\": \(fault.channel.map(json) ?? "null"), "
                entry += "\"channels\": [\(shown.map(json).joined(separator: ", "))]}"
                entries.append(entry)
                faultTable += "\(machine.id),\(fault.kind.rawValue),\(start.iso8601),\(end.iso8601),\(json(fault.severity)),"
                faultTable += "\(fault.profile.rawValue),\(fault.channel ?? ""),\(shown.joined(separator: ";"))\n"
            }
            if !entries.isEmpty { manifest += "\n       " + entries.joined(separator: ",\n       ") + "\n     " }
            manifest += "]}"
        }
        manifest += "\n  ]\n}\n"
        let manifestFile = try OutputFile(path: "\(directory)/manifest.json")
        try manifestFile.write(manifest)
        try manifestFile.close()
        let faultFile = try OutputFile(path: "\(directory)/faults.csv")
        try faultFile.write(faultTable)
        try faultFile.close()
        files.append("\(directory)/manifest.json")
        files.append("\(directory)/faults.csv")
        return ExportSummary(files: files, rowsPerMachine: rows, faultCount: faultCount, anomalousRows: anomalous)
    }

    /// The channels of `machine` in which `fault` shows.
    static func channelsShowing(_ fault: Fault, machine: SimulatedMachine) -> [String] {
        if fault.kind.isSensorFault { return fault.channel.map { [$0] } ?? [] }
        let names: [String]
        switch machine.kind {
        case .pump: names = PumpModel.signature(of: fault.kind)
        case .motor: names = MotorModel.signature(of: fault.kind)
        case .compressor: names = CompressorModel.signature(of: fault.kind)
        }
        return machine.channels.map(\.name).filter { names.contains($0) }
    }

    private static func time(_ series: LabelledSeries, _ seconds: Double) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: series.startTime.millisecondsSinceEpoch + Int64((seconds * 1000).rounded()))
    }

    private static func makeDirectory(_ path: String) throws(ExportError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += prefix.isEmpty || prefix.hasSuffix("/") ? String(part) : "/" + part
            if mkdir(prefix, 0o755) != 0 {
                let code = errno
                if code != EEXIST {
                    throw ExportError(path: prefix, message: "cannot create directory: \(String(cString: strerror(code)))")
                }
            }
        }
    }
}

/// A JSON string literal.
func json(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// A JSON number with up to six decimals (finite values; NaN and infinity become null).
func json(_ value: Double) -> String {
    guard value.isFinite else { return "null" }
    var bytes: [UInt8] = []
    SeriesExport.appendFixed(value, decimals: 6, to: &bytes)
    // Trim trailing zeros of the fraction for readability.
    if bytes.contains(UInt8(ascii: ".")) {
        while bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
    }
    return String(decoding: bytes, as: UTF8.self)
}
