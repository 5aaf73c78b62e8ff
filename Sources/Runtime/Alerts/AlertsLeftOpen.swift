// Alerts an earlier run left open (a crash, a kill, a power cut, or a reload while an alert
// lasted; a graceful stop ends its own, see `stopReason`) are ended when the pipeline starts:
// the new run's engines start empty and would never end them, so `status`, summaries and
// retention would carry them for good.
import Configuration
import EdgeCore
import Store
import Summaries

/// Ends, at start-up, the alerts an earlier run of the agent left `open` or `acknowledged`.
///
/// Each one is ended at the time of the earlier run's newest stored reading of its machine (when
/// it was last watched; never before the alert started), or at start-up when the machine has no
/// reading. A `cleared` event with a `reason` (and `acknowledged` when an operator had
/// acknowledged it) goes to the alert log first, then the row is stored as cleared with that
/// event as its details, as the alert thread does for every event. If the condition still holds,
/// the new run raises a new alert once its windows fill.
enum AlertsLeftOpen {
    /// The `reason` of the events that end them when the agent starts.
    static let restartReason = "agent restarted: condition no longer tracked"
    /// The `reason` when a configuration reload restarted the pipeline (its engines start empty too).
    static let reloadReason = "configuration reloaded: condition no longer tracked"
    /// The `reason` of the events that end the alerts still open when the agent stops
    /// gracefully (SIGTERM, `systemctl stop`): the running engines end them before the process
    /// exits, so none is left for the next start.
    static let stopReason = "agent stopped: condition no longer monitored"
    /// How much of the alert log's end is read for `cleared` events already written: an
    /// interrupted start-up (or alert thread) leaves its last event as the file's last line.
    static let logTailBytes = 64 << 10

    /// What `end` did.
    struct Outcome {
        /// The events written, one per alert ended (oldest alert first).
        var events: [AlertEvent] = []
        /// Alerts ended in the database whose kind this build does not know (no log event).
        var endedWithoutLogEvent = 0
        /// Alerts whose `cleared` event the alert log already held (an earlier start, or the
        /// alert thread, was interrupted between writing it and storing the row): ended in the
        /// database with that event, not written again.
        var alreadyInLog = 0
        /// Alerts the alert log's last lines show raised and not ended that the buffer does not
        /// hold open (raised while it was not writable, or a kill between the `raised` line and
        /// its row): ended in the log only (their events are in `events` too).
        var endedFromLogOnly = 0
        /// Why the alert log could not take an event (the rows were ended all the same).
        var logFailure: AlertLogError?
    }

    /// Ends every alert left open in `database`, appending one event per alert to `alertLog`.
    /// - Parameters:
    ///   - mapping: the sensors of `configuration` as registered in `database`.
    ///   - now: start-up time: the end of alerts whose machine has no stored reading, and the
    ///     events' time.
    ///   - reason: the events' `reason`, added to their message too.
    ///   - afterLogging: called after each event is in the alert log, before its row is stored
    ///     (tests interrupt the start-up there by throwing, as a kill would).
    /// - Throws: a store error when the alerts cannot be read or a row cannot be updated (the
    ///   alerts ended before it stay ended).
    ///
    /// Idempotent across interruptions: the event is written before the row is stored, and an
    /// alert whose `cleared` event is already among the alert log's last lines is stored with
    /// that event and not written again, so a kill between the two writes never duplicates it.
    static func end(database: BufferDatabase, mapping: SensorMapping, configuration: AgentConfiguration,
                    alertLog: AlertLog?, now: Timestamp, reason: String,
                    afterLogging: (AlertEvent) throws -> Void = { _ in }) throws -> Outcome {
        var outcome = Outcome()
        try end(database: database, mapping: mapping, configuration: configuration, alertLog: alertLog, now: now,
                reason: reason, into: &outcome, afterLogging: afterLogging)
        return outcome
    }

