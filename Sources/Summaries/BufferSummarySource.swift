import Configuration
import EdgeCore
import Store

// JSONDecoder for the alert details the runtime stores (its alert-log line); FoundationEssentials
// has it without ICU.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Builds a `SummaryInput` for a past period from the agent's buffer, for
/// `edge-agent summarize`: the machine's readings, its alerts and its latest model.
///
/// - Important: The buffer keeps every reading's quality, so on-demand summaries count readings
///   per quality as the agent's own do (`out_of_range`, `timeout`, …; statistics over good
///   values only). Anomaly scores are not kept in the buffer, so on-demand summaries have no
///   score chart.
public enum BufferSummarySource {
    /// The summary input of `machine` over `[from, until)`.
    /// - Throws: `StoreError(.unknownMachine)` when agent.conf has no such machine; `SQLiteError`
    ///   when the buffer cannot be read.
    public static func input(
        machine: String, configuration: AgentConfiguration, from: Timestamp, until: Timestamp,
        database: BufferDatabase, generated: Timestamp = .now()
    ) throws -> SummaryInput {
        try inputs(machines: [machine], configuration: configuration, from: from, until: until, database: database,
                   generated: generated)[0]
    }

    /// The summary inputs of several machines over `[from, until)`, in `machines` order, from
    /// one pass over the period's readings (`BufferDatabase.forEachRowWithQualities`): the
    /// buffer is keyed by time, so reading each machine's readings on its own visits every
    /// reading of the period once per machine. Each input is the one `input(machine:…)` gives.
    ///
    /// Memory: the digests of all their sensors at once, about 7 KB per sensor (the chart's
    /// buckets), so the caller bounds how many machines it asks for at a time.
    /// - Throws: `StoreError(.unknownMachine)` when agent.conf has no such machine; `SQLiteError`
    ///   when the buffer cannot be read.
    public static func inputs(
        machines: [String], configuration: AgentConfiguration, from: Timestamp, until: Timestamp,
        database: BufferDatabase, generated: Timestamp = .now()
    ) throws -> [SummaryInput] {
        let mapping = try database.lookUpSensors(configuration)
        var indices: [Int32] = []
        var configured: [MachineConfiguration] = []
        for machine in machines {
            guard let index = mapping.machineIndex(named: machine), let machineConfiguration = configuration.machine(id: machine) else {
                let known = configuration.machines.map(\.id).joined(separator: ", ")
                throw StoreError(.unknownMachine, "no machine \"\(machine)\" in \(configuration.sourcePath) (machines: \(known))")
            }
            indices.append(index)
            configured.append(machineConfiguration)
        }
        // Each row is reduced as it is read (statistics and chart buckets per sensor): memory
        // stays about 8 KB per sensor however long the period (an hour at 10 Hz held as samples
        // was 36,000 per sensor, 8.6 MB for a 10-sensor machine).
        let pollIntervals = configured.map { max(1, $0.pollInterval.wholeMilliseconds) }
        var digests = configured.indices.map { k in
            configured[k].sensors.map { _ in
                SensorDigest(start: from, end: until, pollIntervalMilliseconds: pollIntervals[k])
            }
        }
        try database.forEachRowWithQualities(machines: indices, mapping: mapping, from: from, until: until) { k, time, values, qualities in
            for column in values.indices where column < digests[k].count {
                guard let quality = qualities[column] else { continue }
                digests[k][column].add(Sample(time: time, value: values[column], quality: quality))
            }
        }
        return try configured.indices.map { k in
            let machineConfiguration = configured[k]
            let machine = machineConfiguration.id
            let sensors = machineConfiguration.sensors.enumerated().map { column, sensor in
                SensorSeries(name: sensor.name, unit: sensor.unit, digest: digests[k][column])
            }
            let alerts = try database.alerts(.active(from: from, until: until, machine: machine)).map(summaryAlert)
            let model = try database.latestModelHeader(machine: machine, calibratedBefore: until).map { header in
                ModelInfo(name: "model \(header.id)", calibrated: header.created, calibrationWindows: header.windows, threshold: header.threshold)
            }
            return SummaryInput(
                machine: machine, machineDescription: machineConfiguration.description, start: from, end: until,
                pollIntervalMilliseconds: pollIntervals[k], sensors: sensors,
                scores: nil, alerts: alerts, dataQualityEvents: [], model: model, generated: generated)
        }
    }

