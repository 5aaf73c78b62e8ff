// The single writer: one thread owns the write connection, takes batches of readings from a
// bounded queue, writes them in one transaction per wake-up, and runs retention in small
// chunks between transactions.
import Configuration
import EdgeCore
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes readings to the buffer on a thread of its own.
///
/// Pollers call `append(_:)` (never blocks on I/O); the writer thread drains the queue, one
/// transaction for everything queued since its last commit (at most
/// `Options.maxReadingsPerTransaction`), with reused prepared INSERTs of 1 to 64 readings. Each
/// appended batch gets a sequence number; `committedSequence`, the `onCommit` callback, `flush()`
/// and `waitUntilCommitted` tell when it is on disk.
///
/// A reading whose (sensor, time) is already stored never replaces it: it is stored 1 ms later
/// (as many milliseconds as needed; counted in `Statistics.shiftedReadings`). Such clashes only
/// arise when the wall clock steps back over times already stored, and neither reading is lost.
///
/// When the disk is full or the file read-only, the failure is reported once (`onStateChange`
/// and a log warning), the unwritten batches stay in memory (bounded by
/// `Options.queueCapacity`) and are retried every `Options.retryInterval`; writing resumes by
/// itself when the problem goes away. Batches that do not fit the queue are refused and
/// counted (`Statistics.rejectedReadings`), reported once per episode (an episode ends when the
/// queue is back below half its capacity).
public final class ReadingWriter: Sendable {
    /// How the writer queues, batches, retries and enforces retention.
    public struct Options: Sendable {
        /// Most readings held in memory (queued or being written); more are refused and counted.
        public var queueCapacity: Int = 1_000_000
        /// Most readings written in one transaction.
        public var maxReadingsPerTransaction: Int = 50_000
        /// How long to wait before retrying after a storage failure (disk full, read-only).
        public var retryInterval: Duration = .seconds(1)
        /// Readings older than this are deleted; nil keeps them regardless of age.
        public var retentionAge: Duration? = nil
        /// The database plus WAL are kept below this size by deleting the oldest readings; nil
        /// for no limit.
        public var retentionBytes: Int64? = nil
        /// How often retention checks age and size (it runs continuously while over a bound).
        public var retentionCheckInterval: Duration = .seconds(10)
        /// Most readings deleted in one retention transaction, so a batch never waits long.
        public var deleteChunkRows: Int = 5000
        /// Cleared alerts that ended longer ago than this are deleted; nil keeps them regardless
        /// of age. Open and acknowledged alerts are never deleted.
        public var alertRetentionAge: Duration? = nil
        /// At most this many alerts are kept: the oldest cleared ones beyond it are deleted; nil
        /// for no limit. Open and acknowledged alerts count but are never deleted.
        public var alertRetentionCount: Int? = nil
        /// Models kept per machine, newest first (only the newest is in force); nil keeps all.
        public var modelsKeptPerMachine: Int? = nil
        /// Calibration records kept per machine, newest first; nil keeps all.
        public var calibrationsKeptPerMachine: Int? = nil
        /// Most alerts, models or calibration records deleted in one transaction.
        public var deleteChunkRecords: Int = 500
        /// The WAL is checkpointed when it reaches this size and truncated back to it.
        public var walLimitBytes: Int64 = 4 << 20

        /// Models kept per machine by the agent: the one in force and four before it.
        public static let defaultModelsKeptPerMachine = 5
        /// Calibration records kept per machine by the agent.
        public static let defaultCalibrationsKeptPerMachine = 100

        /// Defaults: 1 M readings of queue, 50 k readings per transaction, no retention.
        public init() {}

        /// Defaults with retention from agent.conf's `[agent]` table (readings and alerts) and
        /// the fixed per-machine bounds on models and calibration records; the WAL limit is
        /// scaled to stay a small part of the size bound.
        public init(settings: AgentSettings) {
            retentionAge = settings.retentionAge
            retentionBytes = settings.retentionBytes
            alertRetentionAge = settings.alertRetentionAge
            alertRetentionCount = settings.alertRetentionCount
            modelsKeptPerMachine = Self.defaultModelsKeptPerMachine
            calibrationsKeptPerMachine = Self.defaultCalibrationsKeptPerMachine
            walLimitBytes = Self.walLimit(forRetentionBytes: settings.retentionBytes)
        }

