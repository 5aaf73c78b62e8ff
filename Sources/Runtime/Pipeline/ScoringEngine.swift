import Configuration
import EdgeCore

/// What the scoring stage produced for one machine at one poll time.
public struct ScoredWindow: Sendable, Equatable {
    public var machine: Int
    public var time: Timestamp
    public var score: Double
    public var threshold: Double
}

/// The scoring stage: per-machine windowing, data-quality checks, scoring and the alert state
/// machines. Takes poll cycles in time order and returns the alert events they cause.
///
/// It does no I/O and owns no thread: the runtime drives it from one task, tests drive it
/// directly with readings.
public struct ScoringEngine {
    /// Per-machine state: a class so the hot path mutates it in place (a struct copied out of
    /// the array would copy its buffers on every row).
    final class MachineState {
        let configuration: MachineConfiguration
        var model: MachineModel?
        var scorer: MachineModel.Scorer?
        /// Model column for each configured sensor (nil when the model does not know it).
        var columnOfSensor: [Int?]
        var quality: DataQualityMonitor
        /// Each configured sensor's physical range (min…max), as `quality` has them: the hot
        /// path judges readings scorable with these, since every call through `quality` (a
        /// struct in this class) copies the whole monitor.
        let ranges: [SensorRange]
        var anomalies: AnomalyAlertEngine
        /// The row being assembled for the current poll time.
        var rowTime: Timestamp?
        var values: [Double]
        var qualities: [Quality]
        var modelRow: [Float]
        var unscorableRun = 0
        var dataQualityAlert: Alert?
        /// The `uncalibrated_state` alert of the episode in progress: raised at the first row in
        /// an operating state calibration never saw, cleared when rows are judged again or the
        /// machine stops.
        var uncalibratedStateAlert: Alert?
        var uncalibratedLogged = false
        var lastScore: Double?
        var lastScoreTime: Timestamp?
        /// The int8 network's score of the last judged window (nil without a network model).
        var lastNetworkScore: Double?
        var windowsScored = 0
        /// Index of the run-signal sensor, when the machine has one.
        let runSignal: Int?
        /// What the run signal says (stopped, settling, unknown), shared with calibrate and
        /// evaluate; nil without a run signal.
        var runState: RunState?
        /// What a stop looks like, for the message of an alert it clears.
        let stopReason: String
        /// Rows given to the scorer since it was created (its windows are full from `model.windowRows` on).
        var rowsInWindow = 0
        /// Running and settling rows waiting out the stop grace before they are taken (judged, and
        /// their operating state followed: see `RunState.stopGrace`).
        var pending = PendingRows(sensorCount: 0, columnCount: 0, capacity: 1)
        /// The stop grace in poll intervals (rounded up): a row is judged once this many later
        /// rows came even if the clock says less time passed (a clock stepped back), so the
        /// waiting rows stay bounded.
        var graceRows = 0
        /// Whether the machine went into an operating state calibration never saw and has not
        /// yet been back in calibrated states for `uncalibratedStateSettleRows` rows (the same
        /// code decides for `replay` and `evaluate --config`).
        var uncalibratedState: UncalibratedStateGate
        /// Whether that was logged for the current model (once: a compressor that loads every
        /// minute would otherwise fill the journal).
        var uncalibratedStateLogged = false
        /// The last row (model order) read while the machine was stopped, for judging the next
        /// run as a recovery from that stop; `hasStoppedRow` false after a run started or an
        /// unknown stretch.
        var stoppedRow: [Float] = []
        var hasStoppedRow = false
        /// The settling time after a start in poll intervals: the pace at which what a stop
        /// left is allowed to recover (see `DetectorStream.restart(afterStop:recoveryRows:)`).
        let recoveryRows: Int
        /// Whether its rows are judged now, and since which row (see `ScoringEngine.monitoring(machine:)`):
        /// an enum and a time set per row, the reason only put together when the status is written.
        var monitoring = MonitoringState.noData
        var monitoringSince: Timestamp?
        /// The sensor (model column) and state of the last operating state calibration never saw.
        var unseenColumn = 0
        var unseenValue: Float = 0
        /// Usable sensors of the last row.
        var usableSensors = 0

        init(configuration: MachineConfiguration, quality: DataQualityMonitor, anomalies: AnomalyAlertEngine) {
            self.configuration = configuration
            self.quality = quality
            self.anomalies = anomalies
            ranges = configuration.sensors.map { SensorRange(minimum: $0.minimum, maximum: $0.maximum) }
            columnOfSensor = []
            values = Array(repeating: .nan, count: configuration.sensors.count)
            qualities = Array(repeating: .offline, count: configuration.sensors.count)
            modelRow = []
            runSignal = configuration.runSignal.flatMap { name in configuration.sensors.firstIndex { $0.name == name } }
            runState = runSignal == nil ? nil : configuration.runState()
            stopReason = ScoringEngine.stopReason(of: configuration)
            recoveryRows = Int(configuration.settleAfterStart.wholeMilliseconds / max(1, configuration.pollInterval.wholeMilliseconds))
            uncalibratedState = UncalibratedStateGate(settleRows: ScoringEngine.uncalibratedStateSettleRows(configuration))
        }

