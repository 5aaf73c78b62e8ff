/// Numbers as people read them in reports, without Foundation's formatters (which pull ICU).
public enum NumberText {
    /// `value` rounded to `decimals` places (`fixed(3.14159, decimals: 2)` is `3.14`); `–` for NaN or ±∞.
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "–" }
        let d = max(0, min(decimals, 9))
        var scale: Double = 1
        for _ in 0..<d { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return String(value) }
        let whole = Int64(scaled)
        let divisor = Int64(scale)
        var out = (value < 0 && whole != 0) ? "-" : ""
        out.append(String(whole / divisor))
        if d > 0 {
            let fraction = String(whole % divisor)
            out.append(".")
            out.append(String(repeating: "0", count: d - fraction.count))
            out.append(fraction)
        }
        return out
    }

    /// About four significant digits, no exponent: `1234`, `123.4`, `12.35`, `1.235`, `0.1235`.
    public static func display(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return fixed(value, decimals: decimals(forMagnitude: abs(value)))
    }

    /// Like `display`, without trailing zeros: `52`, `1.2`, `0.25` (for configured limits and
    /// the operating points summaries name, `speed = 1173`).
    public static func short(_ value: Double?) -> String {
        var text = display(value)
        guard text.contains(".") else { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Decimals that show about four significant digits of numbers of this size.
    static func decimals(forMagnitude magnitude: Double) -> Int {
        if magnitude >= 1000 || magnitude == 0 { return 0 }
        if magnitude >= 100 { return 1 }
        if magnitude >= 10 { return 2 }
        if magnitude >= 1 { return 2 }
        if magnitude >= 0.1 { return 3 }
        if magnitude >= 0.01 { return 4 }
        return 6
    }

    /// A number for CSV and other machine-read text: integers without `.0`, others in the
    /// shortest form that reads back to the same Double; empty for NaN or ±∞.
    static func exact(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// A duration for people: `45 s`, `12 min`, `1 h 30 min`, `2 d 3 h`.
    static func duration(milliseconds: Int64) -> String {
        let s = max(0, milliseconds) / 1000
        if s < 60 { return "\(s) s" }
        let m = s / 60
        if m < 60 { return "\(m) min" }
        let h = m / 60
        if h < 48 { return m % 60 == 0 ? "\(h) h" : "\(h) h \(m % 60) min" }
        return h % 24 == 0 ? "\(h / 24) d" : "\(h / 24) d \(h % 24) h"
    }
}
