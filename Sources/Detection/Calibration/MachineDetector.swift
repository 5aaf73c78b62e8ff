#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// How the network half of a detector is calibrated: from which initialization, adapted how.
public struct NetworkCalibration: Sendable, Hashable {
    /// The starting weights (the shipped meta-initialization, or another for comparisons).
    public var initialization: Network
    /// The few-shot adaptation (steps = 0: use the initialization as it is).
    public var adaptation: AdaptationSettings
    /// Network threshold = highest network score on the calibration rows × this margin.
    public var thresholdMargin: Float
    /// Whether the adapted network is quantized to int8 and scored that way (as the runtime does).
    public var quantize: Bool
    /// Meta-learned widening of the calibration scales (nil: the plain median/MAD scales).
    public var normalizationPrior: NormalizationPrior? = nil
    /// What the initialization's meta-training learned about short calibrations (scale widening
    /// and threshold margin per K); when set, its margin replaces `thresholdMargin`.
    public var calibrationPrior: CalibrationPrior? = nil
    /// How the network's inputs are scaled per sensor (must match how the initialization was
    /// meta-trained; see `NetworkInputScaling`).
    public var inputScaling: NetworkInputScaling = .robust
    /// With tolerated inputs: the margin multiplies the larger of the highest calibration score
    /// and the network's score of a calibration window with one sensor moved by one tolerated
    /// spread (the largest over sensors and both directions, median over windows), so an offset
    /// calibration called normal does not alert, as the window-deviation threshold is never below 1.
    public var toleratedThresholdFloor: Bool = false
    /// How the threshold is set (`NetworkThresholdRule`); with a rule other than the shipped
    /// `highestScore` no margin applies (neither `thresholdMargin` nor a calibration prior's).
    public var thresholdRule: NetworkThresholdRule = .highestScore
    /// With `thresholdRule` `sensorReference`: how far (input units; tolerated spreads with
    /// tolerated input scaling) each sensor is moved to measure its reference.
    public var referenceSpreads: Float = 1

    /// Creates network-calibration settings.
    public init(initialization: Network, adaptation: AdaptationSettings = AdaptationSettings(), thresholdMargin: Float = 1.5,
                quantize: Bool = true) {
        self.initialization = initialization
        self.adaptation = adaptation
        self.thresholdMargin = thresholdMargin
        self.quantize = quantize
    }
}

/// Settings of one machine's calibration: the scores, the threshold rule and the alert rule.
public struct CalibrationSettings: Sendable, Hashable {
    /// The window-deviation score's settings.
    public var deviation: WindowDeviationSettings
    /// Quantile of the calibration rows' scores the threshold starts from (1 = their maximum).
    public var thresholdQuantile: Double
    /// Factor applied to that quantile: the headroom above anything seen in normal operation.
    public var thresholdMargin: Float
    /// The threshold is never below this. A score of 1 is an offset as large as the sensor's
    /// tolerated spread (its noise, wander and tolerance floors), so below 1 an alert would
    /// fire on changes calibration already called normal: calibration rows that all sit well
    /// inside their spreads would otherwise give a threshold of a few hundredths.
    public var minimumThreshold: Float
    /// How scores become alerts (persistence and clearing).
    public var rule: AlertDecisionRule
    /// Calibration rows scoring above this multiple of the median calibration score are set
    /// aside as suspect and the baseline is refitted without them (0 disables trimming). This is
    /// what keeps a short fault hidden in the calibration data from inflating the threshold.
    public var trimFactor: Float
    /// Suspect stretches longer than this many rows are kept: a long stretch that differs is the
    /// machine run at another load or speed, which calibration has to learn, not a hidden fault.
    public var longestSuspectRun: Int
    /// Whether the window-deviation score takes part (false: network only, for comparisons).
    public var useDeviation: Bool
    /// The network half, or nil for the window-deviation score alone.
    public var network: NetworkCalibration?
    /// How sensors of known kinds of machine follow their speed (nil: not used). When it
    /// matches the machine's sensors, readings are compensated for speed before the
    /// window-deviation score (see `LoadCompensator`).
    public var loadPrior: LoadPrior?
    /// Time between two rows, for the load prior's thermal lags.
    public var secondsPerRow: Float
    /// The load prior's sensor name each sensor plays, by sensor name (agent.conf's `role`,
    /// `--roles`), for sensors whose own names are the plant's (`Pump1_Flow`); a sensor without
    /// an entry is matched by its own name.
    public var sensorRoles: [String: String]
    /// The prior's kind of machine to use (agent.conf's `kind`); nil: the kind whose roles
    /// match the most sensors.
    public var machineKind: String?
    /// Whether a machine that switches between two states while running (a 0/1 sensor such as a
    /// compressor's `loaded` that took both values in calibration) has its readings moved to
    /// one state's levels before the window-deviation score (see `StateCompensation`).
    public var compensateStates: Bool
    /// How a two-state machine's phase means are judged (nil: not judged; see `StatePhaseMeans`).
    /// Only with `compensateStates`.
    public var phaseMeans: StatePhaseMeans.Settings?
    /// Whether a calibration at several settled speeds tests the load prior's roles on this
    /// machine and drops the compensation of sensors that contradict it
    /// (`LoadCompensation.droppingMisfits`).
    public var testLoadPrior: Bool
    /// Whether calibration adds a `TemperatureRiseCheck` where the load prior finds lagged
    /// temperatures at a speed.
    public var checkTemperatureRise: Bool = true
    /// Whether a two-state compensation also fits how fast each compensated sensor approaches
    /// the new state's level (`StateCompensation.approachRows`), so those sensors are judged on
    /// every row between changes of state instead of being left out while they settle.
    public var fitsStateApproach: Bool = true
    /// Whether the sensors the approach follows row by row get a `RowSpikeCheck` too.
    public var checkRowSpikes: Bool = true
    /// Sensors judged by what they add to another (`SensorOverReference`), by the names the load
    /// prior matches (`roleNames(for:)`): sensor → reference. Only on a two-state machine.
    public var referencedSensors: [String: String] = SensorOverReference.shippedPairs
    /// Sensors judged by their pressure switch's band (`ReceiverBandCheck`) where their shape in
    /// calibration confirms it, by the names the load prior matches (`roleNames(for:)`). Only on
    /// a two-state machine; empty: none.
    public var bandSensors: Set<String> = ReceiverBandCheck.shippedSensors

