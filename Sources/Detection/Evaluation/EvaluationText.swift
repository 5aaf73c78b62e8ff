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
        return out + faultTable(files: files)
    }

    /// Each fault that began after calibration, with its detection latency (rows from its start
    /// to the first alert, or missed), then a line per fault kind; empty when no file has faults.
    public static func faultTable(files: [FileEvaluation]) -> String {
        let all = files.flatMap(\.faults)
        guard !all.isEmpty else { return "" }
        var out = "\n" + pad("file", 24) + pad("fault", 34) + pad("profile", 8) + pad("start", 26) + pad("rows", 7) + "latency\n"
        for f in files {
            for d in f.faults {
                var latency = "missed"
                if let rows = d.latencyRows {
                    latency = "\(rows) rows" + (d.latencySeconds.map { " (\(trimmed($0, decimals: 1)) s)" } ?? "")
                    if d.alertingAtStart { latency += ", already alerting" }
                }
                let name = d.sensor.isEmpty ? d.kind : "\(d.kind) \(d.sensor)"
                out += pad(f.file, 24) + pad(name, 34) + pad(d.profile.isEmpty ? "-" : d.profile, 8) + pad(d.start, 26)
                    + pad("\(d.rows)", 7) + latency + "\n"
            }
        }
        out += "\n" + pad("fault kind", 22) + pad("profile", 12) + pad("faults", 8) + pad("detected", 10) + pad("missed", 8)
            + pad("already", 9) + pad("median", 8) + "max latency (rows; 'already': alerting when it began, left out)\n"
        for s in FaultLatency.summary(all) {
            out += pad(s.kind, 22) + pad(s.profiles.isEmpty ? "-" : s.profiles, 12) + pad("\(s.faults)", 8) + pad("\(s.detected)", 10)
                + pad("\(s.faults - s.detected)", 8) + pad("\(s.alertingAtStart)", 9)
                + pad(s.medianLatency.map { "\($0)" } ?? "-", 8) + (s.latencies.last.map { "\($0)" } ?? "-") + "\n"
        }
        return out
    }

    /// JSON: `{"calibration_rows":N,"files":[…],"total":{…}}` with counts and metrics.
    public static func json(files: [FileEvaluation], total: ConfusionCounts, calibrationRows: Int) -> String {
        func counts(_ c: ConfusionCounts) -> String {
            "\"tp\":\(c.truePositives),\"fp\":\(c.falsePositives),\"fn\":\(c.falseNegatives),\"tn\":\(c.trueNegatives),"
                + "\"precision\":\(fixed(c.precision, 4)),\"recall\":\(fixed(c.recall, 4)),\"f1\":\(fixed(c.f1, 4)),"
                + "\"far\":\(fixed(c.falseAlarmRatePercent, 3)),\"mar\":\(fixed(c.missedAlarmRatePercent, 3))"
        }
        func fault(_ d: FaultDetection) -> String {
            "{\"kind\":\"\(escape(d.kind))\",\"profile\":\"\(escape(d.profile))\",\"sensor\":\"\(escape(d.sensor))\","
                + "\"start\":\"\(escape(d.start))\",\"first_row\":\(d.firstRow),\"rows\":\(d.rows),"
                + "\"detected\":\(d.detected),\"latency_rows\":\(d.latencyRows.map { "\($0)" } ?? "null"),"
                + "\"latency_seconds\":\(d.latencySeconds.map { fixed($0, 3) } ?? "null"),\"alerting_at_start\":\(d.alertingAtStart)}"
        }
        let list = files.map { f in
            "{\"file\":\"\(escape(f.file))\",\"rows\":\(f.rows),\(counts(f.counts)),\"faults\":[\(f.faults.map(fault).joined(separator: ","))]}"
        }
        let kinds = FaultLatency.summary(files.flatMap(\.faults)).map { s in
            "{\"kind\":\"\(escape(s.kind))\",\"profiles\":\"\(escape(s.profiles))\",\"faults\":\(s.faults),\"detected\":\(s.detected),"
                + "\"missed\":\(s.faults - s.detected),\"alerting_at_start\":\(s.alertingAtStart),"
                + "\"median_latency_rows\":\(s.medianLatency.map { "\($0)" } ?? "null"),"
                + "\"max_latency_rows\":\(s.latencies.last.map { "\($0)" } ?? "null")}"
        }
        return "{\"calibration_rows\":\(calibrationRows),\"files\":[\(list.joined(separator: ","))],\"total\":{\(counts(total))},"
            + "\"fault_kinds\":[\(kinds.joined(separator: ","))]}"
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