        /// Records the row at `time` as being in monitoring state `monitoring` (its start when it changed).
        func setMonitoring(_ monitoring: MonitoringState, at time: Timestamp) {
            guard monitoring != self.monitoring || monitoringSince == nil else { return }
            self.monitoring = monitoring
            monitoringSince = time
        }

        /// Follows the run signal (see `RunState`): the row's phase, `.running` for a machine
        /// without one. The first settled row after a stop, settling or an unknown stretch
        /// empties the scorer's windows, so scoring resumes on windows of settled data only.
        /// A machine already running when the agent starts counts as settled.
        func followRunSignal(at time: Timestamp) -> RunState.Phase {
            guard let k = runSignal, var run = runState else { return .running }
            // A reading outside the sensor's min…max is not read (it is no more a current than a
            // timeout is), as `replay`/`evaluate --config` leave it out before following the signal.
            let reading = DataQualityMonitor.isScorable(values[k], quality: qualities[k], in: ranges[k]) ? values[k] : .nan
            let phase = run.observe(reading, at: time.millisecondsSinceEpoch)
            runState = run
            if run.startsAfresh {
                // The scorer still holds the windows of the run before the stop.
                scorer?.restart(afterStop: hasStoppedRow ? stoppedRow : nil, recoveryRows: recoveryRows)
                hasStoppedRow = false
                rowsInWindow = 0
            }
            return phase
        }

        /// Fills `modelRow` from the row's readings: an unusable reading (bad quality, NaN/Inf,
        /// out of range) is a gap.
        /// - Returns: how many of the model's sensors are usable.
        func fillModelRow() -> Int {
            // The arrays read into constants (references: no element is copied), so the loop
            // reads no property of this class: each such read is an exclusivity check.
            let values = self.values, qualities = self.qualities, ranges = self.ranges, columnOfSensor = self.columnOfSensor
            var usable = 0
            modelRow.withUnsafeMutableBufferPointer { row in
                row.update(repeating: .nan)
                for (i, column) in columnOfSensor.enumerated() {
                    guard let column else { continue }
                    // A finite Double beyond Float's range (a float64 register reading 1e300) would
                    // become ±inf here: it is a gap too, so the network only ever sees finite values.
                    let value = Float(values[i])
                    if value.isFinite, DataQualityMonitor.isScorable(values[i], quality: qualities[i], in: ranges[i]) {
                        row[column] = value
                        usable += 1
                    }
                }
            }
            return usable
        }

        /// Empties the row for the next poll time: every reading missing.
        func resetRow() {
            values.withUnsafeMutableBufferPointer { $0.update(repeating: .nan) }
            qualities.withUnsafeMutableBufferPointer { $0.update(repeating: .offline) }
        }
    }

    /// What a stop of `machine` looks like: its running contact off, or its run signal below
    /// `run_threshold` (in the sensor's unit).
    static func stopReason(of machine: MachineConfiguration) -> String {
        let signal = machine.runSignal ?? "run signal"
        guard let threshold = machine.runThreshold else { return "\(signal) off" }
        let unit = machine.sensors.first { $0.name == signal }?.unit ?? ""
        return "\(signal) below \(threshold)\(unit.isEmpty ? "" : " " + unit)"
    }

    /// Fraction of a row's sensors that must be usable for the row to be scored.
    public var minimumUsableFraction = JudgedRows.minimumUsableFraction
    private(set) var machines: [MachineState]
    /// Whether this engine only warms streams on buffered rows (`StreamWarmUp`): rows fill the
    /// scorers, and no window is judged, so no score, alert rule step or forward pass of the
    /// network happens (what it does produce, data-quality events, is dropped by its owner).
    var warming = false
    /// Windows scored since start, all machines.
    public private(set) var windowsScored = 0
    /// Machines that have no model yet (logged once each by the runtime).
    public private(set) var newlyUncalibrated: [String] = []
    /// What the runtime logs about run signals since the last call (one line when a machine's
    /// running state becomes unknown, one when its run signal reads again).
    public private(set) var runSignalNotices: [String] = []
    /// What the runtime logs (at warning level) the first time a machine's model meets an
    /// operating state its calibration never saw, since the last call.
    public private(set) var uncalibratedStateNotices: [String] = []

