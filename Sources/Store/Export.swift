// CSV export of a machine's readings: the format `replay` and `meta-train` read.
import Configuration
import EdgeCore

/// Writes a machine's readings as CSV: header `timestamp,<sensor>...`, one row per poll time,
/// ISO-8601 UTC timestamps with milliseconds, an empty cell for a missing or bad value.
public enum CSVExport {
    /// Exports `machine`'s readings in `[from, until)` from `database` to `output`.
    /// - Returns: the number of data rows written.
    /// - Throws: `StoreError(.unknownMachine)` when the configuration has no such machine;
    ///   `SQLiteError` on read failures.
    @discardableResult
    public static func export(
        machine: String, configuration: AgentConfiguration, from: Timestamp, until: Timestamp,
        database: BufferDatabase, to output: inout some TextOutputStream
    ) throws -> Int {
        let mapping = try database.lookUpSensors(configuration)
        guard let index = mapping.machineIndex(named: machine) else {
            let known = mapping.machineNames.joined(separator: ", ")
            throw StoreError(.unknownMachine, "no machine \"\(machine)\" in \(configuration.sourcePath) (machines: \(known))")
        }
        var header = "timestamp"
        for name in mapping.sensorNames(ofMachine: index) {
            header.append(",")
            header.append(csvField(name))
        }
        header.append("\n")
        output.write(header)
        var line = ""
        return try database.forEachRow(machine: index, mapping: mapping, from: from, until: until) { time, values in
            line.removeAll(keepingCapacity: true)
            line.append(time.iso8601)
            for value in values {
                line.append(",")
                if !value.isNaN { line.append(value.description) }
            }
            line.append("\n")
            output.write(line)
        }
    }

    /// A CSV field, quoted when it holds a comma, quote or line break.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Parses a time given on the command line: ISO-8601 (`2026-11-29T08:00:00Z`, a date alone)
    /// or a duration ago (`90s`, `10m`, `24h`, `7d`, `2w`), relative to `now`.
    /// - Returns: nil when the text is neither.
    public static func parseTime(_ text: String, now: Timestamp) -> Timestamp? {
        if let iso = Timestamp(iso8601: Substring(text)) { return iso }
        guard let unit = text.last, let amount = Int64(text.dropLast()), amount >= 0 else { return nil }
        let milliseconds: Int64
        switch unit {
        case "s": milliseconds = 1000
        case "m": milliseconds = 60_000
        case "h": milliseconds = 3_600_000
        case "d": milliseconds = 86_400_000
        case "w": milliseconds = 7 * 86_400_000
        default: return nil
        }
        let (product, overflow) = amount.multipliedReportingOverflow(by: milliseconds)
        guard !overflow else { return nil }
        return Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - product)
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        out += rest
        return out
    }
}