    /// Creates settings; the defaults are the shipped ones (see docs/detection.md, "Calibration and evaluation").
    public init(deviation: WindowDeviationSettings = WindowDeviationSettings(),
                thresholdQuantile: Double = 1.0, thresholdMargin: Float = 2.0,
                rule: AlertDecisionRule = .standard,
                network: NetworkCalibration? = nil) {
        self.deviation = deviation
        self.thresholdQuantile = thresholdQuantile
        self.thresholdMargin = thresholdMargin
        self.minimumThreshold = 1
        self.rule = rule
        self.trimFactor = 5
        self.longestSuspectRun = 100
        self.useDeviation = true
        self.network = network
        self.loadPrior = LoadPrior.shipped
        self.secondsPerRow = 1
        self.sensorRoles = [:]
        self.machineKind = nil
        self.compensateStates = true
        self.phaseMeans = StatePhaseMeans.Settings()
        self.testLoadPrior = true
    }

    /// The names the load prior matches `sensorNames` by: each sensor's role where `sensorRoles`
    /// gives one, else its own name, except that a name another sensor's role claims plays
    /// nothing (an empty name) so that no role is played twice.
    public func roleNames(for sensorNames: [String]) -> [String] {
        let claimed = Set(sensorNames.compactMap { sensorRoles[$0]?.lowercased() })
        return sensorNames.map { name in
            if let role = sensorRoles[name] { return role }
            return claimed.contains(name.lowercased()) ? "" : name
        }
    }
}

/// A machine's calibrated detector: what normal looks like, the alert thresholds and the alert rule.
///
/// Without a network the row score is the window-deviation score and `threshold` applies to it.
/// With a network the row score is `max(deviation / threshold, network / network.threshold)`,
/// so an alert means "either half is past its own threshold" and `alertThreshold` is 1.
public struct MachineDetector: Sendable, Hashable, Codable {
    /// Sensor names in the order rows are given.
    public var sensorNames: [String]
    /// The machine's normal levels.
    public var baseline: WindowDeviationBaseline
    /// Threshold of the window-deviation score.
    public var threshold: Float
    /// How scores become alerts.
    public var rule: AlertDecisionRule
    /// Whether the window-deviation score takes part.
    public var useDeviation: Bool
    /// The adapted network, when calibration had an initialization.
    public var network: NetworkDetector?
    /// Speed compensation of the readings before the window-deviation score (nil: none; the
    /// network always sees the readings as they are).
    public var load: LoadCompensation?
    /// Two-state compensation of the readings, applied before the load compensation (nil: none).
    public var state: StateCompensation?
    /// Means over whole phases of each state, judged beside the window score (nil: none; with
    /// `state` only; detectors calibrated before it have none).
    public var phases: StatePhaseMeans?
    /// The states the machine's operating-state sensors showed during calibration (nil: not
    /// recorded, e.g. a detector calibrated without agent.conf or before this was kept): the
    /// agent does not score rows in a state calibration never saw.
    public var calibratedStates: CalibratedStates?
    /// How fast lagged temperatures may rise, judged beside the window score (nil: not judged;
    /// detectors calibrated before it have none).
    public var rise: TemperatureRiseCheck?
    /// A sensor judged by what it adds to another, before any compensation (nil: none;
    /// detectors calibrated before it have none).
    public var overReference: SensorOverReference?
    /// Single rows of the sensors the state compensation follows row by row, judged beside the
    /// window score (nil: not judged; detectors calibrated before it have none).
    public var spikes: RowSpikeCheck?
    /// A compressor's receiver judged by its pressure switch's band and its sawtooth's course
    /// instead of the window score (nil: none; detectors calibrated before it have none).
    public var receiver: ReceiverBandCheck?

    /// Creates a detector from its parts.
    public init(sensorNames: [String], baseline: WindowDeviationBaseline, threshold: Float, rule: AlertDecisionRule,
                useDeviation: Bool = true, network: NetworkDetector? = nil, load: LoadCompensation? = nil,
                state: StateCompensation? = nil) {
        self.load = load
        self.state = state
        self.sensorNames = sensorNames
        self.baseline = baseline
        self.threshold = threshold
        self.rule = rule
        self.useDeviation = useDeviation
        self.network = network
    }

    /// The threshold the row score is compared with.
    public var alertThreshold: Float { network == nil ? threshold : 1 }

    /// A fresh streaming scorer (empty windows, no alert raised).
    public func makeStream() -> DetectorStream { DetectorStream(detector: self) }

    /// How many rows of the past a stream's state depends on, as far as it can be said: its
    /// windows and drift horizon (and the network's window), the temperature rise check's ring
    /// of blocks plus the block being filled, and three time constants of the load
    /// compensation's slowest moving average (its weight on older rows has fallen to e⁻³ = 5 %).
    /// A two-state machine's phase means follow whole load/unload phases of any length:
    /// `Int.max` (the caller bounds it). What the agent warms a model's stream with.
    public var streamMemoryRows: Int {
        if phases != nil { return Int.max }
        var rows = max(baseline.settings.windowRows, baseline.settings.driftHorizonRows, network?.windowRows ?? 0)
        if let rise { rows = max(rows, (2 * rise.horizonBlocks + 2) * rise.blockRows) }
        if let longest = load?.lagRows.max(), longest.isFinite {
            rows = longest >= Float(Int.max / 4) ? Int.max : max(rows, Int((3 * longest).rounded(.up)))
        }
        return rows
    }
}