    /// Creates the stage for the configured machines; `models[i]` is machine i's model or nil.
    public init(machines: [MachineConfiguration], models: [MachineModel?], alertPolicy: AlertPolicy = AlertPolicy(),
                dataPolicy: DataQualityPolicy = DataQualityPolicy()) {
        self.machines = machines.enumerated().map { index, machine in
            let sensors = machine.sensors.map { s in
                MonitoredSensor(name: s.name, unitKey: "\(s.bus)/\(s.unitID)", unit: s.unit, minimum: s.minimum, maximum: s.maximum)
            }
            let state = MachineState(
                configuration: machine,
                quality: DataQualityMonitor(machine: machine.id, sensors: sensors, pollInterval: machine.pollInterval, policy: dataPolicy),
                anomalies: AnomalyAlertEngine(machine: machine.id, policy: alertPolicy))
            ScoringEngine.install(models.indices.contains(index) ? models[index] : nil, into: state)
            return state
        }
    }

    private static func install(_ model: MachineModel?, into state: MachineState) {
        state.model = model
        state.scorer = model?.makeScorer()
        state.columnOfSensor = state.configuration.sensors.map { s in model?.sensorNames.firstIndex(of: s.name) }
        state.modelRow = Array(repeating: .nan, count: model?.sensorNames.count ?? 0)
        state.rowsInWindow = 0
        state.hasStoppedRow = false
        state.uncalibratedLogged = false
        state.uncalibratedState = UncalibratedStateGate(settleRows: state.uncalibratedState.settleRows)
        state.uncalibratedStateLogged = false
        let grace = state.runState?.stopGrace ?? 0
        let interval = max(1, state.configuration.pollInterval.wholeMilliseconds)
        state.graceRows = Int((grace + interval - 1) / interval)
        state.pending = PendingRows(sensorCount: state.configuration.sensors.count, columnCount: state.modelRow.count,
                                    capacity: state.graceRows + 2)
    }

    /// Replaces machine `index`'s model (after a new calibration): its windows and its alert
    /// rule start afresh (no recent scores, no cooldown), and an anomaly alert the old model
    /// raised is ended with a `cleared` event whose `reason` names the change, rather than
    /// being judged, and cleared without a word, by a threshold it was not raised under. If the
    /// condition holds, the new model raises a new alert once its windows fill.
    /// An open `uncalibrated_state` alert ends the same way: the new model judges afresh.
    /// - Parameter time: when the new model takes over (the alert's end).
    /// - Returns: the events ending the open anomaly and `uncalibrated_state` alerts (empty when none was open).
    /// - Parameter warmed: the new model's stream warmed on the machine's buffered rows up to
    ///   the last row this engine took of it (`StreamWarmUp`), continued instead of a cold one.
    public mutating func replaceModel(machine index: Int, with model: MachineModel?, at time: Timestamp,
                                      warmed: WarmedStream? = nil) -> [AlertEvent] {
        let state = machines[index]
        let reason = ScoringEngine.replacementReason(old: state.model, new: model)
        ScoringEngine.install(model, into: state)
        if let warmed { continueStream(machine: index, from: warmed) }
        var events = state.anomalies.end(at: time, reason: reason).map { [$0] } ?? []
        if let alert = state.uncalibratedStateAlert {
            state.uncalibratedStateAlert = nil
            events.append(AlertEvent.ending(alert, at: time, time: time, reason: reason))
        }
        return events
    }

    /// The `reason` of the event that ends an alert when its machine's model is replaced.
    static func replacementReason(old: MachineModel?, new: MachineModel?) -> String {
        guard let new else { return "model removed: the machine is no longer scored" }
        let from = old.map { AnomalyAlertEngine.format($0.threshold) } ?? "none"
        return "model replaced (threshold \(from) → \(AnomalyAlertEngine.format(new.threshold))): condition judged anew by the new model"
    }

    /// Ends every open alert (anomaly and data) with a `cleared` event that gives `reason`:
    /// nothing will watch the machines any more (the agent stops).
    /// - Parameter time: when they end (the events' time too).
    public mutating func endOpenAlerts(at time: Timestamp, reason: String) -> [AlertEvent] {
        var events: [AlertEvent] = []
        for state in machines {
            if let event = state.anomalies.end(at: time, reason: reason) { events.append(event) }
            if let alert = state.uncalibratedStateAlert {
                state.uncalibratedStateAlert = nil
                events.append(AlertEvent.ending(alert, at: time, time: time, reason: reason))
            }
            if let alert = state.dataQualityAlert {
                state.dataQualityAlert = nil
                state.unscorableRun = 0
                events.append(AlertEvent.ending(alert, at: time, time: time, reason: reason))
            }
            events += state.quality.endOpenAlerts(at: time, reason: reason)
        }
        return events
    }

    /// The model of machine `index`, if calibrated.
    public func model(machine index: Int) -> MachineModel? { machines[index].model }

    /// The time of the last row of machine `index` this engine took (nil: none yet).
    /// (Every completed row goes through the machine's data-quality monitor first, which keeps
    /// its time.)
    public func lastRowTime(machine index: Int) -> Timestamp? { machines[index].quality.lastArrival }

