// The buffer's schema, its version (PRAGMA user_version) and the migrations that run at open.
import EdgeCore

/// Where the database lives and which schema version this build writes.
public enum Store {
    /// The database file name inside `agent.data_dir`.
    public static let databaseFileName = "edge-agent.db"

    /// The database path every command uses: `<dataDirectory>/edge-agent.db`.
    public static func databasePath(dataDirectory: String) -> String {
        dataDirectory.hasSuffix("/") ? dataDirectory + databaseFileName : dataDirectory + "/" + databaseFileName
    }

    /// The schema version this build creates and understands.
    public static var schemaVersion: Int { Schema.migrations.count }
}

/// A problem with the buffer that is not a plain SQLite failure.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem; new codes may be added.
    public struct Code: Hashable, Sendable {
        let name: String
        /// The file was written by a newer edge-agent whose schema this build does not know.
        public static let schemaTooNew = Code(name: "schemaTooNew")
        /// The file has an older schema and was opened read-only, so it cannot be migrated.
        public static let schemaTooOld = Code(name: "schemaTooOld")
        /// The file has no buffer in it yet (the agent never ran with this data directory).
        public static let notInitialized = Code(name: "notInitialized")
        /// A machine or sensor named by the caller is not in the configuration or the database.
        public static let unknownMachine = Code(name: "unknownMachine")
        /// An argument is out of range (e.g. a window of zero steps).
        public static let invalidArgument = Code(name: "invalidArgument")
        /// The writer was closed; nothing more can be appended.
        public static let closed = Code(name: "closed")
    }

    /// What kind of problem.
    public var code: Code
    /// What happened and what to do next.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

