import Configuration
import EdgeCore
import FoundationEssentials
import Modbus
import Store

/// A snapshot of the running agent, stored in the database every few seconds so that
/// `edge-agent status` (another process) can show it, and rendered as Prometheus metrics.
///
/// Encoded with FoundationEssentials' JSON coder (no ICU).
public struct RuntimeStatus: Sendable, Codable, Equatable {
    /// The key-value entry the status is stored under.
    public static let key = "runtime.status"

    /// One Modbus unit's health.
    public struct UnitStatus: Sendable, Codable, Equatable {
        public var unit: Int
        public var lastGoodPoll: String?
        public var consecutiveErrors: Int
        public var requests: Int
        public var timeouts: Int
        public var exceptions: Int
        public var invalidResponses: Int
        public var connectionLosses: Int
        public var decodeErrors: Int
        public var backoffUntil: String?
    }

    /// One bus's health.
    public struct BusStatus: Sendable, Codable, Equatable {
        public var name: String
        public var connected: Bool
        public var reconnects: Int
        public var connectFailures: Int
        public var lastConnectionError: String?
        public var cycles: Int
        public var units: [UnitStatus]
    }

    /// One machine's model and last score.
    public struct MachineStatus: Sendable, Codable, Equatable {
        public var id: String
        /// nil when uncalibrated.
        public var calibratedAt: String?
        public var threshold: Double?
        public var lastScore: Double?
        public var lastScoreTime: String?
        /// The int8 network's score of the same window and its own threshold, when `calibrate`
        /// stored a network model.
        public var networkScore: Double?
        public var networkThreshold: Double?
        /// Which score alerts (`deviation`, `network` or `either`; agent.conf's `alert_score`).
        public var alertScore: String?
        /// Whether its rows are judged now, since when, and why not (nil in a status written by
        /// an agent before this field existed).
        public var monitoring: Monitoring?

        /// A machine's monitoring state as stored: `state` is a `MonitoringState` raw value
        /// (`judged`, `stopped`, `uncalibrated-state`…), `since` ISO-8601 UTC, `reason` nil when judged.
        public struct Monitoring: Sendable, Codable, Equatable {
            public var state: String
            public var since: String?
            public var reason: String?

            /// Stores `monitoring`.
            public init(_ monitoring: MachineMonitoring) {
                state = monitoring.state.rawValue
                since = monitoring.since?.iso8601
                reason = monitoring.reason
            }
        }

        init(id: String, model: MachineModel?, lastScore: (score: Double, time: Timestamp)?, networkScore: Double? = nil,
             monitoring: MachineMonitoring? = nil) {
            self.monitoring = monitoring.map(Monitoring.init)
            self.id = id
            calibratedAt = model?.calibratedAt
            threshold = model?.threshold
            self.lastScore = lastScore.map { $0.score.isFinite ? $0.score : -1 }
            lastScoreTime = lastScore?.time.iso8601
            self.networkScore = networkScore
            networkThreshold = model?.networkThreshold
            alertScore = model?.alertScore.rawValue
        }
    }

    /// An open alert, briefly.
    public struct OpenAlert: Sendable, Codable, Equatable {
        public var id: String
        public var machine: String
        public var kind: String
        public var severity: String
        public var started: String
        public var message: String
    }

    public var time: String
    public var pid: Int
    public var configuration: String
    public var buses: [BusStatus]
    public var machines: [MachineStatus]
    public var openAlerts: [OpenAlert]
    public var readingsPolled: Int
    public var readingsCommitted: Int
    public var readingsQueued: Int
    public var readingsRejected: Int
    public var scoringOverflowCycles: Int
    public var windowsScored: Int
    public var alertEvents: Int
    public var bufferState: String
    public var scoreDelayP50Milliseconds: Double
    public var scoreDelayP99Milliseconds: Double

    init(time: Timestamp, pid: Int, configuration: AgentConfiguration, buses: [BusHealth], machines: [MachineStatus],
         openAlerts: [Alert], writer: ReadingWriter.Statistics, counters: RuntimeCounters) {
        self.time = time.iso8601
        self.pid = pid
        self.configuration = configuration.sourcePath
        self.buses = buses.map { bus in
            BusStatus(
                name: bus.bus, connected: bus.isConnected, reconnects: bus.reconnects, connectFailures: bus.connectFailures,
                lastConnectionError: bus.lastConnectionError, cycles: bus.cycles,
                units: bus.units.map { u in
                    UnitStatus(unit: u.unitID, lastGoodPoll: u.lastGoodPoll?.iso8601, consecutiveErrors: u.consecutiveErrors,
                               requests: u.requests, timeouts: u.errors.timeouts, exceptions: u.errors.exceptions,
                               invalidResponses: u.errors.invalidResponses, connectionLosses: u.errors.connectionLosses,
                               decodeErrors: u.errors.decodeErrors, backoffUntil: u.backoffUntil?.iso8601)
                })
        }
        self.machines = machines
        self.openAlerts = openAlerts.map {
            OpenAlert(id: $0.id, machine: $0.machine, kind: $0.kind.rawValue, severity: $0.severity.rawValue,
                      started: $0.started.iso8601, message: $0.message)
        }
        readingsPolled = counters.readingsPolled
        readingsCommitted = writer.committedReadings
        readingsQueued = writer.queuedReadings
        readingsRejected = writer.rejectedReadings
        scoringOverflowCycles = counters.scoringOverflowCycles
        windowsScored = counters.windowsScored
        alertEvents = counters.alertEvents
        switch writer.state {
        case .writing: bufferState = "writing"
        case .failing(let error): bufferState = "failing: \(error)"
        }
        scoreDelayP50Milliseconds = counters.scoreDelayP50Milliseconds
        scoreDelayP99Milliseconds = counters.scoreDelayP99Milliseconds
    }