/// Scores one machine's rows as they arrive and applies the alert rule; allocation-free per row.
///
/// - Important: not thread-safe (the network half owns scratch buffers); one per machine per thread.
public struct DetectorStream {
    /// The detector being applied.
    public let detector: MachineDetector
    private var deviation: WindowDeviationScorer
    private var compensator: LoadCompensator?
    private var stateCompensator: StateCompensator?
    private var compensated: [Float]
    private var phases: StatePhaseScorer?
    /// Per sensor, the larger of the window score's and the phase means' contributions.
    private var merged: [Float]
    private var network: NetworkStream?
    private var rise: TemperatureRiseScorer?
    /// Per sensor: whether the rise check's part is its contribution to the last row.
    private var riseDrove: [Bool]
    private var spikes: RowSpikeScorer?
    /// Per sensor: whether the spike check's part is its contribution to the last row.
    private var spikeDrove: [Bool]
    /// Scratch: per sensor, the direction it is recovering in after a stop, for the spike check.
    private var recovering: [Float]
    private var receiver: ReceiverBandScorer?
    /// The row as read, after any judging over a reference (what the band check judges).
    private var asRead: [Float]
    /// Per sensor: whether the band check's part is its contribution to the last row.
    private var receiverDrove: [Bool]
    private var state = AlertDecisionRule.State()
    /// Rows scored since the stream started (or restarted): how full its windows are.
    public private(set) var rowsInWindows = 0
    /// The last row's window-deviation score (NaN when unused).
    public private(set) var lastDeviationScore: Float = .nan
    /// The last row's network score (NaN when unused or the window is not full yet).
    public private(set) var lastNetworkScore: Float = .nan

    /// - Parameter afterStop: whether the rows are a run after a stop (or an unknown stretch):
    ///   the state compensation then takes its first rows as just after a change of state.
    init(detector: MachineDetector, afterStop: Bool = false) {
        self.detector = detector
        deviation = WindowDeviationScorer(baseline: detector.baseline)
        // After a stop the state compensation's sensors join the window late (its settling rows).
        deviation.holdsLateJoiners = afterStop
        compensator = detector.load.map { LoadCompensator($0) }
        stateCompensator = detector.state.map { StateCompensator($0, settled: !afterStop) }
        compensated = [Float](repeating: .nan, count: detector.sensorNames.count)
        phases = detector.state == nil ? nil : detector.phases.map { StatePhaseScorer($0, weight: detector.baseline.weight) }
        merged = [Float](repeating: 0, count: detector.sensorNames.count)
        network = detector.network.map { NetworkStream(detector: $0) }
        rise = detector.load == nil ? nil
            : detector.rise.map { TemperatureRiseScorer($0, lagCount: detector.load!.lagRows.count) }
        riseDrove = [Bool](repeating: false, count: detector.sensorNames.count)
        spikes = detector.state?.approachRows == nil ? nil : detector.spikes.map { RowSpikeScorer($0) }
        spikeDrove = [Bool](repeating: false, count: spikes == nil ? 0 : detector.sensorNames.count)
        recovering = [Float](repeating: 0, count: spikes == nil ? 0 : detector.sensorNames.count)
        receiver = detector.state == nil ? nil : detector.receiver.map { ReceiverBandScorer($0) }
        asRead = [Float](repeating: .nan, count: receiver == nil ? 0 : detector.sensorNames.count)
        receiverDrove = [Bool](repeating: false, count: receiver == nil ? 0 : detector.sensorNames.count)
    }

    /// The row the spike check (`RowSpikeCheck`) judged the sensor in `column` by, when that
    /// check, not the window, its phase means or its rise, gave its contribution to the last
    /// row: an alert then quotes that row's reading and the range allowed there. For a receiver
    /// the band check (`ReceiverBandCheck`) judges, the row off its course or its band
    /// (`RowSpike.against`), nil when its stillness gave it (`stillReadings(column:)`). Nil otherwise.
    public func rowSpike(column: Int) -> RowSpike? {
        if let receiver, receiverDrove.indices.contains(column), receiverDrove[column],
           let k = receiver.check.sensors.firstIndex(of: column) {
            return receiver.heldDeparture(ofSensor: k)
        }
        guard let spikes, spikeDrove.indices.contains(column), spikeDrove[column],
              let k = spikes.check.sensors.firstIndex(of: column) else { return nil }
        return spikes.heldSpike(ofSensor: k)
    }

    /// How still the receiver in `column` was, when the band check (`ReceiverBandCheck`) gave
    /// its contribution to the last row by its stillness, not by a row's departure
    /// (`rowSpike(column:)`): an alert then quotes how far its readings moved. Nil otherwise.
    public func stillReadings(column: Int) -> StillReadings? {
        guard let receiver, receiverDrove.indices.contains(column), receiverDrove[column],
              let k = receiver.check.sensors.firstIndex(of: column) else { return nil }
        return receiver.heldStillness(ofSensor: k)
    }

    /// How the sensor in `column` rose, when the rise check (`TemperatureRiseCheck`), not the
    /// level, gave its contribution to the last row: an alert then quotes the rate it judged.
    /// Nil otherwise.
    public func temperatureRise(column: Int) -> TemperatureRise? {
        guard let rise, riseDrove.indices.contains(column), riseDrove[column],
              let k = rise.check.sensors.firstIndex(of: column) else { return nil }
        return rise.rise(ofSensor: k)
    }

    /// What the window-deviation score expected of the sensor in `column` at the last row, in
    /// the units it receives (after the two-state and load compensations): the range over which
    /// its contribution stays at or below the score's threshold, every other sensor as it was
    /// (`WindowDeviationScorer.expectation(sensor:limit:)`), or the range of a phase's mean when
    /// the phase means gave its contribution. Nil when the rise check gave it (the alert quotes
    /// the rise) or the spike check did (`rowSpike(column:)`), or the sensor had no data.
    /// Allocation-free; for an alert, not every row.
    public func expectation(column: Int) -> WindowExpectation? {
        guard riseDrove.indices.contains(column), !riseDrove[column] else { return nil }
        guard !(spikeDrove.indices.contains(column) && spikeDrove[column]) else { return nil }
        guard !(receiverDrove.indices.contains(column) && receiverDrove[column]) else { return nil }
        if let phases, let part = phases.expectation(sensor: column, limit: detector.threshold),
           part.contribution > deviation.contributions[column] {
            return WindowExpectation(low: part.low, high: part.high, seen: 1, relativeTo: nil, phase: part.state)
        }
        return deviation.expectation(sensor: column, limit: detector.threshold)
    }