        /// Whether any table is bounded, so the writer runs its maintenance pass.
        var retentionEnabled: Bool {
            retentionAge != nil || retentionBytes != nil || recordRetentionEnabled
        }

        /// Whether alerts, models or calibration records are bounded.
        var recordRetentionEnabled: Bool {
            alertRetentionAge != nil || alertRetentionCount != nil || modelsKeptPerMachine != nil
                || calibrationsKeptPerMachine != nil
        }

        /// A sixteenth of the size bound, between 256 KiB and 4 MiB.
        public static func walLimit(forRetentionBytes bytes: Int64) -> Int64 {
            min(4 << 20, max(256 << 10, bytes / 16))
        }
    }

    /// Whether readings are reaching the disk.
    public enum State: Sendable, Equatable {
        /// Commits succeed.
        case writing
        /// The last attempt failed (full disk, read-only file, I/O error); retrying.
        case failing(SQLiteError)
    }

    /// What `append` did with a batch.
    public enum AppendOutcome: Sendable, Equatable {
        /// Queued; committed once `committedSequence` reaches `sequence`.
        case queued(sequence: UInt64)
        /// Refused because the queue is full (counted in `Statistics.rejectedReadings`).
        case rejectedQueueFull
        /// Refused because the writer is closed.
        case rejectedClosed
    }

    /// Counters since the writer started.
    public struct Statistics: Sendable, Equatable {
        /// Highest batch sequence number committed to disk.
        public var committedSequence: UInt64 = 0
        /// Readings committed (including those that replaced a stored duplicate).
        public var committedReadings: Int = 0
        /// Transactions committed with readings.
        public var committedTransactions: Int = 0
        /// Readings refused because the queue was full.
        public var rejectedReadings: Int = 0
        /// Readings skipped because their machine/sensor index is not in the mapping.
        public var unmappedReadings: Int = 0
        /// Readings queued or being written now.
        public var queuedReadings: Int = 0
        /// Readings deleted by retention.
        public var deletedReadings: Int = 0
        /// Alerts deleted by retention (cleared ones past `alertRetentionAge` or
        /// `alertRetentionCount`).
        public var deletedAlerts: Int = 0
        /// Models and calibration records deleted by retention (beyond the per-machine bounds).
        public var deletedModelsAndCalibrations: Int = 0
        /// Readings stored a few milliseconds later than their time because a reading of the
        /// same sensor was already stored at that time (the wall clock stepped back).
        public var shiftedReadings: Int = 0
        /// Failed write attempts (each retried).
        public var failedAttempts: Int = 0
        /// The current state.
        public var state: State = .writing

        /// All counters zero, state `.writing`.
        public init() {}
    }

    struct Pending {
        let sequence: UInt64
        let readings: [Reading]
    }

    /// State shared between callers and the writer thread.
    ///
    /// `@unchecked Sendable`: every field is read and written only with `lock` held.
    final class Shared: @unchecked Sendable {
        var queue: [Pending] = []
        var queueHead = 0
        var nextSequence: UInt64 = 1
        var statistics = Statistics()
        var stopping = false
        var abandon = false
        var finished = false
        var closed = false
        var overflowReported = false
        var requestedPragmas: [String] = []
        var waiters: [(UInt64, CheckedContinuation<Void, Never>)] = []

        var queueIsEmpty: Bool { queueHead == queue.count }
    }

    private let lock = ConditionLock()
    private let shared = Shared()
    private let options: Options
    private let logger: Logger
    private let thread: PosixThread
    /// The database file.
    public let path: String