    /// Continues machine `index`'s stream from `warmed` (its model's stream run through the
    /// machine's buffered rows, `StreamWarmUp`) instead of starting it cold: the scorer, how
    /// full its windows are, the run signal's state, the rows waiting out the stop grace and
    /// where the last stop left the sensors. Its alert rule, data-quality checks and monitoring
    /// state stay as they are (fresh after a model is installed): a warm-up raises nothing.
    /// Call it right after the model was installed (`init`, `replaceModel`), before the
    /// machine's next row.
    public mutating func continueStream(machine index: Int, from warmed: WarmedStream) {
        let state = machines[index], warm = warmed.state
        guard state.model != nil, warm.scorer != nil, warm.modelRow.count == state.modelRow.count else { return }
        state.scorer = warm.scorer
        state.rowsInWindow = warm.rowsInWindow
        state.runState = warm.runState
        state.pending = warm.pending
        state.stoppedRow = warm.stoppedRow
        state.hasStoppedRow = warm.hasStoppedRow
    }

    /// The last score of machine `index` and when it was computed.
    public func lastScore(machine index: Int) -> (score: Double, time: Timestamp)? {
        guard let s = machines[index].lastScore, let t = machines[index].lastScoreTime else { return nil }
        return (s, t)
    }

    /// The int8 network's score of machine `index`'s last judged window, when it has a network model.
    public func lastNetworkScore(machine index: Int) -> Double? { machines[index].lastNetworkScore }

    /// Open alerts of every machine (anomaly and data).
    public var openAlerts: [Alert] {
        machines.flatMap { m in [m.anomalies.open, m.uncalibratedStateAlert, m.dataQualityAlert].compactMap { $0 } + m.quality.openAlerts }
    }

    /// Monotonic arrival time of the cycle being processed (nil when the caller gives none).
    private var arrivalMonotonic: UInt64?

    /// Takes one poll cycle's readings (any machines, any order within the cycle).
    /// - Parameters:
    ///   - monotonicNanoseconds: when the cycle arrived on the monotonic clock (see `tick`).
    ///   - scored: receives every window scored (for metrics and summaries).
    /// - Returns: the alert events caused, in order.
    public mutating func process(_ readings: [Reading], monotonicNanoseconds: UInt64? = nil,
                                 scored: (ScoredWindow) -> Void = { _ in }) -> [AlertEvent] {
        arrivalMonotonic = monotonicNanoseconds
        var events: [AlertEvent] = []
        for reading in readings {
            let m = Int(reading.machine)
            guard machines.indices.contains(m), machines[m].values.indices.contains(Int(reading.sensor)) else { continue }
            if let t = machines[m].rowTime, t != reading.time {
                completeRow(machine: m, events: &events, scored: scored)
            }
            machines[m].rowTime = reading.time
            machines[m].values[Int(reading.sensor)] = reading.value
            machines[m].qualities[Int(reading.sensor)] = reading.quality
        }
        // A poll cycle delivers whole rows: complete every row begun in it.
        for m in machines.indices where machines[m].rowTime != nil {
            completeRow(machine: m, events: &events, scored: scored)
        }
        return events
    }

    /// Periodic check for machines whose data stopped.
    /// - Parameters:
    ///   - monotonicNanoseconds: now on the monotonic clock; given here and to `process`, the
    ///     silence is measured on it, so a wall-clock step raises no data-stopped alert.
    ///   - latestArrivals: per machine, when its newest cycle arrived (monotonic, 0: none), given
    ///     to `process` or not yet: a machine whose cycles wait to be scored has not stopped.
    public mutating func tick(now: Timestamp, monotonicNanoseconds: UInt64? = nil, latestArrivals: [UInt64] = []) -> [AlertEvent] {
        for (m, arrived) in latestArrivals.enumerated() where arrived > 0 && machines.indices.contains(m) {
            machines[m].quality.noteArrival(monotonicNanoseconds: arrived)
        }
        return machines.indices.compactMap { machines[$0].quality.tick(now: now, monotonicNanoseconds: monotonicNanoseconds) }
    }

    /// Takes the list of machines that were found uncalibrated since the last call.
    public mutating func takeNewlyUncalibrated() -> [String] {
        defer { newlyUncalibrated.removeAll(keepingCapacity: true) }
        return newlyUncalibrated
    }

    /// Takes the uncalibrated-state notices since the last call (see `uncalibratedStateNotices`).
    public mutating func takeUncalibratedStateNotices() -> [String] {
        defer { uncalibratedStateNotices.removeAll(keepingCapacity: true) }
        return uncalibratedStateNotices
    }

    /// Takes the run-signal notices since the last call (see `runSignalNotices`).
    public mutating func takeRunSignalNotices() -> [String] {
        defer { runSignalNotices.removeAll(keepingCapacity: true) }
        return runSignalNotices
    }

