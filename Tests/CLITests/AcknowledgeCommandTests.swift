import Foundation
import Testing
import TestSupport

/// `edge-agent ack`, `label --by` and `alerts` on a buffer an older agent wrote (schema 1, made
/// with its raw SQL by the sqlite3 shell): the first command that writes migrates it, and every
/// row is still there.
@Suite("edge-agent ack and alerts")
struct AcknowledgeCommandTests {
    static let sqlite3 = "/usr/bin/sqlite3"

    /// The schema-1 buffer as edge-agent 0.x created it, with three alerts in it.
    static let schemaOne = """
        PRAGMA journal_mode = WAL;
        CREATE TABLE schema_history(version INTEGER PRIMARY KEY, agent_version TEXT NOT NULL, applied_ms INTEGER NOT NULL);
        CREATE TABLE machines(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE sensors(id INTEGER PRIMARY KEY, machine_id INTEGER NOT NULL REFERENCES machines(id), name TEXT NOT NULL,
            unit TEXT NOT NULL DEFAULT '', UNIQUE(machine_id, name));
        CREATE TABLE readings(t_ms INTEGER NOT NULL, sensor_id INTEGER NOT NULL, value REAL, quality INTEGER NOT NULL,
            PRIMARY KEY(t_ms, sensor_id)) WITHOUT ROWID;
        CREATE TABLE alerts(id INTEGER PRIMARY KEY, machine TEXT NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL,
            state TEXT NOT NULL CHECK(state IN ('open', 'acknowledged', 'cleared')), label INTEGER CHECK(label IN (0, 1)),
            note TEXT NOT NULL DEFAULT '', started_ms INTEGER NOT NULL, ended_ms INTEGER, peak_score REAL NOT NULL,
            threshold REAL NOT NULL, details TEXT NOT NULL DEFAULT '{}');
        CREATE INDEX alerts_by_start ON alerts(started_ms);
        CREATE TABLE models(id INTEGER PRIMARY KEY, machine TEXT NOT NULL, created_ms INTEGER NOT NULL, windows INTEGER NOT NULL,
            threshold REAL NOT NULL, blob BLOB NOT NULL, metadata TEXT NOT NULL DEFAULT '{}');
        CREATE INDEX models_by_machine ON models(machine, created_ms);
        CREATE TABLE calibrations(id INTEGER PRIMARY KEY, machine TEXT NOT NULL, started_ms INTEGER NOT NULL,
            finished_ms INTEGER NOT NULL, windows INTEGER NOT NULL, threshold REAL, outcome TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}');
        CREATE INDEX calibrations_by_machine ON calibrations(machine, started_ms);
        CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        INSERT INTO schema_history VALUES (1, '0.9.0', 1700000000000);
        INSERT INTO machines VALUES (1, 'pump-1');
        INSERT INTO sensors VALUES (1, 1, 'flow', 'm3/h');
        INSERT INTO readings VALUES (1780000000000, 1, 12.5, 0), (1780000001000, 1, 12.6, 0);
        INSERT INTO alerts(id, machine, kind, severity, state, label, note, started_ms, ended_ms, peak_score, threshold, details) VALUES
            (1, 'pump-1', 'anomaly', 'warning', 'open', NULL, '', 1780000000000, NULL, 3.5, 2,
             '{"id":"pump-1-1780000000000","message":"pump-1: flow low"}'),
            (2, 'pump-1', 'sensor_stale', 'warning', 'acknowledged', NULL, '', 1780000010000, NULL, 0, 0, '{}'),
            (3, 'pump-1', 'anomaly', 'critical', 'cleared', NULL, '', 1780000020000, 1780000030000, 9, 2, '{}'),
            (4, 'pump-1', 'anomaly', 'warning', 'open', NULL, '', 1780000040000, NULL, 2.5, 2, '{}');
        PRAGMA user_version = 1;
        """

