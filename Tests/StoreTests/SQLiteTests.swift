import Foundation
import Testing

@testable import Store

@Suite struct SQLiteWrapperTests {
    @Test func preparedStatementIsReusedWithNewBindings() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let connection = try SQLiteConnection(path: db.path, mode: .readWriteCreate)
        try connection.execute("CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB)")
        let insert = try connection.prepare("INSERT INTO t VALUES (?, ?, ?, ?)")
        for i in 0..<3 {
            try insert.bind(Int64(i), at: 1)
            try insert.bind(Double(i) + 0.5, at: 2)
            try insert.bind("row \(i) ✓", at: 3)
            try insert.bind([UInt8](repeating: UInt8(i), count: i), at: 4)
            try insert.run()
        }
        try insert.bindNull(at: 1)
        try insert.bind(Double?.none, at: 2)
        try insert.bind(String?.none, at: 3)
        try insert.bindNull(at: 4)
        try insert.run()
        let select = try connection.prepare("SELECT i, r, s, b FROM t ORDER BY rowid")
        var rows: [(Int64?, Double?, String?, [UInt8]?)] = []
        while try select.step() {
            rows.append((
                select.isNull(at: 0) ? nil : select.int64(at: 0), select.isNull(at: 1) ? nil : select.double(at: 1),
                select.text(at: 2), select.blob(at: 3)))
        }
        #expect(rows.count == 4)
        #expect(rows[2].0 == 2 && rows[2].1 == 2.5 && rows[2].2 == "row 2 ✓" && rows[2].3 == [2, 2])
        #expect(rows[0].3 == [])
        #expect(rows[3].0 == nil && rows[3].1 == nil && rows[3].2 == nil && rows[3].3 == nil)
    }

    @Test func constraintViolationIsTyped() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let connection = try SQLiteConnection(path: db.path, mode: .readWriteCreate)
        try connection.execute("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
        try connection.execute("INSERT INTO t(v) VALUES ('a')")
        let error = #expect(throws: SQLiteError.self) { try connection.execute("INSERT INTO t(v) VALUES ('a')") }
        #expect(error?.reason == .constraint)
        #expect(error?.code == 19)
        #expect(error?.extendedCode == 2067)  // SQLITE_CONSTRAINT_UNIQUE
        #expect(error?.message.contains("UNIQUE") == true)
    }

    @Test func syntaxErrorIsTyped() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let connection = try SQLiteConnection(path: db.path, mode: .readWriteCreate)
        let error = #expect(throws: SQLiteError.self) { _ = try connection.prepare("SELEC 1") }
        #expect(error?.reason == .sqlError)
        #expect(error?.context == "SELEC 1")
    }

    @Test func missingDirectoryCannotOpen() throws {
        let error = #expect(throws: SQLiteError.self) {
            _ = try SQLiteConnection(path: "/nonexistent-dir-\(UInt32.random(in: 0...UInt32.max))/x.db", mode: .readWriteCreate)
        }
        #expect(error?.reason == .cannotOpen)
    }

    @Test func garbageFileIsNotADatabase() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: db.path))
        let error = #expect(throws: SQLiteError.self) {
            let connection = try SQLiteConnection(path: db.path, mode: .readWrite)
            _ = try connection.integer("PRAGMA user_version")
        }
        #expect(error?.reason == .notADatabase)
    }

    @Test func writeThroughReadOnlyConnectionIsReadOnly() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        try SQLiteConnection(path: db.path, mode: .readWriteCreate).execute("CREATE TABLE t(x)")
        let connection = try SQLiteConnection(path: db.path, mode: .readOnly)
        let error = #expect(throws: SQLiteError.self) { try connection.execute("INSERT INTO t VALUES (1)") }
        #expect(error?.reason == .readOnly)
        #expect(error?.isStorageProblem == true)
    }

    @Test func failedTransactionRollsBack() throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let connection = try SQLiteConnection(path: db.path, mode: .readWriteCreate)
        try connection.execute("CREATE TABLE t(x INTEGER NOT NULL)")
        #expect(throws: SQLiteError.self) {
            try connection.transaction {
                try connection.execute("INSERT INTO t VALUES (1)")
                try connection.execute("INSERT INTO t VALUES (NULL)")
            }
        }
        #expect(connection.isAutocommit)
        #expect(try connection.integer("SELECT count(*) FROM t") == 0)
    }

    @Test(arguments: [
        (Int32(5), SQLiteError.Reason.busy), (13, .full), (8, .readOnly), (11, .corrupt), (26, .notADatabase),
        (14, .cannotOpen), (10, .ioError), (19, .constraint), (7, .noMemory), (3, .permission), (1, .sqlError),
        (21, .misuse), (6, .locked),
    ])
    func resultCodesMapToReasons(code: Int32, reason: SQLiteError.Reason) {
        #expect(SQLiteError(code: code, message: "", context: "").reason == reason)
    }

    @Test func ioErrorAccessIsPermission() {
        // SQLITE_IOERR_ACCESS = SQLITE_IOERR | (13 << 8): EACCES on a file.
        #expect(SQLiteError(code: 10 | (13 << 8), message: "", context: "").reason == .permission)
        #expect(SQLiteError(code: 10 | (3 << 8), message: "", context: "").reason == .ioError)
    }
}
