#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// A machine's recorded readings as read from a CSV file: one row per time step, one column per
/// sensor, plus the optional label columns of labelled data sets (SKAB's `anomaly`, `changepoint`).
///
/// Values are stored row-major in one contiguous buffer; a missing reading is `Float.nan`.
public struct SensorTable: Sendable {
    /// Sensor names in column order (label and timestamp columns excluded).
    public var sensorNames: [String]
    /// The timestamp cell of each row, as written in the file (echoed unchanged by `replay`).
    public var timestamps: [String]
    /// Row-major readings: `values[row * sensorCount + sensor]`; NaN where the cell was empty.
    public var values: [Float]
    /// The `anomaly` (or `label`) column, 0 or 1 per row, when the file has one.
    public var anomalyLabels: [UInt8]?
    /// The `changepoint` column, 0 or 1 per row, when the file has one.
    public var changepointLabels: [UInt8]?
    /// Rows at which the machine runs again after a stop that `runningRows` left out (the first
    /// settled row after each start): a scorer's windows start afresh there, as the agent's do,
    /// so no window straddles a stop. Empty for a table read from a file.
    public var runStarts: [Int] = []
    /// Where the last stop left the machine's sensors before a run: for the first row of each
    /// run that followed a stop (row 0 included, when the table began stopped), the readings of
    /// the last stopped row before it, in this table's sensor order. A run after an unknown
    /// stretch has none. A scorer judges such a run as a recovery from that stop
    /// (`DetectorStream.restart(afterStop:)`), as the agent does. Empty for a table read from a file.
    public var stopLevels: [Int: [Float]] = [:]
    /// The settling after a start that `runningRows` left out, in rows: the pace at which a run
    /// recovers from its stop (`DetectorStream.restart(afterStop:recoveryRows:)`). 0 for a
    /// table read from a file.
    public var settleRows = 0

    /// Creates a table from its parts; `values.count` must be `timestamps.count * sensorNames.count`.
    public init(sensorNames: [String], timestamps: [String], values: [Float],
                anomalyLabels: [UInt8]? = nil, changepointLabels: [UInt8]? = nil, runStarts: [Int] = [],
                stopLevels: [Int: [Float]] = [:], settleRows: Int = 0) {
        precondition(values.count == timestamps.count * sensorNames.count, "values do not fill rows × sensors")
        self.sensorNames = sensorNames
        self.timestamps = timestamps
        self.values = values
        self.runStarts = runStarts
        self.stopLevels = stopLevels
        self.settleRows = settleRows
        self.anomalyLabels = anomalyLabels
        self.changepointLabels = changepointLabels
    }

    /// Number of rows (time steps).
    public var rowCount: Int { timestamps.count }
    /// Number of sensor columns.
    public var sensorCount: Int { sensorNames.count }

    /// The readings of one row, one value per sensor.
    public func row(_ index: Int) -> ArraySlice<Float> {
        values[(index * sensorCount)..<((index + 1) * sensorCount)]
    }

    /// The first `count` rows (all rows when the table is shorter), labels included.
    public func prefix(rows count: Int) -> SensorTable {
        let n = max(0, min(count, rowCount))
        return SensorTable(
            sensorNames: sensorNames, timestamps: Array(timestamps[0..<n]),
            values: Array(values[0..<(n * sensorCount)]),
            anomalyLabels: anomalyLabels.map { Array($0[0..<n]) },
            changepointLabels: changepointLabels.map { Array($0[0..<n]) },
            runStarts: runStarts.filter { $0 < n }, stopLevels: stopLevels.filter { $0.key < n }, settleRows: settleRows)
    }

