import EdgeCore

/// The JSON summary: one object with the period, per-sensor statistics, the score
/// distribution, alerts, data-quality events and the model (schema in the README, "Summaries").
public enum SummaryJSON {
    /// The JSON text of the summary of `input` (statistics computed by the caller).
    public static func render(_ input: SummaryInput, statistics: SummaryStatistics) -> String {
        var json = JSONWriter()
        json.field("schema", "edge-agent.summary/1")
        json.field("machine", input.machine)
        json.field("description", input.machineDescription)
        json.field("period_start", input.start)
        json.field("period_end", input.end)
        json.field("period_seconds", Double(input.durationMilliseconds) / 1000)
        json.field("poll_interval_ms", input.pollIntervalMilliseconds)
        json.field("generated", input.generated)
        json.beginArray("sensors")
        for s in statistics.sensors {
            json.beginObjectElement()
            json.field("name", s.name)
            json.field("unit", s.unit)
            json.field("count", s.count)
            json.field("readings", s.readings)
            json.field("expected", s.expected)
            json.field("completeness_percent", rounded(s.completenessPercent, decimals: 2))
            json.field("min", s.minimum)
            json.field("max", s.maximum)
            json.field("mean", s.mean)
            json.field("stddev", s.standardDeviation)
            json.field("last", s.last)
            json.field("last_time", s.lastTime?.iso8601)
            json.field("normal_low", s.normalLow)
            json.field("normal_high", s.normalHigh)
            // Always present, null unless the range depends on a two-state machine's state, as
            // normal_low/normal_high are null without a range and the CSV always has the column.
            json.field("normal_state", s.normalState)
            json.beginObject("bad_readings")
            for quality in Quality.allCases where quality != .good {
                json.field(quality.name, s.count(of: quality))
            }
            json.endObject()
            json.endObject()
        }
        json.endArray()
        if let scores = statistics.scores {
            json.beginObject("anomaly_score")
            json.field("count", scores.count)
            json.field("mean", scores.mean)
            json.field("p95", scores.p95)
            json.field("max", scores.maximum)
            json.field("threshold", scores.threshold)
            json.field("fraction_above_threshold", scores.fractionAboveThreshold)
            json.field("seconds_above_threshold", Double(scores.millisecondsAboveThreshold) / 1000)
            json.endObject()
        } else {
            json.rawField("anomaly_score", "null")
        }
        json.beginObject("alert_counts")
        json.field("raised", statistics.raised.count)
        json.field("cleared", statistics.cleared.count)
        json.field("open_at_end", statistics.openAtEnd.count)
        json.endObject()
        json.beginArray("alerts")
        for alert in statistics.alerts {
            json.beginObjectElement()
            json.field("id", alert.id)
            json.field("kind", alert.kind)
            json.field("severity", alert.severity)
            json.field("started", alert.started)
            json.field("ended", alert.ended?.iso8601)
            json.field("raised_in_period", alert.started >= input.start && alert.started < input.end)
            json.field("cleared_in_period", alert.ended.map { $0 >= input.start && $0 < input.end } ?? false)
            json.field("peak_score", alert.peakScore)
            json.field("threshold", alert.threshold)
            if let scoredBy = alert.scoredBy { json.field("scored_by", scoredBy.rawValue) }
            json.contributions("top_sensors", alert.topSensors)
            json.field("message", alert.message)
            json.endObject()
        }
        json.endArray()
        json.beginArray("data_quality_events")
        for event in input.dataQualityEvents where event.time >= input.start && event.time < input.end {
            json.beginObjectElement()
            json.field("time", event.time)
            json.field("kind", event.kind)
            json.field("subject", event.subject)
            json.field("message", event.message)
            json.endObject()
        }
        json.endArray()
        if let model = input.model {
            json.beginObject("model")
            json.field("name", model.name)
            json.field("calibrated", model.calibrated?.iso8601)
            json.field("calibration_windows", model.calibrationWindows)
            json.field("threshold", model.threshold)
            json.endObject()
        } else {
            json.rawField("model", "null")
        }
        var text = json.finish()
        text.append("\n")
        return text
    }

    /// `value` rounded to `decimals` places (percentages need no 17 digits).
    static func rounded(_ value: Double, decimals: Int) -> Double {
        var scale: Double = 1
        for _ in 0..<decimals { scale *= 10 }
        return (value * scale).rounded() / scale
    }
}

/// The CSV summary: one row per sensor with its statistics over the period.
public enum SummaryCSV {
    /// The header row's columns, in order.
    public static let columns = [
        "machine", "period_start", "period_end", "sensor", "unit", "count", "expected", "completeness_percent",
        "min", "max", "mean", "stddev", "last", "last_time", "bad_readings", "normal_low", "normal_high", "normal_state",
    ]

    /// The CSV text: a header row, then one row per sensor (LF line ends; empty cells for unknown values).
    public static func render(_ input: SummaryInput, statistics: SummaryStatistics) -> String {
        var out = columns.joined(separator: ",")
        out.append("\n")
        for s in statistics.sensors {
            let cells = [
                field(input.machine), input.start.iso8601, input.end.iso8601, field(s.name), field(s.unit),
                String(s.count), String(s.expected), NumberText.fixed(s.completenessPercent, decimals: 2),
                NumberText.exact(s.minimum), NumberText.exact(s.maximum), NumberText.exact(s.mean),
                NumberText.exact(s.standardDeviation), NumberText.exact(s.last), s.lastTime?.iso8601 ?? "",
                String(s.badReadings), NumberText.exact(s.normalLow), NumberText.exact(s.normalHigh), field(s.normalState ?? ""),
            ]
            out.append(cells.joined(separator: ","))
            out.append("\n")
        }
        return out
    }

    /// A CSV cell, quoted when it holds a comma, quote or line break (RFC 4180).
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        var out = "\""
        for c in text {
            if c == "\"" { out.append("\"\"") } else { out.append(c) }
        }
        out.append("\"")
        return out
    }
}
