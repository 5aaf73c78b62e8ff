// The buffer database for everything but the reading ingest (which the writer thread owns):
// sensor registration, alerts, models, calibrations, agent state, windows and ranges.
import Configuration
import EdgeCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A connection to the buffer file for reads and low-volume writes (alerts, models, state).
///
/// Opened read-write it creates the file and runs migrations; opened read-only (CLI commands
/// while the agent runs) it never blocks the writer, thanks to WAL. Calls are serialized on one
/// connection; blocking, so call it from a thread of your own or accept a short wait.
public final class BufferDatabase: Sendable {
    /// How the file is opened.
    public enum Access: Sendable {
        /// Read only: the file must exist and have this build's schema.
        case readOnly
        /// Read and write: created and migrated when needed.
        case readWrite
    }

    final class State {
        let connection: SQLiteConnection
        /// Prepared statements reused across calls, by SQL text.
        var statements: [String: SQLiteStatement] = [:]

        init(connection: SQLiteConnection) { self.connection = connection }

        func statement(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
            if let cached = statements[sql] {
                cached.reset()
                return cached
            }
            let statement = try connection.prepare(sql)
            statements[sql] = statement
            return statement
        }
    }

    private let state: Mutex<State>
    /// The database file.
    public let path: String
    /// How it was opened.
    public let access: Access
    /// The file's schema version: this build's once opened read-write (migrated); opened
    /// read-only, the version found, possibly older (read as it is, never migrated).
    public let schemaVersion: Int
    /// The alert columns this file has, in `alert(from:)`'s order.
    private let alertColumns: String

    /// Opens (and for `.readWrite` creates and migrates) the buffer at `path`.
    /// - Throws: `SQLiteError` when the file cannot be opened; `StoreError` with `.schemaTooNew`
    ///   when a newer edge-agent wrote it, `.notInitialized` for a read-only open of a file
    ///   with no buffer (an older schema is read as it is, see `schemaVersion`).
    public init(path: String, access: Access = .readWrite, walLimitBytes: Int64 = 4 << 20) throws {
        let connection = try SQLiteConnection(path: path, mode: access == .readOnly ? .readOnly : .readWriteCreate)
        // The busy timeout first: setting the cache size reads the schema, which waits for a
        // writer (the agent's, at start-up) instead of failing at once with SQLITE_BUSY.
        try connection.setBusyTimeout(milliseconds: 5000)
        try connection.limitPageCache(kilobytes: Self.pageCacheKilobytes)
        switch access {
        case .readWrite:
            try Schema.configureWriter(connection, walLimitBytes: walLimitBytes)
            try Schema.migrate(connection)
            schemaVersion = Schema.migrations.count
        case .readOnly:
            schemaVersion = try Schema.checkReadOnly(connection)
        }
        alertColumns = schemaVersion >= 4 ? Self.currentAlertColumns
            : schemaVersion >= 2 ? Self.schemaTwoAlertColumns : Self.schemaOneAlertColumns
        self.path = path
        self.access = access
        self.state = Mutex(State(connection: connection))
    }

    /// This connection's page cache, in KiB (SQLite's default is 2,000 KiB per connection).
    ///
    /// Its reads are one pass over a range (a period's readings, a window, the alerts of a
    /// period), and while the agent runs its writer commits every poll cycle, after which
    /// SQLite starts this connection's next read with an empty cache (WAL mode): a large cache
    /// holds nothing useful from one call to the next. An hour's summary filled the default
    /// 2,000 KiB on every chunk, and the agent's heap kept that peak (docs/performance.md).
    static let pageCacheKilobytes = 256

    /// Bytes the connection's page cache holds now, and its limit (`PRAGMA cache_size`), for tests.
    func pageCache() throws -> (bytes: Int?, limit: Int64?) {
        try withState { state in (state.connection.pageCacheBytes, try state.connection.integer("PRAGMA cache_size")) }
    }

    private func withState<R: Sendable>(_ body: (State) throws -> R) throws -> R {
        try state.withLock { state throws -> R in try body(state) }
    }

    // MARK: Machines and sensors