    /// Per-sensor contributions of the window-deviation score to the last row.
    public var contributions: [Float] { phases == nil && rise == nil && spikes == nil && receiver == nil ? deviation.contributions : merged }

    /// Per-sensor contributions of the network score to the last row (empty without a network).
    public var networkContributions: [Float] { network?.contributions ?? [] }

    /// Where the last row scored put the machine for its load compensation (the speed now and
    /// its moving averages), for quoting normal ranges at that point
    /// (`LoadCompensation.readingRange`); nil without a load compensation, or when the row was
    /// left as it is (speed missing or below the prior's minimum).
    public var loadOperatingPoint: LoadOperatingPoint? { compensator?.operatingPoint }

    /// Scores one row (one value per sensor, NaN = missing) without updating the alert state.
    public mutating func score<C: Collection>(row: C) -> Float where C.Element == Float { scoreRow(row) }

    /// `score(row:)` for the agent's rows, arrays: compiled here for `[Float]`. Called from
    /// another module, the generic form runs unspecialized, and its iteration over the row
    /// allocates (measured: most of the agent's mallocs per scored row, docs/performance.md).
    public mutating func score(row: [Float]) -> Float { scoreRow(row) }

    /// The checks judged beside the window score, each row in this order.
    private enum RowCheck { case rise, spike, receiver }

    /// Folds one check's scores of the last row (1 = an alert, per checked sensor and the
    /// largest) into the row's score `combined` and the per-sensor parts `merged`, in the
    /// window score's units (its threshold). Where its part is the larger (a rise's also where
    /// it ties), it is the sensor's part an alert quotes, in place of an earlier check's.
    private mutating func fold(_ check: RowCheck, score: Float, sensors: [Int], sensorScores: [Float], into combined: inout Float) {
        switch check {
        case .rise: for s in riseDrove.indices { riseDrove[s] = false }
        case .spike: for s in spikeDrove.indices { spikeDrove[s] = false }
        case .receiver: for s in receiverDrove.indices { receiverDrove[s] = false }
        }
        let r = score * detector.threshold
        guard r > 0, !combined.isNaN else { return }
        combined = max(combined, r)
        for (k, s) in sensors.enumerated() where s < merged.count {
            let level = merged[s].isNaN ? 0 : merged[s], part = sensorScores[k] * detector.threshold
            merged[s] = max(level, part)
            guard check == .rise ? part > 0 && part >= level : part > level else { continue }
            if s < riseDrove.count { riseDrove[s] = check == .rise }
            if check != .rise, s < spikeDrove.count { spikeDrove[s] = check == .spike }
            if check == .receiver, s < receiverDrove.count { receiverDrove[s] = true }
        }
    }

    private mutating func scoreRow<C: Collection>(_ row: C) -> Float where C.Element == Float {
        rowsInWindows += 1
        let d: Float
        if compensator != nil || stateCompensator != nil {
            var i = 0
            for x in row where i < compensated.count { compensated[i] = x; i += 1 }
            spikes?.takeReadings(compensated)
            detector.overReference?.apply(to: &compensated)
            if receiver != nil { for i in asRead.indices { asRead[i] = compensated[i] } }
            let stateReading = phases.map { $0.phases.state < compensated.count ? compensated[$0.phases.state] : .nan } ?? .nan
            rise?.takeReadings(compensated)
            compensated.withUnsafeMutableBufferPointer { buffer in
                stateCompensator?.apply(buffer)
                compensator?.apply(buffer)
            }
            let window = deviation.score(row: compensated)
            var combined = window
            if phases != nil {
                phases!.push(compensated, state: stateReading)
                let part = phases!.contributions, whole = deviation.contributions
                for s in merged.indices { merged[s] = max(whole[s], part[s]) }
                combined = window.isNaN ? window : max(window, phases!.score)
            } else if rise != nil || spikes != nil || receiver != nil {
                let whole = deviation.contributions
                for s in merged.indices { merged[s] = whole[s] }
            }
            if rise != nil, let compensator {
                rise!.push(compensator)
                fold(.rise, score: rise!.score, sensors: rise!.check.sensors, sensorScores: rise!.sensorScores, into: &combined)
            }
            if spikes != nil {
                if deviation.isRecovering {
                    for s in recovering.indices { recovering[s] = deviation.recoveryDirection(sensor: s) }
                    spikes!.push(compensated, recovering: recovering)
                } else {
                    spikes!.push(compensated)
                }
                fold(.spike, score: spikes!.score, sensors: spikes!.check.sensors, sensorScores: spikes!.sensorScores, into: &combined)
            }
            if receiver != nil {
                receiver!.push(asRead)
                fold(.receiver, score: receiver!.score, sensors: receiver!.check.sensors, sensorScores: receiver!.sensorScores,
                     into: &combined)
            }
            d = combined
        } else {
            d = deviation.score(row: row)
        }
        lastDeviationScore = detector.useDeviation ? d : .nan
        guard var stream = network, let part = detector.network else { return lastDeviationScore }
        lastNetworkScore = stream.score(row: row)
        network = stream
        let a = lastDeviationScore / detector.threshold
        let b = lastNetworkScore / part.threshold
        if a.isNaN { return b }
        if b.isNaN { return a }
        return max(a, b)
    }

    /// Starts afresh because the machine stopped and started again: empty windows (compensation
    /// lags included) and an alert rule without recent scores, raised alert or cooldown, as the
    /// agent's scorer and alert state after a stop (`run_signal`), so no window straddles a stop.
    /// A state compensation takes the run's first rows as just after a change of state
    /// (`StateCompensator.init(_:settled:)`).
    public mutating func restart() {
        self = DetectorStream(detector: detector, afterStop: true)
    }

