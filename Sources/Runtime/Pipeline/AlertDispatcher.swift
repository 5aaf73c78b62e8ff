import EdgeCore
import Logging
import Store

/// Delivers alert events to their sinks on threads of their own: the alert log (fsync'd), the
/// database, the journal (warning level) and the configured command actions.
///
/// A failing sink is reported once per episode and never stops the others: alerting goes on
/// from memory to the alert log when the database is full, and to the database and journal
/// when the log's disk is.
final class AlertDispatcher: Sendable {
    /// Everything below is touched only on `worker`'s thread.
    private final class State: @unchecked Sendable {
        // @unchecked Sendable: used only from the single worker thread (jobs run one at a time).
        let alertLog: AlertLog?
        let database: BufferDatabase?
        var databaseIDs: [String: Int64] = [:]
        var logFailing = false
        var databaseFailing = false
        init(alertLog: AlertLog?, database: BufferDatabase?) {
            self.alertLog = alertLog
            self.database = database
        }
    }

    private let worker: SerialWorker
    private let actionWorker: SerialWorker
    private let state: State
    private let actions: [ConfiguredAction]
    private let counters: SharedCounters
    private let logger: Logger

    /// - Parameter counters: where every event handed to `dispatch` is counted
    ///   (`RuntimeCounters.alertEvents`).
    init(alertLog: AlertLog?, database: BufferDatabase?, actions: [ConfiguredAction], counters: SharedCounters,
         logger: Logger) throws {
        worker = try SerialWorker(name: "edge-alerts")
        actionWorker = try SerialWorker(name: "edge-actions", capacity: 100)
        state = State(alertLog: alertLog, database: database)
        self.actions = actions
        self.counters = counters
        self.logger = logger
    }

    /// Queues events for delivery (returns at once).
    /// - Parameter runningActions: false for events that end alerts because the agent stops:
    ///   their condition was not seen to end, so what the actions do on `cleared` (a stack light
    ///   off, a message that the machine is fine) would say something untrue.
    ///
    /// Actions are queued by the alert thread once the event is complete (what operators
    /// recorded on the stored row added), so an action gets exactly the event the alert log got.
    ///
    /// Every event the running pipeline raises, updates or clears comes through here, whatever
    /// produced it (a poll cycle, a tick's data-stopped check, a new model, the stop), so this
    /// is where `alertEvents` counts them: once each, when they are queued.
    func dispatch(_ events: [AlertEvent], runningActions: Bool = true) {
        guard !events.isEmpty else { return }
        counters.withLock { $0.alertEvents += events.count }
        let state = self.state
        let logger = self.logger
        let actions = runningActions ? self.actions : []
        let actionWorker = self.actionWorker
        worker.submit {
            for event in events {
                let delivered = AlertDispatcher.deliver(event, state: state, logger: logger)
                for action in actions where action.applies(to: delivered) {
                    let submitted = actionWorker.submit {
                        if let failure = action.run(for: delivered) {
                            logger.warning("alert action for \(delivered.alert.id) failed: \(failure)")
                        }
                    }
                    if !submitted { logger.warning("alert action queue full: an action was not run for \(delivered.alert.id)") }
                }
            }
        }
    }

    /// Runs a blocking job (database or file work) on the alert thread, after queued alerts.
    func perform(_ job: @escaping @Sendable () -> Void) { worker.submit(job) }

    /// Blocks until everything queued so far is delivered (commands included).
    func drain() {
        worker.drain()
        actionWorker.drain()
    }

    /// Delivers what is queued, then stops the threads.
    func stop() {
        worker.stop()
        actionWorker.stop()
    }

    /// Writes the event to the log and the database; returns it as written (with what
    /// operators recorded on the stored row).
    private static func deliver(_ event: AlertEvent, state: State, logger: Logger) -> AlertEvent {
        var event = event
        let alert = event.alert
        // What operators recorded on the stored row (acknowledged, label, note), read before the
        // line is written: the line of an acknowledged alert says so, for readers of the log alone.
        var stored: AlertRecord?
        var storedUnreadable = false
        let databaseID = state.databaseIDs[alert.id]
        if let database = state.database, let databaseID {
            do {
                stored = try database.alert(id: databaseID)
            } catch {
                storedUnreadable = true
                reportDatabase(failure: error, state: state, logger: logger)
            }
        }
        if let stored, stored.isAcknowledged, !event.acknowledged {
            event.markAcknowledged(by: stored.acknowledgedBy, at: stored.acknowledgedAt)
        }
        logger.warning("alert \(event.change.rawValue): \(alert.message)",
                       metadata: ["alert": "\(alert.id)", "kind": "\(alert.kind.rawValue)", "severity": "\(alert.severity.rawValue)"])
        let line = event.jsonLine
        if let log = state.alertLog {
            do {
                try log.append(line: line)
                if state.logFailing {
                    state.logFailing = false
                    logger.notice("alert log \(log.path) writable again")
                }
            } catch {
                if !state.logFailing {
                    state.logFailing = true
                    logger.error("cannot write the alert log: \(error); alerts continue to the journal and the database")
                }
            }
        }
        // A row that could not be read is not overwritten (that would drop the operator's words).
        guard let database = state.database, !storedUnreadable else { return event }
        do {
            var record = AlertRecord(
                machine: alert.machine, kind: alert.kind.rawValue, severity: alert.severity.rawValue,
                state: alert.ended == nil ? .open : .cleared, started: alert.started, ended: alert.ended,
                peakScore: alert.peakScore, threshold: alert.threshold, details: line, scoredBy: alert.scoredBy?.rawValue)
            if let databaseID {
                record.id = databaseID
                if let stored {
                    record.label = stored.label
                    record.note = stored.note
                    if stored.state == .acknowledged, alert.ended == nil { record.state = .acknowledged }
                }
                try database.updateAlert(record)
            } else {
                state.databaseIDs[alert.id] = try database.insertAlert(record)
            }
            if event.change == .cleared { state.databaseIDs[alert.id] = nil }
            if state.databaseFailing {
                state.databaseFailing = false
                logger.notice("alerts reach the database again")
            }
        } catch {
            reportDatabase(failure: error, state: state, logger: logger)
        }
        return event
    }

    /// Logs a failing database once per episode.
    private static func reportDatabase(failure error: any Error, state: State, logger: Logger) {
        guard !state.databaseFailing else { return }
        state.databaseFailing = true
        logger.error("cannot store alerts in the database: \(error); alerts continue to the alert log and the journal")
    }
}
