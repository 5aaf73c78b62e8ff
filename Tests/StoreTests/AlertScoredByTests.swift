import EdgeCore
import Testing

@testable import Store

/// Which score judged an anomaly alert (`scored_by`, schema 4): stored and rewritten with the
/// alert, and absent (not guessed) for the alerts of a buffer written before it existed. Real
/// SQLite files in a temporary directory.
@Suite struct AlertScoredByTests {
    static func at(_ seconds: Int64) -> Timestamp { AlertAcknowledgementTests.at(seconds) }

    /// A schema-3 file, made with the migrations as they shipped up to schema 3 and rows an
    /// agent of that version stored: a network alert (its message says so), a window alert and
    /// a data alert.
    static func makeSchemaThreeFile(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, mode: .readWriteCreate)
        try connection.execute("PRAGMA journal_mode = WAL")
        for migration in Schema.migrations.prefix(3) { try connection.execute(migration) }
        try connection.execute("""
            INSERT INTO schema_history VALUES (1, '0.9.0', 1700000000000), (2, '0.9.1', 1700000000001), (3, '0.9.2', 1700000000002);
            INSERT INTO machines VALUES (1, 'pump-1');
            INSERT INTO sensors VALUES (1, 1, 'flow', 'm3/h');
            INSERT INTO readings VALUES (1780000000000, 1, 12.5, 0), (1780000001000, 1, 99, 6);
            INSERT INTO alerts(id, machine, kind, severity, state, label, note, started_ms, ended_ms, peak_score, threshold, details, acknowledged_ms, acknowledged_by)
            VALUES (1, 'pump-1', 'anomaly', 'warning', 'cleared', NULL, '', 1780000000000, 1780000005000, 3.5, 2,
                    '{"id":"pump-1-1780000000000","message":"pump-1: anomaly score 3.5 is 1.75× threshold (int8 network)"}', NULL, NULL),
                   (2, 'pump-1', 'anomaly', 'critical', 'acknowledged', NULL, '', 1780000010000, NULL, 9, 2, '{}', 1780000011000, 'maria'),
                   (3, 'pump-1', 'sensor_stale', 'warning', 'open', NULL, '', 1780000020000, NULL, 0, 0, '{}', NULL, NULL);
            PRAGMA user_version = 3;
            """)
    }

    @Test func aSchemaThreeBufferMigratesAndItsAlertsReadBackWithoutAScore() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        try Self.makeSchemaThreeFile(db.path)
        // Read-only (`edge-agent alerts`, `status`, `summarize`): read as it is, not migrated.
        let reader = try BufferDatabase(path: db.path, access: .readOnly)
        #expect(reader.schemaVersion == 3)
        let unmigrated = try reader.alerts()
        #expect(unmigrated.count == 3)
        #expect(unmigrated.allSatisfy { $0.scoredBy == nil }, "\(unmigrated)")
        #expect(try queryInteger(db.path, "PRAGMA user_version") == 3)

        // Read-write (the agent): migrated to schema 4, every row kept, no score invented, not
        // even for the alert whose message names the network.
        let buffer = try BufferDatabase(path: db.path)
        #expect(try queryInteger(db.path, "PRAGMA user_version") == 4)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM schema_history") == 4)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM readings") == 2)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM alerts") == 3)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM alerts WHERE scored_by IS NOT NULL") == 0)
        let migrated = try buffer.alerts().sorted { $0.id < $1.id }
        #expect(migrated.map(\.kind) == ["anomaly", "anomaly", "sensor_stale"])
        #expect(migrated.allSatisfy { $0.scoredBy == nil })
        #expect(migrated[1].acknowledgedBy == "maria" && migrated[1].state == .acknowledged)
        #expect(migrated[0].details.contains("(int8 network)"))
        #expect(try buffer.integrityCheck() == "ok")
    }

    @Test func theScoreIsStoredAndRewrittenWithTheAlert() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        var row = AlertRecord(machine: "pump-1", kind: "anomaly", severity: "warning", started: Self.at(0), peakScore: 2,
                              threshold: 1, scoredBy: AnomalyScorer.network.rawValue)
        row.id = try buffer.insertAlert(row)
        #expect(try buffer.alert(id: row.id)?.scoredBy == "network")
        // With alert_score = "either", a later peak may be the window score's.
        row.peakScore = 3
        row.scoredBy = AnomalyScorer.windowDeviation.rawValue
        try buffer.updateAlert(row)
        #expect(try buffer.alert(id: row.id)?.scoredBy == "window_deviation")
        #expect(try BufferDatabase(path: db.path, access: .readOnly).alert(id: row.id)?.scoredBy == "window_deviation")
        let data = try buffer.insertAlert(AlertRecord(machine: "pump-1", kind: "unit_offline", severity: "critical",
                                                      started: Self.at(5), peakScore: 0, threshold: 0))
        #expect(try buffer.alert(id: data)?.scoredBy == nil)
    }
}