    private mutating func completeRow(machine m: Int, events: inout [AlertEvent], scored: (ScoredWindow) -> Void) {
        guard let time = machines[m].rowTime else { return }
        machines[m].rowTime = nil
        let state = machines[m]
        defer { state.resetRow() }
        events.append(contentsOf: state.quality.observe(
            time: time, values: state.values, qualities: state.qualities, monotonicNanoseconds: arrivalMonotonic))

        guard state.scorer != nil, let model = state.model else {
            state.setMonitoring(.notCalibrated, at: time)
            if !state.uncalibratedLogged {
                state.uncalibratedLogged = true
                newlyUncalibrated.append(state.configuration.id)
            }
            return
        }
        // The run signal is followed on every row, usable or not, so no stop is missed.
        let before = state.runState?.phase
        let phase = state.followRunSignal(at: time)
        if let before, (before == .unknown) != (phase == .unknown) {
            runSignalNotices.append(runSignalNotice(state, unknown: phase == .unknown))
        }
        if phase == .stopped || phase == .unknown {
            // Rows within the stop grace before it were the machine already stopping.
            state.pending.removeAll()
            // The next run starts afresh: its windows (see `followRunSignal`) and its alert
            // rule, as `replay` and `evaluate` restart their stream after a stop.
            // The reason is only put together when an alert is open (stopped rows are frequent).
            func reason() -> String {
                phase == .stopped ? state.stopReason : "running state unknown: \(state.configuration.runSignal ?? "") not read"
            }
            if let event = state.anomalies.clearBecauseStopped(at: time, reason: reason()) {
                events.append(event)
            }
            // An operating state calibration never saw is over with the stop (as `replay` and
            // `evaluate --config` end it there): its alert is cleared as an anomaly alert is, and
            // the next run (its settling rows too) is judged or raises a new one.
            state.uncalibratedState.stop()
            if var alert = state.uncalibratedStateAlert {
                alert.ended = time
                alert.message += "; cleared because \(state.configuration.id) stopped (\(reason()))"
                state.uncalibratedStateAlert = nil
                events.append(AlertEvent(change: .cleared, time: time, alert: alert))
            }
        }
        // Fill the model's row: unusable readings become gaps.
        let usable = state.fillModelRow()
        // Where a stop leaves the sensors, for the next run (see `MachineModel.Scorer.restart(afterStop:recoveryRows:)`).
        if phase == .stopped {
            if state.stoppedRow.count != state.modelRow.count { state.stoppedRow = state.modelRow }
            for c in state.modelRow.indices { state.stoppedRow[c] = state.modelRow[c] }
            state.hasStoppedRow = true
        } else if phase == .unknown {
            state.hasStoppedRow = false
        }
        state.usableSensors = usable
        let needed = JudgedRows.usableSensorsNeeded(of: state.modelRow.count, fraction: minimumUsableFraction)
        // Too few sensors wins over a stop or a settling: it needs someone to act and outlasts
        // the stop (the machine will not be judged when it runs again either), while the stop
        // needs nothing; the reason still says the machine is stopped. An unknown running
        // state wins over it: its run signal is usually one of the sensors not read.
        switch phase {
        case .running: if usable < needed { state.setMonitoring(.tooFewSensors, at: time) }
        case .stopped: state.setMonitoring(usable < needed ? .tooFewSensors : .stopped, at: time)
        case .settling:
            // A settling row in (or settling back from) a state calibration never saw is
            // shown as that state, once taken (below).
            if usable < needed { state.setMonitoring(.tooFewSensors, at: time) }
            else if !state.uncalibratedState.isInUncalibratedState { state.setMonitoring(.settling, at: time) }
        case .unknown: state.setMonitoring(.runSignalUnknown, at: time)
        }
        if usable < needed {
            state.unscorableRun += 1
            if state.unscorableRun == state.configuration.windowLength, state.dataQualityAlert == nil {
                let alert = Alert(
                    id: "\(state.configuration.id)-quality-\(time.millisecondsSinceEpoch)", machine: state.configuration.id,
                    kind: .dataQuality, severity: .warning, started: time,
                    message: "\(state.configuration.id): not scored for \(state.unscorableRun) poll cycles: only \(usable) of \(state.modelRow.count) sensors usable"
                )
                state.dataQualityAlert = alert
                events.append(AlertEvent(change: .raised, time: time, alert: alert))
            }
            return
        }
        state.unscorableRun = 0
        if var alert = state.dataQualityAlert {
            alert.ended = time
            state.dataQualityAlert = nil
            events.append(AlertEvent(change: .cleared, time: time, alert: alert))
        }
        // Stopped, or running state unknown: not scored.
        guard phase == .running || phase == .settling else { return }
        let grace = state.runState?.stopGrace ?? 0
        guard grace > 0 else {
            take(state, machine: m, model: model, time: time, settling: phase == .settling, events: &events, scored: scored)
            return
        }
        // With a stop grace, a row is taken once the machine is seen still running (or settling)
        // that much later, or that many polls later; a stop before then discards it (above), so
        // neither its score nor its operating state counts: it was the machine already stopping,
        // as `replay`/`evaluate --config` leave it out.
        state.pending.append(time: time, values: state.values, modelRow: state.modelRow, settling: phase == .settling)
        while let oldest = state.pending.oldestTime,
              time.millisecondsSinceEpoch - oldest.millisecondsSinceEpoch >= grace || state.pending.count > state.graceRows {
            let taken = state.pending.removeOldest(into: &state.values, modelRow: &state.modelRow)
            take(state, machine: m, model: model, time: taken.time, settling: taken.settling, events: &events, scored: scored)
        }
        // Nothing taken yet since the run (re)started: its rows wait out the stop grace.
        switch state.monitoring {
        case .judged, .fillingWindows, .uncalibratedState, .settlingAfterUncalibratedState: break
        default: if phase == .running { state.setMonitoring(.stopGrace, at: time) }
        }
    }