    /// Opens (creating and migrating if needed) the buffer at `path` and starts the writer
    /// thread.
    /// - Parameters:
    ///   - mapping: from `BufferDatabase.registerSensors`; readings outside it are counted as
    ///     unmapped and skipped.
    ///   - clock: the wall clock retention compares reading times with.
    ///   - onCommit: called on the writer thread after each commit with the highest committed
    ///     sequence number; keep it short.
    ///   - onStateChange: called on the writer thread when writing starts failing or recovers.
    /// - Throws: `SQLiteError` or `StoreError` when the file cannot be opened or migrated.
    public init(
        path: String, mapping: SensorMapping, options: Options = Options(), clock: any AgentClock = SystemClock(),
        logger: Logger = Logger(label: "edge-agent.store"),
        onCommit: (@Sendable (UInt64) -> Void)? = nil,
        onStateChange: (@Sendable (State) -> Void)? = nil
    ) throws {
        let connection = try SQLiteConnection(path: path, mode: .readWriteCreate)
        try Schema.configureWriter(connection, walLimitBytes: options.walLimitBytes)
        try Schema.migrate(connection)
        let worker = try Worker(
            connection: connection, mapping: mapping, options: options, clock: clock, logger: logger,
            lock: lock, shared: shared, onCommit: onCommit, onStateChange: onStateChange)
        self.path = path
        self.options = options
        self.logger = logger
        do {
            self.thread = try PosixThread(name: "edge-store-wr") { worker.run() }
        } catch {
            throw StoreError(.invalidArgument, "cannot start the buffer writer thread: \(error)")
        }
    }

    /// Closes the writer if `close` was not called: what is queued gets two seconds to be
    /// written, the rest is given up (and logged).
    deinit {
        close(timeout: .seconds(2))
    }

    /// Queues a batch for writing; never waits for the disk.
    ///
    /// - Returns: the batch's sequence number, or why it was refused (counted and reported once
    ///   per episode, never silently).
    public func append(_ readings: [Reading]) -> AppendOutcome {
        let outcome: AppendOutcome = lock.withLock {
            if shared.stopping { return .rejectedClosed }
            if shared.statistics.queuedReadings + readings.count > options.queueCapacity {
                shared.statistics.rejectedReadings += readings.count
                if !shared.overflowReported {
                    shared.overflowReported = true
                    logger.warning(
                        "buffer queue full (\(options.queueCapacity) readings): new readings are being refused until the writer catches up",
                        metadata: ["state": "\(shared.statistics.state)"])
                }
                return .rejectedQueueFull
            }
            let sequence = shared.nextSequence
            shared.nextSequence += 1
            shared.queue.append(Pending(sequence: sequence, readings: readings))
            shared.statistics.queuedReadings += readings.count
            return .queued(sequence: sequence)
        }
        if case .queued = outcome { lock.broadcast() }
        return outcome
    }

    /// The highest batch sequence number committed to disk.
    public var committedSequence: UInt64 { lock.withLock { shared.statistics.committedSequence } }

    /// Counters and state.
    public var statistics: Statistics { lock.withLock { shared.statistics } }

    /// Blocks the calling thread until batch `sequence` is committed or `timeout` passes.
    /// - Returns: whether it was committed.
    public func waitUntilCommitted(_ sequence: UInt64, timeout: Duration) -> Bool {
        let deadline = SystemClock.monotonicNanoseconds() + nanoseconds(timeout)
        return lock.withLock {
            while shared.statistics.committedSequence < sequence {
                if shared.finished || SystemClock.monotonicNanoseconds() >= deadline { return false }
                lock.wait(untilMonotonicNanoseconds: deadline)
            }
            return true
        }
    }

    /// Blocks until everything appended so far is committed, or `timeout` passes.
    /// - Returns: whether everything was committed.
    public func flush(timeout: Duration) -> Bool {
        let last = lock.withLock { shared.nextSequence - 1 }
        return waitUntilCommitted(last, timeout: timeout)
    }

