import EdgeCore

/// Where an alert is in its life.
public enum AlertState: String, Sendable, CaseIterable, Hashable {
    /// Raised and not yet seen by an operator.
    case open
    /// An operator has seen it; the condition may still last.
    case acknowledged
    /// The condition is over.
    case cleared
}

/// One alert as stored: what was detected, how strongly, and what an operator said about it.
public struct AlertRecord: Sendable, Equatable {
    /// The database id (0 before it is inserted).
    public var id: Int64
    /// The machine's configuration id.
    public var machine: String
    /// What was detected (e.g. `anomaly`, `sensor_offline`).
    public var kind: String
    /// `info`, `warning` or `critical`.
    public var severity: String
    public var state: AlertState
    /// An operator's verdict: true = a real problem, false = a false alarm, nil = not labelled.
    public var label: Bool?
    /// An operator's note.
    public var note: String
    public var started: Timestamp
    /// When the condition ended, nil while it lasts.
    public var ended: Timestamp?
    /// The highest anomaly score seen during the alert.
    public var peakScore: Double
    /// The threshold in force when the alert was raised.
    public var threshold: Double
    /// Further details as a JSON object text.
    public var details: String
    /// When an operator first acknowledged the alert (`edge-agent ack` or `label`); nil when
    /// nobody did, or for an alert acknowledged before the buffer recorded it (schema 1).
    public var acknowledgedAt: Timestamp?
    /// Who first acknowledged the alert (the `--by` name, else the login name).
    public var acknowledgedBy: String?
    /// Which score judged an anomaly alert (`window_deviation` or `network`, see
    /// `AnomalyScorer`); nil for data alerts and for alerts stored before schema 4.
    public var scoredBy: String?

    /// Whether an operator has acknowledged the alert: its state says so while it is open, and
    /// the recorded time after it cleared (an alert acknowledged before schema 2 that then
    /// cleared no longer shows it).
    public var isAcknowledged: Bool { state == .acknowledged || acknowledgedAt != nil }

    /// Creates an alert record.
    public init(
        id: Int64 = 0, machine: String, kind: String, severity: String, state: AlertState = .open,
        label: Bool? = nil, note: String = "", started: Timestamp, ended: Timestamp? = nil,
        peakScore: Double, threshold: Double, details: String = "{}",
        acknowledgedAt: Timestamp? = nil, acknowledgedBy: String? = nil, scoredBy: String? = nil
    ) {
        self.id = id
        self.machine = machine
        self.kind = kind
        self.severity = severity
        self.state = state
        self.label = label
        self.note = note
        self.started = started
        self.ended = ended
        self.peakScore = peakScore
        self.threshold = threshold
        self.details = details
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgedBy = acknowledgedBy
        self.scoredBy = scoredBy
    }
}

/// Which alerts to list.
public struct AlertFilter: Sendable, Equatable {
    /// Only alerts that started at or after this time.
    public var since: Timestamp?
    /// Only alerts of this machine.
    public var machine: String?
    /// Only alerts in this state.
    public var state: AlertState?
    /// At most this many (newest first).
    public var limit: Int?
    /// Only alerts that started before this time.
    public var startedBefore: Timestamp?
    /// Only alerts still open, or that ended at or after this time.
    public var endedSince: Timestamp?

    /// Creates a filter; nil fields do not filter.
    public init(since: Timestamp? = nil, machine: String? = nil, state: AlertState? = nil, limit: Int? = nil,
                startedBefore: Timestamp? = nil, endedSince: Timestamp? = nil) {
        self.since = since
        self.machine = machine
        self.state = state
        self.limit = limit
        self.startedBefore = startedBefore
        self.endedSince = endedSince
    }

    /// The alerts of `machine` (all machines when nil) open at some time in `[from, until)`:
    /// started before `until` and not ended before `from`. A summary reads these, not the
    /// machine's whole alert history, which grows for as long as the buffer is kept.
    public static func active(from: Timestamp, until: Timestamp, machine: String? = nil) -> AlertFilter {
        AlertFilter(machine: machine, startedBefore: until, endedSince: from)
    }
}

/// What a summary names of a model: which one, when it was calibrated, on how many windows, and
/// its threshold (a `ModelRecord` without the network and metadata).
public struct ModelHeader: Sendable, Equatable {
    /// The database id.
    public var id: Int64
    /// When it was calibrated.
    public var created: Timestamp
    /// How many windows it was calibrated on.
    public var windows: Int
    /// The alert threshold chosen at calibration.
    public var threshold: Double
}