    /// Takes one usable running or settling row (`state.values`, `state.modelRow`, taken at
    /// `time`) through the operating-state gate, then judges it when it is a running row in
    /// calibrated states.
    ///
    /// An operating state calibration never saw (a compressor calibrated unloaded, now loaded)
    /// is not a fault: not scored, one notice, an `uncalibrated_state` alert, and an open anomaly
    /// alert cleared (it could not clear by itself). Settling rows after a start go through the
    /// gate too, so a compressor that loads while it settles is not judged on its way back from
    /// the load. Back in a calibrated state, the machine settles first (its pressures and
    /// temperatures move back from the other state's levels for minutes), then the windows
    /// start afresh, so no judged window holds rows of the state calibration never saw or of the
    /// way back from it.
    private mutating func take(_ state: MachineState, machine m: Int, model: MachineModel, time: Timestamp, settling: Bool,
                               events: inout [AlertEvent], scored: (ScoredWindow) -> Void) {
        switch state.uncalibratedState.observe(unseen: model.uncalibratedState(in: state.modelRow)) {
        case .entered(let column, let value):
            state.unseenColumn = column
            state.unseenValue = value
            state.setMonitoring(.uncalibratedState, at: time)
            let sensor = model.sensorNames[column]
            if let event = state.anomalies.clearBecauseUncalibratedState(
                at: time, state: "\(sensor) \(value == 1 ? "on" : "off")") {
                events.append(event)
            }
            if !state.uncalibratedStateLogged {
                state.uncalibratedStateLogged = true
                uncalibratedStateNotices.append(uncalibratedStateNotice(state, model: model, column: column, state: value))
            }
            // A blind spot of at least the settling time: in the alert log, for people and log
            // shippers, not only in the journal and `status`.
            if state.uncalibratedStateAlert == nil {
                let id = state.configuration.id
                let alert = Alert(
                    id: "\(id)-uncalibrated-state-\(time.millisecondsSinceEpoch)", machine: id, kind: .uncalibratedState,
                    severity: .warning, started: time, message: "\(id): not judged: " + uncalibratedStateDescription(state, model: model))
                state.uncalibratedStateAlert = alert
                events.append(AlertEvent(change: .raised, time: time, alert: alert))
            }
            return
        case .uncalibrated:
            state.setMonitoring(.uncalibratedState, at: time)
            return
        case .settling:
            state.setMonitoring(.settlingAfterUncalibratedState, at: time)
            return
        case .judgedAfresh:
            // The windows start afresh, unless they already did and took nothing since (a
            // restart after a stop: the scorer keeps what the stop allows for, as `replay`
            // restarts at that row). A settling row leaves them to the run's start.
            if !settling, state.rowsInWindow > 0 {
                state.scorer = model.makeScorer()
                state.rowsInWindow = 0
            }
            if var alert = state.uncalibratedStateAlert {
                alert.ended = time
                state.uncalibratedStateAlert = nil
                events.append(AlertEvent(change: .cleared, time: time, alert: alert))
            }
        case .judged:
            break
        }
        // Settling after a start: not scored (its state is set as it comes, but for the gate's).
        guard !settling else {
            if state.monitoring == .settlingAfterUncalibratedState { state.setMonitoring(.settling, at: time) }
            return
        }
        let full = judge(state, machine: m, model: model, time: time, events: &events, scored: scored)
        state.setMonitoring(full ? .judged : .fillingWindows, at: time)
    }