    /// Waits (without blocking a thread) until everything appended so far is committed, or the
    /// writer is closed.
    public func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = lock.withLock {
                let last = shared.nextSequence - 1
                if shared.statistics.committedSequence >= last || shared.finished { return true }
                shared.waiters.append((last, continuation))
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Writes what is queued (waiting at most `timeout` for a failing disk), then stops the
    /// thread and closes the connection. Appends after this are refused.
    /// - Returns: the number of readings that could not be written and were given up.
    @discardableResult
    public func close(timeout: Duration = .seconds(5)) -> Int {
        let deadline = SystemClock.monotonicNanoseconds() + nanoseconds(timeout)
        let (lost, firstClose, state): (Int, Bool, State) = lock.withLock {
            let firstClose = !shared.closed
            shared.closed = true
            shared.stopping = true
            lock.broadcast()
            while !shared.finished {
                if SystemClock.monotonicNanoseconds() >= deadline {
                    shared.abandon = true
                    lock.broadcast()
                    lock.wait()
                } else {
                    lock.wait(untilMonotonicNanoseconds: deadline)
                }
            }
            return (shared.statistics.queuedReadings, firstClose, shared.statistics.state)
        }
        thread.join()
        if lost > 0 && firstClose {
            logger.error("buffer closed with \(lost) readings not written: \(state)")
        }
        return lost
    }

    /// Test hook: sets `PRAGMA max_page_count` on the writer's connection (applied before its
    /// next transaction), to simulate a full disk; a large value makes room again.
    package func limitDatabasePages(to pages: Int) {
        applyPragma("PRAGMA max_page_count = \(pages)")
    }

    /// Test hook: makes the writer's connection refuse writes with SQLITE_READONLY
    /// (`PRAGMA query_only`), to simulate a file that became read-only.
    func simulateReadOnly(_ readOnly: Bool) {
        applyPragma("PRAGMA query_only = \(readOnly ? 1 : 0)")
    }

    private func applyPragma(_ sql: String) {
        lock.withLock { shared.requestedPragmas.append(sql) }
        lock.broadcast()
    }
}

func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    guard seconds >= 0 else { return 0 }
    return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
}

/// The writer thread's own state: the connection and its prepared statements.
///
/// `@unchecked Sendable`: created on the caller's thread, then used only by the writer thread
/// (handed over once, through `DedicatedThread`).
private final class Worker: @unchecked Sendable {
    let connection: SQLiteConnection
    let mapping: SensorMapping
    let options: ReadingWriter.Options
    let clock: any AgentClock
    let logger: Logger
    let lock: ConditionLock
    let shared: ReadingWriter.Shared
    let onCommit: (@Sendable (UInt64) -> Void)?
    let onStateChange: (@Sendable (ReadingWriter.State) -> Void)?

    let begin: SQLiteStatement
    let commit: SQLiteStatement
    let insert: SQLiteStatement
    /// Inserts of 4, 8, 16, 32 and 64 readings at once, smallest first (see `write`).
    let multiRowInserts: [(count: Int, statement: SQLiteStatement)]
    /// Readings of the batches being written that have a sensor id, up to the largest multi-row
    /// insert's count: the storage is reused from write to write.
    var rows: [Row] = []
    let boundary: SQLiteStatement
    let deleteBefore: SQLiteStatement
    let deleteOlder: SQLiteStatement
    let records: RecordRetention?

    var failing: SQLiteError? = nil
    var retryAt: UInt64 = 0
    var nextRetentionCheck: UInt64 = 0
    var retentionBacklog = false
    var unmappedReported = false
    var shiftReported = false