enum Schema {
    /// Migration `i` takes the schema from version `i` to `i + 1`. Append only; never edit one
    /// that has shipped.
    static let migrations: [String] = [
        // 0 → 1: the first schema.
        """
        CREATE TABLE schema_history(
            version INTEGER PRIMARY KEY,
            agent_version TEXT NOT NULL,
            applied_ms INTEGER NOT NULL
        );
        CREATE TABLE machines(
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE sensors(
            id INTEGER PRIMARY KEY,
            machine_id INTEGER NOT NULL REFERENCES machines(id),
            name TEXT NOT NULL,
            unit TEXT NOT NULL DEFAULT '',
            UNIQUE(machine_id, name)
        );
        -- Keyed by time first: inserts append at the right edge of the b-tree (full pages),
        -- and retention by age deletes a prefix of the key.
        -- value is NULL when quality is not good (0 bytes on disk); from schema 3 also kept
        -- for quality 6, out_of_range.
        CREATE TABLE readings(
            t_ms INTEGER NOT NULL,
            sensor_id INTEGER NOT NULL,
            value REAL,
            quality INTEGER NOT NULL,
            PRIMARY KEY(t_ms, sensor_id)
        ) WITHOUT ROWID;
        CREATE TABLE alerts(
            id INTEGER PRIMARY KEY,
            machine TEXT NOT NULL,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL,
            state TEXT NOT NULL CHECK(state IN ('open', 'acknowledged', 'cleared')),
            label INTEGER CHECK(label IN (0, 1)),
            note TEXT NOT NULL DEFAULT '',
            started_ms INTEGER NOT NULL,
            ended_ms INTEGER,
            peak_score REAL NOT NULL,
            threshold REAL NOT NULL,
            details TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX alerts_by_start ON alerts(started_ms);
        CREATE TABLE models(
            id INTEGER PRIMARY KEY,
            machine TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            windows INTEGER NOT NULL,
            threshold REAL NOT NULL,
            blob BLOB NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX models_by_machine ON models(machine, created_ms);
        CREATE TABLE calibrations(
            id INTEGER PRIMARY KEY,
            machine TEXT NOT NULL,
            started_ms INTEGER NOT NULL,
            finished_ms INTEGER NOT NULL,
            windows INTEGER NOT NULL,
            threshold REAL,
            outcome TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX calibrations_by_machine ON calibrations(machine, started_ms);
        CREATE TABLE kv(
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
        // 1 → 2: who acknowledged an alert, and when (NULL: not acknowledged, or acknowledged
        // before this version, whose rows keep their state 'acknowledged' with no name or time).
        """
        ALTER TABLE alerts ADD COLUMN acknowledged_ms INTEGER;
        ALTER TABLE alerts ADD COLUMN acknowledged_by TEXT;
        """,
        // 2 → 3: no table changes. Readings may have quality 6 (out_of_range: decoded, outside
        // the sensor's min…max) with their value kept as evidence. An older edge-agent takes
        // every non-NULL value as good, so it would calibrate on those; the version makes it
        // refuse this file instead (schemaTooNew).
        """
        SELECT 1;
        """,
        // 3 → 4: which score judged an anomaly alert (`window_deviation` or `network`). NULL for
        // data alerts, and for every alert stored before this version: not guessed from the message.
        """
        ALTER TABLE alerts ADD COLUMN scored_by TEXT;
        """,
    ]

    /// Applies the connection settings every read-write connection uses.
    static func configureWriter(_ connection: SQLiteConnection, walLimitBytes: Int64) throws(SQLiteError) {
        try connection.setBusyTimeout(milliseconds: 5000)
        // Set before the first table exists (it cannot change afterwards without VACUUM):
        // retention then gives freed pages back to the file system with incremental_vacuum.
        if try connection.integer("PRAGMA page_count") == 0 {
            try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        }
        let mode = try connection.text("PRAGMA journal_mode = WAL")
        guard mode?.lowercased() == "wal" else {
            throw SQLiteError(code: 1, message: "journal_mode is \(mode ?? "unknown"), WAL needed", context: connection.path)
        }
        try connection.execute("PRAGMA synchronous = NORMAL")
        // Keep the WAL small: checkpoint at walLimit and truncate the file back to it.
        let pageSize = try connection.integer("PRAGMA page_size") ?? 4096
        let pages = max(64, walLimitBytes / pageSize)
        try connection.execute("PRAGMA wal_autocheckpoint = \(pages)")
        try connection.execute("PRAGMA journal_size_limit = \(walLimitBytes)")
    }

    /// Checks the version and runs the missing migrations in one transaction.
    static func migrate(_ connection: SQLiteConnection) throws {
        let found = Int(try connection.integer("PRAGMA user_version") ?? 0)
        try refuseNewer(found, connection)
        if found == migrations.count { return }
        try connection.transaction {
            // Re-read under the write lock: another process may have migrated meanwhile.
            let current = Int(try connection.integer("PRAGMA user_version") ?? 0)
            try refuseNewer(current, connection)
            for version in current..<migrations.count {
                try connection.execute(migrations[version])
                let record = try connection.prepare(
                    "INSERT OR REPLACE INTO schema_history(version, agent_version, applied_ms) VALUES (?, ?, ?)")
                try record.bind(Int64(version + 1), at: 1)
                try record.bind(EdgeAgentVersion.string, at: 2)
                try record.bind(Timestamp.now().millisecondsSinceEpoch, at: 3)
                try record.run()
            }
            try connection.execute("PRAGMA user_version = \(migrations.count)")
        }
    }

    /// Checks the version of a database opened read-only and returns it: an older schema is
    /// read as it is (a read-only connection cannot migrate it, and `edge-agent alerts` or
    /// `status` must not need the agent started first); a newer one is refused.
    /// - Throws: `StoreError` `.notInitialized` for a file with no schema, `.schemaTooOld` for
    ///   one older than `oldestReadable`, `.schemaTooNew` for one newer than this build's.
    static func checkReadOnly(_ connection: SQLiteConnection) throws -> Int {
        let found = Int(try connection.integer("PRAGMA user_version") ?? 0)
        try refuseNewer(found, connection)
        if found == 0 {
            throw StoreError(
                .notInitialized,
                "\(connection.path) holds no edge-agent buffer yet: start the agent (edge-agent run) with this data_dir first")
        }
        if found < oldestReadable {
            throw StoreError(
                .schemaTooOld,
                "\(connection.path) has schema version \(found) (this edge-agent \(EdgeAgentVersion.string) uses \(migrations.count)): start the agent once to upgrade it, then retry")
        }
        return found
    }

    /// The oldest schema a read-only connection reads as it is: every version so far (schemas 2
    /// and 4 only added columns to `alerts`, which read as NULL from an older file; schema 3
    /// only added quality 6, which a schema-2 file does not hold).
    static let oldestReadable = 1

    private static func refuseNewer(_ found: Int, _ connection: SQLiteConnection) throws {
        guard found > migrations.count else { return }
        // Best effort: the newer schema may have changed this table too.
        var writer = "a newer edge-agent"
        if let statement = try? connection.prepare(
            "SELECT agent_version FROM schema_history ORDER BY version DESC LIMIT 1"),
            (try? statement.step()) == true, let version = statement.text(at: 0)
        {
            writer = "edge-agent \(version)"
        }
        throw StoreError(
            .schemaTooNew,
            "\(connection.path) was written by \(writer) (schema version \(found)); this edge-agent \(EdgeAgentVersion.string) understands schema versions up to \(migrations.count). Upgrade edge-agent, or move the file away to start a new buffer.")
    }
}
