/// Which score judged an anomaly alert: its `scored_by` field in the alert log, the buffer,
/// `edge-agent alerts` and the summaries.
///
/// Shared by the runtime, which sets it, and the store and summaries, which report it.
public enum AnomalyScorer: String, Sendable, CaseIterable, Equatable {
    /// The window-deviation score, with what calibration folds into it: phase means, and the
    /// rise check of lagged temperatures (a rise score of 1 counts as this score at its
    /// threshold; a sensor it judged carries `rise_per_minute`).
    case windowDeviation = "window_deviation"
    /// The int8 network's score (`alert_score = "network"`, or `"either"` with the network
    /// further past its threshold): its sensors are quoted against the calibration's ranges.
    case network
}
