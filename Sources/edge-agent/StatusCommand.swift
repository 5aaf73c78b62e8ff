import ArgumentParser
import Configuration
import EdgeCore
import Runtime
import Store

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the agent's health: per machine whether it is judged now (and why not), buses and units, models, the buffer, open alerts.",
        discussion: """
            Reads the buffer, so it works while the agent runs (the agent refreshes its status \
            every few seconds) and after it stopped (then the status shows its last moments). \
            Each machine's first line says JUDGED, or NOT JUDGED with the state (stopped, settling, \
            uncalibrated-state, ...), since when, and what to do (README: "Is each machine judged?").
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Flag(help: "Print one JSON object (for programs).")
    var json = false

    func run() throws {
        let configuration = try options.load()
        let database = try openBuffer(configuration, access: .readOnly)
        let statistics = try database.statistics()
        let stored = try database.value(forKey: RuntimeStatus.key)
        let status = try stored.map { try RuntimeStatus.decode($0) }
        let openAlerts = try database.alerts(AlertFilter(state: .open)) + database.alerts(AlertFilter(state: .acknowledged))
        if json {
            var w = JSONWriter()
            w.rawField("agent", stored ?? "null")
            w.beginObject("buffer")
            w.field("path", database.path)
            w.field("readings", statistics.readingCount)
            w.field("oldest", statistics.oldest?.iso8601)
            w.field("newest", statistics.newest?.iso8601)
            w.field("bytes", statistics.fileBytes)
            w.endObject()
            w.field("open_alerts", openAlerts.count)
            print(w.finish())
            return
        }
        if let status {
            print("agent (pid \(status.pid)) status at \(status.time), configuration \(status.configuration)")
            for bus in status.buses {
                print("bus \(bus.name): \(bus.connected ? "connected" : "DISCONNECTED"), \(bus.cycles) poll cycles, \(bus.reconnects) reconnects"
                      + (bus.lastConnectionError.map { ", last error: \($0)" } ?? ""))
                for u in bus.units {
                    let errors = u.timeouts + u.exceptions + u.invalidResponses + u.connectionLosses + u.decodeErrors
                    var line = "  unit \(u.unit): last good poll \(u.lastGoodPoll ?? "never"), \(u.requests) requests, \(errors) errors"
                    if errors > 0 {
                        line += " (timeouts \(u.timeouts), exceptions \(u.exceptions), invalid \(u.invalidResponses), lost \(u.connectionLosses), decode \(u.decodeErrors))"
                    }
                    if u.consecutiveErrors > 0 { line += ", \(u.consecutiveErrors) in a row" }
                    if let until = u.backoffUntil { line += ", backing off until \(until)" }
                    print(line)
                }
            }
            for m in status.machines {
                if let monitoring = m.monitoring {
                    print(monitoringLine(machine: m.id, monitoring))
                }
                if let threshold = m.threshold {
                    let score = m.lastScore.map { String(($0 * 1000).rounded() / 1000) } ?? "none yet"
                    let source = m.alertScore.map { $0 == "deviation" ? "" : " (\($0) score)" } ?? ""
                    print("machine \(m.id): calibrated \(m.calibratedAt ?? "?"), threshold \((threshold * 1000).rounded() / 1000)\(source), last score \(score)"
                          + (m.lastScoreTime.map { " at \($0)" } ?? ""))
                    if let network = m.networkScore, let networkThreshold = m.networkThreshold {
                        let alerting = (m.alertScore ?? "deviation") == "deviation" ? "reported, not alerted on" : "alert_score = \(m.alertScore ?? "")"
                        print("  int8 network score \((network * 1000).rounded() / 1000) (its threshold \((networkThreshold * 1000).rounded() / 1000); \(alerting))")
                    }
                } else if m.monitoring == nil {
                    // A status written by an agent older than the monitoring line; otherwise
                    // that line already says "not-calibrated" and what to run.
                    print("machine \(m.id): UNCALIBRATED (run `edge-agent calibrate --machine \(m.id)`)")
                }
            }
            print("readings: \(status.readingsPolled) polled, \(status.readingsCommitted) written, \(status.readingsQueued) queued, \(status.readingsRejected) refused; buffer \(status.bufferState)")
            print("scoring: \(status.windowsScored) windows, poll-to-score delay p50 \(status.scoreDelayP50Milliseconds) ms, p99 \(status.scoreDelayP99Milliseconds) ms")
        } else {
            print("the agent has not run with this buffer yet (no status stored)")
        }
        print("buffer \(database.path): \(statistics.readingCount) readings, \(statistics.fileBytes / 1024) KiB, oldest \(statistics.oldest?.iso8601 ?? "-"), newest \(statistics.newest?.iso8601 ?? "-")")
        print("open alerts: \(openAlerts.count)")
        for a in openAlerts {
            print("  #\(a.id) \(a.machine) \(a.kind) \(a.severity) since \(a.started.iso8601)\(acknowledgementText(of: a).map { ", " + $0 } ?? "")")
        }
    }

    /// The line that leads a machine's status: judged or not, since when, and why not.
    func monitoringLine(machine id: String, _ monitoring: RuntimeStatus.MachineStatus.Monitoring) -> String {
        let since = monitoring.since.map { " since \($0)" } ?? ""
        guard monitoring.state != MonitoringState.judged.rawValue else { return "\(id)  JUDGED\(since)" }
        return "\(id)  NOT JUDGED (\(monitoring.state))\(since)" + (monitoring.reason.map { ": \($0)" } ?? "")
    }
}
