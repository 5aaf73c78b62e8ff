import ArgumentParser
import Configuration
import EdgeCore
import Store

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List alerts from the buffer (newest first).",
        discussion: """
            Shows each alert's number (use it with `edge-agent ack` and `edge-agent label`), \
            machine, kind, severity, state, start and end, peak score against threshold, \
            "scored by network" on an anomaly alert the int8 network's score raised (the \
            window-deviation score judges the others; --json gives scored_by on every one), who \
            acknowledged it and when, the operator's label and note, and its message. Works while \
            the agent runs.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Only alerts that started within this long (e.g. 1h, 7d) or since this ISO-8601 time.")
    var since: String?

    @Option(help: "Only alerts of this machine.")
    var machine: String?

    @Option(help: "Only alerts in this state: open, acknowledged or cleared.")
    var state: String?

    @Option(help: "At most this many alerts.")
    var limit: Int = 100

    @Flag(help: "Print one JSON array (for programs).")
    var json = false

    func run() throws {
        let configuration = try options.load()
        var filter = AlertFilter(limit: limit)
        if let since {
            guard let time = CSVExport.parseTime(since, now: Timestamp.now()) else {
                throw ValidationError("--since \(since): expected a duration such as 1h or 7d, or an ISO-8601 time")
            }
            filter.since = time
        }
        filter.machine = machine
        if let state {
            guard let parsed = AlertState(rawValue: state) else {
                throw ValidationError("--state \(state): expected one of \(AlertState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.state = parsed
        }
        let database = try openBuffer(configuration, access: .readOnly)
        let alerts = try database.alerts(filter)
        if json {
            let objects = alerts.map { a -> String in
                var w = JSONWriter()
                w.field("number", a.id)
                w.field("id", alertLogID(of: a))
                w.field("machine", a.machine)
                w.field("kind", a.kind)
                w.field("severity", a.severity)
                w.field("state", a.state.rawValue)
                w.field("label", a.label.map { $0 ? "true" : "false" })
                w.field("note", a.note)
                w.field("acknowledged", a.isAcknowledged)
                w.field("acknowledged_by", a.acknowledgedBy)
                w.field("acknowledged_at", a.acknowledgedAt?.iso8601)
                w.field("started", a.started)
                w.field("ended", a.ended?.iso8601)
                w.field("peak_score", a.peakScore)
                w.field("threshold", a.threshold)
                // Anomaly alerts stored since schema 4 only: absent, not guessed, otherwise.
                if let scoredBy = a.scoredBy { w.field("scored_by", scoredBy) }
                w.rawField("details", a.details.isEmpty ? "{}" : a.details)
                return w.finish()
            }
            print("[" + objects.joined(separator: ",") + "]")
            return
        }
        if alerts.isEmpty {
            print("no alerts")
            return
        }
        for a in alerts {
            let label = a.label.map { $0 ? "labelled true" : "labelled false" } ?? "unlabelled"
            let span = "\(a.started.iso8601) → \(a.ended?.iso8601 ?? "now")"
            var line = "#\(a.id)  \(a.machine)  \(a.kind) \(a.severity)  \(a.state.rawValue), \(label)  \(span)"
            if a.threshold > 0 { line += "  peak \(format(a.peakScore)) / threshold \(format(a.threshold))" }
            // The window-deviation score judges nearly every alert: only the exception is named
            // (the message says "(int8 network)" too); `--json` keeps `scored_by` on every one.
            if let scoredBy = a.scoredBy, scoredBy == AnomalyScorer.network.rawValue { line += "  scored by \(scoredBy)" }
            print(line)
            if let message = message(of: a) { print("    \(message)") }
            if let acknowledged = acknowledgementText(of: a) { print("    \(acknowledged)") }
            if !a.note.isEmpty { print("    note: \(a.note)") }
        }
    }

    private func message(of record: AlertRecord) -> String? {
        guard let range = record.details.firstRange(of: "\"message\":\"") else { return nil }
        var out = ""
        var escaped = false
        for c in record.details[range.upperBound...] {
            if escaped { out.append(c == "n" ? "\n" : c); escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if c == "\"" { break }
            out.append(c)
        }
        return out
    }

    private func format(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        return String(rounded)
    }
}

struct LabelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label",
        abstract: "Record whether an alert was a real problem (--true) or a false alarm (--false).",
        discussion: """
            ALERT is the number shown by `edge-agent alerts` (e.g. 12 or #12) or the id in the alert log \
            (e.g. pump-1-1764378600000). Labelling acknowledges the alert (see `edge-agent ack`). The next `edge-agent calibrate` of that machine uses alerts \
            labelled true as examples of faults and alerts labelled false as normal operation.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Argument(help: "The alert's number or alert-log id.")
    var alert: String

    @Flag(name: .customLong("true"), help: "It was a real problem.")
    var isTrue = false

    @Flag(name: .customLong("false"), help: "It was a false alarm.")
    var isFalse = false

    @Option(help: "A note for the record (what was found).")
    var note: String?

    @Option(help: "Who acknowledges it, recorded with the alert (default: your login name). An alert already acknowledged keeps its first acknowledgement.")
    var by: String?

    func validate() throws {
        guard isTrue != isFalse else { throw ValidationError("give exactly one of --true or --false") }
    }

    func run() throws {
        let configuration = try options.load()
        let database = try openBuffer(configuration, access: .readWrite)
        let number = try alertNumber(alert, in: database)
        do {
            try database.setLabel(alert: number, label: isTrue, note: note)
            try database.acknowledge(alert: number, by: by ?? operatorLoginName())
        } catch {
            printToStandardError("cannot label alert \(alert): \(error)")
            throw ExitCode.failure
        }
        print("alert #\(number) labelled \(isTrue ? "true (a real problem)" : "false (a false alarm)")")
    }
}
