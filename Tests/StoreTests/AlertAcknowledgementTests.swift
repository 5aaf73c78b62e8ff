import EdgeCore
import Foundation
import Testing

@testable import Store

/// Who acknowledged an alert and when (schema 2), and a buffer written at schema 1 opening with
/// nothing lost. Real SQLite files in a temporary directory.
@Suite struct AlertAcknowledgementTests {
    static let t0 = Timestamp(millisecondsSinceEpoch: 1_780_000_000_000)
    static func at(_ seconds: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + seconds * 1000) }

    /// A schema-1 file built with the migrations list as it was before schema 2 (its first
    /// entry, unchanged since it shipped) and rows in every table, as an older agent left it.
    static func makeSchemaOneFile(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, mode: .readWriteCreate)
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute(Schema.migrations[0])
        try connection.execute("""
            INSERT INTO schema_history VALUES (1, '0.9.0', 1700000000000);
            INSERT INTO machines VALUES (1, 'pump-1');
            INSERT INTO sensors VALUES (1, 1, 'flow', 'm3/h'), (2, 1, 'loaded', '');
            INSERT INTO readings VALUES (1780000000000, 1, 12.5, 0), (1780000000000, 2, 1, 0), (1780000001000, 1, NULL, 2);
            INSERT INTO alerts(id, machine, kind, severity, state, label, note, started_ms, ended_ms, peak_score, threshold, details)
            VALUES (1, 'pump-1', 'anomaly', 'warning', 'open', NULL, '', 1780000000000, NULL, 3.5, 2, '{"id":"pump-1-1780000000000"}'),
                   (2, 'pump-1', 'sensor_stale', 'warning', 'acknowledged', 1, 'valve', 1780000010000, NULL, 0, 0, '{}'),
                   (3, 'pump-1', 'anomaly', 'critical', 'cleared', 0, 'false alarm: load change', 1780000020000, 1780000030000, 9, 2, '{"x":1}');
            INSERT INTO models(machine, created_ms, windows, threshold, blob, metadata) VALUES ('pump-1', 1700000000000, 400, 2, x'0102', '{}');
            INSERT INTO calibrations(machine, started_ms, finished_ms, windows, threshold, outcome) VALUES ('pump-1', 1, 2, 400, 2, 'ok');
            INSERT INTO kv VALUES ('k', 'v');
            PRAGMA user_version = 1;
            """)
    }

    @Test func aSchemaOneBufferOpensMigratedWithNothingLost() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        try Self.makeSchemaOneFile(db.path)
        // Read-only (`edge-agent alerts`, `status`): read as it is, never migrated.
        let reader = try BufferDatabase(path: db.path, access: .readOnly)
        #expect(reader.schemaVersion == 1)
        let unmigrated = try reader.alerts().sorted { $0.id < $1.id }
        #expect(unmigrated.map(\.id) == [1, 2, 3])
        #expect(unmigrated.map(\.state) == [.open, .acknowledged, .cleared])
        #expect(unmigrated.allSatisfy { $0.acknowledgedAt == nil && $0.acknowledgedBy == nil })
        #expect(unmigrated[1].isAcknowledged && unmigrated[2].note == "false alarm: load change")
        #expect(try reader.alert(id: 1)?.details == #"{"id":"pump-1-1780000000000"}"#)
        #expect(try queryInteger(db.path, "PRAGMA user_version") == 1)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM schema_history") == 1)

        let buffer = try BufferDatabase(path: db.path)
        #expect(Store.schemaVersion == 4)
        #expect(try queryInteger(db.path, "PRAGMA user_version") == 4)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM schema_history") == 4)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM readings") == 3)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM readings WHERE value IS NULL AND quality = 2") == 1)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM sensors") == 2)
        #expect(try buffer.latestModel(machine: "pump-1")?.blob == [1, 2])
        #expect(try buffer.calibrations(machine: "pump-1").count == 1)
        #expect(try buffer.value(forKey: "k") == "v")
        #expect(try buffer.integrityCheck() == "ok")

        let alerts = try buffer.alerts().sorted { $0.id < $1.id }
        #expect(alerts == [
            AlertRecord(id: 1, machine: "pump-1", kind: "anomaly", severity: "warning", state: .open,
                        started: Self.at(0), peakScore: 3.5, threshold: 2, details: #"{"id":"pump-1-1780000000000"}"#),
            AlertRecord(id: 2, machine: "pump-1", kind: "sensor_stale", severity: "warning", state: .acknowledged,
                        label: true, note: "valve", started: Self.at(10), peakScore: 0, threshold: 0),
            AlertRecord(id: 3, machine: "pump-1", kind: "anomaly", severity: "critical", state: .cleared,
                        label: false, note: "false alarm: load change", started: Self.at(20), ended: Self.at(30),
                        peakScore: 9, threshold: 2, details: #"{"x":1}"#),
        ])
        // Acknowledged before schema 2: still acknowledged, with no invented name or time, and
        // acknowledging it again does not pretend to be the first.
        #expect(alerts[1].isAcknowledged && alerts[1].acknowledgedBy == nil && alerts[1].acknowledgedAt == nil)
        let again = try buffer.acknowledge(alert: 2, by: "late", at: Self.at(100))
        #expect(again.acknowledgedBy == nil && again.acknowledgedAt == nil && again.state == .acknowledged)
        // A migrated open alert records its first acknowledgement.
        let first = try buffer.acknowledge(alert: 1, by: "maria", at: Self.at(50))
        #expect(first.state == .acknowledged && first.acknowledgedBy == "maria" && first.acknowledgedAt == Self.at(50))

        // A second open is a no-op migration-wise.
        _ = try BufferDatabase(path: db.path)
        #expect(try queryInteger(db.path, "SELECT count(*) FROM schema_history") == 4)
        #expect(try BufferDatabase(path: db.path, access: .readOnly).alert(id: 1)?.acknowledgedBy == "maria")
    }

    @Test func theFirstAcknowledgementIsKeptAndSurvivesTheAgentsRewrites() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let buffer = try BufferDatabase(path: db.path)
        var row = AlertRecord(machine: "c-1", kind: "anomaly", severity: "warning", started: Self.at(0), peakScore: 2, threshold: 1)
        row.id = try buffer.insertAlert(row)
        #expect(try buffer.alert(id: row.id)?.isAcknowledged == false)

        let first = try buffer.acknowledge(alert: row.id, by: "maria", at: Self.at(5))
        #expect(first.state == .acknowledged && first.acknowledgedBy == "maria" && first.acknowledgedAt == Self.at(5))
        let second = try buffer.acknowledge(alert: row.id, by: "joe", at: Self.at(9))
        #expect(second == first)

        // The agent rewrites the row from its own view (state open, no acknowledgement: it read
        // the row before the operator acknowledged): the acknowledgement stays.
        var rewrite = row
        rewrite.peakScore = 4
        rewrite.details = #"{"event":"updated"}"#
        try buffer.updateAlert(rewrite)
        var expected = first
        expected.peakScore = 4
        expected.details = rewrite.details
        #expect(try buffer.alert(id: row.id) == expected)

        // Cleared: the state says cleared, who and when stay.
        rewrite.state = .cleared
        rewrite.ended = Self.at(30)
        try buffer.updateAlert(rewrite)
        let cleared = try #require(try buffer.alert(id: row.id))
        #expect(cleared.state == .cleared && cleared.isAcknowledged)
        #expect(cleared.acknowledgedBy == "maria" && cleared.acknowledgedAt == Self.at(5))

        // An alert acknowledged only after it cleared (e.g. while labelling it) records who and
        // when and stays cleared; one nobody acknowledged is not acknowledged.
        var late = AlertRecord(machine: "c-1", kind: "anomaly", severity: "warning", state: .cleared, started: Self.at(40),
                               ended: Self.at(50), peakScore: 2, threshold: 1)
        late.id = try buffer.insertAlert(late)
        #expect(try buffer.alert(id: late.id)?.isAcknowledged == false)
        let afterwards = try buffer.acknowledge(alert: late.id, by: nil, at: Self.at(60))
        #expect(afterwards.state == .cleared && afterwards.isAcknowledged && afterwards.acknowledgedBy == nil)
        #expect(afterwards.acknowledgedAt == Self.at(60))

        let missing = #expect(throws: StoreError.self) { try buffer.acknowledge(alert: 999, by: "x") }
        #expect(missing?.code == .invalidArgument)
    }
}