    /// The runtime stores each alert's latest alert-log line as its details: the id, the top
    /// sensors and the message come from there; an operator's note is added to the message.
    static func summaryAlert(_ record: AlertRecord) -> SummaryAlert {
        let details = StoredAlertDetails(of: record)
        var message = details?.message ?? ""
        if !record.note.isEmpty { message += message.isEmpty ? "note: \(record.note)" : " (note: \(record.note))" }
        // The log line's parts as they are (`SummaryAlertSensor` is `SensorContribution`).
        let sensors: [SummaryAlertSensor] = details?.contributions ?? []
        return SummaryAlert(
            id: details?.id ?? "\(record.machine)-\(record.id)", kind: record.kind, severity: record.severity,
            started: record.started, ended: record.ended, peakScore: record.peakScore, threshold: record.threshold,
            topSensors: sensors, message: message, scoredBy: record.scoredBy.flatMap(AnomalyScorer.init(rawValue:)))
    }
}

/// The fields of the alert-log line the runtime stores as an alert's details (the `details`
/// column, and each line of the alert log): what a summary shows, what ending a left-open alert
/// carries over, and whether the log already ended an alert. All optional:
/// another writer's details, or none, are fine.
public struct StoredAlertDetails: Decodable, Sendable {
    /// One entry of `top_sensors`.
    public struct Sensor: Decodable, Sendable {
        public var sensor: String
        public var value: Double?
        public var unit: String?
        public var contribution: Double?
        public var normal_low: Double?
        public var normal_high: Double?
        public var rise_per_minute: Double?
        public var normal_rise_per_minute: Double?
        /// What it was judged against and the range expected of it (absent on lines written
        /// before they were recorded).
        public var judged: String?
        public var expected_low: Double?
        public var expected_high: Double?
        public var relative_to: String?
        public var judged_mean: Double?
        public var judged_reading: Double?
        public var judged_at: String?
        public var moved_with: String?
        public var judged_movement: Double?
        public var judged_rows: Int?
        public var least_movement: Double?
    }

    /// The event (`raised`, `updated`, `cleared`).
    public var event: String?
    /// The alert's id in the alert log.
    public var id: String?
    /// When the alert ended (ISO-8601), on a `cleared` event.
    public var ended: String?
    /// The alert's machine, kind (`anomaly`, `unit_offline`, …), severity and start (ISO-8601).
    public var machine: String?
    public var kind: String?
    public var severity: String?
    public var started: String?
    /// The alert's peak score and the threshold at the time.
    public var peak_score: Double?
    public var threshold: Double?
    /// The event's message.
    public var message: String?
    /// The sensors that drove it.
    public var top_sensors: [Sensor]?
    /// Which score judged an anomaly alert (`window_deviation`, `network`); absent on data
    /// alerts and on lines written before it was recorded.
    public var scored_by: String?

    /// The details of `record`; nil when they are empty or not such a line.
    public init?(of record: AlertRecord) {
        self.init(line: record.details)
    }

    /// One alert-log line's fields; nil when it is not a JSON object.
    public init?(line: String) {
        guard let decoded = try? JSONDecoder().decode(StoredAlertDetails.self, from: Data(line.utf8)) else { return nil }
        self = decoded
    }

    /// `top_sensors` as contributions, NaN (or an empty unit) where a field is missing.
    public var contributions: [SensorContribution] {
        (top_sensors ?? []).map {
            SensorContribution(sensor: $0.sensor, value: $0.value ?? .nan, unit: $0.unit ?? "",
                               contribution: $0.contribution ?? .nan,
                               normalLow: $0.normal_low ?? .nan, normalHigh: $0.normal_high ?? .nan,
                               risePerMinute: $0.rise_per_minute, normalRisePerMinute: $0.normal_rise_per_minute,
                               judged: $0.judged.flatMap(SensorJudgement.init(rawValue:)),
                               expectedLow: $0.expected_low, expectedHigh: $0.expected_high, relativeTo: $0.relative_to,
                               judgedMean: $0.judged_mean, judgedReading: $0.judged_reading,
                               judgedAt: $0.judged_at.flatMap { Timestamp(iso8601: Substring($0)) },
                               movedWith: $0.moved_with.flatMap(ExpectedRangeCondition.init(rawValue:)),
                               judgedMovement: $0.judged_movement, judgedRows: $0.judged_rows, leastMovement: $0.least_movement)
        }
    }
}
