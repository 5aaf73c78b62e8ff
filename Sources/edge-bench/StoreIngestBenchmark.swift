// `edge-bench store-ingest [--quick] [--readings N] [--transaction T]`: sustained ingest through
// the Store's writer thread against a minimal loop on the raw SQLite C API (same schema, same
// pragmas, same transaction size), and bytes per reading on disk.
import CSQLite
import Configuration
import EdgeCore
import Store

#if canImport(Glibc)
import Glibc
#endif

private let machines = 20
private let sensorsPerMachine = 25

func storeIngestBenchmark(_ args: [String]) throws -> Int32 {
    var readings = 10_000_000
    var transaction = 5_000
    var i = 0
    while i < args.count {
        switch args[i] {
        case "--quick": readings = 1_000_000
        case "--readings": i += 1; readings = Int(args[i]) ?? readings
        case "--transaction": i += 1; transaction = Int(args[i]) ?? transaction
        default:
            printToStandardError("usage: edge-bench store-ingest [--quick] [--readings N] [--transaction T]")
            return 2
        }
        i += 1
    }
    let perPoll = machines * sensorsPerMachine
    let polls = max(1, readings / perPoll)
    readings = polls * perPoll
    var template = Array("/tmp/edge-bench-store-XXXXXX".utf8CString)
    guard let dir = mkdtemp(&template).map({ String(cString: $0) }) else {
        printToStandardError("cannot create a temporary directory in /tmp")
        return 1
    }
    defer { _ = system("rm -rf '\(dir)'") }
    print("store-ingest: \(readings) readings (\(polls) polls × \(perPoll) sensors), \(transaction) readings per transaction")

    // Raw C API loop.
    let rawPath = dir + "/raw.db"
    _ = try BufferDatabase(path: rawPath)
    let rawSeconds = try rawLoop(path: rawPath, polls: polls, perPoll: perPoll, transaction: transaction)
    let rawBytes = checkpointedSize(rawPath)

    // Our writer thread.
    let ourPath = dir + "/store.db"
    let configuration = benchConfiguration()
    let mapping = try BufferDatabase(path: ourPath).registerSensors(configuration)
    var options = ReadingWriter.Options()
    options.maxReadingsPerTransaction = transaction
    let writer = try ReadingWriter(path: ourPath, mapping: mapping, options: options)
    let start = SystemClock.monotonicNanoseconds()
    var rejected = 0
    for poll in 0..<polls {
        var batch: [Reading] = []
        batch.reserveCapacity(perPoll)
        let time = Timestamp(millisecondsSinceEpoch: 1_780_000_000_000 + Int64(poll) * 1000)
        for m in 0..<machines {
            for s in 0..<sensorsPerMachine {
                batch.append(Reading(
                    machine: Int32(m), sensor: Int32(s), time: time, value: benchValue(poll, m * sensorsPerMachine + s),
                    quality: .good))
            }
        }
        while case .rejectedQueueFull = writer.append(batch) {
            rejected += 1
            usleep(200)
        }
    }
    guard writer.flush(timeout: .seconds(600)) else {
        printToStandardError("writer did not finish within 600 s")
        return 1
    }
    let ourSeconds = Double(SystemClock.monotonicNanoseconds() - start) / 1e9
    let statistics = writer.statistics
    writer.close()
    let ourBytes = checkpointedSize(ourPath)

    let rawRate = Double(readings) / rawSeconds
    let ourRate = Double(readings) / ourSeconds
    func f(_ x: Double, _ digits: Int = 0) -> String {
        var s = "\(Double(Int64(x * pow(10, Double(digits))))/pow(10, Double(digits)))"
        if digits == 0, s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }
    print("raw C API loop:  \(f(rawSeconds, 2)) s  \(f(rawRate)) readings/s  \(f(Double(rawBytes) / Double(readings), 2)) bytes/reading")
    print("Store writer:    \(f(ourSeconds, 2)) s  \(f(ourRate)) readings/s  \(f(Double(ourBytes) / Double(readings), 2)) bytes/reading")
    print("  transactions: \(statistics.committedTransactions) (mean \(f(Double(statistics.committedReadings) / Double(max(1, statistics.committedTransactions)))) readings), producer waits on a full queue: \(rejected)")
    print("ratio Store/raw: \(f(ourRate / rawRate, 3))  (target ≥ 0.8; ≥ 200000 readings/s)")
    print("file after \(readings) readings: \(ourBytes) bytes (\(f(Double(ourBytes) / 1_048_576, 1)) MiB)")
    return 0
}

private func benchValue(_ poll: Int, _ sensor: Int) -> Double {
    Double((poll &* 7 &+ sensor * 13) % 10_000) * 0.01 + 0.001
}

private func benchConfiguration() -> AgentConfiguration {
    let bus = BusConfiguration(name: "bus", transport: .tcp(host: "127.0.0.1", port: 502))
    let list = (0..<machines).map { m in
        MachineConfiguration(
            id: "machine\(m)",
            sensors: (0..<sensorsPerMachine).map { SensorConfiguration(name: "s\($0)", bus: "bus", address: $0) })
    }
    return AgentConfiguration(sourcePath: "(bench)", agent: AgentSettings(), buses: [bus], machines: list)
}

/// The practical limit: prepared INSERT, bind, step, reset; BEGIN/COMMIT every `transaction` rows.
private func rawLoop(path: String, polls: Int, perPoll: Int, transaction: Int) throws -> Double {
    var db: OpaquePointer?
    guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let db else {
        throw BenchError("cannot open \(path)")
    }
    defer { sqlite3_close_v2(db) }
    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw BenchError("\(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
    }
    // The same settings the Store's writer uses (journal_mode=WAL is persistent in the file).
    try exec("PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 1024; PRAGMA journal_size_limit = 4194304")
    // Sensor ids as registered by the Store for the same configuration: 1…perPoll.
    var statement: OpaquePointer?
    let sql = "INSERT OR REPLACE INTO readings(t_ms, sensor_id, value, quality) VALUES (?, ?, ?, ?)"
    guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
        throw BenchError("prepare: \(String(cString: sqlite3_errmsg(db)))")
    }
    defer { sqlite3_finalize(statement) }
    let start = SystemClock.monotonicNanoseconds()
    var inTransaction = 0
    try exec("BEGIN IMMEDIATE")
    for poll in 0..<polls {
        let time = 1_780_000_000_000 + Int64(poll) * 1000
        for sensor in 0..<perPoll {
            sqlite3_bind_int64(statement, 1, time)
            sqlite3_bind_int64(statement, 2, Int64(sensor + 1))
            sqlite3_bind_double(statement, 3, benchValue(poll, sensor))
            sqlite3_bind_int64(statement, 4, 0)
            guard sqlite3_step(statement) == SQLITE_DONE else {
                throw BenchError("insert: \(String(cString: sqlite3_errmsg(db)))")
            }
            sqlite3_reset(statement)
            inTransaction += 1
            if inTransaction == transaction {
                try exec("COMMIT; BEGIN IMMEDIATE")
                inTransaction = 0
            }
        }
    }
    try exec("COMMIT")
    return Double(SystemClock.monotonicNanoseconds() - start) / 1e9
}

/// The database file's size after a full checkpoint (WAL folded in and truncated).
private func checkpointedSize(_ path: String) -> Int64 {
    var db: OpaquePointer?
    if sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK, let db {
        _ = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nil, nil, nil)
        sqlite3_close_v2(db)
    }
    var info = stat()
    guard stat(path, &info) == 0 else { return 0 }
    return Int64(info.st_size)
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