    /// Adds the configuration's machines and sensors to the database (keeping the ids of those
    /// already there, updating units) and returns the lookup from configuration indices to ids.
    public func registerSensors(_ configuration: AgentConfiguration) throws -> SensorMapping {
        try withState { state in
            try state.connection.transaction {
                let addMachine = try state.statement("INSERT INTO machines(name) VALUES (?) ON CONFLICT(name) DO NOTHING")
                let findMachine = try state.statement("SELECT id FROM machines WHERE name = ?")
                let addSensor = try state.statement(
                    "INSERT INTO sensors(machine_id, name, unit) VALUES (?, ?, ?) ON CONFLICT(machine_id, name) DO UPDATE SET unit = excluded.unit")
                let findSensor = try state.statement("SELECT id FROM sensors WHERE machine_id = ? AND name = ?")
                var machineIDs: [String: Int64] = [:]
                return try SensorMapping.build(configuration) { machine, sensor, unit in
                    let machineID: Int64
                    if let known = machineIDs[machine] {
                        machineID = known
                    } else {
                        try addMachine.bind(machine, at: 1)
                        try addMachine.run()
                        try findMachine.bind(machine, at: 1)
                        defer { findMachine.reset() }
                        guard try findMachine.step() else {
                            throw StoreError(.unknownMachine, "machine \(machine) vanished while registering it")
                        }
                        machineID = findMachine.int64(at: 0)
                        machineIDs[machine] = machineID
                    }
                    try addSensor.bind(machineID, at: 1)
                    try addSensor.bind(sensor, at: 2)
                    try addSensor.bind(unit, at: 3)
                    try addSensor.run()
                    try findSensor.bind(machineID, at: 1)
                    try findSensor.bind(sensor, at: 2)
                    defer { findSensor.reset() }
                    guard try findSensor.step() else {
                        throw StoreError(.unknownMachine, "sensor \(machine).\(sensor) vanished while registering it")
                    }
                    return findSensor.int64(at: 0)
                }
            }
        }
    }

    /// The lookup from configuration indices to ids without changing the database; sensors the
    /// database does not know (never recorded) map to no id.
    public func lookUpSensors(_ configuration: AgentConfiguration) throws -> SensorMapping {
        try withState { state in
            let find = try state.statement(
                "SELECT s.id FROM sensors s JOIN machines m ON m.id = s.machine_id WHERE m.name = ? AND s.name = ?")
            return try SensorMapping.build(configuration) { machine, sensor, _ in
                try find.bind(machine, at: 1)
                try find.bind(sensor, at: 2)
                defer { find.reset() }
                return try find.step() ? find.int64(at: 0) : -1
            }
        }
    }

    // MARK: Readings

    /// `sensor_id IN (…)` for a machine's known sensors, or nil when none is known.
    private static func sensorList(_ mapping: SensorMapping, machine: Int32) -> String? {
        let known = mapping.sensorIDs(ofMachine: machine).filter { $0 >= 0 }
        guard !known.isEmpty else { return nil }
        return "sensor_id IN (" + known.map(String.init).joined(separator: ",") + ")"
    }

    private static func checkMachine(_ machine: Int32, _ mapping: SensorMapping) throws {
        guard machine >= 0, Int(machine) < mapping.machineCount else {
            throw StoreError(.unknownMachine, "machine index \(machine) is not in the configuration (\(mapping.machineCount) machines)")
        }
    }

    /// The time of the newest reading of a machine, nil when it has none.
    public func newestReadingTime(machine: Int32, mapping: SensorMapping) throws -> Timestamp? {
        try Self.checkMachine(machine, mapping)
        guard let list = Self.sensorList(mapping, machine: machine) else { return nil }
        return try withState { state in
            let statement = try state.statement("SELECT t_ms FROM readings WHERE \(list) ORDER BY t_ms DESC LIMIT 1")
            defer { statement.reset() }
            return try statement.step() ? Timestamp(millisecondsSinceEpoch: statement.int64(at: 0)) : nil
        }
    }