    private func run(_ arguments: [String]) async throws -> ProgramRun {
        let executable = try #require(builtExecutable(named: "edge-agent"), "edge-agent is not built; run `swift build` first")
        var environment = ProcessInfo.processInfo.environment
        environment["LOGNAME"] = "ops-login-name"
        return try await runProgram(executable, arguments, environment: environment)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: sqlite3)))
    func acknowledgementsAreRecordedShownAndKeptOnAnOldBuffer() async throws {
        let folder = try TemporaryDirectory(prefix: "cli-ack")
        defer { folder.remove() }
        let data = folder.file("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try bufferOnlyConfiguration(dataDirectory: data).write(toFile: folder.file("agent.conf"), atomically: true, encoding: .utf8)
        let database = data + "/edge-agent.db"
        #expect(try await runProgram(Self.sqlite3, [database, Self.schemaOne]).status == 0)
        let config = ["--config", folder.file("agent.conf")]

        // Listing reads it as it is (read-only: not upgraded).
        let before = try await run(["alerts"] + config)
        #expect(before.status == 0, "\(before.standardError)")
        #expect(before.standardOutput.contains("#1  pump-1  anomaly warning  open"), "\(before.standardOutput)")
        #expect(before.standardOutput.contains("    acknowledged (who and when not recorded"), "\(before.standardOutput)")
        let unchanged = try await runProgram(Self.sqlite3, [database, "SELECT user_version FROM pragma_user_version"])
        #expect(unchanged.standardOutput == "1\n")

        // The first acknowledgement migrates the buffer and records who.
        let ack = try await run(["ack", "pump-1-1780000000000", "--by", "maria"] + config)
        #expect(ack.status == 0, "\(ack.standardError)")
        #expect(ack.standardOutput.hasPrefix("alert #1 (pump-1 anomaly, acknowledged): acknowledged by maria at 20"), "\(ack.standardOutput)")
        let again = try await run(["ack", "#1", "--by", "joe"] + config)
        #expect(again.status == 0)
        #expect(again.standardOutput.contains("already acknowledged by maria at 20"), "\(again.standardOutput)")
        #expect(again.standardOutput.hasSuffix("; kept\n"))
        let old = try await run(["ack", "2", "--by", "joe"] + config)
        #expect(old.standardOutput.contains("already acknowledged (who and when not recorded"), "\(old.standardOutput)")
        // Labelling a cleared alert acknowledges it too, with --by; without --by the login name.
        #expect(try await run(["label", "3", "--false", "--note", "load change", "--by", "joe"] + config).status == 0)
        #expect(try await run(["ack", "4"] + config).status == 0)
        let missing = try await run(["ack", "99", "--by", "joe"] + config)
        #expect(missing.status != 0)
        #expect(missing.standardError.contains("alert 99 does not exist"), "\(missing.standardError)")

        let list = try await run(["alerts", "--json"] + config)
        #expect(list.status == 0, "\(list.standardError)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [[String: Any]])
        let byNumber = Dictionary(uniqueKeysWithValues: rows.compactMap { row in (row["number"] as? Int).map { ($0, row) } })
        #expect(byNumber.keys.sorted() == [1, 2, 3, 4])
        #expect(byNumber[1]?["acknowledged"] as? Bool == true)
        #expect(byNumber[1]?["acknowledged_by"] as? String == "maria")
        #expect((byNumber[1]?["acknowledged_at"] as? String)?.hasSuffix("Z") == true)
        #expect(byNumber[1]?["state"] as? String == "acknowledged")
        #expect(byNumber[2]?["acknowledged"] as? Bool == true)
        #expect(byNumber[2]?["acknowledged_by"] is NSNull)
        #expect(byNumber[3]?["state"] as? String == "cleared")
        #expect(byNumber[3]?["acknowledged_by"] as? String == "joe")
        #expect(byNumber[3]?["label"] as? String == "false" && byNumber[3]?["note"] as? String == "load change")
        // Which score judged them was not recorded then: absent, not guessed.
        #expect(rows.allSatisfy { $0["scored_by"] == nil }, "\(list.standardOutput)")
        let defaultName = byNumber[4]?["acknowledged_by"] as? String
        #expect(defaultName?.isEmpty == false, "default acknowledger: \(String(describing: defaultName))")

        let text = try await run(["alerts"] + config)
        #expect(text.standardOutput.contains("    acknowledged by maria at 20"), "\(text.standardOutput)")
        #expect(text.standardOutput.contains("    acknowledged (who and when not recorded"))
        #expect(text.standardOutput.contains("    pump-1: flow low"))

        // Nothing the old agent stored was lost.
        let counts = try await runProgram(Self.sqlite3, [database,
            "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM alerts), (SELECT user_version FROM pragma_user_version)"])
        #expect(counts.standardOutput == "2|4|4\n")  // migrated to schema 4
    }
}