    init(
        connection: SQLiteConnection, mapping: SensorMapping, options: ReadingWriter.Options, clock: any AgentClock,
        logger: Logger, lock: ConditionLock, shared: ReadingWriter.Shared,
        onCommit: (@Sendable (UInt64) -> Void)?, onStateChange: (@Sendable (ReadingWriter.State) -> Void)?
    ) throws(SQLiteError) {
        self.connection = connection
        self.mapping = mapping
        self.options = options
        self.clock = clock
        self.logger = logger
        self.lock = lock
        self.shared = shared
        self.onCommit = onCommit
        self.onStateChange = onStateChange
        begin = try connection.prepare("BEGIN IMMEDIATE")
        commit = try connection.prepare("COMMIT")
        // DO NOTHING, not REPLACE: after the wall clock steps back, a new reading may fall on a
        // stored one's millisecond; `write` then moves it forward instead of destroying the old one.
        insert = try connection.prepare(
            "INSERT INTO readings(t_ms, sensor_id, value, quality) VALUES (?, ?, ?, ?) ON CONFLICT(t_ms, sensor_id) DO NOTHING")
        // No ON CONFLICT clause: a reading whose (time, sensor) is taken aborts the statement,
        // and `write` inserts those readings one by one instead.
        var multiRowInserts: [(count: Int, statement: SQLiteStatement)] = []
        for count in [4, 8, 16, 32, 64] {
            let values = repeatElement("(?, ?, ?, ?)", count: count).joined(separator: ", ")
            multiRowInserts.append((count, try connection.prepare("INSERT INTO readings(t_ms, sensor_id, value, quality) VALUES \(values)")))
        }
        self.multiRowInserts = multiRowInserts
        boundary = try connection.prepare("SELECT t_ms, sensor_id FROM readings ORDER BY t_ms, sensor_id LIMIT 1 OFFSET ?")
        deleteBefore = try connection.prepare("DELETE FROM readings WHERE (t_ms, sensor_id) < (?1, ?2) AND t_ms < ?3")
        deleteOlder = try connection.prepare("DELETE FROM readings WHERE t_ms < ?")
        records = options.recordRetentionEnabled ? try RecordRetention(connection: connection, options: options, clock: clock) : nil
    }

    var retentionEnabled: Bool { options.retentionEnabled }

    func run() {
        var inFlight: [ReadingWriter.Pending] = []
        var inFlightCount = 0
        while true {
            var pragmas: [String] = []
            let stop: Bool = lock.withLock {
                while true {
                    if shared.abandon || (shared.stopping && shared.queueIsEmpty && inFlight.isEmpty) { return true }
                    let now = SystemClock.monotonicNanoseconds()
                    if !shared.requestedPragmas.isEmpty { return false }
                    if failing != nil {
                        if now >= retryAt { return false }
                        lock.wait(untilMonotonicNanoseconds: retryAt)
                        continue
                    }
                    if !inFlight.isEmpty || !shared.queueIsEmpty { return false }
                    if retentionEnabled && (retentionBacklog || now >= nextRetentionCheck) { return false }
                    if retentionEnabled {
                        lock.wait(untilMonotonicNanoseconds: nextRetentionCheck)
                    } else {
                        lock.wait()
                    }
                }
            }
            if stop { break }
            lock.withLock {
                pragmas = shared.requestedPragmas
                shared.requestedPragmas.removeAll()
                while shared.queueHead < shared.queue.count {
                    let next = shared.queue[shared.queueHead]
                    if inFlightCount > 0 && inFlightCount + next.readings.count > options.maxReadingsPerTransaction { break }
                    inFlight.append(next)
                    inFlightCount += next.readings.count
                    shared.queueHead += 1
                }
                // Compact the queue's storage once its consumed head dominates it.
                if shared.queueHead > 1024 && shared.queueHead * 2 > shared.queue.count {
                    shared.queue.removeFirst(shared.queueHead)
                    shared.queueHead = 0
                } else if shared.queueIsEmpty {
                    shared.queue.removeAll(keepingCapacity: true)
                    shared.queueHead = 0
                }
            }
            for pragma in pragmas {
                // Test hooks only: a failure shows up as the test's expectation failing.
                if let statement = try? connection.prepare(pragma) { _ = try? statement.step() }
            }
            var written = 0
            if !inFlight.isEmpty {
                do {
                    let (unmapped, shifted) = try write(inFlight)
                    written = inFlightCount
                    committed(inFlight, count: inFlightCount, unmapped: unmapped, shifted: shifted)
                    inFlight.removeAll(keepingCapacity: true)
                    inFlightCount = 0
                } catch {
                    failed(error)
                    continue
                }
            }
            if retentionEnabled && failing == nil {
                runRetention(after: written)
            }
        }
        lock.withLock {
            shared.finished = true
            let waiters = shared.waiters
            shared.waiters.removeAll()
            for (_, continuation) in waiters { continuation.resume() }
        }
        lock.broadcast()
    }

    /// A reading with a sensor id, as the inserts bind it.
    struct Row {
        var time: Int64
        var sensor: Int64
        /// NULL for a reading that is neither good nor out of range, or NaN.
        var value: Double?
        var quality: Int64
    }

