/// The text forms of durations and sizes in agent.conf.
///
/// Durations are a whole number followed by a unit: `500ms`, `1s`, `5m`, `1h`, `7d`.
/// Sizes are a whole number of bytes, or a whole number followed by `KB`, `MB`, `GB` or `TB`,
/// where the units are binary (`1KB` = 1024 bytes, `1MB` = 2^20 = 1,048,576 bytes, `1GB` = 2^30);
/// `KiB`, `MiB`, `GiB`, `TiB` and `B` are accepted as well, in any letter case.
public enum ConfigurationValueText {
    /// Units of duration, longest suffix first so that `ms` is tried before `m` and `s`.
    private static let durationUnits: [(suffix: String, milliseconds: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// Units of size (lower-cased), each a power of 1024.
    private static let sizeUnits: [(suffix: String, bytes: Int64)] = [
        ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("tib", 1 << 40),
        ("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("tb", 1 << 40), ("b", 1),
    ]

    /// The longest duration agent.conf accepts anywhere (3650d, about ten years).
    public static let longestDuration: Duration = .seconds(3650 * 86_400)

    /// What a duration looks like, for error messages.
    public static let durationExample = #""500ms", "1s", "5m", "1h" or "7d""#
    /// What a size looks like, for error messages.
    public static let sizeExample = #""64KB", "512MB", "1GB" or a whole number of bytes"#

    /// Parses `500ms`, `1s`, `5m`, `1h`, `7d` (spaces between number and unit allowed).
    /// - Returns: nil when the text is not a whole number with one of those units, or overflows.
    public static func duration(_ text: String) -> Duration? {
        guard let milliseconds = durationMilliseconds(text) else { return nil }
        return .milliseconds(milliseconds)
    }

    /// Like `duration(_:)`, but as whole milliseconds.
    public static func durationMilliseconds(_ text: String) -> Int64? {
        let trimmed = trimmedSpaces(text)
        for unit in durationUnits where trimmed.hasSuffix(unit.suffix) {
            let number = trimmedSpaces(String(trimmed.dropLast(unit.suffix.count)))
            guard let value = wholeNumber(number) else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit.milliseconds)
            return overflow ? nil : product
        }
        return nil
    }

    /// Parses `512MB`, `1GB`, `64KB`, `1048576` or `1048576B` into bytes (binary units).
    /// - Returns: nil when the text is not a whole number with a known unit, or overflows.
    public static func byteCount(_ text: String) -> Int64? {
        let trimmed = trimmedSpaces(text).lowercased()
        if let plain = wholeNumber(trimmed) { return plain }
        for unit in sizeUnits where trimmed.hasSuffix(unit.suffix) {
            let number = trimmedSpaces(String(trimmed.dropLast(unit.suffix.count)))
            guard let value = wholeNumber(number) else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit.bytes)
            return overflow ? nil : product
        }
        return nil
    }

    /// Writes a duration the way agent.conf does, with the largest unit that divides it exactly
    /// (`500ms`, `90s`, `5m`, `7d`); sub-millisecond parts are dropped.
    public static func text(of duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds.multipliedReportingOverflow(by: 1000)
        guard !milliseconds.overflow else { return "\(seconds)s" }
        let total = milliseconds.partialValue + attoseconds / 1_000_000_000_000_000
        if total == 0 { return "0s" }
        for unit in durationUnits.reversed() where total % unit.milliseconds == 0 {
            return "\(total / unit.milliseconds)\(unit.suffix)"
        }
        return "\(total)ms"
    }

    /// Writes a byte count with the largest binary unit that divides it exactly (`512MB`, `1GB`).
    public static func text(ofByteCount bytes: Int64) -> String {
        for (suffix, size) in [("TB", Int64(1) << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)]
        where bytes != 0 && bytes % size == 0 {
            return "\(bytes / size)\(suffix)"
        }
        return "\(bytes)B"
    }

    /// A non-negative decimal integer made of ASCII digits only, or nil (also on overflow).
    private static func wholeNumber(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int64(text)
    }

    private static func trimmedSpaces(_ text: String) -> String {
        var slice = Substring(text)
        while slice.first == " " || slice.first == "\t" { slice.removeFirst() }
        while slice.last == " " || slice.last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