    /// Starts afresh after a stop, as `restart()`, and judges the new run as a recovery from
    /// the stop (`WindowDeviationScorer.allowRecovery(before:stopped:)`): the sensors' levels
    /// in the last full window before the stop (this stream's) and where the stop left them,
    /// `stoppedRow` (the last row read while the machine stood, one value per sensor, NaN =
    /// missing; nil: not known, as after an unknown stretch: a plain restart), which goes
    /// through the same compensations as scored rows. The allowance fades by e each
    /// `recoveryRows` rows (the settling time after a start, in rows; ≤ 0: none) while a sensor
    /// stops coming back (`WindowDeviationScorer.fadeRecovery`). Allocates once per restart.
    public mutating func restart(afterStop stoppedRow: [Float]?, recoveryRows: Int) {
        let before = deviation, stateBefore = stateCompensator
        self = DetectorStream(detector: detector, afterStop: true)
        guard let stoppedRow else { return }
        if let stateBefore { stateCompensator?.carryApproach(from: stateBefore) }
        var row = [Float](repeating: .nan, count: detector.sensorNames.count)
        for (i, x) in stoppedRow.prefix(row.count).enumerated() { row[i] = x }
        detector.overReference?.apply(to: &row)
        // Fresh compensators, as for the run's first row (the stream's own stay untouched).
        var state = detector.state.map { StateCompensator($0) }
        var load = detector.load.map { LoadCompensator($0) }
        row.withUnsafeMutableBufferPointer { buffer in
            state?.apply(buffer)
            load?.apply(buffer)
        }
        deviation.allowRecovery(before: before, stopped: row, recoveryRows: recoveryRows)
    }

    /// Scores one row and, when its window is judged, updates the alert state; returns the score
    /// and whether an alert is raised (for a row whose window is not judged, whether one was).
    /// - Parameter hop: agent.conf's `hop`: the first full window is judged, then every
    ///   `hop`-th (`JudgedRows.isJudged`), counted from the stream's (re)start as the agent counts.
    public mutating func process<C: Collection>(row: C, hop: Int = 1) -> (score: Float, alert: Bool) where C.Element == Float {
        let s = score(row: row)
        // Until the windows are full their means are noisier than calibration's: not judged.
        guard isJudged(hop: hop) else { return (s, state.isAlerting) }
        let alert = state.update(score: s, threshold: detector.alertThreshold, rule: detector.rule)
        return (s, alert)
    }

    /// Whether the window ending at the last row scored is judged with `hop` (see `process(row:hop:)`).
    public func isJudged(hop: Int) -> Bool {
        JudgedRows.isJudged(rowsInWindow: rowsInWindows, windowRows: detector.baseline.settings.windowRows, hop: hop)
    }
}

/// What calibration did, for the operator (printed by `edge-agent calibrate`).
public struct CalibrationReport: Sendable, Hashable, Codable {
    /// Calibration rows used.
    public var rows: Int
    /// Threshold of the window-deviation score.
    public var threshold: Float
    /// The calibration-score quantile the threshold was derived from.
    public var scoreQuantile: Float
    /// Estimated probability that a normal row's deviation score exceeds its threshold, from an
    /// exponential tail fitted to the calibration scores above their 90th percentile (peaks over threshold).
    public var expectedFalseAlarmRate: Double
    /// Calibration rows set aside as suspect (see `CalibrationSettings.trimFactor`).
    public var trimmedRows: Int = 0
    /// Rows of labelled anomalies used.
    public var labelledAnomalyRows: Int = 0
    /// Fraction of the labelled anomaly rows scoring above the final threshold.
    public var labelledAnomalyRecall: Double = 0
    /// The network's adaptation, when there is a network.
    public var adaptation: AdaptationReport? = nil
    /// Threshold of the network score, when there is a network.
    public var networkThreshold: Float? = nil
    /// Estimated exceedance rate of the network threshold (same tail fit), when there is a network.
    public var networkExpectedFalseAlarmRate: Double? = nil
    /// The steady speeds calibration saw, when the load prior compensates this machine for its
    /// speed (nil: no speed prior, or too few rows to say).
    public var speedCoverage: SpeedCoverage? = nil
}

/// Fits a `MachineDetector` to rows of a machine's normal operation.
public struct Calibrator: Sendable {
    /// The settings used.
    public var settings: CalibrationSettings

    /// Creates a calibrator.
    public init(settings: CalibrationSettings = CalibrationSettings()) { self.settings = settings }