    /// Fills `window` with a machine's latest readings on a grid of `stepMilliseconds` ending at
    /// `end` (default: the machine's newest reading).
    ///
    /// Each reading goes to the nearest grid row (so poll jitter below half a step does not
    /// open gaps); a row or cell without a good reading is a gap (NaN, `present` false).
    /// - Returns: false when the machine has no reading at all (the window is then all gaps).
    @discardableResult
    public func readWindow(
        machine: Int32, mapping: SensorMapping, stepMilliseconds: Int64, endingAt end: Timestamp? = nil,
        into window: inout Window
    ) throws -> Bool {
        try Self.checkMachine(machine, mapping)
        let columns = mapping.sensorIDs(ofMachine: machine)
        guard columns.count == window.sensors, stepMilliseconds > 0, window.steps > 0 else {
            throw StoreError(
                .invalidArgument,
                "window of \(window.steps)×\(window.sensors) with step \(stepMilliseconds) ms does not fit machine \(mapping.machineNames[Int(machine)]) (\(columns.count) sensors)")
        }
        window.clear()
        window.stepMilliseconds = stepMilliseconds
        guard let list = Self.sensorList(mapping, machine: machine) else { return false }
        guard let endTime = try end ?? newestReadingTime(machine: machine, mapping: mapping) else { return false }
        window.end = endTime
        let endMs = endTime.millisecondsSinceEpoch
        let half = stepMilliseconds / 2
        let steps = Int64(window.steps)
        let low = endMs - steps * stepMilliseconds + half
        let high = endMs + (stepMilliseconds - half)
        return try state.withLock { state throws -> Bool in
            let statement = try state.statement(
                "SELECT t_ms, sensor_id, value FROM readings WHERE t_ms > ?1 AND t_ms < ?2 AND \(list) AND quality = 0 ORDER BY t_ms")
            defer { statement.reset() }
            try statement.bind(low, at: 1)
            try statement.bind(high, at: 2)
            let first = columns.startIndex
            while try statement.step() {
                let back = (endMs - statement.int64(at: 0) + half) / stepMilliseconds
                guard back >= 0, back < steps else { continue }
                let row = Int(steps - 1 - back)
                let id = statement.int64(at: 1)
                guard let column = columns.firstIndex(of: id), !statement.isNull(at: 2) else { continue }
                let cell = row * window.sensors + (column - first)
                if !window.present[cell] { window.presentCount += 1 }
                window.values[cell] = Float(statement.double(at: 2))
                window.present[cell] = true
            }
            return true
        }
    }

    /// Calls `body` once per distinct reading time of a machine in `[from, until)`, oldest
    /// first, with one value per sensor (configuration order; NaN for a missing value or one
    /// that is not good, an out-of-range one included: `forEachRowWithQualities` gives those).
    ///
    /// Rows are stepped straight into one reused row: memory is one value per sensor whatever
    /// the period (an hour of a 10-sensor machine at 10 Hz is 360,000 readings).
    /// - Important: `body` runs while this connection is held, so it must not call this
    ///   `BufferDatabase`; the connection is let go between chunks of 20,000 readings, so its
    ///   other users wait for one chunk at most, never for the whole range.
    /// - Returns: the number of rows (times) passed to `body`.
    @discardableResult
    public func forEachRow(
        machine: Int32, mapping: SensorMapping, from: Timestamp, until: Timestamp,
        _ body: (Timestamp, UnsafeBufferPointer<Double>) throws -> Void
    ) throws -> Int {
        try forEachRow(machines: [machine], mapping: mapping, from: from, until: until) { _, time, values in
            try body(time, values)
        }
    }

    /// `forEachRow(machine:…)` for several machines in one pass over the range: `body` gets the
    /// position of the machine in `machines`, then exactly the rows `forEachRow(machine:…)`
    /// gives that machine, in the same order (at one time, machines in `machines` order).
    ///
    /// Readings are keyed by time first (inserts append, retention deletes a prefix), so a
    /// query for one machine visits every reading of the range, every machine's: one pass for
    /// N machines reads the range once instead of N times (an hour at 98 sensors × 10 Hz is
    /// 3.5 M readings and 23,000 pages per pass).
    /// - Important: as for one machine, `body` must not call this `BufferDatabase`.
    /// - Returns: the number of rows passed to `body`, all machines together.
    @discardableResult
    public func forEachRow(
        machines: [Int32], mapping: SensorMapping, from: Timestamp, until: Timestamp,
        _ body: (Int, Timestamp, UnsafeBufferPointer<Double>) throws -> Void
    ) throws -> Int {
        try rows(machines: machines, mapping: mapping, from: from, until: until, goodOnly: true) { k, time, values, _ in
            try body(k, time, values)
        }
    }

    /// `forEachRow(machines:…)` with each reading's quality, for the readers that say what was
    /// not good: `values` holds a good reading's value and, as the evidence it is, an
    /// out-of-range reading's (`Quality.outOfRange`; never to be scored or learnt), NaN for any
    /// other; `qualities` the quality stored, nil where the sensor has no reading at that time.
    /// - Important: as for `forEachRow`, `body` must not call this `BufferDatabase`.
    /// - Returns: the number of rows passed to `body`, all machines together.
    @discardableResult
    public func forEachRowWithQualities(
        machines: [Int32], mapping: SensorMapping, from: Timestamp, until: Timestamp,
        _ body: (Int, Timestamp, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Quality?>) throws -> Void
    ) throws -> Int {
        try rows(machines: machines, mapping: mapping, from: from, until: until, goodOnly: false, body)
    }

