import Configuration
import EdgeCore

/// Whether a machine's rows are being judged by its model right now, and if not why: what
/// `edge-agent status` leads each machine's line with, so that "scored 2 s ago" and "not
/// monitored for 3 hours" look different.
public enum MonitoringState: String, Sendable, Codable, CaseIterable {
    /// Its rows are scored and can raise anomaly alerts.
    case judged
    /// No row has reached the scoring stage since the agent started (or the model was replaced).
    case noData = "no-data"
    /// Its readings stopped arriving (a `data_stopped` alert is open): `since` is the last one.
    case dataStopped = "data-stopped"
    /// No model: `edge-agent calibrate` has not been run for it.
    case notCalibrated = "not-calibrated"
    /// The run signal says stopped (a stop is not a fault).
    case stopped
    /// Started less than `settle_after_start` ago.
    case settling
    /// Running, its rows waiting out `stop_grace` before they are judged (a stop within it
    /// would drop them).
    case stopGrace = "stop-grace"
    /// The run signal has not been read for more than 5 polls: running or not is unknown.
    case runSignalUnknown = "run-signal-unknown"
    /// In an operating state its calibration never saw (a compressor calibrated unloaded, now loaded).
    case uncalibratedState = "uncalibrated-state"
    /// Back in a calibrated operating state, settling for max(`settle_after_start`, 5 min).
    case settlingAfterUncalibratedState = "settling-after-uncalibrated-state"
    /// Fewer than half of its sensors usable (offline, bad, out of `min`…`max`), whether it runs,
    /// is stopped or settles: it needs someone to act, and it outlasts a stop.
    case tooFewSensors = "too-few-sensors"
    /// Running and settled, the model's windows filling (after a start, a new model, or the
    /// agent's start): judged once they are full.
    case fillingWindows = "filling-windows"
}

/// A machine's monitoring state, since when, and why it is not judged (nil when judged).
public struct MachineMonitoring: Sendable, Equatable {
    /// The state.
    public var state: MonitoringState
    /// The time of the row from which the machine has been in this state (nil before the first row).
    public var since: Timestamp?
    /// What holds the machine back and what to do about it (nil when judged).
    public var reason: String?
}

extension ScoringEngine {
    /// Machine `index`'s monitoring state now: put together when the status is written, never per row.
    public func monitoring(machine index: Int) -> MachineMonitoring {
        let state = machines[index]
        let configuration = state.configuration
        let id = configuration.id
        // A machine without a model is not calibrated whether or not its rows came yet.
        let current = state.model == nil && state.monitoring == .noData ? MonitoringState.notCalibrated : state.monitoring
        let reason: String?
        switch current {
        case .judged:
            reason = nil
        case .dataStopped:
            reason = "its readings stopped arriving: check its bus and units above"
        case .noData:
            reason = "no complete poll of its sensors reached the scoring stage yet"
        case .notCalibrated:
            reason = "no model: run `edge-agent calibrate --machine \(id)` over a stretch of normal running"
        case .stopped:
            reason = "stopped (\(state.stopReason)): not judged while stopped; nothing to do"
        case .settling:
            reason = "started; settling for \(configuration.settleAfterStart.wholeMilliseconds / 1000) s (settle_after_start) before it is judged"
        case .stopGrace:
            let grace = state.runState?.stopGrace ?? 0
            reason = "running; rows wait out stop_grace (\(grace) ms) before they are judged"
        case .runSignalUnknown:
            let signal = configuration.runSignal ?? "run signal"
            reason = "run signal \(signal) not read for more than \(RunState.heldPolls) polls: running state unknown; check its wiring and the unit answering it"
        case .uncalibratedState, .settlingAfterUncalibratedState:
            let sensor = state.model.flatMap { m in m.sensorNames.indices.contains(state.unseenColumn) ? m.sensorNames[state.unseenColumn] : nil } ?? "?"
            func words(_ x: Float) -> String { x == 1 ? "on" : "off" }
            let unseen = words(state.unseenValue)
            let seen = (state.model?.calibratedStates(column: state.unseenColumn) ?? []).map(words).joined(separator: " and ")
            let settle = ScoringEngine.uncalibratedStateSettle(configuration).wholeMilliseconds / 1000
            let now = state.monitoring == .uncalibratedState
                ? "uncalibrated operating state (\(sensor) \(unseen)); judged again once \(sensor) has been \(seen) for \(settle) s"
                    + (state.runSignal == nil ? "" : ", or after a stop once the restart has settled")
                : "back from an uncalibrated operating state (\(sensor) \(unseen)), settling for \(settle) s"
            reason = now + "; recalibrate over a stretch with both states: `edge-agent calibrate --machine \(id) --last 30m` once it has run \(sensor) \(unseen) for a while"
        case .tooFewSensors:
            // It wins over a stop or a settling (see `ScoringEngine`), which the reason still gives.
            let phase: String
            switch state.runState?.phase {
            case .stopped?: phase = "; the machine is also stopped (\(state.stopReason)), but would not be judged when it starts either"
            case .settling?: phase = "; the machine is also settling after a start"
            default: phase = ""
            }
            reason = "only \(state.usableSensors) of \(state.modelRow.count) model sensors usable (\(JudgedRows.usableSensorsNeeded(of: state.modelRow.count, fraction: minimumUsableFraction)) needed): check the sensors' wiring, units and min/max" + phase
        case .fillingWindows:
            let rows = state.model?.windowRows ?? 0
            reason = "running; the model's windows are filling (\(min(state.rowsInWindow, rows)) of \(rows) rows) after a start, a new model or the agent's start"
        }
        // Rows that stopped coming leave the last row's state standing: the open data_stopped
        // alert says so.
        if let stopped = state.quality.openAlerts.first(where: { $0.kind == .dataStopped }) {
            return MachineMonitoring(
                state: .dataStopped, since: stopped.started,
                reason: "no reading since \(stopped.started.iso8601) (a data_stopped alert is open; before, \(state.monitoring.rawValue)): check its bus and units above")
        }
        return MachineMonitoring(state: current, since: state.monitoringSince, reason: reason)
    }
}