    /// Calibrates on `values` (row-major, `sensorNames.count` values per row, NaN = missing);
    /// `labelledAnomalies` (same layout) are rows of known faults that join the network's adaptation.
    ///
    /// The threshold is the calibration scores' `thresholdQuantile` times `thresholdMargin`: a
    /// quantile with a margin rather than a fitted extreme-value tail, because a few hundred
    /// strongly autocorrelated rows hold only a dozen independent windows, too few to fit a
    /// generalized Pareto shape reliably; the tail fit is used only to *report* the expected rate.
    ///
    /// `tolerances` (per sensor, in its unit; NaN: none) are the level changes that are normal
    /// whatever calibration saw (see `WindowDeviationBaseline.deadBand`).
    ///
    /// `runStarts` (row indices, `SensorTable.runStarts`) are where the machine runs again after
    /// a stop left out of `values`: each run is scored on its own, as the agent scores it (its
    /// windows and compensations start afresh after a stop), so no calibration window straddles
    /// a stop.
    public func calibrate(values: ArraySlice<Float>, sensorNames: [String],
                          labelledAnomalies: ArraySlice<Float>? = nil,
                          tolerances: [Float]? = nil, runStarts: [Int] = []) -> (detector: MachineDetector, report: CalibrationReport) {
        let n = sensorNames.count
        let rows = n > 0 ? values.count / n : 0
        // Speed compensation, when the load prior knows this kind of machine: everything the
        // window-deviation score learns below is learned on compensated readings.
        let original = values
        var overReference = settings.compensateStates
            ? SensorOverReference.find(in: original, roleNames: settings.roleNames(for: sensorNames), pairs: settings.referencedSensors)
            : nil
        var raw = overReference.map { $0.apply(to: original, sensorCount: n)[...] } ?? original
        // How fast this kind's sensors approach each state's level, where the load prior knows.
        let roleNames = settings.roleNames(for: sensorNames)
        let approaches = settings.loadPrior?.kind(for: roleNames, named: settings.machineKind)?.approaches ?? []
        let approachBounds = LoadPrior.Approach.bounds(approaches, roleNames: roleNames, secondsPerRow: settings.secondsPerRow)
        var state = settings.compensateStates ? StateCompensation.fit(values: raw, sensorCount: n, averagedRows: settings.deviation.windowRows,
                                                                            runStarts: runStarts, fitsApproach: settings.fitsStateApproach,
                                                                            approachBounds: approachBounds) : nil
        // A receiver judged by its switch's band is not compensated (nor window-scored, nor
        // judged by phase means, below): where in the band it sits is set by the demand.
        let receiver = state.flatMap { state in
            ReceiverBandCheck.fit(values: raw, sensorCount: n, state: state.state,
                                  candidates: roleNames.indices.filter { settings.bandSensors.contains(roleNames[$0].lowercased()) },
                                  windowRows: settings.deviation.windowRows, runStarts: runStarts)
        }
        for s in receiver?.sensors ?? [] {
            state?.shift[s] = 0
            state?.approachLevel?[s] = .nan
        }
        if state == nil, overReference != nil {
            // Judged over its reference only on a two-state machine, where that is what it adds.
            overReference = nil
            raw = original
        }
        let staged = state.map { state in
            CalibrationRuns.byRun(raw, sensorCount: n, starts: runStarts) { rows, afterStop in state.apply(to: rows, settled: !afterStop) }[...]
        } ?? raw
        var load = settings.loadPrior.flatMap {
            LoadCompensation.fit(prior: $0, values: staged, sensorNames: settings.roleNames(for: sensorNames),
                                 kindName: settings.machineKind, secondsPerRow: settings.secondsPerRow, runStarts: runStarts)
        }.map { settings.testLoadPrior ? $0.droppingMisfits(values: staged, sensorNames: sensorNames) : $0 }
        let speedCoverage = load?.speedCoverage(values: staged)
        if let speeds = speedCoverage?.settledSpeeds, !speeds.isEmpty { load?.calibratedSpeeds = speeds }
        let values = load.map { load in CalibrationRuns.byRun(staged, sensorCount: n, starts: runStarts) { load.apply(to: $0) }[...] } ?? staged
        // The network reads the rows as they are; the state column is the same in both.
        var rawKept = original
        var kept = values
        var baseline = WindowDeviationBaseline.fit(values: values, sensorCount: n, settings: settings.deviation, tolerances: tolerances,
                                                   runStarts: runStarts).leavingOut(receiver?.sensors ?? [])
        var scores = Calibrator.scoredRows(of: values, sensorCount: n, baseline: baseline, runStarts: runStarts).scores
        var trimmed = 0
        if settings.trimFactor > 0 {
            let robust = WindowDeviationBaseline.fit(values: values, sensorCount: n, settings: settings.deviation,
                                                     robustSpread: true, tolerances: tolerances, runStarts: runStarts)
                .leavingOut(receiver?.sensors ?? [])
            let (robustScores, scoredRows) = Calibrator.scoredRows(of: values, sensorCount: n, baseline: robust, runStarts: runStarts)
            let typical = RobustStatistics.median(robustScores)
            var suspect = robustScores.map { $0.isFinite && typical.isFinite && $0 > settings.trimFactor * max(typical, 0.1) }
            // A long stretch that differs is the plant running the machine differently (another
            // load or speed), which calibration must learn; only short excursions are set aside.
            var start = 0
            while start < suspect.count {
                guard suspect[start] else { start += 1; continue }
                var end = start
                while end < suspect.count && suspect[end] { end += 1 }
                if end - start > settings.longestSuspectRun { for i in start..<end { suspect[i] = false } }
                start = end
            }
            for (i, isSuspect) in suspect.enumerated() where isSuspect {
                // Set aside the row score i belongs to (see `scoredRows(of:)`).
                let r = scoredRows[i]
                for c in 0..<n {
                    kept[kept.startIndex + r * n + c] = .nan
                    rawKept[rawKept.startIndex + r * n + c] = .nan
                }
                trimmed += 1
            }
            if trimmed > 0, trimmed < rows / 2 {
                baseline = WindowDeviationBaseline.fit(values: kept, sensorCount: n, settings: settings.deviation, tolerances: tolerances,
                                                       runStarts: runStarts).leavingOut(receiver?.sensors ?? [])
                scores = Calibrator.scoredRows(of: kept, sensorCount: n, baseline: baseline, runStarts: runStarts).scores
            } else {
                trimmed = 0
                kept = values
                rawKept = original
            }
        }
        var quantile = RobustStatistics.quantile(scores, settings.thresholdQuantile)
        if !quantile.isFinite { quantile = 1 }
        let threshold = max(max(quantile, 1e-3) * settings.thresholdMargin, settings.minimumThreshold)
        var detector = MachineDetector(sensorNames: sensorNames, baseline: baseline, threshold: threshold,
                                       rule: settings.rule, useDeviation: settings.useDeviation, load: load, state: state)
        detector.overReference = overReference
        detector.receiver = receiver
        if settings.checkRowSpikes, let state {
            detector.spikes = RowSpikeCheck.fit(values: values, sensorCount: n, state: state,
                                                windowRows: settings.deviation.windowRows, runStarts: runStarts)
        }
        if settings.checkTemperatureRise, let load {
            detector.rise = TemperatureRiseCheck.fit(load: load, roleNames: settings.roleNames(for: sensorNames), values: raw, staged: staged,
                                                     sensorCount: n, secondsPerRow: settings.secondsPerRow, runStarts: runStarts)
        }
        if let state, let phaseSettings = settings.phaseMeans {
            // Judged on the rows the window score was fitted on (suspect rows left out), each
            // phase's state read from the raw rows.
            let stateValues = (0..<rows).map { rawKept[rawKept.startIndex + $0 * n + state.state] }
            detector.phases = StatePhaseMeans.fit(values: kept, stateValues: stateValues, sensorCount: n, state: state.state,
                                                  baseline: baseline, shift: state.shift, approach: state.approachRows, runStarts: runStarts,
                                                  settings: phaseSettings)?.leavingOut(receiver?.sensors ?? [])
        }
        var report = CalibrationReport(rows: rows, threshold: threshold, scoreQuantile: quantile,
                                       expectedFalseAlarmRate: Calibrator.tailExceedance(scores, above: threshold))
        report.trimmedRows = trimmed
        report.speedCoverage = speedCoverage
        if let network = settings.network,
           let (part, adaptation, networkScores) = Calibrator.calibrateNetwork(network, values: rawKept, sensorCount: n,
                                                                               labelledAnomalies: labelledAnomalies,
                                                                               runStarts: runStarts) {
            detector.network = part
            report.adaptation = adaptation
            report.networkThreshold = part.threshold
            report.networkExpectedFalseAlarmRate = Calibrator.tailExceedance(networkScores, above: part.threshold)
        }
        return (detector, report)
    }