    /// The one pass behind `forEachRow` and `forEachRowWithQualities`; `goodOnly` leaves the
    /// value of a reading that is not good out (NaN), as `forEachRow` promises.
    private func rows(
        machines: [Int32], mapping: SensorMapping, from: Timestamp, until: Timestamp, goodOnly: Bool,
        _ body: (Int, Timestamp, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Quality?>) throws -> Void
    ) throws -> Int {
        for machine in machines { try Self.checkMachine(machine, mapping) }
        // Each machine's columns in one flat row buffer: machine k's values are
        // row[rowStart[k] ..< rowStart[k + 1]]. `slot` maps a sensor id (offset by the
        // smallest) to its place in that buffer, -1 for ids of other machines.
        var rowStart = [0]
        var known: [(id: Int64, slot: Int)] = []
        for machine in machines {
            let columns = mapping.sensorIDs(ofMachine: machine)
            for (column, id) in columns.enumerated() where id >= 0 {
                known.append((id, rowStart[rowStart.count - 1] + column))
            }
            rowStart.append(rowStart[rowStart.count - 1] + columns.count)
        }
        guard let lowest = known.map(\.id).min(), let highest = known.map(\.id).max() else { return 0 }
        var slot = [Int32](repeating: -1, count: Int(highest - lowest) + 1)
        var owner = [Int32](repeating: 0, count: rowStart[rowStart.count - 1])
        for k in machines.indices {
            for s in rowStart[k]..<rowStart[k + 1] { owner[s] = Int32(k) }
        }
        for (id, s) in known { slot[Int(id - lowest)] = Int32(s) }
        var row = [Double](repeating: .nan, count: rowStart[rowStart.count - 1])
        var qualities = [Quality?](repeating: nil, count: rowStart[rowStart.count - 1])
        var touched = [Bool](repeating: false, count: machines.count)
        var rows = 0
        // The machines with a reading at the time being read get their row, in `machines` order.
        func emit(_ time: Int64) throws {
            for k in machines.indices where touched[k] {
                try row.withUnsafeBufferPointer { buffer in
                    try qualities.withUnsafeBufferPointer { flags in
                        try body(k, Timestamp(millisecondsSinceEpoch: time),
                                 UnsafeBufferPointer(rebasing: buffer[rowStart[k]..<rowStart[k + 1]]),
                                 UnsafeBufferPointer(rebasing: flags[rowStart[k]..<rowStart[k + 1]]))
                    }
                }
                rows += 1
            }
            forget()
        }
        func forget() {
            for k in machines.indices where touched[k] {
                for s in rowStart[k]..<rowStart[k + 1] {
                    row[s] = .nan
                    qualities[s] = nil
                }
                touched[k] = false
            }
        }
        var cursor = from.millisecondsSinceEpoch
        let chunkRows = 20_000
        var finished = false
        // The cache's pages go back to the allocator when the range is read, not whenever
        // SQLite next drops them: a heap trim after the caller's work then finds them free.
        defer { state.withLock { $0.connection.releaseCacheMemory() } }
        while !finished {
            try state.withLock { state throws in
                // The ids' span rather than their list: SQLite tests `IN (…)` on every row of
                // the range anyway (the key's time comes first), and the slot table rejects
                // other machines' ids for less.
                let statement = try state.statement(
                    "SELECT t_ms, sensor_id, value, quality FROM readings WHERE t_ms >= ?1 AND t_ms < ?2 AND sensor_id BETWEEN ?4 AND ?5 ORDER BY t_ms, sensor_id LIMIT ?3")
                defer { statement.reset() }
                try statement.bind(cursor, at: 1)
                try statement.bind(until.millisecondsSinceEpoch, at: 2)
                try statement.bind(chunkRows, at: 3)
                try statement.bind(lowest, at: 4)
                try statement.bind(highest, at: 5)
                var stepped = 0
                // The first and last time stepped over (any machine's), and the time of the
                // readings held in `row`.
                var first: Int64? = nil
                var last: Int64? = nil
                var current: Int64? = nil
                while try statement.step() {
                    stepped += 1
                    let time = statement.int64(at: 0)
                    if first == nil { first = time }
                    last = time
                    let s = slot[Int(statement.int64(at: 1) - lowest)]
                    guard s >= 0 else { continue }
                    if current != time {
                        if let c = current { try emit(c) }
                        current = time
                    }
                    touched[Int(owner[Int(s)])] = true
                    // An unknown code (a newer writer's) is not good: its value is left out.
                    let quality = Quality(rawValue: UInt8(truncatingIfNeeded: statement.int64(at: 3))) ?? .decodeError
                    qualities[Int(s)] = quality
                    if !statement.isNull(at: 2), !goodOnly || quality == .good { row[Int(s)] = statement.double(at: 2) }
                }
                guard let last else {
                    finished = true
                    return
                }
                if stepped == chunkRows, last != first {
                    // The chunk was cut inside its last time: that time is read whole next round.
                    if current == last { forget() } else if let c = current { try emit(c) }
                    cursor = last
                    return
                }
                if let c = current { try emit(c) }
                if stepped == chunkRows { cursor = last + 1 } else { finished = true }
            }
        }
        return rows
    }

