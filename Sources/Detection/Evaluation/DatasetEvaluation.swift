#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// One file's evaluation: its counts over the rows after calibration.
public struct FileEvaluation: Sendable, Codable {
    /// Path relative to the data set folder.
    public var file: String
    /// Rows in the file.
    public var rows: Int
    /// Counts over the scored rows (after the calibration rows).
    public var counts: ConfusionCounts
    /// The threshold calibration chose.
    public var threshold: Float
    /// The faults that began after calibration and how soon each was alerted on (see `FaultLatency`).
    public var faults: [FaultDetection] = []

    /// Creates one file's evaluation.
    public init(file: String, rows: Int, counts: ConfusionCounts, threshold: Float, faults: [FaultDetection] = []) {
        self.file = file
        self.rows = rows
        self.counts = counts
        self.threshold = threshold
        self.faults = faults
    }
}

/// How one file of a data set is scored when its machine is known (agent.conf's `[[machine]]`):
/// the rows and columns the agent would score, its settings and its tolerances.
public struct PreparedFile: Sendable {
    /// The rows the machine's run signal scores, with its sensors' columns.
    public var table: SensorTable
    /// The detector settings for it (roles, kind, …).
    public var settings: CalibrationSettings
    /// Per column of `table`, the tolerated level change (NaN: none); nil: none.
    public var tolerances: [Float]?
    /// The machine's `hop` (see `Replay.run`).
    public var hop: Int
    /// Calibration rows of `table` the agent never gives its scorer (see `Replay.run`).
    public var calibrationOnly: Set<Int>

    /// Creates a prepared file.
    public init(table: SensorTable, settings: CalibrationSettings, tolerances: [Float]? = nil, hop: Int = 1,
                calibrationOnly: Set<Int> = []) {
        self.table = table
        self.settings = settings
        self.tolerances = tolerances
        self.hop = hop
        self.calibrationOnly = calibrationOnly
    }
}

/// Runs `Replay` on every labelled CSV under a folder and counts its decisions (the SKAB protocol).
public enum DatasetEvaluation {
    /// CSV files under `directory` (recursively), sorted by path, relative to `directory`.
    /// - Throws: `ReplayError` when the folder cannot be listed.
    public static func csvFiles(under directory: String) throws -> [String] {
        var found: [String] = []
        try collect(directory, relative: "", into: &found, depth: 0)
        return found.sorted()
    }

    private static func collect(_ path: String, relative: String, into found: inout [String], depth: Int) throws {
        guard depth < 16 else { return }
        guard let dir = opendir(path) else {
            throw ReplayError(message: "cannot list \(path): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var entries: [(String, Bool)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            var info = stat()
            guard stat(path + "/" + name, &info) == 0 else { continue }
            entries.append((name, (info.st_mode & S_IFMT) == S_IFDIR))
        }
        for (name, isDirectory) in entries {
            let rel = relative.isEmpty ? name : relative + "/" + name
            if isDirectory {
                try collect(path + "/" + name, relative: rel, into: &found, depth: depth + 1)
            } else if name.lowercased().hasSuffix(".csv") {
                found.append(rel)
            }
        }
    }

    /// Evaluates every labelled CSV under `directory` (files without an `anomaly`/`label` column are skipped).
    /// - Throws: `CSVReadError` or `ReplayError` for the first file that cannot be read or replayed.
    /// - Parameter testStartRow: the first row counted (default: `calibrationRows`); the few-shot
    ///   table calibrates on fewer rows but counts the same rows (from 400) for every K.
    /// - Parameter runSignal: a column that is 0 while the machine is stopped (the simulator's
    ///   `running`): as in the runtime, rows while it is off and `settleRows` rows after each
    ///   start are dropped before calibrating and counting (files without that column are used whole).
    /// - Parameter stopGraceRows: with `runSignal`, rows before each stop left out (the machine
    ///   was already stopping; agent.conf `stop_grace`, see `RunState.stopGrace`).
    /// - Parameter runThreshold: with `runSignal`, the reading from which the machine runs, for a
    ///   measured signal such as a motor current (agent.conf `run_threshold`; its column is then
    ///   kept as a sensor); nil: a running contact (≥ `RunState.contactLevel` runs, column dropped).
    /// - Parameter prepare: given a file's path relative to `directory` and its table, the rows,
    ///   settings and tolerances to score it with (each file as its own machine of agent.conf);
    ///   when given, `settings` and the run-signal parameters are not used.
    public static func evaluate(directory: String, calibrationRows: Int,
                                settings: CalibrationSettings = CalibrationSettings(),
                                testStartRow: Int? = nil, runSignal: String? = nil, runThreshold: Double? = nil,
                                settleRows: Int = 0, stopGraceRows: Int = 0,
                                prepare: ((_ file: String, _ table: SensorTable) throws -> PreparedFile)? = nil) throws -> [FileEvaluation] {
        var results: [FileEvaluation] = []
        // The simulator's export lists its faults with their kinds; other data sets have labels only.
        let faultList = try FaultLatency.readList(path: directory + "/faults.csv")
        for file in try csvFiles(under: directory) {
            guard try CSVReader().hasLabelColumn(path: directory + "/" + file) else { continue }
            var table = try CSVReader().read(path: directory + "/" + file)
            var fileSettings = settings
            var tolerances: [Float]? = nil
            var hop = 1
            var calibrationOnly: Set<Int> = []
            if let prepare {
                let prepared = try prepare(file, table)
                (table, fileSettings, tolerances) = (prepared.table, prepared.settings, prepared.tolerances)
                (hop, calibrationOnly) = (prepared.hop, prepared.calibrationOnly)
            } else if let runSignal {
                table = table.runningRows(signal: runSignal, threshold: runThreshold ?? RunState.contactLevel,
                                          keepSignal: runThreshold != nil, settleRows: settleRows,
                                          stopGraceRows: stopGraceRows).table
            }
            guard let labels = table.anomalyLabels else { continue }
            let replay = try Replay.run(table, calibrationRows: calibrationRows, settings: fileSettings, tolerances: tolerances,
                                        hop: hop, calibrationOnly: calibrationOnly)
            let skip = max(calibrationRows, testStartRow ?? calibrationRows)
            let counts = ConfusionCounts(predictions: replay.alerts, labels: labels.map { $0 != 0 }, skip: skip)
            var evaluation = FileEvaluation(file: file, rows: table.rowCount, counts: counts, threshold: replay.detector.threshold)
            let machine = String(file.split(separator: "/").last?.dropLast(4) ?? "")
            evaluation.faults = FaultLatency.detections(table: table, alerts: replay.alerts, firstScoredRow: skip,
                                                        faults: faultList.map { list in list.filter { $0.machine == machine } })
            results.append(evaluation)
        }
        return results
    }
}