    /// The rows where the machine runs and has settled after its last start, as the runtime
    /// scores them (agent.conf's `run_signal`, `run_threshold` and `settle_after_start`): a row
    /// is dropped while `runSignal` reads below `threshold` and for `settleRows` rows after it
    /// comes back up, and for `stopGraceRows` rows before it drops; a missing run-signal reading keeps the last state for
    /// `RunState.heldPolls` rows, then the rows are dropped until it reads again (see
    /// `RunState`). Labels stay with their rows. Rows before the first stop count as settled
    /// (the machine was already running). The first row kept after each stop is listed in
    /// `runStarts`. Returns the table itself when it has no column named `runSignal`.
    /// - Parameters:
    ///   - threshold: the run signal's reading from which the machine runs
    ///     (`RunState.contactLevel`: a running contact, 0 or 1).
    ///   - keepSignal: whether the run signal's column stays in the table: a measured signal
    ///     (a motor current with `run_threshold`) is a sensor like the others; a running
    ///     contact is always on in the running rows, so it is dropped.
    /// - Returns: the running rows and how many rows were dropped.
    ///   - stopGraceRows: rows before each stop that are not judged (see `RunState.stopGrace`).
    public func runningRows(signal runSignal: String, threshold: Double = RunState.contactLevel, keepSignal: Bool = false,
                            settleRows: Int, stopGraceRows: Int = 0) -> (table: SensorTable, excluded: Int) {
        runningRows(signal: runSignal, keepSignal: keepSignal,
                    state: RunState(runningLevel: threshold, settleTime: Int64(settleRows), holdTime: Int64(RunState.heldPolls),
                                    stopGrace: Int64(stopGraceRows)))
    }

    /// The rows `state` scores, as `runningRows(signal:threshold:keepSignal:settleRows:)`
    /// with a run state of the caller's making.
    /// - Parameters:
    ///   - state: the run state before the first row (its settle and hold times in the unit
    ///     of `rowTimes`).
    ///   - rowTimes: each row's time (e.g. milliseconds, as the agent counts them); nil: the
    ///     row number, so that `state`'s times count rows.
    public func runningRows(signal runSignal: String, keepSignal: Bool, state: RunState,
                            rowTimes: [Int64]? = nil) -> (table: SensorTable, excluded: Int) {
        let selection = runningRowSelection(signal: runSignal, keepSignal: keepSignal, state: state, rowTimes: rowTimes)
        return (selection.table, rowCount - selection.rows.count)
    }

    /// `runningRows(signal:keepSignal:state:rowTimes:)` with the row number, in this table, of
    /// each row kept (so that `replay` can write one line per input row).
    public func runningRowSelection(signal runSignal: String, keepSignal: Bool, state: RunState,
                                    rowTimes: [Int64]? = nil) -> (table: SensorTable, rows: [Int]) {
        guard let k = sensorNames.firstIndex(of: runSignal) else { return (self, Array(0..<rowCount)) }
        precondition(rowTimes == nil || rowTimes?.count == rowCount, "one time per row")
        let kept = sensorNames.indices.filter { keepSignal || $0 != k }
        var values: [Float] = [], times: [String] = [], rows: [Int] = []
        values.reserveCapacity(self.values.count)
        var state = state, starts: [Int] = []
        // The last stopped row since the last run (nil after an unknown stretch), and where
        // each run that followed a stop found the sensors.
        var lastStopped: [Float]? = nil
        var stopLevels: [Int: [Float]] = [:]
        // Where the current run's rows begin in the kept rows.
        var runBegin = 0
        func time(_ r: Int) -> Int64 { rowTimes?[r] ?? Int64(r) }
        for r in 0..<rowCount {
            let row = self.row(r)
            let v = row[row.startIndex + k]
            let wasRunning = state.isScored
            let phase = state.observe(Double(v), at: time(r))
            if phase == .stopped { lastStopped = kept.map { row[row.startIndex + $0] } }
            if phase == .unknown { lastStopped = nil }
            guard phase == .running else {
                // A stop (or an unknown stretch): the rows of the run just ended that lie within
                // the stop grace before it were the machine already stopping (`RunState.stopGrace`).
                if wasRunning {
                    while times.count > runBegin, let last = rows.last, !state.isJudged(rowAt: time(last), stoppedAt: time(r)) {
                        rows.removeLast()
                        times.removeLast()
                        values.removeLast(kept.count)
                    }
                    if starts.last == times.count { starts.removeLast() }
                }
                continue
            }
            if state.startsAfresh {
                runBegin = times.count
                if !times.isEmpty { starts.append(times.count) }
                stopLevels[times.count] = lastStopped
                lastStopped = nil
            }
            times.append(timestamps[r])
            rows.append(r)
            for i in kept { values.append(row[row.startIndex + i]) }
        }
        let table = SensorTable(sensorNames: kept.map { sensorNames[$0] }, timestamps: times, values: values,
                                anomalyLabels: anomalyLabels.map { labels in rows.map { labels[$0] } },
                                changepointLabels: changepointLabels.map { labels in rows.map { labels[$0] } },
                                runStarts: starts, stopLevels: stopLevels,
                                settleRows: SensorTable.rows(in: state.settleTime, rowTimes: rowTimes))
        return (table, rows)
    }
}