    /// Fits the normalization, adapts the network and sets its threshold; nil when there are
    /// fewer rows than one window. With `runStarts` (see `calibrate(values:…)`) its windows and
    /// threshold scores stay within one run, as the agent's network window starts afresh after
    /// a stop.
    static func calibrateNetwork(_ settings: NetworkCalibration, values: ArraySlice<Float>, sensorCount n: Int,
                                 labelledAnomalies: ArraySlice<Float>?,
                                 runStarts: [Int] = []) -> (NetworkDetector, AdaptationReport, [Float])? {
        let rows = n > 0 ? values.count / n : 0
        let a = settings.adaptation
        guard rows >= a.windowRows, n <= settings.initialization.architecture.maximumSensorCount else { return nil }
        let fitted = settings.inputScaling.normalization(values: values, sensorCount: n)
        let perSlot = settings.normalizationPrior?.apply(to: fitted) ?? fitted
        let normalization = settings.calibrationPrior?.widen(perSlot, rows: rows) ?? perSlot
        let normal = FewShotAdaptation.windows(values: values, sensorCount: n, normalization: normalization,
                                               windowRows: a.windowRows, stride: a.stride, limit: a.maximumNormalWindows,
                                               runStarts: runStarts)
        var faults: [Window] = []
        if let labelledAnomalies {
            faults = FewShotAdaptation.windows(values: labelledAnomalies, sensorCount: n, normalization: normalization,
                                               windowRows: a.windowRows, stride: a.stride, limit: a.maximumNormalWindows)
        }
        var network = settings.initialization
        var report = AdaptationReport(normalWindows: normal.count, anomalousWindows: 0, steps: 0, lossBefore: 0, lossAfter: 0)
        if a.steps > 0 {
            let loss = FewShotAdaptation.lossFunction(for: network, normal: normal, margin: a.deviationMargin)
            let batch = FewShotAdaptation.batch(normal: normal, labelledAnomalies: faults, settings: a)
            (network, report) = FewShotAdaptation.adapt(network, batch: batch, lossFunction: loss, settings: a)
        }
        var part = NetworkDetector(network: network, normalization: normalization, windowRows: a.windowRows, threshold: 1)
        // The int8 path computes the shipped score (prediction error weight 1) only.
        if settings.quantize, !normal.isEmpty, network.reconstructionScoreWeight == 1, !network.scoresByLargestSensor {
            part.quantized = try? network.quantize(calibrationWindows: normal)
        }
        if settings.thresholdRule == .sensorReference, !normal.isEmpty {
            part.sensorReferences = NetworkThresholdRule.sensorReferences(of: part, normal: normal, spreads: settings.referenceSpreads)
        } else if settings.thresholdRule == .sensorExcess, !normal.isEmpty {
            let baselines = NetworkThresholdRule.sensorBaselines(of: part, normal: normal)
            let references = NetworkThresholdRule.sensorReferences(of: part, normal: normal, spreads: settings.referenceSpreads)
            part.sensorReferences = zip(references, baselines).map { max($0 - $1, 1e-6) }
            part.sensorBaselines = baselines
        }
        var stream = NetworkStream(detector: part)
        var scores: [Float] = []
        let runOfRow = CalibrationRuns.runOfRow(rows: rows, starts: runStarts)
        for r in 0..<rows {
            if let runOfRow, r > 0, runOfRow[r] != runOfRow[r - 1] { stream = NetworkStream(detector: part) }
            let s = stream.score(row: values[(values.startIndex + r * n)..<(values.startIndex + (r + 1) * n)])
            if s.isFinite { scores.append(s) }
        }
        let top = RobustStatistics.quantile(scores, 1.0)
        let margin = settings.calibrationPrior?.entry(forRows: rows)?.thresholdMargin ?? settings.thresholdMargin
        var reference = max(top.isFinite ? top : 1, 1e-6)
        if settings.toleratedThresholdFloor, settings.inputScaling == .tolerated, !normal.isEmpty {
            reference = max(reference, Calibrator.toleratedOffsetScore(part, normal: normal))
        }
        switch settings.thresholdRule {
        case .highestScore:
            part.threshold = reference * margin
        case .sensorReference, .sensorExcess:
            part.threshold = 1
        case .allSensorReference:
            part.threshold = normal.isEmpty ? reference * margin
                : NetworkThresholdRule.allSensorReference(of: part, normal: normal, spreads: settings.referenceSpreads)
        case .anomalyMidpoint:
            part.threshold = NetworkThresholdRule.anomalyMidpoint(of: part, normal: normal, highest: max(top.isFinite ? top : 1, 1e-6),
                                                                  settings: a)
        }
        return (part, report, scores)
    }