    /// Counts, time span and size of the buffer.
    public func statistics() throws -> BufferStatistics {
        try withState { state in
            let c = state.connection
            let count = try c.integer("SELECT count(*) FROM readings") ?? 0
            let oldest = try c.integer("SELECT t_ms FROM readings ORDER BY t_ms LIMIT 1")
            let newest = try c.integer("SELECT t_ms FROM readings ORDER BY t_ms DESC LIMIT 1")
            let pageSize = try c.integer("PRAGMA page_size") ?? 4096
            let pages = try c.integer("PRAGMA page_count") ?? 0
            let free = try c.integer("PRAGMA freelist_count") ?? 0
            return BufferStatistics(
                readingCount: Int(count), oldest: oldest.map(Timestamp.init(millisecondsSinceEpoch:)),
                newest: newest.map(Timestamp.init(millisecondsSinceEpoch:)), databaseBytes: pages * pageSize,
                walBytes: fileSize(path + "-wal"), freePages: free, pageSize: pageSize)
        }
    }

    /// `PRAGMA integrity_check`: "ok" for a sound file, otherwise the problems found.
    public func integrityCheck() throws -> String {
        try withState { state in
            let statement = try state.connection.prepare("PRAGMA integrity_check")
            var lines: [String] = []
            while try statement.step() { lines.append(statement.text(at: 0) ?? "") }
            return lines.joined(separator: "\n")
        }
    }

    // MARK: Alerts

