import EdgeCore

/// What an alert is about. Anomalies come from the network's score; the others are about the data itself.
public enum AlertKind: String, Sendable, CaseIterable {
    /// The machine's behaviour departs from its calibrated normal.
    case anomaly
    /// A Modbus unit stopped answering.
    case unitOffline = "unit_offline"
    /// A sensor's value has not been refreshed for too long.
    case sensorStale = "sensor_stale"
    /// A sensor reports a value outside its physically possible range.
    case outOfRange = "out_of_range"
    /// No reading at all has arrived for a machine for too long.
    case dataStopped = "data_stopped"
    /// Too many bad-quality readings in a window to score it.
    case dataQuality = "data_quality"
    /// The machine is in an operating state its calibration never saw (or settling back from
    /// one): its rows are not judged, so a fault would go unseen until it ends.
    case uncalibratedState = "uncalibrated_state"
}

/// How urgent an alert is.
public enum AlertSeverity: String, Sendable, Comparable {
    case warning, critical

    public static func < (lhs: AlertSeverity, rhs: AlertSeverity) -> Bool {
        lhs == .warning && rhs == .critical
    }
}

/// An alert as people see it in the alert log, the database and `edge-agent alerts`.
public struct Alert: Sendable, Equatable {
    /// Stable id across `raised`, `updated` and `cleared` events: `<machine>-<start ms>`.
    public var id: String
    public var machine: String
    public var kind: AlertKind
    public var severity: AlertSeverity
    /// When the condition started (the first window over threshold that led to the alert).
    public var started: Timestamp
    /// When it cleared; nil while open.
    public var ended: Timestamp?
    /// Highest anomaly score seen while open (0 for data alerts).
    public var peakScore: Double
    /// The machine's alert threshold at the time (0 for data alerts).
    public var threshold: Double
    /// The sensors that drove the score at its peak, largest first.
    public var topSensors: [SensorContribution]
    /// One line for people.
    public var message: String
    /// Which score judged an anomaly alert at its peak (the window whose `topSensors` and
    /// ranges it quotes); nil for data alerts, and for an anomaly alert read back from a buffer
    /// or log written before this was recorded (never guessed from the message).
    public var scoredBy: AnomalyScorer?

    public init(
        id: String, machine: String, kind: AlertKind, severity: AlertSeverity, started: Timestamp,
        ended: Timestamp? = nil, peakScore: Double = 0, threshold: Double = 0,
        topSensors: [SensorContribution] = [], message: String, scoredBy: AnomalyScorer? = nil
    ) {
        self.id = id
        self.machine = machine
        self.kind = kind
        self.severity = severity
        self.started = started
        self.ended = ended
        self.peakScore = peakScore
        self.threshold = threshold
        self.topSensors = topSensors
        self.message = message
        self.scoredBy = scoredBy
    }
}

/// A change in an alert's life, one line in the alert log.
public struct AlertEvent: Sendable, Equatable {
    /// `raised`, `updated` (peak or severity grew) or `cleared`.
    public enum Change: String, Sendable {
        case raised, updated, cleared
    }

    public var change: Change
    /// When the event happened.
    public var time: Timestamp
    /// The alert after the change.
    public var alert: Alert
    /// Why a `cleared` event ended the alert when the condition itself was not seen to end
    /// (e.g. the agent restarted and no longer tracks it); nil when it ended by itself.
    public var reason: String?
    /// Whether an operator had acknowledged the alert (`edge-agent ack` or `label`): set by the
    /// alert thread from the stored row on an acknowledged alert's `updated` and `cleared`
    /// events, and on the events that end an alert left open by an earlier run.
    public var acknowledged: Bool
    /// Who first acknowledged it, when the buffer recorded it (nil: not acknowledged, or
    /// acknowledged before the buffer recorded names).
    public var acknowledgedBy: String?
    /// When it was first acknowledged, when the buffer recorded it.
    public var acknowledgedAt: Timestamp?

    public init(change: Change, time: Timestamp, alert: Alert, reason: String? = nil, acknowledged: Bool = false,
                acknowledgedBy: String? = nil, acknowledgedAt: Timestamp? = nil) {
        self.change = change
        self.time = time
        self.alert = alert
        self.reason = reason
        self.acknowledged = acknowledged
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedAt = acknowledgedAt
    }

    /// Marks the event as one of an alert an operator had acknowledged, with who and when as
    /// far as they are known.
    public mutating func markAcknowledged(by person: String?, at time: Timestamp?) {
        acknowledged = true
        acknowledgedBy = person
        acknowledgedAt = time
    }

    /// The `cleared` event that ends `alert` although its condition was not seen to end (the
    /// agent stopped or restarted, the machine's model was replaced): `reason` goes into the
    /// event and, after `; ended: `, into its message, so a reader of the message alone sees it.
    /// - Parameters:
    ///   - ended: when the alert ends (never before it started).
    ///   - time: when the event is written.
    ///   - acknowledged: whether an operator had acknowledged it, when the caller knows.
    public static func ending(_ alert: Alert, at ended: Timestamp, time: Timestamp, reason: String,
                              acknowledged: Bool = false) -> AlertEvent {
        var alert = alert
        alert.ended = max(alert.started, ended)
        alert.message += alert.message.isEmpty ? "ended: \(reason)" : "; ended: \(reason)"
        return AlertEvent(change: .cleared, time: time, alert: alert, reason: reason, acknowledged: acknowledged)
    }

    /// The event as one JSON Lines object (the alert log's schema, documented in the README).
    public var jsonLine: String {
        var json = JSONWriter()
        json.field("event", change.rawValue)
        json.field("time", time)
        json.field("id", alert.id)
        json.field("machine", alert.machine)
        json.field("kind", alert.kind.rawValue)
        json.field("severity", alert.severity.rawValue)
        json.field("started", alert.started)
        json.field("ended", alert.ended?.iso8601)
        json.field("peak_score", alert.peakScore)
        json.field("threshold", alert.threshold)
        // Anomaly alerts only: a data alert was judged by no score.
        if let scoredBy = alert.scoredBy { json.field("scored_by", scoredBy.rawValue) }
        json.contributions("top_sensors", alert.topSensors)
        json.field("message", alert.message)
        // Only on the events that carry them, so every other line keeps its documented fields.
        if let reason { json.field("reason", reason) }
        if acknowledged {
            json.field("acknowledged", true)
            if let acknowledgedBy { json.field("acknowledged_by", acknowledgedBy) }
            if let acknowledgedAt { json.field("acknowledged_at", acknowledgedAt) }
        }
        return json.finish()
    }
}