    /// Writes the batches in one transaction; returns the number of unmapped readings skipped
    /// and of readings moved forward past a stored one at the same time.
    ///
    /// The readings go in by up to 64 per statement (each 64 as they come, then the largest of
    /// `multiRowInserts` that fits what is left, the last 3 or fewer one at a time): SQLite
    /// without lookaside (Debian builds it with SQLITE_OMIT_LOOKASIDE) allocates a cursor and a
    /// record buffer for every execution of a statement and frees them at its reset, about 2
    /// `malloc` calls per single-row INSERT and about 7 per multi-row one, whatever its size
    /// (docs/performance.md). When a reading's (time, sensor) is taken, that statement inserts
    /// nothing and its readings go in one by one, each moved forward past a stored one as
    /// before: the rows stored are the same.
    func write(_ batches: [ReadingWriter.Pending]) throws(SQLiteError) -> (unmapped: Int, shifted: Int) {
        var unmapped = 0
        var shifted = 0
        rows.removeAll(keepingCapacity: true)
        let largest = multiRowInserts[multiRowInserts.count - 1].count
        do {
            try begin.run()
            for batch in batches {
                for reading in batch.readings {
                    guard let id = mapping.sensorID(machine: reading.machine, sensor: reading.sensor) else {
                        unmapped += 1
                        continue
                    }
                    // A good value, and an out-of-range one as evidence (readers never take it as good).
                    let kept = (reading.quality == .good || reading.quality == .outOfRange) && !reading.value.isNaN
                    rows.append(Row(time: reading.time.millisecondsSinceEpoch, sensor: id, value: kept ? reading.value : nil,
                                    quality: Int64(reading.quality.rawValue)))
                    if rows.count == largest { shifted += try insertRows() }
                }
            }
            shifted += try insertRows()
            try commit.run()
        } catch {
            insert.reset()
            connection.rollbackIfOpen()
            throw error
        }
        return (unmapped, shifted)
    }

    /// Inserts `rows`, in order, and empties it; returns how many were moved forward.
    private func insertRows() throws(SQLiteError) -> Int {
        var shifted = 0
        var start = 0
        while start < rows.count {
            let left = rows.count - start
            guard let k = multiRowInserts.lastIndex(where: { $0.count <= left }) else {
                shifted += try insertOne(rows[start])
                start += 1
                continue
            }
            let (count, statement) = multiRowInserts[k]
            if try !insertAtOnce(start..<start + count, with: statement) {
                for i in start..<start + count { shifted += try insertOne(rows[i]) }
            }
            start += count
        }
        rows.removeAll(keepingCapacity: true)
        return shifted
    }

    /// Inserts `rows[range]` with one statement of as many rows; false, having inserted none of
    /// them, when one's (time, sensor) is taken (stored already, or twice in the range).
    private func insertAtOnce(_ range: Range<Int>, with statement: SQLiteStatement) throws(SQLiteError) -> Bool {
        defer { statement.reset() }
        var parameter: Int32 = 1
        for i in range {
            try bind(rows[i], to: statement, at: parameter)
            parameter += 4
        }
        do {
            _ = try statement.step()
        } catch {
            // The statement is rolled back by itself (ON CONFLICT ABORT); the transaction goes on.
            if error.reason == .constraint { return false }
            var error = error
            error.context = "INSERT INTO readings(t_ms, sensor_id, value, quality) VALUES (?, ?, ?, ?) × \(range.count)"
            throw error
        }
        return true
    }

    /// Inserts one reading, moving it forward a millisecond at a time past stored readings of
    /// its sensor; returns 1 when it was moved, else 0.
    private func insertOne(_ row: Row) throws(SQLiteError) -> Int {
        try bind(row, to: insert, at: 1)
        var time = row.time
        while true {
            try insert.bind(time, at: 1)
            _ = try insert.step()
            insert.reset()
            if connection.changedRowCount > 0 { break }
            // (sensor, time) is taken: the clock stepped back over stored readings.
            time += 1
        }
        return time == row.time ? 0 : 1
    }