    /// Stores a new alert and returns its id.
    public func insertAlert(_ alert: AlertRecord) throws -> Int64 {
        try withState { state in
            let s = try state.statement("""
                INSERT INTO alerts(machine, kind, severity, state, label, note, started_ms, ended_ms, peak_score, threshold, details,
                acknowledged_ms, acknowledged_by, scored_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            try s.bind(alert.machine, at: 1)
            try s.bind(alert.kind, at: 2)
            try s.bind(alert.severity, at: 3)
            try s.bind(alert.state.rawValue, at: 4)
            try s.bind(alert.label.map { $0 ? Int64(1) : Int64(0) }, at: 5)
            try s.bind(alert.note, at: 6)
            try s.bind(alert.started.millisecondsSinceEpoch, at: 7)
            try s.bind(alert.ended?.millisecondsSinceEpoch, at: 8)
            try s.bind(alert.peakScore, at: 9)
            try s.bind(alert.threshold, at: 10)
            try s.bind(alert.details, at: 11)
            try s.bind(alert.acknowledgedAt?.millisecondsSinceEpoch, at: 12)
            try s.bind(alert.acknowledgedBy, at: 13)
            try s.bind(alert.scoredBy, at: 14)
            try s.run()
            return state.connection.lastInsertedRowID
        }
    }

    /// Rewrites an alert (found by `alert.id`): state, end, peak score, label, note, details,
    /// and which score judged it (with `alert_score = "either"`, the one of its new peak).
    /// Who acknowledged it and when are kept as stored (only `acknowledge` sets them), and an
    /// alert acknowledged meanwhile stays `acknowledged` when `alert` says `open`: an operator's
    /// acknowledgement between the agent's read of the row and this write is not undone.
    /// - Throws: `StoreError(.invalidArgument)` when no alert has that id.
    public func updateAlert(_ alert: AlertRecord) throws {
        try withState { state in
            let s = try state.statement("""
                UPDATE alerts SET state = CASE WHEN ?1 = 'open' AND acknowledged_ms IS NOT NULL THEN 'acknowledged' ELSE ?1 END,
                label = ?2, note = ?3, ended_ms = ?4, peak_score = ?5, threshold = ?6, details = ?7,
                severity = ?8, scored_by = ?10 WHERE id = ?9
                """)
            try s.bind(alert.state.rawValue, at: 1)
            try s.bind(alert.label.map { $0 ? Int64(1) : Int64(0) }, at: 2)
            try s.bind(alert.note, at: 3)
            try s.bind(alert.ended?.millisecondsSinceEpoch, at: 4)
            try s.bind(alert.peakScore, at: 5)
            try s.bind(alert.threshold, at: 6)
            try s.bind(alert.details, at: 7)
            try s.bind(alert.severity, at: 8)
            try s.bind(alert.id, at: 9)
            try s.bind(alert.scoredBy, at: 10)
            try s.run()
            try Self.requireChange(state, "alert \(alert.id)")
        }
    }

    private static func requireChange(_ state: State, _ what: String) throws {
        guard state.connection.changedRowCount > 0 else {
            throw StoreError(.invalidArgument, "\(what) does not exist (list alerts to see the ids)")
        }
    }

    /// Records an operator's verdict on an alert: true = real problem, false = false alarm,
    /// nil = not labelled; `note` replaces the note when given.
    public func setLabel(alert id: Int64, label: Bool?, note: String? = nil) throws {
        try withState { state in
            let s = try state.statement("UPDATE alerts SET label = ?, note = coalesce(?, note) WHERE id = ?")
            try s.bind(label.map { $0 ? Int64(1) : Int64(0) }, at: 1)
            try s.bind(note, at: 2)
            try s.bind(id, at: 3)
            try s.run()
            try Self.requireChange(state, "alert \(id)")
        }
    }

    /// Marks an alert as seen by an operator: an open one becomes `acknowledged` (a cleared one
    /// stays cleared), and who did it and when are recorded the first time only. Acknowledging
    /// again changes nothing: the first acknowledgement is the one that answered the alert, and
    /// the later events in the alert log already carry it.
    /// - Parameters:
    ///   - person: who acknowledged it (nil: not known).
    ///   - time: when.
    /// - Returns: the alert as stored afterwards (with the first acknowledgement).
    /// - Throws: `StoreError(.invalidArgument)` when no alert has that id.
    @discardableResult
    public func acknowledge(alert id: Int64, by person: String? = nil, at time: Timestamp = .now()) throws -> AlertRecord {
        try withState { state in
            // SET expressions all see the row as it was: an alert already acknowledged (with a
            // recorded time, or in state 'acknowledged' from before schema 2) keeps what it has.
            let s = try state.statement("""
                UPDATE alerts SET
                acknowledged_ms = CASE WHEN acknowledged_ms IS NULL AND state != 'acknowledged' THEN ?1 ELSE acknowledged_ms END,
                acknowledged_by = CASE WHEN acknowledged_ms IS NULL AND state != 'acknowledged' THEN ?2 ELSE acknowledged_by END,
                state = CASE state WHEN 'open' THEN 'acknowledged' ELSE state END
                WHERE id = ?3
                """)
            try s.bind(time.millisecondsSinceEpoch, at: 1)
            try s.bind(person, at: 2)
            try s.bind(id, at: 3)
            try s.run()
            try Self.requireChange(state, "alert \(id)")
            let read = try state.statement("SELECT \(alertColumns) FROM alerts WHERE id = ?")
            defer { read.reset() }
            try read.bind(id, at: 1)
            guard try read.step() else { throw StoreError(.invalidArgument, "alert \(id) does not exist (list alerts to see the ids)") }
            return Self.alert(from: read)
        }
    }

    /// Marks an alert's condition as over at `ended`.
    public func clear(alert id: Int64, ended: Timestamp) throws {
        try withState { state in
            let s = try state.statement("UPDATE alerts SET state = 'cleared', ended_ms = ? WHERE id = ?")
            try s.bind(ended.millisecondsSinceEpoch, at: 1)
            try s.bind(id, at: 2)
            try s.run()
            try Self.requireChange(state, "alert \(id)")
        }
    }

    /// Alerts matching `filter`, newest first.
    public func alerts(_ filter: AlertFilter = AlertFilter()) throws -> [AlertRecord] {
        try withState { state in
            let s = try state.statement("""
                SELECT \(alertColumns)
                FROM alerts WHERE started_ms >= ?1 AND started_ms < ?5 AND (?2 IS NULL OR machine = ?2)
                AND (?3 IS NULL OR state = ?3) AND (?6 IS NULL OR ended_ms IS NULL OR ended_ms >= ?6)
                ORDER BY started_ms DESC, id DESC LIMIT ?4
                """)
            defer { s.reset() }
            try s.bind(filter.since?.millisecondsSinceEpoch ?? Int64.min, at: 1)
            try s.bind(filter.machine, at: 2)
            try s.bind(filter.state?.rawValue, at: 3)
            try s.bind(Int64(filter.limit ?? -1), at: 4)
            try s.bind(filter.startedBefore?.millisecondsSinceEpoch ?? Int64.max, at: 5)
            try s.bind(filter.endedSince?.millisecondsSinceEpoch, at: 6)
            var out: [AlertRecord] = []
            while try s.step() { out.append(Self.alert(from: s)) }
            return out
        }
    }

    /// The alert with this id, if any.
    public func alert(id: Int64) throws -> AlertRecord? {
        try withState { state in
            let s = try state.statement("SELECT \(alertColumns) FROM alerts WHERE id = ?")
            defer { s.reset() }
            try s.bind(id, at: 1)
            return try s.step() ? Self.alert(from: s) : nil
        }
    }

    /// The columns `alert(from:)` reads, in its order.
    private static let currentAlertColumns = """
        id, machine, kind, severity, state, label, note, started_ms, ended_ms, peak_score, threshold, details, \
        acknowledged_ms, acknowledged_by, scored_by
        """

    /// `alertColumns` of a schema-2 or -3 file (opened read-only, not migrated): no score
    /// recorded, as a migration would leave it.
    private static let schemaTwoAlertColumns = """
        id, machine, kind, severity, state, label, note, started_ms, ended_ms, peak_score, threshold, details, \
        acknowledged_ms, acknowledged_by, NULL
        """

    /// `alertColumns` of a schema-1 file (opened read-only, not migrated): nobody's name or time
    /// and no score recorded, as a migration would leave them.
    private static let schemaOneAlertColumns = """
        id, machine, kind, severity, state, label, note, started_ms, ended_ms, peak_score, threshold, details, \
        NULL, NULL, NULL
        """

    private static func alert(from s: SQLiteStatement) -> AlertRecord {
        AlertRecord(
            id: s.int64(at: 0), machine: s.text(at: 1) ?? "", kind: s.text(at: 2) ?? "", severity: s.text(at: 3) ?? "",
            state: AlertState(rawValue: s.text(at: 4) ?? "") ?? .open,
            label: s.isNull(at: 5) ? nil : s.int64(at: 5) != 0, note: s.text(at: 6) ?? "",
            started: Timestamp(millisecondsSinceEpoch: s.int64(at: 7)),
            ended: s.isNull(at: 8) ? nil : Timestamp(millisecondsSinceEpoch: s.int64(at: 8)),
            peakScore: s.double(at: 9), threshold: s.double(at: 10), details: s.text(at: 11) ?? "{}",
            acknowledgedAt: s.isNull(at: 12) ? nil : Timestamp(millisecondsSinceEpoch: s.int64(at: 12)),
            acknowledgedBy: s.text(at: 13), scoredBy: s.text(at: 14))
    }

    // MARK: Models and calibrations

    /// Saves a calibrated model and returns its id; the newest per machine is the one in force.
    public func saveModel(_ model: ModelRecord) throws -> Int64 {
        try withState { state in
            let s = try state.statement(
                "INSERT INTO models(machine, created_ms, windows, threshold, blob, metadata) VALUES (?, ?, ?, ?, ?, ?)")
            try s.bind(model.machine, at: 1)
            try s.bind(model.created.millisecondsSinceEpoch, at: 2)
            try s.bind(model.windows, at: 3)
            try s.bind(model.threshold, at: 4)
            try s.bind(model.blob, at: 5)
            try s.bind(model.metadata, at: 6)
            try s.run()
            return state.connection.lastInsertedRowID
        }
    }

    /// The newest model of a machine, nil when it was never calibrated.
    public func latestModel(machine: String) throws -> ModelRecord? {
        try withState { state in
            let s = try state.statement("""
                SELECT id, machine, created_ms, windows, threshold, blob, metadata FROM models
                WHERE machine = ? ORDER BY created_ms DESC, id DESC LIMIT 1
                """)
            defer { s.reset() }
            try s.bind(machine, at: 1)
            guard try s.step() else { return nil }
            return ModelRecord(
                id: s.int64(at: 0), machine: s.text(at: 1) ?? "", created: Timestamp(millisecondsSinceEpoch: s.int64(at: 2)),
                windows: Int(s.int64(at: 3)), threshold: s.double(at: 4), blob: s.blob(at: 5) ?? [],
                metadata: s.text(at: 6) ?? "{}")
        }
    }

    /// The newest model of a machine calibrated before `end`, without reading its network: the
    /// model a summary of a period ending at `end` names (a model calibrated later, e.g. when a
    /// past period is summarized again, is not that period's). Nil when there was none.
    public func latestModelHeader(machine: String, calibratedBefore end: Timestamp) throws -> ModelHeader? {
        try withState { state in
            let s = try state.statement("""
                SELECT id, created_ms, windows, threshold FROM models
                WHERE machine = ? AND created_ms < ? ORDER BY created_ms DESC, id DESC LIMIT 1
                """)
            defer { s.reset() }
            try s.bind(machine, at: 1)
            try s.bind(end.millisecondsSinceEpoch, at: 2)
            guard try s.step() else { return nil }
            return ModelHeader(id: s.int64(at: 0), created: Timestamp(millisecondsSinceEpoch: s.int64(at: 1)),
                               windows: Int(s.int64(at: 2)), threshold: s.double(at: 3))
        }
    }

    /// Records one calibrate run and returns its id.
    public func recordCalibration(_ record: CalibrationRecord) throws -> Int64 {
        try withState { state in
            let s = try state.statement("""
                INSERT INTO calibrations(machine, started_ms, finished_ms, windows, threshold, outcome, details)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            try s.bind(record.machine, at: 1)
            try s.bind(record.started.millisecondsSinceEpoch, at: 2)
            try s.bind(record.finished.millisecondsSinceEpoch, at: 3)
            try s.bind(record.windows, at: 4)
            try s.bind(record.threshold, at: 5)
            try s.bind(record.outcome, at: 6)
            try s.bind(record.details, at: 7)
            try s.run()
            return state.connection.lastInsertedRowID
        }
    }

    /// Calibration runs, newest first, optionally of one machine.
    public func calibrations(machine: String? = nil) throws -> [CalibrationRecord] {
        try withState { state in
            let s = try state.statement("""
                SELECT id, machine, started_ms, finished_ms, windows, threshold, outcome, details FROM calibrations
                WHERE ?1 IS NULL OR machine = ?1 ORDER BY started_ms DESC, id DESC
                """)
            defer { s.reset() }
            try s.bind(machine, at: 1)
            var out: [CalibrationRecord] = []
            while try s.step() {
                out.append(CalibrationRecord(
                    id: s.int64(at: 0), machine: s.text(at: 1) ?? "",
                    started: Timestamp(millisecondsSinceEpoch: s.int64(at: 2)),
                    finished: Timestamp(millisecondsSinceEpoch: s.int64(at: 3)), windows: Int(s.int64(at: 4)),
                    threshold: s.isNull(at: 5) ? nil : s.double(at: 5), outcome: s.text(at: 6) ?? "",
                    details: s.text(at: 7) ?? "{}"))
            }
            return out
        }
    }

    // MARK: Agent state

    /// The agent-state value stored under `key`, if any.
    public func value(forKey key: String) throws -> String? {
        try withState { state in
            let s = try state.statement("SELECT value FROM kv WHERE key = ?")
            defer { s.reset() }
            try s.bind(key, at: 1)
            return try s.step() ? s.text(at: 0) : nil
        }
    }

    /// Stores `value` under `key` (nil removes it).
    public func setValue(_ value: String?, forKey key: String) throws {
        try withState { state in
            if let value {
                let s = try state.statement("INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                try s.bind(key, at: 1)
                try s.bind(value, at: 2)
                try s.run()
            } else {
                let s = try state.statement("DELETE FROM kv WHERE key = ?")
                try s.bind(key, at: 1)
                try s.run()
            }
        }
    }
}

/// The size of a file in bytes, 0 when it does not exist.
func fileSize(_ path: String) -> Int64 {
    var info = stat()
    guard stat(path, &info) == 0 else { return 0 }
    return Int64(info.st_size)
}