extension SensorTable {
    /// How many rows `duration` (in the unit of `rowTimes`; rows when nil) spans: divided by
    /// the median step between rows.
    static func rows(in duration: Int64, rowTimes: [Int64]?) -> Int {
        guard let rowTimes, rowTimes.count > 1 else { return Int(duration) }
        let steps = zip(rowTimes.dropFirst(), rowTimes).map { $0 - $1 }.filter { $0 > 0 }.sorted()
        guard !steps.isEmpty else { return Int(duration) }
        return Int(duration / steps[steps.count / 2])
    }
}

/// Why a CSV file could not be read, with the place in the file and what to do about it.
public struct CSVReadError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure, so callers can react to each differently.
    public enum Code: Sendable, Equatable {
        /// The file could not be opened or read (see `message` for the system error).
        case unreadable
        /// The file is empty or has no header line.
        case missingHeader
        /// The header has more columns than `CSVReader.maximumColumnCount`.
        case tooManyColumns
        /// A line is longer than `CSVReader.maximumLineBytes`.
        case lineTooLong
        /// A data line has a different number of cells than the header.
        case wrongCellCount
        /// A sensor or label cell holds something that is not a number.
        case notANumber
        /// No sensor column is left once the timestamp and label columns are set aside.
        case noSensorColumns
    }

    /// The kind of failure.
    public var code: Code
    /// The file being read.
    public var path: String
    /// The 1-based line number in the file (the header is line 1), or nil for whole-file errors.
    public var line: Int?
    /// The column's name from the header, when the error concerns one cell.
    public var column: String?
    /// A sentence saying what is wrong and what to do.
    public var message: String

    public var description: String {
        var place = path
        if let line { place += ", line \(line)" }
        if let column { place += ", column \"\(column)\"" }
        return "\(place): \(message)"
    }
}

/// Reads sensor CSV files: `;` or `,` separated (detected from the header), LF or CRLF line
/// endings, a timestamp column (`datetime`, `timestamp`, or else the first column), label columns
/// (`anomaly`, `changepoint`, `label`: never inputs), and every other column as a numeric sensor.
///
/// Empty cells are missing readings (NaN), and so are cells holding `nan`, `inf`, `-inf` or a
/// number beyond Float's range (±3.4e38): a detector never sees a non-finite value. The file is read in fixed-size chunks, so a malformed
/// file (one endless line, a million columns) is refused with an error instead of exhausting memory.
public struct CSVReader: Sendable {
    /// The largest number of columns accepted in a header.
    public static let maximumColumnCount = 1024
    /// The longest line accepted, in bytes.
    public static let maximumLineBytes = 1 << 20

    /// Creates a reader.
    public init() {}