    /// Scores one running row (`state.values`, `state.modelRow`, taken at `time`) and applies
    /// the alert rule once the windows are full.
    /// - Returns: whether the windows were full (the row is in a judged window: with a `hop`,
    ///   the rows between two judged windows are in the next one).
    @discardableResult
    private mutating func judge(_ state: MachineState, machine m: Int, model: MachineModel, time: Timestamp,
                                events: inout [AlertEvent], scored: (ScoredWindow) -> Void) -> Bool {
        let deviationScore = state.scorer!.score(row: state.modelRow, at: time)
        state.rowsInWindow += 1
        // Windows not yet full (agent start, new model, after a stop): the windows fill,
        // nothing is judged.
        guard state.rowsInWindow >= model.windowRows else { return false }
        // Warming a stream on buffered rows: they only fill it.
        guard !warming else { return true }
        // With a `hop`, the first full window is judged, then every hop-th: counted from where
        // the windows started, as `replay`/`evaluate --config` count (`JudgedRows.isJudged`).
        guard JudgedRows.isJudged(rowsInWindow: state.rowsInWindow, windowRows: model.windowRows,
                                  hop: state.configuration.hop) else { return true }
        let score = state.scorer!.judge(deviationScore: deviationScore)
        state.lastScore = score
        state.lastScoreTime = time
        let networkScore = state.scorer!.networkScore
        state.lastNetworkScore = networkScore.isFinite ? networkScore : nil
        state.windowsScored += 1
        windowsScored += 1
        scored(ScoredWindow(machine: m, time: time, score: score, threshold: model.threshold))
        // The sensors are assembled and quoted only when the alert engine asks (an alert raised,
        // or reaching a new peak), not for every window of an open alert. Both closures are
        // non-escaping (nothing boxed, `model` borrowed); neither touches `state.anomalies`,
        // which `observe` is mutating.
        if let event = state.anomalies.observe(
            score: score, threshold: model.threshold, time: time,
            sensors: { Self.alertSensors(state, model: model) },
            quote: { parts, columns in Self.quote(&parts, columns: columns, state, model: model) }) {
            events.append(event)
        }
        return true
    }

    /// Every configured sensor's part in `state`'s last judged window, for an alert being raised
    /// or updated: its share of the score, its normal range at the row's state and speed, and,
    /// when the network or the rise check judged it, how (`MachineModel.quote` fills in the
    /// rest for the parts an alert keeps). Keyed by model column.
    private static func alertSensors(_ state: MachineState, model: MachineModel) -> AnomalyAlertEngine.WindowSensors {
        // One copy of the scorer for all it is asked here: each `state.scorer!.…` read of a
        // class's stored struct copies it whole (retaining its arrays).
        let scorer = state.scorer!
        let shares = scorer.contributions
        // The ranges at the speed the row was judged at (a load-compensated machine).
        let point = scorer.operatingPoint
        let speed = model.loadDriverColumn
        let byNetwork = scorer.networkDroveLastScore
        let stateColumn = model.stateColumn
        let secondsPerRow = Double(state.configuration.pollInterval.wholeMilliseconds) / 1000
        var parts: [SensorContribution] = [], columns: [Int] = []
        parts.reserveCapacity(state.configuration.sensors.count)
        columns.reserveCapacity(state.configuration.sensors.count)
        for (i, sensor) in state.configuration.sensors.enumerated() {
            guard let column = state.columnOfSensor[i], shares.indices.contains(column) else { continue }
            // A compensated speed is set to its calibration level: it adds nothing to the
            // score, so it is not named as driving it (an unseen speed gets its own note).
            // It is when it did add: below the prior's minimum, or through the network.
            if column == speed, !(shares[column] > 0) { continue }
            // A two-state machine's state sensor (0 or 1) is the state the other sensors are
            // quoted for: named only when its own share of loaded rows was past what the
            // score allows (its judged mean outside its expected range), not for a share of
            // the score within it (`loaded=1 (mean 1, expected -1.369…2.069)` said nothing).
            if column == stateColumn, !byNetwork, !(Double(shares[column]) > model.threshold) { continue }
            // The range of what scored it: the network judges readings as read, against the
            // calibration's; the window score, at the machine's state and speed.
            let normal = byNetwork ? model.networkNormalRange(column: column) ?? (.nan, .nan)
                : model.normalRange(column: column, row: state.modelRow, at: point)
            let rise = scorer.temperatureRise(column: column, secondsPerRow: secondsPerRow)
            parts.append(SensorContribution(
                sensor: sensor.name, value: state.values[i], unit: sensor.unit, contribution: Double(shares[column]),
                normalLow: normal.low, normalHigh: normal.high,
                risePerMinute: rise?.perMinute, normalRisePerMinute: rise?.normalPerMinute,
                judged: byNetwork ? .network : rise != nil ? .rise : nil))
            columns.append(column)
        }
        let unseenSpeed = model.speedOutsideCalibration(in: state.modelRow).map {
            AnomalyAlertEngine.UnseenSpeed(sensor: model.sensorNames[$0.column], speed: Double($0.speed), calibrated: model.calibratedSpeeds)
        }
        return AnomalyAlertEngine.WindowSensors(contributions: parts, keys: columns, scoredBy: byNetwork ? .network : .windowDeviation,
                                                unseenSpeed: unseenSpeed)
    }