    /// `end`, recording what it did in `outcome` as it goes: when it throws part-way (a row the
    /// buffer would not store), `outcome` still holds the events already given to the alert log,
    /// which the caller counts as alert events like any other.
    static func end(database: BufferDatabase, mapping: SensorMapping, configuration: AgentConfiguration,
                    alertLog: AlertLog?, now: Timestamp, reason: String, into outcome: inout Outcome,
                    afterLogging: (AlertEvent) throws -> Void = { _ in }) throws {
        let leftOpen = (try database.alerts(AlertFilter(state: .open)) + database.alerts(AlertFilter(state: .acknowledged)))
            .sorted { ($0.started.millisecondsSinceEpoch, $0.id) < ($1.started.millisecondsSinceEpoch, $1.id) }
        let tail = LogTail(alertLog)
        guard !leftOpen.isEmpty || !tail.unended.isEmpty else { return }
        let alreadyCleared = tail.cleared
        var lastReadings: [String: Timestamp?] = [:]
        func lastReading(of machine: String) throws -> Timestamp? {
            if lastReadings[machine] == nil {
                lastReadings[machine] = .some(try newestReading(of: machine, database, mapping, configuration))
            }
            return lastReadings[machine] ?? nil
        }
        /// Writes the event to the alert log (until a write fails: the failure is kept and the
        /// rest go to the buffer only) and counts it as written at this start.
        func log(_ event: AlertEvent, into outcome: inout Outcome) {
            if let alertLog, outcome.logFailure == nil {
                do {
                    try alertLog.append(event)
                } catch {
                    outcome.logFailure = error
                }
            }
            outcome.events.append(event)
        }
        var handled = Set<String>()
        for record in leftOpen {
            let lastReading = try lastReading(of: record.machine)
            var ended = Timestamp(millisecondsSinceEpoch: max(
                record.started.millisecondsSinceEpoch, (lastReading ?? now).millisecondsSinceEpoch))
            var details = record.details
            handled.insert(StoredAlertDetails(of: record)?.id ?? "\(record.machine)-\(record.started.millisecondsSinceEpoch)")
            if let event = event(ending: record, at: ended, now: now, reason: reason) {
                if let logged = alreadyCleared[event.alert.id] {
                    details = logged.line
                    ended = logged.ended.map { max(record.started, $0) } ?? ended
                    outcome.alreadyInLog += 1
                } else {
                    details = event.jsonLine
                    log(event, into: &outcome)
                    try afterLogging(event)
                }
            } else {
                outcome.endedWithoutLogEvent += 1
            }
            var cleared = record
            cleared.state = .cleared
            cleared.ended = ended
            cleared.details = details
            try database.updateAlert(cleared)
        }
        // Raised in the log but unknown to the buffer: only the log can end them.
        for (id, last) in tail.unended where !handled.contains(id) {
            guard let machine = last.machine, let kind = last.kind.flatMap(AlertKind.init(rawValue:)),
                  let started = last.started.flatMap({ Timestamp(iso8601: Substring($0)) }) else { continue }
            let alert = Alert(
                id: id, machine: machine, kind: kind, severity: last.severity.flatMap(AlertSeverity.init(rawValue:)) ?? .warning,
                started: started, peakScore: last.peak_score ?? 0, threshold: last.threshold ?? 0,
                topSensors: last.contributions, message: last.message ?? "\(machine) \(kind.rawValue)",
                scoredBy: last.scored_by.flatMap(AnomalyScorer.init(rawValue:)))
            log(AlertEvent.ending(alert, at: try lastReading(of: machine) ?? now, time: now, reason: reason), into: &outcome)
            outcome.endedFromLogOnly += 1
        }
    }

    /// What the alert log's last lines (`logTailBytes`) say: the `cleared` events by alert id
    /// (the line and its `ended` time), and the alerts whose last event there is not `cleared`,
    /// in the order of their last event. Empty when there is no log or it cannot be read.
    struct LogTail {
        var cleared: [String: (line: String, ended: Timestamp?)] = [:]
        var unended: [(id: String, last: StoredAlertDetails)] = []

        init(_ alertLog: AlertLog?) {
            guard let lines = try? alertLog?.lastLines(maxBytes: AlertsLeftOpen.logTailBytes) else { return }
            var last: [String: (order: Int, details: StoredAlertDetails)] = [:]
            for (order, line) in lines.enumerated() {
                guard let details = StoredAlertDetails(line: line), let id = details.id else { continue }
                last[id] = (order, details)
                if details.event == AlertEvent.Change.cleared.rawValue {
                    cleared[id] = (line, details.ended.flatMap { Timestamp(iso8601: Substring($0)) })
                }
            }
            unended = last.filter { $0.value.details.event != AlertEvent.Change.cleared.rawValue }
                .sorted { $0.value.order < $1.value.order }
                .map { (id: $0.key, last: $0.value.details) }
        }
    }

    /// The newest stored reading of a configured machine; nil when it has none or is no longer
    /// in the configuration.
    private static func newestReading(of machine: String, _ database: BufferDatabase, _ mapping: SensorMapping,
                                      _ configuration: AgentConfiguration) throws -> Timestamp? {
        guard let index = configuration.machines.firstIndex(where: { $0.id == machine }) else { return nil }
        return try database.newestReadingTime(machine: Int32(index), mapping: mapping)
    }

    /// The `cleared` event for a stored alert, from the columns and the last event the runtime
    /// stored as its details; nil when its kind is not one this build writes.
    static func event(ending record: AlertRecord, at ended: Timestamp, now: Timestamp, reason: String) -> AlertEvent? {
        guard let kind = AlertKind(rawValue: record.kind) else { return nil }
        let stored = StoredAlertDetails(of: record)
        let alert = Alert(
            id: stored?.id ?? "\(record.machine)-\(record.started.millisecondsSinceEpoch)", machine: record.machine,
            kind: kind, severity: AlertSeverity(rawValue: record.severity) ?? .warning, started: record.started,
            peakScore: record.peakScore, threshold: record.threshold,
            topSensors: stored?.contributions ?? [],
            message: stored?.message ?? "\(record.machine) \(record.kind)",
            scoredBy: record.scoredBy.flatMap(AnomalyScorer.init(rawValue:)))
        var event = AlertEvent.ending(alert, at: ended, time: now, reason: reason)
        if record.isAcknowledged { event.markAcknowledged(by: record.acknowledgedBy, at: record.acknowledgedAt) }
        return event
    }
}
