#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A point in time in UTC, as whole milliseconds since the Unix epoch.
///
/// Readings, alerts and summaries all carry this type; it is what the buffer stores.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    /// Creates a timestamp from milliseconds since the Unix epoch.
    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// The current wall-clock time (CLOCK_REALTIME).
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(millisecondsSinceEpoch: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// ISO-8601 in UTC with milliseconds, e.g. `2026-11-29T01:05:53.123Z`.
    public var description: String { iso8601 }

    /// ISO-8601 in UTC with milliseconds, e.g. `2026-11-29T01:05:53.123Z`.
    ///
    /// Formatted by hand (no Foundation formatters, which pull ICU into a static build).
    public var iso8601: String {
        let ms = millisecondsSinceEpoch
        var days = ms / 86_400_000
        var msOfDay = ms % 86_400_000
        if msOfDay < 0 { msOfDay += 86_400_000; days -= 1 }
        let (year, month, day) = Timestamp.civilFromDays(days)
        let hour = msOfDay / 3_600_000
        let minute = (msOfDay / 60_000) % 60
        let second = (msOfDay / 1000) % 60
        let milli = msOfDay % 1000
        var out = ""
        out.reserveCapacity(24)
        Timestamp.append(year, width: 4, to: &out)
        out.append("-")
        Timestamp.append(month, width: 2, to: &out)
        out.append("-")
        Timestamp.append(day, width: 2, to: &out)
        out.append("T")
        Timestamp.append(hour, width: 2, to: &out)
        out.append(":")
        Timestamp.append(minute, width: 2, to: &out)
        out.append(":")
        Timestamp.append(second, width: 2, to: &out)
        out.append(".")
        Timestamp.append(milli, width: 3, to: &out)
        out.append("Z")
        return out
    }

    /// Parses ISO-8601 UTC timestamps as written by `iso8601` and common variants:
    /// `YYYY-MM-DDThh:mm:ss[.fff][Z]`, a space instead of `T`, or a date alone.
    /// Times without a zone are taken as UTC.
    public init?(iso8601 text: Substring) {
        let b = Array(text.utf8)
        func num(_ start: Int, _ len: Int) -> Int64? {
            guard start + len <= b.count else { return nil }
            var v: Int64 = 0
            for i in start..<(start + len) {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        guard b.count >= 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              (1...12).contains(mo), (1...31).contains(d) else { return nil }
        var h: Int64 = 0, mi: Int64 = 0, s: Int64 = 0, frac: Int64 = 0
        var i = 10
        if b.count > 10 {
            guard b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "),
                  let hh = num(11, 2), b.count > 13, b[13] == UInt8(ascii: ":"), let mm = num(14, 2) else { return nil }
            h = hh; mi = mm; i = 16
            if i < b.count, b[i] == UInt8(ascii: ":") {
                guard let ss = num(17, 2) else { return nil }
                s = ss; i = 19
            }
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                var digits = 0
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    if digits < 3 { frac = frac * 10 + Int64(b[i] - 48) }
                    digits += 1; i += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<3 where digits < 3 { frac *= 10 }
            }
            if i < b.count, b[i] == UInt8(ascii: "Z") { i += 1 }
            guard i == b.count, h < 24, mi < 60, s < 61 else { return nil }
        }
        let days = Timestamp.daysFromCivil(y, mo, d)
        self.init(millisecondsSinceEpoch: ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + frac)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01.
    public static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }

    private static func append(_ value: Int64, width: Int, to out: inout String) {
        var digits: [UInt8] = []
        var v = value < 0 ? -value : value
        repeat { digits.append(UInt8(v % 10) + 48); v /= 10 } while v > 0
        while digits.count < width { digits.append(48) }
        if value < 0 { out.append("-") }
        for c in digits.reversed() { out.unicodeScalars.append(Unicode.Scalar(c)) }
    }
}