    /// Binds a row's four values to `statement`'s parameters `first` … `first + 3`.
    @inline(__always)
    private func bind(_ row: Row, to statement: SQLiteStatement, at first: Int32) throws(SQLiteError) {
        try statement.bind(row.time, at: first)
        try statement.bind(row.sensor, at: first + 1)
        if let value = row.value { try statement.bind(value, at: first + 2) } else { try statement.bindNull(at: first + 2) }
        try statement.bind(row.quality, at: first + 3)
    }

    func committed(_ batches: [ReadingWriter.Pending], count: Int, unmapped: Int, shifted: Int) {
        let sequence = batches.last?.sequence ?? 0
        var endedOverflow: Int? = nil
        if failing != nil {
            // Reported before waiters wake, so whoever flushed sees the recovery already.
            failing = nil
            logger.notice("buffer writes resumed", metadata: ["path": "\(connection.path)"])
            onStateChange?(.writing)
        }
        lock.withLock {
            shared.statistics.committedSequence = sequence
            shared.statistics.committedReadings += count - unmapped
            shared.statistics.unmappedReadings += unmapped
            shared.statistics.shiftedReadings += shifted
            shared.statistics.committedTransactions += 1
            shared.statistics.queuedReadings -= count
            shared.statistics.state = .writing
            // An overflow episode ends once the queue is back below half its capacity.
            if shared.overflowReported && shared.statistics.queuedReadings <= options.queueCapacity / 2 {
                shared.overflowReported = false
                endedOverflow = shared.statistics.rejectedReadings
            }
            var i = 0
            while i < shared.waiters.count {
                if shared.waiters[i].0 <= sequence {
                    shared.waiters[i].1.resume()
                    shared.waiters.remove(at: i)
                } else {
                    i += 1
                }
            }
        }
        lock.broadcast()
        if let endedOverflow {
            logger.notice("buffer queue has room again (\(endedOverflow) readings refused since the writer started)")
        }
        if shifted > 0 && !shiftReported {
            // Once per writer: a clock that steps back does so rarely, and the count is in statistics.
            shiftReported = true
            logger.warning("readings at times already stored (the wall clock stepped back): stored 1 ms later each, none replaced (counted in statistics.shiftedReadings)")
        }
        if unmapped > 0 && !unmappedReported {
            // Once: the mapping does not change while the writer runs, so neither would this.
            unmappedReported = true
            logger.warning("skipping readings whose machine/sensor index is not in the sensor mapping (counted in statistics.unmappedReadings)")
        }
        onCommit?(sequence)
    }

    func failed(_ error: SQLiteError) {
        let first = failing?.reason != error.reason
        failing = error
        retryAt = SystemClock.monotonicNanoseconds() + nanoseconds(options.retryInterval)
        lock.withLock {
            shared.statistics.failedAttempts += 1
            shared.statistics.state = .failing(error)
        }
        if first {
            logger.warning(
                "buffer writes failing, keeping readings in memory and retrying every \(options.retryInterval): \(error)",
                metadata: ["path": "\(connection.path)"])
            onStateChange?(.failing(error))
        }
    }

    // MARK: Retention

    /// The maintenance pass: readings chunks enough to keep pace with the rows just written,
    /// then one chunk of alerts, models or calibration records; each its own short transaction.
    func runRetention(after written: Int) {
        let now = SystemClock.monotonicNanoseconds()
        guard retentionBacklog || now >= nextRetentionCheck else { return }
        let chunks = max(1, (written + options.deleteChunkRows - 1) / options.deleteChunkRows)
        var readingsLeft = false
        var recordsLeft = false
        // A failing delete (e.g. a full disk for the WAL) is retried at the next check; the
        // insert path reports storage problems.
        if options.retentionAge != nil || options.retentionBytes != nil {
            do {
                readingsLeft = true
                for _ in 0..<chunks where readingsLeft {
                    readingsLeft = try retentionChunk()
                }
            } catch {
                logger.debug("retention chunk failed: \(error)")
                readingsLeft = false
            }
        }
        if let records {
            do {
                let outcome = try records.deleteChunk()
                recordsLeft = outcome.more
                if outcome.alerts + outcome.modelsAndCalibrations > 0 {
                    lock.withLock {
                        shared.statistics.deletedAlerts += outcome.alerts
                        shared.statistics.deletedModelsAndCalibrations += outcome.modelsAndCalibrations
                    }
                    try connection.execute("PRAGMA incremental_vacuum")
                }
            } catch {
                logger.debug("alert/model/calibration retention chunk failed: \(error)")
            }
        }
        retentionBacklog = readingsLeft || recordsLeft
        if !retentionBacklog {
            if options.retentionBytes != nil { truncateOversizedLog() }
            nextRetentionCheck = now + nanoseconds(options.retentionCheckInterval)
        }
    }

