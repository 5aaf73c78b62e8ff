import EdgeCore

/// The name of a summary's files: machine, period start in UTC and period length, e.g.
/// `pump-1_2026-11-29T01-00-00Z_1h.json` (no colons, so the names work on every file system
/// and in URLs; they sort by time within a machine).
public struct SummaryFileName: Sendable, Equatable {
    /// The machine id as it appears in the name (characters other than letters, digits, `.`, `-`
    /// and `_` become `-`).
    public var machine: String
    /// The period's start.
    public var start: Timestamp
    /// The period's length as written, e.g. `1h`, `15m`, `1d`, `90s`.
    public var length: String

    /// The name (without extension) of the summary of `machine` over `[start, end)`.
    public init(machine: String, start: Timestamp, end: Timestamp) {
        self.machine = SummaryFileName.sanitized(machine)
        self.start = start
        self.length = SummaryFileName.lengthText(milliseconds: end.millisecondsSinceEpoch - start.millisecondsSinceEpoch)
    }

    /// Parses a file name made by `fileName(extension:)`; nil for any other name.
    public init?(parsing fileName: String) {
        guard let dot = fileName.lastIndex(of: "."), !fileName.hasPrefix(".") else { return nil }
        let parts = fileName[..<dot].split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        let stamp = parts[parts.count - 2]
        // 2026-11-29T01-00-00Z → 2026-11-29T01:00:00Z
        guard stamp.count == 20, stamp.hasSuffix("Z") else { return nil }
        var iso = Array(stamp)
        iso[13] = ":"
        iso[16] = ":"
        guard let start = Timestamp(iso8601: Substring(String(iso))) else { return nil }
        machine = parts[..<(parts.count - 2)].joined(separator: "_")
        self.start = start
        length = String(parts[parts.count - 1])
        guard !machine.isEmpty, !length.isEmpty else { return nil }
    }

    /// The base name without extension.
    public var baseName: String {
        let iso = start.iso8601  // 2026-11-29T01:00:00.000Z
        var stamp = String(iso.prefix(19)).replacingColons()
        stamp.append("Z")
        return "\(machine)_\(stamp)_\(length)"
    }

    /// The file name with an extension (`json`, `csv`, `html`).
    public func fileName(extension ext: String) -> String { "\(baseName).\(ext)" }

    /// A period length in the largest unit that divides it: `1d`, `6h`, `15m`, `90s`, `1500ms`.
    public static func lengthText(milliseconds: Int64) -> String {
        let ms = max(0, milliseconds)
        if ms > 0, ms % 86_400_000 == 0 { return "\(ms / 86_400_000)d" }
        if ms > 0, ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms > 0, ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }

    /// `machine` with every character that is not a letter, digit, `.`, `-` or `_` replaced by `-`.
    public static func sanitized(_ machine: String) -> String {
        var out = ""
        for scalar in machine.unicodeScalars {
            let ok = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "." || scalar == "-" || scalar == "_"
            out.unicodeScalars.append(ok ? scalar : "-")
        }
        if out.isEmpty || out.hasPrefix(".") { out = "m" + out }
        return out
    }
}

extension String {
    fileprivate func replacingColons() -> String {
        String(unicodeScalars.map { $0 == ":" ? "-" : Character($0) })
    }
}
