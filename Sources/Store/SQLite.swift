// A small wrapper of the SQLite C API: a connection, prepared statements and typed errors.
// No C type leaves this module: handles are internal, every result code is checked and
// turned into `SQLiteError`.
import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An error reported by SQLite, with the result code callers act on.
///
/// `reason` is what to switch on; `code` / `extendedCode` and `message` (from
/// `sqlite3_errmsg`) are for logs and bug reports.
public struct SQLiteError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong, grouped by what a caller does about it.
    public enum Reason: String, Sendable, Hashable {
        /// Another connection holds the lock for longer than the busy timeout: retry later.
        case busy
        /// A lock conflict inside this process (shared cache / same connection): retry later.
        case locked
        /// The disk (or `max_page_count`) is full: free space, data is kept in memory meanwhile.
        case full
        /// The file or its directory is read-only: fix permissions or the mount.
        case readOnly
        /// The file is damaged: restore or delete it.
        case corrupt
        /// The file is not an SQLite database at all.
        case notADatabase
        /// The file cannot be opened (missing directory, permissions).
        case cannotOpen
        /// An operating-system I/O error (failing disk, removed device).
        case ioError
        /// A constraint (UNIQUE, NOT NULL, CHECK, foreign key) refused the change.
        case constraint
        /// SQLite ran out of memory.
        case noMemory
        /// Permission denied by the operating system (EACCES).
        case permission
        /// The SQL text is wrong or refers to something missing (a programming error).
        case sqlError
        /// An API misuse or a value out of range (a programming error).
        case misuse
        /// Anything else; see `code` and `message`.
        case other
    }

    /// The mapped reason.
    public var reason: Reason
    /// The primary result code (`SQLITE_FULL` = 13, …).
    public var code: Int32
    /// The extended result code (`SQLITE_IOERR_WRITE`, …); equal to `code` when there is none.
    public var extendedCode: Int32
    /// SQLite's message (`sqlite3_errmsg`) at the time of the failure.
    public var message: String
    /// What we were doing, e.g. `open /var/lib/edge-agent/edge-agent.db` or the SQL text.
    public var context: String

    /// Creates an error from a result code; `reason` is derived from it.
    public init(code: Int32, extendedCode: Int32? = nil, message: String, context: String) {
        self.code = code & 0xff
        self.extendedCode = extendedCode ?? code
        self.message = message
        self.context = context
        self.reason = SQLiteError.reason(primary: code & 0xff, extended: extendedCode ?? code)
    }

    static func reason(primary: Int32, extended: Int32) -> Reason {
        switch primary {
        case SQLITE_BUSY: return .busy
        case SQLITE_LOCKED: return .locked
        case SQLITE_FULL: return .full
        case SQLITE_READONLY: return .readOnly
        case SQLITE_CORRUPT: return .corrupt
        case SQLITE_NOTADB: return .notADatabase
        case SQLITE_CANTOPEN: return .cannotOpen
        case SQLITE_IOERR:
            // An I/O error caused by a full disk (ENOSPC on write/fsync) is reported by SQLite
            // as SQLITE_FULL already; EACCES shows as SQLITE_IOERR_ACCESS / SQLITE_PERM.
            return extended == CSQLite_IOERR_ACCESS ? .permission : .ioError
        case SQLITE_CONSTRAINT: return .constraint
        case SQLITE_NOMEM: return .noMemory
        case SQLITE_PERM, SQLITE_AUTH: return .permission
        case SQLITE_ERROR: return .sqlError
        case SQLITE_MISUSE, SQLITE_RANGE, SQLITE_MISMATCH, SQLITE_TOOBIG: return .misuse
        default: return .other
        }
    }

    /// Whether the failure is about the storage (full, read-only, I/O, permissions) and may go
    /// away by itself or by an operator's action, so that the write should be retried later.
    public var isStorageProblem: Bool {
        switch reason {
        case .full, .readOnly, .ioError, .cannotOpen, .permission, .busy, .locked, .noMemory: return true
        default: return false
        }
    }

    /// One line: reason, codes, message and context.
    public var description: String {
        let codes = extendedCode == code ? "\(code)" : "\(code)/\(extendedCode)"
        return "SQLite \(reason.rawValue) (code \(codes)): \(message) [\(context)]"
    }
}

/// An open SQLite database connection, closed when the value is released.
///
/// - Important: a connection is used by one thread at a time (it is opened with
///   `SQLITE_OPEN_NOMUTEX`); the types that share one across threads guard it with a lock.
public final class SQLiteConnection {
    /// How to open the file.
    public enum Mode: Sendable {
        /// Read only; the file must exist.
        case readOnly
        /// Read and write; the file must exist.
        case readWrite
        /// Read and write; the file is created when missing.
        case readWriteCreate
    }