    /// Empties a write-ahead log above its limit. It outgrows the limit while a reader holds
    /// it (retention's deletes, or writes, go on behind that reader), and SQLite shrinks it only
    /// when a later write starts the log over: on an idle writer it would stay above the size
    /// bound, and `measuredBytes` counts a log that large at its limit only. Retried at every
    /// check while a reader is still in the way.
    func truncateOversizedLog() {
        guard fileSize(connection.path + "-wal") > options.walLimitBytes else { return }
        do {
            _ = try connection.truncateWriteAheadLogIfIdle()
        } catch {
            logger.debug("write-ahead log not truncated: \(error)")
        }
    }

    /// Deletes at most one chunk of expired or excess readings; returns whether more remains.
    func retentionChunk() throws(SQLiteError) -> Bool {
        var deleted = 0
        var more = false
        // Before this key (the first one not in the chunk), at most deleteChunkRows rows exist.
        boundary.reset()
        try boundary.bind(options.deleteChunkRows, at: 1)
        let hasBoundary = try boundary.step()
        let boundaryTime = hasBoundary ? boundary.int64(at: 0) : Int64.max
        let boundarySensor = hasBoundary ? boundary.int64(at: 1) : Int64.max
        boundary.reset()

        if let age = options.retentionAge {
            let cutoff = clock.now().millisecondsSinceEpoch - Int64(nanoseconds(age) / 1_000_000)
            deleted = try delete(beforeTime: boundaryTime, sensor: boundarySensor, olderThan: cutoff)
            more = deleted > 0 && hasBoundary && boundaryTime < cutoff
        }
        if deleted == 0, let limit = options.retentionBytes {
            // Headroom of one WAL: pages freed since the last checkpoint still occupy the main
            // file until that checkpoint truncates it.
            if try measuredBytes() > limit - options.walLimitBytes {
                deleted = try delete(beforeTime: boundaryTime, sensor: boundarySensor, olderThan: Int64.max)
                more = deleted > 0
            }
        }
        if deleted > 0 {
            // Give the freed pages back to the file system, so the file shrinks with the data.
            try connection.execute("PRAGMA incremental_vacuum")
            lock.withLock { shared.statistics.deletedReadings += deleted }
        }
        return more
    }

    private func delete(beforeTime time: Int64, sensor: Int64, olderThan cutoff: Int64) throws(SQLiteError) -> Int {
        if time == Int64.max {
            try deleteOlder.bind(cutoff, at: 1)
            try deleteOlder.run()
        } else {
            try deleteBefore.bind(time, at: 1)
            try deleteBefore.bind(sensor, at: 2)
            try deleteBefore.bind(cutoff, at: 3)
            try deleteBefore.run()
        }
        return connection.changedRowCount
    }

    /// Pages in use (`page_count − freelist_count`, × `page_size`) plus the WAL. A WAL far above
    /// its limit is counted at the limit: it is held open by a long reader, and deleting
    /// readings would not shrink it.
    ///
    /// With `auto_vacuum=INCREMENTAL` the free list is emptied after every chunk, so this is the
    /// file's size; a file created without it keeps its size and reuses its free pages.
    private func measuredBytes() throws(SQLiteError) -> Int64 {
        let pages = (try connection.integer("PRAGMA page_count") ?? 0) - (try connection.integer("PRAGMA freelist_count") ?? 0)
        let pageSize = try connection.integer("PRAGMA page_size") ?? 4096
        let wal = fileSize(connection.path + "-wal")
        return pages * pageSize + (wal > 4 * options.walLimitBytes ? options.walLimitBytes : wal)
    }
}