/// A calibrated model of one machine, with what it was calibrated on.
public struct ModelRecord: Sendable, Equatable {
    /// The database id (0 before it is saved).
    public var id: Int64
    /// The machine's configuration id.
    public var machine: String
    public var created: Timestamp
    /// How many windows it was calibrated on.
    public var windows: Int
    /// The alert threshold chosen at calibration.
    public var threshold: Double
    /// The serialized network.
    public var blob: [UInt8]
    /// Further metadata as a JSON object text.
    public var metadata: String

    /// Creates a model record.
    public init(
        id: Int64 = 0, machine: String, created: Timestamp, windows: Int, threshold: Double, blob: [UInt8],
        metadata: String = "{}"
    ) {
        self.id = id
        self.machine = machine
        self.created = created
        self.windows = windows
        self.threshold = threshold
        self.blob = blob
        self.metadata = metadata
    }
}

/// The record of one `calibrate` run.
public struct CalibrationRecord: Sendable, Equatable {
    /// The database id (0 before it is saved).
    public var id: Int64
    /// The machine's configuration id.
    public var machine: String
    public var started: Timestamp
    public var finished: Timestamp
    /// Windows used.
    public var windows: Int
    /// The threshold chosen, nil when the run failed.
    public var threshold: Double?
    /// `ok`, or why it failed.
    public var outcome: String
    /// Further details as a JSON object text.
    public var details: String

    /// Creates a calibration record.
    public init(
        id: Int64 = 0, machine: String, started: Timestamp, finished: Timestamp, windows: Int, threshold: Double?,
        outcome: String, details: String = "{}"
    ) {
        self.id = id
        self.machine = machine
        self.started = started
        self.finished = finished
        self.windows = windows
        self.threshold = threshold
        self.outcome = outcome
        self.details = details
    }
}

/// How much the buffer holds and how big it is on disk.
public struct BufferStatistics: Sendable, Equatable {
    /// Rows in the readings table.
    public var readingCount: Int
    /// The oldest and newest reading times, nil when empty.
    public var oldest: Timestamp?
    public var newest: Timestamp?
    /// `page_count × page_size`: the database file's logical size.
    public var databaseBytes: Int64
    /// The size of the `-wal` file.
    public var walBytes: Int64
    /// Free pages inside the database file (reused by later inserts, or released by retention).
    public var freePages: Int64
    public var pageSize: Int64

    /// Database plus WAL: the disk space the buffer takes.
    public var fileBytes: Int64 { databaseBytes + walBytes }
}

/// A machine's recent readings aligned on a time grid, for scoring: one row per time step,
/// one column per sensor (configuration order), gaps marked.
///
/// Allocate one per machine and pass it to `BufferDatabase.readWindow` again and again; it is
/// refilled in place.
public struct Window: Sendable {
    /// Rows (time steps), oldest first.
    public let steps: Int
    /// Columns (sensors).
    public let sensors: Int
    /// `values[step * sensors + sensor]`; NaN where `present` is false.
    public var values: [Float]
    /// Whether a good reading fills the cell.
    public var present: [Bool]
    /// The time of the last row; row `k` is at `end − (steps − 1 − k) × stepMilliseconds`.
    public var end: Timestamp
    /// The grid spacing (the machine's poll interval).
    public var stepMilliseconds: Int64
    /// How many cells hold a good reading.
    public var presentCount: Int

    /// Creates an empty window (all gaps).
    public init(steps: Int, sensors: Int) {
        self.steps = steps
        self.sensors = sensors
        values = Array(repeating: .nan, count: steps * sensors)
        present = Array(repeating: false, count: steps * sensors)
        end = Timestamp(millisecondsSinceEpoch: 0)
        stepMilliseconds = 1000
        presentCount = 0
    }

    /// The value at a cell, nil for a gap.
    public subscript(step step: Int, sensor sensor: Int) -> Float? {
        let i = step * sensors + sensor
        return present[i] ? values[i] : nil
    }

    /// The time of row `step`.
    public func time(ofStep step: Int) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: end.millisecondsSinceEpoch - Int64(steps - 1 - step) * stepMilliseconds)
    }

    mutating func clear() {
        for i in values.indices {
            values[i] = .nan
            present[i] = false
        }
        presentCount = 0
    }
}