    /// The network's score of a calibration window with one sensor moved by one tolerated spread
    /// (`normal` windows are normalized, so that is +1 or −1 on each of its readings): the
    /// largest over sensors and both directions of the median over (at most 16) windows.
    static func toleratedOffsetScore(_ part: NetworkDetector, normal: [Window]) -> Float {
        let step = max(1, normal.count / 16)
        let windows = stride(from: 0, to: normal.count, by: step).map { normal[$0] }
        var floor: Float = 0
        for s in 0..<(windows.first?.sensorCount ?? 0) {
            for sign: Float in [1, -1] {
                let scores = windows.map { window -> Float in
                    var moved = window
                    for t in 0..<moved.timeSteps { moved.values[t * moved.sensorCount + s] += sign }
                    return part.quantized?.score(moved).score ?? part.network.score(moved).score
                }
                let typical = RobustStatistics.median(scores)
                if typical.isFinite { floor = max(floor, typical) }
            }
        }
        return floor
    }

    /// Calibrates on the rows of `table`; when `anomalies` (same sensors) is given, its anomalous
    /// rows join the network's adaptation, and the deviation threshold is lowered toward their
    /// scores where that does not bring it within 10 % of the highest calibration score. Those
    /// scores come from the detector's own `DetectorStream` (as the agent scores rows); a detector
    /// that does not use the window-deviation score (`useDeviation` false) keeps its threshold.
    public func calibrate(table: SensorTable, anomalies: SensorTable? = nil,
                          tolerances: [Float]? = nil) -> (detector: MachineDetector, report: CalibrationReport) {
        var faultRows: [Float]? = nil
        if let anomalies, anomalies.sensorCount == table.sensorCount {
            var rows: [Float] = []
            for r in 0..<anomalies.rowCount where anomalies.anomalyLabels.map({ $0[r] != 0 }) ?? true {
                rows += anomalies.row(r)
            }
            faultRows = rows
        }
        var (detector, report) = calibrate(values: table.values[...], sensorNames: table.sensorNames,
                                           labelledAnomalies: faultRows?[...], tolerances: tolerances, runStarts: table.runStarts)
        guard let anomalies, anomalies.sensorCount == table.sensorCount else { return (detector, report) }
        // The labelled rows are scored as the agent scores rows: the detector's own stream, its
        // network left out (only the window-deviation score's threshold is lowered here). When
        // the detector does not use the window-deviation score the stream gives NaN, so nothing
        // is lowered and no recall is claimed for a score that decides nothing.
        var deviationOnly = detector
        deviationOnly.network = nil
        var stream = deviationOnly.makeStream()
        var faultScores: [Float] = []
        for r in 0..<anomalies.rowCount {
            let s = stream.score(row: anomalies.row(r))
            let isFault = anomalies.anomalyLabels.map { $0[r] != 0 } ?? true
            if isFault && s.isFinite { faultScores.append(s) }
        }
        guard !faultScores.isEmpty else { return (detector, report) }
        let floor = report.scoreQuantile * 1.1
        let target = RobustStatistics.quantile(faultScores, 0.2)
        if target.isFinite, target < detector.threshold {
            detector.threshold = max(floor, target)
        }
        report.threshold = detector.threshold
        report.labelledAnomalyRows = faultScores.count
        report.labelledAnomalyRecall = Double(faultScores.filter { $0 > detector.threshold }.count) / Double(faultScores.count)
        return (detector, report)
    }

    /// The scores of calibration rows once each window is full, and the row of each: with
    /// `runStarts`, each run's windows start afresh at its first row (a run shorter than a
    /// window gives no score); without, as `scores(of:)`.
    static func scoredRows(of values: ArraySlice<Float>, sensorCount n: Int, baseline: WindowDeviationBaseline,
                           runStarts: [Int]) -> (scores: [Float], rows: [Int]) {
        let rows = n > 0 ? values.count / n : 0
        let w = baseline.settings.windowRows
        guard let runOfRow = CalibrationRuns.runOfRow(rows: rows, starts: runStarts) else {
            let scores = Calibrator.scores(of: values, sensorCount: n, baseline: baseline)
            return (scores, scores.indices.map { min(rows - 1, $0 + (rows < w ? 0 : w - 1)) })
        }
        var scorer = WindowDeviationScorer(baseline: baseline)
        var scores: [Float] = [], scored: [Int] = []
        var sinceStart = 0
        for r in 0..<rows {
            if r > 0, runOfRow[r] != runOfRow[r - 1] {
                scorer = WindowDeviationScorer(baseline: baseline)
                sinceStart = 0
            }
            let start = values.startIndex + r * n
            let s = scorer.score(row: values[start..<(start + n)])
            sinceStart += 1
            if sinceStart >= w {
                scores.append(s)
                scored.append(r)
            }
        }
        return (scores, scored)
    }

    /// The scores of calibration rows once each window is full (all rows when there are fewer).
    static func scores(of values: ArraySlice<Float>, sensorCount n: Int, baseline: WindowDeviationBaseline) -> [Float] {
        var scorer = WindowDeviationScorer(baseline: baseline)
        let rows = n > 0 ? values.count / n : 0
        let w = baseline.settings.windowRows
        var scores: [Float] = []
        scores.reserveCapacity(rows)
        for r in 0..<rows {
            let start = values.startIndex + r * n
            let s = scorer.score(row: values[start..<(start + n)])
            if r + 1 >= w || rows < w { scores.append(s) }
        }
        return scores
    }

    /// Peaks over threshold with an exponential tail: P(score > t) ≈ p_u · exp(−(t − u) / σ), where
    /// u is the 90th percentile, p_u = 0.1 and σ the mean excess above u.
    static func tailExceedance(_ scores: [Float], above threshold: Float) -> Double {
        let u = RobustStatistics.quantile(scores, 0.9)
        guard u.isFinite else { return 0 }
        let excesses = scores.filter { $0.isFinite && $0 > u }.map { Double($0 - u) }
        guard !excesses.isEmpty else { return 0 }
        let sigma = excesses.reduce(0, +) / Double(excesses.count)
        guard sigma > 0 else { return 0 }
        let tail = Double(excesses.count) / Double(scores.filter(\.isFinite).count)
        return min(1, tail * exp(-Double(threshold - u) / sigma))
    }
}
