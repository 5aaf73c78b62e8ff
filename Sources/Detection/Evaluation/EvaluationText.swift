/// Renders evaluation results as a plain-text table or JSON (no Foundation formatters).
public enum EvaluationText {
    /// A fixed-width table: one line per file, then the total.
    public static func table(files: [FileEvaluation], total: ConfusionCounts) -> String {
        var out = pad("file", 24) + pad("TP", 7) + pad("FP", 7) + pad("FN", 7) + pad("TN", 7)
            + pad("prec", 7) + pad("recall", 7) + pad("F1", 7) + pad("FAR%", 7) + "MAR%\n"
        func line(_ name: String, _ c: ConfusionCounts) -> String {
            pad(name, 24) + pad("\(c.truePositives)", 7) + pad("\(c.falsePositives)", 7)
                + pad("\(c.falseNegatives)", 7) + pad("\(c.trueNegatives)", 7)
                + pad(fixed(c.precision, 3), 7) + pad(fixed(c.recall, 3), 7) + pad(fixed(c.f1, 3), 7)
                + pad(fixed(c.falseAlarmRatePercent, 1), 7) + fixed(c.missedAlarmRatePercent, 1) + "\n"
        }
        for f in files { out += line(f.file, f.counts) }
        out += line("TOTAL (\(files.count) files)", total)
        return out
    }

    /// JSON: `{"calibration_rows":N,"files":[…],"total":{…}}` with counts and metrics.
    public static func json(files: [FileEvaluation], total: ConfusionCounts, calibrationRows: Int) -> String {
        func counts(_ c: ConfusionCounts) -> String {
            "\"tp\":\(c.truePositives),\"fp\":\(c.falsePositives),\"fn\":\(c.falseNegatives),\"tn\":\(c.trueNegatives),"
                + "\"precision\":\(fixed(c.precision, 4)),\"recall\":\(fixed(c.recall, 4)),\"f1\":\(fixed(c.f1, 4)),"
                + "\"far\":\(fixed(c.falseAlarmRatePercent, 3)),\"mar\":\(fixed(c.missedAlarmRatePercent, 3))"
        }
        let list = files.map { f in
            "{\"file\":\"\(escape(f.file))\",\"rows\":\(f.rows),\(counts(f.counts))}"
        }
        return "{\"calibration_rows\":\(calibrationRows),\"files\":[\(list.joined(separator: ","))],\"total\":{\(counts(total))}}"
    }

    /// `value` with exactly `decimals` decimals.
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "null" }
        var p = 1.0
        for _ in 0..<decimals { p *= 10 }
        let scaled = (abs(value) * p).rounded()
        let whole = Int64(scaled / p)
        var fraction = String(Int64(scaled) - whole * Int64(p))
        fraction = String(repeating: "0", count: max(0, decimals - fraction.count)) + fraction
        let sign = value < 0 && scaled > 0 ? "-" : ""
        return decimals > 0 ? "\(sign)\(whole).\(fraction)" : "\(sign)\(whole)"
    }

    /// `value` rounded to `decimals` decimals with trailing zeros dropped (`1.5`, `2`, `-0.0312`),
    /// without Foundation formatters; values too large for that print as Swift prints them.
    public static func trimmed(_ value: Double, decimals: Int) -> String {
        var p = 1.0
        for _ in 0..<decimals { p *= 10 }
        let scaled = (value * p).rounded()
        if abs(scaled) >= 9e15 { return "\(value)" }
        let negative = scaled < 0
        let units = Int64(abs(scaled)), unit = Int64(p)
        var fraction = String(units % unit)
        fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
        while fraction.last == "0" { fraction.removeLast() }
        let whole = "\(negative ? "-" : "")\(units / unit)"
        return fraction.isEmpty ? whole : whole + "." + fraction
    }

    /// `text` padded with spaces to `width` (at least one space after it).
    public static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out.append(c)
            }
        }
        return out
    }
}