    let handle: OpaquePointer
    /// The path this connection was opened on.
    public let path: String

    /// Opens `path` with `sqlite3_open_v2` and enables extended result codes.
    /// - Throws: `SQLiteError` (`.cannotOpen`, `.readOnly`, `.notADatabase`, …).
    public init(path: String, mode: Mode) throws(SQLiteError) {
        var flags = SQLITE_OPEN_NOMUTEX
        switch mode {
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        }
        if mode == .readWriteCreate {
            // SQLite would create the file with 0644 & ~umask; create it first with 0640 so the
            // buffer is never world-readable, whatever the umask. SQLite gives the -wal and
            // -shm files the database file's mode.
            // EEXIST: the file is there already. Any other failure is left to sqlite3_open_v2,
            // which reports it with the path and SQLite's message.
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
            if fd >= 0 { close(fd) }
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            // sqlite3_open_v2 usually hands back a handle even on failure; it carries the message
            // and must be closed.
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            let extended = db.map { sqlite3_extended_errcode($0) } ?? rc
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, extendedCode: extended, message: message, context: "open \(path)")
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// The error for a failed call, with the connection's current message.
    func error(_ rc: Int32, _ context: @autoclosure () -> String) -> SQLiteError {
        SQLiteError(
            code: rc, extendedCode: sqlite3_extended_errcode(handle),
            message: String(cString: sqlite3_errmsg(handle)), context: context())
    }

    /// Runs one or more SQL statements that return no rows of interest (`sqlite3_exec`).
    public func execute(_ sql: String) throws(SQLiteError) {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, sql) }
    }

    /// Compiles one SQL statement for repeated use.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK else { throw error(rc, sql) }
        guard let statement else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "no statement in SQL text", context: sql)
        }
        return SQLiteStatement(handle: statement, connection: self, sql: sql)
    }

    /// Runs a query expected to return one integer (e.g. `PRAGMA page_count`), or nil for no row
    /// or a NULL.
    public func integer(_ sql: String) throws(SQLiteError) -> Int64? {
        let statement = try prepare(sql)
        guard try statement.step(), !statement.isNull(at: 0) else { return nil }
        return statement.int64(at: 0)
    }

    /// Runs a query expected to return one text value (e.g. `PRAGMA journal_mode=WAL`).
    public func text(_ sql: String) throws(SQLiteError) -> String? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.text(at: 0)
    }

    /// How long a statement waits for another connection's lock before failing with `.busy`.
    public func setBusyTimeout(milliseconds: Int32) throws(SQLiteError) {
        let rc = sqlite3_busy_timeout(handle, milliseconds)
        guard rc == SQLITE_OK else { throw error(rc, "busy_timeout") }
        busyTimeoutMilliseconds = milliseconds
    }

    /// The busy timeout last set with `setBusyTimeout` (SQLite has no call to read it back).
    private var busyTimeoutMilliseconds: Int32 = 0

    /// Copies the whole write-ahead log into the database file and truncates the log to zero
    /// bytes (`SQLITE_CHECKPOINT_TRUNCATE`), without waiting: when another connection is
    /// reading from the log, nothing is truncated and this returns false (try again later).
    ///
    /// Why it exists: SQLite shrinks the log to `journal_size_limit` only when the next write
    /// starts over at its beginning. A log that grew while a reader held it open therefore keeps
    /// its size on disk until the next write, forever on an idle connection.
    /// - Returns: whether the log was emptied.
    /// - Throws: `SQLiteError` for a failure other than a reader or writer in the way.
    public func truncateWriteAheadLogIfIdle() throws(SQLiteError) -> Bool {
        // No busy handler for this call: TRUNCATE would otherwise wait up to the busy timeout
        // for every reader to finish, holding up this connection's thread.
        sqlite3_busy_timeout(handle, 0)
        defer { sqlite3_busy_timeout(handle, busyTimeoutMilliseconds) }
        let rc = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
        switch rc & 0xff {
        case SQLITE_OK: return true
        case SQLITE_BUSY, SQLITE_LOCKED: return false
        default: throw error(rc, "wal_checkpoint(TRUNCATE)")
        }
    }

    /// Caps this connection's page cache at `kilobytes` (`PRAGMA cache_size = -N`; SQLite's
    /// default is 2,000 KiB); pages beyond it are freed at once.
    public func limitPageCache(kilobytes: Int) throws(SQLiteError) {
        try execute("PRAGMA cache_size = -\(max(1, kilobytes))")
    }

    /// Frees the pages this connection's page cache holds outside a running statement
    /// (`sqlite3_db_release_memory`): the memory goes back to the allocator now instead of
    /// when SQLite next drops the cache.
    public func releaseCacheMemory() {
        // Always SQLITE_OK (the call only frees unused pages), so there is nothing to report.
        _ = sqlite3_db_release_memory(handle)
    }

    /// Bytes this connection's page cache holds now (`SQLITE_DBSTATUS_CACHE_USED`), or nil when
    /// SQLite cannot tell.
    var pageCacheBytes: Int? {
        var current: Int32 = 0
        var highwater: Int32 = 0
        guard sqlite3_db_status(handle, SQLITE_DBSTATUS_CACHE_USED, &current, &highwater, 0) == SQLITE_OK else { return nil }
        return Int(current)
    }

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changedRowCount: Int { Int(sqlite3_changes64(handle)) }

    /// Whether no transaction is open (autocommit mode).
    public var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back when it throws.
    public func transaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            rollbackIfOpen()
            throw error
        }
    }

    /// Rolls back the open transaction, if any (after a failed statement or COMMIT).
    public func rollbackIfOpen() {
        guard !isAutocommit else { return }
        // A failing ROLLBACK leaves nothing more to do: SQLite has already rolled back or
        // will on close; the original error is what the caller reports.
        _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
    }
}