    /// The status as one JSON object.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes a status stored by a running agent.
    public static func decode(_ json: String) throws -> RuntimeStatus {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(RuntimeStatus.self, from: Data(json.utf8))
    }

    /// The status as node_exporter textfile metrics.
    public var prometheusText: String {
        var text = PrometheusText()
        text.add("edge_agent_readings_polled_total", type: .counter, help: "Readings polled since start.", value: Double(readingsPolled))
        text.add("edge_agent_readings_committed_total", type: .counter, help: "Readings written to the buffer since start.", value: Double(readingsCommitted))
        text.add("edge_agent_readings_rejected_total", type: .counter, help: "Readings the buffer queue refused (overflow).", value: Double(readingsRejected))
        text.add("edge_agent_readings_queued", type: .gauge, help: "Readings waiting for the buffer writer.", value: Double(readingsQueued))
        text.add("edge_agent_scoring_overflow_cycles_total", type: .counter, help: "Poll cycles the scoring queue could not take.", value: Double(scoringOverflowCycles))
        text.add("edge_agent_windows_scored_total", type: .counter, help: "Windows scored since start.", value: Double(windowsScored))
        text.add("edge_agent_alert_events_total", type: .counter, help: "Alert events (raised, updated, cleared) since start.", value: Double(alertEvents))
        text.add("edge_agent_open_alerts", type: .gauge, help: "Alerts open now.", value: Double(openAlerts.count))
        text.add("edge_agent_score_delay_seconds", type: .gauge, help: "Delay from poll to score, recent windows.", labels: ["quantile": "0.5"], value: scoreDelayP50Milliseconds / 1000)
        text.add("edge_agent_score_delay_seconds", type: .gauge, help: "Delay from poll to score, recent windows.", labels: ["quantile": "0.99"], value: scoreDelayP99Milliseconds / 1000)
        text.add("edge_agent_buffer_writing", type: .gauge, help: "1 while the buffer accepts writes.", value: bufferState == "writing" ? 1 : 0)
        for bus in buses {
            text.add("edge_agent_bus_connected", type: .gauge, help: "1 while the bus is connected.", labels: ["bus": bus.name], value: bus.connected ? 1 : 0)
            for unit in bus.units {
                let labels = ["bus": bus.name, "unit": String(unit.unit)]
                text.add("edge_agent_poll_requests_total", type: .counter, help: "Modbus requests per unit.", labels: labels, value: Double(unit.requests))
                for (kind, count) in [("timeout", unit.timeouts), ("exception", unit.exceptions), ("invalid_response", unit.invalidResponses),
                                      ("connection_lost", unit.connectionLosses), ("decode_error", unit.decodeErrors)] {
                    var l = labels
                    l["kind"] = kind
                    text.add("edge_agent_poll_errors_total", type: .counter, help: "Modbus poll errors per unit and kind.", labels: l, value: Double(count))
                }
            }
        }
        for machine in machines {
            if let score = machine.lastScore {
                text.add("edge_agent_last_score", type: .gauge, help: "Last anomaly score per machine.", labels: ["machine": machine.id], value: score)
            }
            if let score = machine.networkScore {
                text.add("edge_agent_network_score", type: .gauge, help: "Last int8 network score per machine (reported beside the alerting score).", labels: ["machine": machine.id], value: score)
            }
            if let threshold = machine.networkThreshold {
                text.add("edge_agent_network_threshold", type: .gauge, help: "The int8 network score's own threshold per machine.", labels: ["machine": machine.id], value: threshold)
            }
            if let monitoring = machine.monitoring {
                text.add("edge_agent_judged", type: .gauge, help: "1 while the machine's rows are judged by its model (edge-agent status says why not).",
                         labels: ["machine": machine.id], value: monitoring.state == MonitoringState.judged.rawValue ? 1 : 0)
            }
            if let threshold = machine.threshold {
                text.add("edge_agent_threshold", type: .gauge, help: "Alert threshold per machine.", labels: ["machine": machine.id], value: threshold)
            }
        }
        return text.render()
    }
}
