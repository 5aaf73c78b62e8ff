// Retention for the tables other than readings: alerts by age and count, models and calibration
// records by count per machine. Runs on the writer thread, in the same maintenance pass as the
// readings' retention, a few hundred rows per transaction.
import EdgeCore

/// Deletes alerts, models and calibration records beyond their bounds, one small chunk at a
/// time, on the writer's connection.
///
/// Only cleared alerts are ever deleted: an open or acknowledged one is a condition still going
/// on (and the alert thread still updates its row). The alert thread appends an event to the
/// alert log before it stores the row, so a stored alert has already been offered to the log.
final class RecordRetention {
    /// What one chunk deleted.
    struct Outcome: Equatable {
        var alerts = 0
        var modelsAndCalibrations = 0
        /// Whether a table is still over its bound (run another chunk soon).
        var more = false
    }

    private let connection: SQLiteConnection
    private let options: ReadingWriter.Options
    private let clock: any AgentClock
    private let alertsEndedBefore: SQLiteStatement
    private let alertCount: SQLiteStatement
    private let oldestClearedAlerts: SQLiteStatement
    private let modelsBeyond: SQLiteStatement
    private let calibrationsBeyond: SQLiteStatement
    /// Alerts over `alertRetentionCount` when last counted, less those deleted since; nil when
    /// not counted in this pass (counted again at the next check).
    private var alertsOverCount: Int? = nil

    init(connection: SQLiteConnection, options: ReadingWriter.Options, clock: any AgentClock) throws(SQLiteError) {
        self.connection = connection
        self.options = options
        self.clock = clock
        // started_ms < ?1 lets the alerts_by_start index bound the scan (an alert ends after it starts).
        alertsEndedBefore = try connection.prepare("""
            DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE state = 'cleared' AND started_ms < ?1
            AND coalesce(ended_ms, started_ms) < ?1 ORDER BY started_ms, id LIMIT ?2)
            """)
        alertCount = try connection.prepare("SELECT count(*) FROM alerts")
        oldestClearedAlerts = try connection.prepare("""
            DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE state = 'cleared' ORDER BY started_ms, id LIMIT ?1)
            """)
        // The same order as BufferDatabase.latestModel / calibrations(machine:): newest first.
        modelsBeyond = try connection.prepare("""
            DELETE FROM models WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER
            (PARTITION BY machine ORDER BY created_ms DESC, id DESC) AS rank FROM models) WHERE rank > ?1 LIMIT ?2)
            """)
        calibrationsBeyond = try connection.prepare("""
            DELETE FROM calibrations WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER
            (PARTITION BY machine ORDER BY started_ms DESC, id DESC) AS rank FROM calibrations) WHERE rank > ?1 LIMIT ?2)
            """)
    }

    /// Deletes at most `deleteChunkRecords` rows from the first table over its bound (each
    /// DELETE is its own short transaction).
    func deleteChunk() throws(SQLiteError) -> Outcome {
        let chunk = options.deleteChunkRecords
        var outcome = Outcome()
        if let age = options.alertRetentionAge {
            let cutoff = clock.now().millisecondsSinceEpoch - Int64(nanoseconds(age) / 1_000_000)
            outcome.alerts = try run(alertsEndedBefore, cutoff, Int64(chunk))
            if outcome.alerts == chunk { outcome.more = true; return finish(outcome) }
        }
        if let limit = options.alertRetentionCount {
            let over: Int
            if let known = alertsOverCount {
                over = known
            } else {
                alertCount.reset()
                over = try alertCount.step() ? max(0, Int(alertCount.int64(at: 0)) - limit) : 0
                alertCount.reset()
            }
            var deleted = 0
            if over > 0 { deleted = try run(oldestClearedAlerts, Int64(min(over, chunk - outcome.alerts))) }
            outcome.alerts += deleted
            // Fewer than asked means only open or acknowledged alerts are left over the bound.
            let left = deleted > 0 ? over - deleted : 0
            alertsOverCount = left
            if left > 0 { outcome.more = true; return finish(outcome) }
        }
        if let keep = options.modelsKeptPerMachine {
            outcome.modelsAndCalibrations = try run(modelsBeyond, Int64(keep), Int64(chunk))
            if outcome.modelsAndCalibrations == chunk { outcome.more = true; return finish(outcome) }
        }
        if let keep = options.calibrationsKeptPerMachine {
            let deleted = try run(calibrationsBeyond, Int64(keep), Int64(chunk))
            outcome.modelsAndCalibrations += deleted
            if deleted == chunk { outcome.more = true }
        }
        return finish(outcome)
    }

    private func finish(_ outcome: Outcome) -> Outcome {
        // Count again at the next check: alerts arrive meanwhile.
        if !outcome.more { alertsOverCount = nil }
        return outcome
    }

    private func run(_ statement: SQLiteStatement, _ first: Int64, _ second: Int64? = nil) throws(SQLiteError) -> Int {
        statement.reset()
        defer { statement.reset() }
        try statement.bind(first, at: 1)
        if let second { try statement.bind(second, at: 2) }
        _ = try statement.step()
        return connection.changedRowCount
    }
}