    /// Fills in what the window score judged each of `parts` (model columns `columns`) against
    /// at `state`'s last judged window, and the range it expected (`MachineModel.quote`); a part
    /// already judged (by the network, or the rise check) is left as it is. One copy of the
    /// scorer for all of them.
    private static func quote(_ parts: inout [SensorContribution], columns: [Int], _ state: MachineState, model: MachineModel) {
        guard let scorer = state.scorer else { return }
        let point = scorer.operatingPoint
        for k in parts.indices where parts[k].judged == nil {
            guard let expected = model.quote(column: columns[k], scorer: scorer, row: state.modelRow, at: point) else { continue }
            parts[k].judged = expected.judged
            // A still receiver judges no reading (NaN): it is quoted by its movement.
            parts[k].expectedLow = expected.low.isNaN ? nil : expected.low
            parts[k].expectedHigh = expected.high.isNaN ? nil : expected.high
            parts[k].relativeTo = expected.relativeTo
            parts[k].judgedMean = expected.mean
            parts[k].judgedReading = expected.reading
            parts[k].judgedAt = expected.readingTime
            parts[k].judgedMovement = expected.movement
            parts[k].judgedRows = expected.movementRows
            parts[k].leastMovement = expected.leastMovement
            parts[k].movedWith = expected.movedWith
        }
    }

    /// How long a machine settles after an operating state its calibration never saw, before
    /// it is judged again: `settle_after_start` or 5 minutes, whichever is longer.
    public static func uncalibratedStateSettle(_ machine: MachineConfiguration) -> Duration {
        max(machine.settleAfterStart, .seconds(300))
    }

    /// `uncalibratedStateSettle` in poll intervals (rounded up): counted in rows, so a clock
    /// step does not stretch or cut it.
    public static func uncalibratedStateSettleRows(_ machine: MachineConfiguration) -> Int {
        let settle = uncalibratedStateSettle(machine).wholeMilliseconds, interval = max(1, machine.pollInterval.wholeMilliseconds)
        return Int((settle + interval - 1) / interval)
    }

    /// What an operating state calibration never saw means for `state`, for the alert's message:
    /// the sensor and state, what calibration saw, when it is judged again, and what to do.
    private func uncalibratedStateDescription(_ state: MachineState, model: MachineModel) -> String {
        let id = state.configuration.id, column = state.unseenColumn
        let sensor = model.sensorNames.indices.contains(column) ? model.sensorNames[column] : "?"
        func words(_ x: Float) -> String { x == 1 ? "on" : "off" }
        let seen = (model.calibratedStates(column: column) ?? []).map(words).joined(separator: " and ")
        let unseen = words(state.unseenValue)
        let settle = ScoringEngine.uncalibratedStateSettle(state.configuration).wholeMilliseconds / 1000
        let clears = state.runSignal == nil ? "this alert then clears" : "this alert then clears; so does a stop"
        return "uncalibrated operating state (\(sensor) \(unseen); its calibration saw \(sensor) \(seen) only); no anomaly alert until \(sensor) has been \(seen) again for \(settle) s (\(clears)); recalibrate over a stretch with both states: `edge-agent calibrate --machine \(id) --last 30m` once it has run \(sensor) \(unseen) for a while"
    }

    /// The line logged the first time `state`'s model meets a state of the sensor in `column`
    /// that its calibration never saw.
    private func uncalibratedStateNotice(_ state: MachineState, model: MachineModel, column: Int, state value: Float) -> String {
        let id = state.configuration.id, sensor = model.sensorNames[column]
        func words(_ x: Float) -> String { x == 1 ? "on" : "off" }
        let seen = (model.calibratedStates(column: column) ?? []).map(words).joined(separator: " and ")
        return "\(id): uncalibrated operating state: \(sensor) is \(words(value)), and it was \(seen) throughout the calibration of \(model.calibratedAt). Rows in this state are not scored and raise no anomaly alert (logged once); scoring resumes once \(sensor) has been \(seen) again for \(ScoringEngine.uncalibratedStateSettle(state.configuration).wholeMilliseconds / 1000) s\(state.runSignal == nil ? "" : ", or after a stop once the restart has settled"). Recalibrate over a stretch that includes both states, e.g. `edge-agent calibrate --machine \(id) --last 30m` once it has run \(sensor) \(words(value)) for a while"
    }

    /// The line logged when `state`'s running state becomes unknown (`unknown`) or known again.
    private func runSignalNotice(_ state: MachineState, unknown: Bool) -> String {
        let id = state.configuration.id, signal = state.configuration.runSignal ?? "run signal"
        guard unknown else { return "\(id): run signal \(signal) reads again; scoring resumes once it has settled" }
        let held = Int64(RunState.heldPolls) * state.configuration.pollInterval.wholeMilliseconds
        return "\(id): run signal \(signal) not read for more than \(held) ms: running state unknown, not scored until it reads again (then counted as a start)"
    }
}