/// A prepared statement, reset and rebound for reuse, finalized when released.
public final class SQLiteStatement {
    let handle: OpaquePointer
    /// Keeps the connection open while the statement lives.
    let connection: SQLiteConnection
    /// The SQL text (for error messages).
    public let sql: String

    init(handle: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.handle = handle
        self.connection = connection
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    @inline(__always)
    private func check(_ rc: Int32) throws(SQLiteError) {
        guard rc == SQLITE_OK else { throw connection.error(rc, sql) }
    }

    /// Binds an integer to the 1-based parameter `index`.
    @inline(__always)
    public func bind(_ value: Int64, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    /// Binds an integer to the 1-based parameter `index`.
    public func bind(_ value: Int, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, Int64(value)))
    }

    /// Binds a real to the 1-based parameter `index`.
    @inline(__always)
    public func bind(_ value: Double, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_double(handle, index, value))
    }

    /// Binds text (copied) to the 1-based parameter `index`.
    public func bind(_ value: String, at index: Int32) throws(SQLiteError) {
        let rc = sqlite3_bind_text(handle, index, value, -1, CSQLite_TRANSIENT())
        try check(rc)
    }

    /// Binds a blob (copied) to the 1-based parameter `index`.
    public func bind(_ value: [UInt8], at index: Int32) throws(SQLiteError) {
        let rc = value.withUnsafeBytes { buffer in
            // A zero-length blob still needs a non-NULL pointer, or SQLite stores NULL.
            sqlite3_bind_blob(handle, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buffer.count), CSQLite_TRANSIENT())
        }
        try check(rc)
    }

    /// Binds NULL to the 1-based parameter `index`.
    @inline(__always)
    public func bindNull(at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_null(handle, index))
    }

    /// Binds an optional integer (NULL for nil).
    public func bind(_ value: Int64?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    /// Binds an optional real (NULL for nil).
    public func bind(_ value: Double?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    /// Binds optional text (NULL for nil).
    public func bind(_ value: String?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    /// Runs the statement one step: true when a row is available, false when done.
    @inline(__always)
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw connection.error(rc, sql)
    }

    /// Runs a statement that returns no rows, then resets it for reuse.
    public func run() throws(SQLiteError) {
        defer { reset() }
        while try step() {}
    }

    /// Makes the statement ready to run again; bindings are kept until rebound.
    ///
    /// `sqlite3_reset` repeats the error of the last failed step, which `step()` has already
    /// reported, so its result is not an error of its own.
    @inline(__always)
    public func reset() {
        _ = sqlite3_reset(handle)
    }

    /// Sets every parameter back to NULL.
    public func clearBindings() {
        _ = sqlite3_clear_bindings(handle)
    }

    /// Whether the column of the current row is NULL.
    public func isNull(at column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    /// The column of the current row as an integer (0 for NULL).
    @inline(__always)
    public func int64(at column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    /// The column of the current row as a real (0 for NULL).
    @inline(__always)
    public func double(at column: Int32) -> Double {
        sqlite3_column_double(handle, column)
    }

    /// The column of the current row as text, or nil for NULL.
    public func text(at column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// The column of the current row as bytes, or nil for NULL.
    public func blob(at column: Int32) -> [UInt8]? {
        if isNull(at: column) { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