    /// Reads the whole file at `path`.
    /// - Throws: `CSVReadError` naming the line and column of the first problem.
    public func read(path: String) throws -> SensorTable {
        let file = try Self.open(path)
        defer { fclose(file) }
        var parser = Parser(path: path)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n > 0 { try parser.feed(chunk[0..<n]) }
            if n < chunk.count {
                if ferror(file) != 0 {
                    throw CSVReadError(code: .unreadable, path: path, line: parser.lineNumber, column: nil,
                                       message: "read error; is the file on a failing disk or still being written?")
                }
                break
            }
        }
        return try parser.finish()
    }

    /// Whether the file's header names a label column (`anomaly` or `label`), read from its
    /// first line only: `evaluate` uses it to pass over other CSV files in a data folder (the
    /// simulator's `faults.csv`, notes) without parsing them.
    /// - Throws: `CSVReadError` when the file cannot be read or its header is not usable.
    public func hasLabelColumn(path: String) throws -> Bool {
        let file = try Self.open(path)
        defer { fclose(file) }
        var parser = Parser(path: path)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while parser.roles.isEmpty {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            guard n > 0 else { break }
            // Only the header matters: feed line by line and stop at the first that is not blank.
            var start = 0
            while start < n, parser.roles.isEmpty {
                if let newline = chunk[start..<n].firstIndex(of: UInt8(ascii: "\n")) {
                    try parser.feed(chunk[start...newline])
                    start = newline + 1
                } else {
                    try parser.feed(chunk[start..<n])
                    start = n
                }
            }
        }
        if parser.roles.isEmpty { _ = try parser.finish() }
        return parser.anomaly != nil
    }

    /// Opens `path` for reading, or throws the error both readers give.
    private static func open(_ path: String) throws -> UnsafeMutablePointer<FILE> {
        guard let file = fopen(path, "rb") else {
            let reason = String(cString: strerror(errno))
            throw CSVReadError(code: .unreadable, path: path, line: nil, column: nil,
                               message: "cannot open (\(reason)); check the path and its permissions")
        }
        return file
    }

    /// Parses CSV text held in memory (tests, and files already read); `name` is used in errors.
    /// - Throws: `CSVReadError` naming the line and column of the first problem.
    public func parse(text: String, name: String = "<text>") throws -> SensorTable {
        var parser = Parser(path: name)
        var copy = text
        try copy.withUTF8 { try parser.feed($0[...]) }
        return try parser.finish()
    }

    /// The incremental parser: feed bytes, it splits lines and converts each as it completes.
    struct Parser {
        enum Role { case timestamp, sensor(Int), anomaly, changepoint, ignored }

        let path: String
        var pending: [UInt8] = []
        var lineNumber = 0
        var separator: UInt8 = UInt8(ascii: ";")
        var roles: [Role] = []
        var columnNames: [String] = []
        var sensorNames: [String] = []
        var timestamps: [String] = []
        var values: [Float] = []
        var anomaly: [UInt8]? = nil
        var changepoint: [UInt8]? = nil

        init(path: String) { self.path = path }

        mutating func feed<C: Collection>(_ bytes: C) throws where C.Element == UInt8 {
            var start = bytes.startIndex
            var index = start
            while index != bytes.endIndex {
                if bytes[index] == UInt8(ascii: "\n") {
                    // The same limit whether the text comes in chunks or whole.
                    if pending.count + bytes.distance(from: start, to: index) > CSVReader.maximumLineBytes {
                        throw error(.lineTooLong, line: lineNumber + 1, column: nil,
                                    "a line is longer than \(CSVReader.maximumLineBytes) bytes; is this really a CSV file?")
                    }
                    if pending.isEmpty {
                        try handle(line: Array(bytes[start..<index]))
                    } else {
                        pending.append(contentsOf: bytes[start..<index])
                        let line = pending
                        pending.removeAll(keepingCapacity: true)
                        try handle(line: line)
                    }
                    start = bytes.index(after: index)
                }
                index = bytes.index(after: index)
            }
            pending.append(contentsOf: bytes[start..<bytes.endIndex])
            if pending.count > CSVReader.maximumLineBytes {
                throw error(.lineTooLong, line: lineNumber + 1, column: nil,
                            "a line is longer than \(CSVReader.maximumLineBytes) bytes; is this really a CSV file?")
            }
        }

        mutating func finish() throws -> SensorTable {
            if !pending.isEmpty {
                let line = pending
                pending.removeAll()
                try handle(line: line)
            }
            guard !roles.isEmpty else {
                throw error(.missingHeader, line: nil, column: nil, "the file is empty; expected a header line naming the columns")
            }
            return SensorTable(sensorNames: sensorNames, timestamps: timestamps, values: values,
                               anomalyLabels: anomaly, changepointLabels: changepoint)
        }

        func error(_ code: CSVReadError.Code, line: Int?, column: String?, _ message: String) -> CSVReadError {
            CSVReadError(code: code, path: path, line: line, column: column, message: message)
        }

        mutating func handle(line raw: [UInt8]) throws {
            lineNumber += 1
            var line = raw[...]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if lineNumber == 1, line.starts(with: [0xEF, 0xBB, 0xBF]) { line = line.dropFirst(3) }
            if roles.isEmpty {
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { return }
                try header(line)
                return
            }
            if line.isEmpty { return }
            try data(line)
        }

        mutating func header(_ line: ArraySlice<UInt8>) throws {
            let semicolons = line.lazy.filter { $0 == UInt8(ascii: ";") }.count
            let commas = line.lazy.filter { $0 == UInt8(ascii: ",") }.count
            separator = semicolons >= commas && semicolons > 0 ? UInt8(ascii: ";") : UInt8(ascii: ",")
            let count = max(semicolons, commas) + 1
            guard count <= CSVReader.maximumColumnCount else {
                throw error(.tooManyColumns, line: lineNumber, column: nil,
                            "the header has \(count) columns; at most \(CSVReader.maximumColumnCount) are supported")
            }
            columnNames = line.split(separator: separator, omittingEmptySubsequences: false).map { cell in
                var name = String(decoding: cell, as: UTF8.self)
                name = String(name.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
                if name.count >= 2, name.first == "\"", name.last == "\"" { name = String(name.dropFirst().dropLast()) }
                return name
            }
            let lower = columnNames.map { $0.lowercased() }
            let timestampColumn = lower.firstIndex(of: "datetime") ?? lower.firstIndex(of: "timestamp") ?? 0
            roles = []
            for (index, name) in lower.enumerated() {
                if index == timestampColumn {
                    roles.append(.timestamp)
                } else if name == "anomaly" || name == "label" {
                    if anomaly == nil { anomaly = []; roles.append(.anomaly) } else { roles.append(.ignored) }
                } else if name == "changepoint" {
                    if changepoint == nil { changepoint = []; roles.append(.changepoint) } else { roles.append(.ignored) }
                } else {
                    roles.append(.sensor(sensorNames.count))
                    sensorNames.append(columnNames[index])
                }
            }
            guard !sensorNames.isEmpty else {
                throw error(.noSensorColumns, line: lineNumber, column: nil,
                            "no sensor columns: every column is the timestamp or a label (anomaly, changepoint, label)")
            }
        }

        mutating func data(_ line: ArraySlice<UInt8>) throws {
            let base = values.count
            values.append(contentsOf: repeatElement(Float.nan, count: sensorNames.count))
            var column = 0
            var start = line.startIndex
            var index = start
            while true {
                let atEnd = index == line.endIndex
                if atEnd || line[index] == separator {
                    guard column < roles.count else {
                        throw error(.wrongCellCount, line: lineNumber, column: nil,
                                    "more cells than the header's \(roles.count) columns; check the separator and quoting")
                    }
                    let cell = line[start..<index]
                    switch roles[column] {
                    case .timestamp:
                        timestamps.append(String(decoding: cell, as: UTF8.self))
                    case .sensor(let s):
                        values[base + s] = try number(cell, column: column)
                    case .anomaly:
                        let v = try label(cell, column: column)
                        anomaly?.append(v)
                    case .changepoint:
                        let v = try label(cell, column: column)
                        changepoint?.append(v)
                    case .ignored:
                        break
                    }
                    column += 1
                    if atEnd { break }
                    start = line.index(after: index)
                }
                index = line.index(after: index)
            }
            guard column == roles.count else {
                throw error(.wrongCellCount, line: lineNumber, column: nil,
                            "\(column) cells but the header has \(roles.count) columns; check the separator and quoting")
            }
        }

        func label(_ cell: ArraySlice<UInt8>, column: Int) throws -> UInt8 {
            let v = try number(cell, column: column)
            return v.isNaN || v == 0 ? 0 : 1
        }

        /// Converts one cell with strtod; empty → NaN, trailing garbage → error.
        func number(_ cell: ArraySlice<UInt8>, column: Int) throws -> Float {
            var trimmed = cell
            while let f = trimmed.first, f == UInt8(ascii: " ") || f == UInt8(ascii: "\"") { trimmed = trimmed.dropFirst() }
            while let l = trimmed.last, l == UInt8(ascii: " ") || l == UInt8(ascii: "\"") { trimmed = trimmed.dropLast() }
            if trimmed.isEmpty { return .nan }
            let text = String(decoding: cell, as: UTF8.self)
            guard trimmed.count < 64 else {
                throw error(.notANumber, line: lineNumber, column: columnNames[column],
                            "\"\(text.prefix(40))…\" is not a number; sensor and label cells must be numbers or empty")
            }
            var buffer = [CChar](repeating: 0, count: trimmed.count + 1)
            for (i, b) in trimmed.enumerated() { buffer[i] = CChar(bitPattern: b) }
            let parsed: Double? = buffer.withUnsafeBufferPointer { p in
                var end: UnsafeMutablePointer<CChar>? = nil
                let value = strtod(p.baseAddress!, &end)
                guard let end, end - UnsafeMutablePointer(mutating: p.baseAddress!) == trimmed.count else { return nil }
                return value
            }
            guard let parsed else {
                throw error(.notANumber, line: lineNumber, column: columnNames[column],
                            "\"\(text)\" is not a number; sensor and label cells must be numbers or empty")
            }
            // NaN, ±inf and values beyond Float's range are missing readings, like an empty
            // cell (and like a Modbus value that decodes to NaN): never fed to a detector.
            let value = Float(parsed)
            return value.isFinite ? value : .nan
        }
    }
}
