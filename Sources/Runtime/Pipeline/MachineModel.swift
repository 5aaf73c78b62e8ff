import Configuration
import Detection
import EdgeCore

/// A machine's stored model that cannot be used, with the file and what to do.
public struct MachineModelError: Error, Sendable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// What is wrong and what to do.
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// A machine's calibrated detector as the runtime uses it: score one row at a time, say which
/// sensors drove the score, and what each sensor's normal range is.
///
/// This is the only file of the runtime that knows the Detection module's types, so a change of
/// detector touches one place.
///
/// Immutable once loaded, and a class: the scoring stage reads it out of its per-machine state
/// for every row, and a struct read out of a class's property is copied, which retained each of
/// its arrays (the detector's dozens) and released them again (docs/performance.md).
public final class MachineModel: Sendable {
    /// Where the model was loaded from.
    public let path: String
    /// When it was calibrated (ISO-8601, as stored in the file).
    public let calibratedAt: String
    /// Scores above this count towards an alert (of the score `alertScore` names).
    public let threshold: Double
    /// Which score raises alerts (agent.conf's `alert_score`).
    public let alertScore: AlertScore
    /// Threshold of the window-deviation score.
    public let deviationThreshold: Double
    /// Sensor names in the order the detector expects them.
    public let sensorNames: [String]
    /// Per-sensor normal range (robust centre ± 3 robust scales), for alerts and summaries: the
    /// calibration's range of the values the detector judges, i.e. after the two-state and load
    /// compensations (`normalRange` gives it in readings at an operating point).
    public let normalLow: [Double]
    public let normalHigh: [Double]

    /// Where a machine ran at one row, as far as its normal ranges depend on it: the speed and
    /// its moving averages that its load compensation (`detector.load`) judged the row at.
    /// Taken from a scorer after a row (`Scorer.operatingPoint`), or for a steady speed
    /// (`settledOperatingPoint(driver:)`).
    public struct OperatingPoint: Sendable {
        fileprivate var load: LoadOperatingPoint?

        /// The readings taken as they are, as calibration's own rows were at its speed: a machine
        /// without a load compensation, or a row whose speed is missing or below the prior's
        /// minimum (the compensation leaves it alone).
        public static let asRead = OperatingPoint(load: nil)
    }

    /// A machine's normal range for `column` at the row `row` (model order) and the operating
    /// point `point` the scorer judged it at: what the detector judges that sensor's reading
    /// against there. Allocation-free.
    ///
    /// - A two-state machine (a compressor's `loaded`): the range moved by the sensor's shift
    ///   while the state is 1, so an alert on a loaded compressor quotes the loaded level.
    /// - A load-compensated sensor (a pump's flow, pressures, current, vibration): the range of
    ///   readings its compensation maps into the calibration range at `point`'s speed (and its
    ///   moving averages, for a lagged sensor), so a pump at 1000 rpm quotes the range at 1000 rpm.
    ///   The speed itself, whenever it is compensated: from the prior's minimum share of the
    ///   calibration speed up, with `high` infinite (any speed the plant runs at is normal).
    public func normalRange(column: Int, row: [Float], at point: OperatingPoint = .asRead) -> (low: Double, high: Double) {
        let stateOn = detector.state.map { row.indices.contains($0.state) && row[$0.state] >= 0.5 } ?? false
        let range = normalRange(column: column, stateOn: stateOn, at: point)
        let offset = referenceOffset(column: column, row: row)
        return (range.low + offset, range.high + offset)
    }

    /// What a sensor judged over another (`MachineDetector.overReference`: a compressor's
    /// discharge temperature over its oil) reads beyond its judged value at the row `row`
    /// (model order): the reference's reading less its calibration median; 0 for every other
    /// sensor, or when the reference has no reading. Ranges the score judges in, turned into
    /// readings, are moved by it last, as the detector applies it first.
    func referenceOffset(column: Int, row: [Float]) -> Double {
        guard let reference = detector.overReference, reference.sensor == column,
              row.indices.contains(reference.reference), row[reference.reference].isFinite else { return 0 }
        return Double(row[reference.reference] - reference.referenceLevel)
    }

    /// A machine's normal range for `column` while its state sensor (`stateSensor`) reads 1
    /// (`stateOn`) or 0, at the operating point `point` (see `normalRange(column:row:at:)`); the
    /// calibration range for a machine without two states or load compensation. Allocation-free.
    public func normalRange(column: Int, stateOn: Bool, at point: OperatingPoint = .asRead) -> (low: Double, high: Double) {
        var range = (low: normalLow[column], high: normalHigh[column])
        // The state compensation comes first in the detector (a loaded reading is moved to the
        // unloaded level, then load-compensated), so its shift is added back last.
        if let load = detector.load { range = load.readingRange(sensor: column, compensated: range, at: point.load) }
        if stateOn, let state = detector.state, state.shift.indices.contains(column) {
            range.low += Double(state.shift[column])
            range.high += Double(state.shift[column])
        }
        return range
    }

    /// What an alert says a sensor was judged against (`quote`): how, the range of its reading
    /// expected, and what was judged against it.
    public struct Quote: Sendable, Equatable {
        /// How it was judged.
        public var judged: SensorJudgement
        /// The range of its reading expected (for a spike or a band, allowed at the row judged;
        /// NaN for `still`, which judges no reading).
        public var low: Double
        public var high: Double
        /// With `state`: the sensor its expected level depends on most (operating directions).
        public var relativeTo: String?
        /// The mean judged (not for a phase's mean, nor a spike).
        public var mean: Double?
        /// With `spike`: the reading of the row judged, and when it was read (when the row was
        /// scored with its time, `Scorer.score(row:at:)`).
        public var reading: Double?
        public var readingTime: Timestamp?
        /// With `still`: how far its readings moved over `movementRows` rows to `readingTime`,
        /// and the least movement that does not score.
        public var movement: Double?
        public var movementRows: Int?
        public var leastMovement: Double?
        /// With `state` and no `relativeTo`: what moved its range (the state, the speed).
        public var movedWith: ExpectedRangeCondition?
    }

    /// What the window score judged the sensor in `column` against at the scorer's last judged
    /// window, and the range of its reading it expected there: where its contribution stays at
    /// or below the threshold with the machine's state (`row`, model order), its speed (`point`)
    /// and every other sensor as they were (`DetectorStream.expectation(column:)`), turned from
    /// the units the score receives into readings as `normalRange` turns the calibrated range.
    /// `mean`: the mean it judged, in readings the same way. When the spike check gave its
    /// contribution (`DetectorStream.rowSpike(column:)`): `spike`, the reading of the row it
    /// judged and the range it allowed there (`RowSpike.allowedReadings`); `band` when that was a
    /// receiver's pressure switch's band (`ReceiverBandCheck`), and `still` with how far its
    /// readings moved when its stillness gave it (`DetectorStream.stillReadings(column:)`). A two-state machine's
    /// state sensor (0 or 1) is quoted within the values it takes: its mean is the window's share
    /// of loaded rows, and a range reaching below 0 or above 1 says nothing more. Nil when the
    /// network scored it or the rise check judged the sensor (those are quoted otherwise).
    /// Allocation-free; called for an alert being raised or updated only.
    public func quote(column: Int, scorer: Scorer, row: [Float], at point: OperatingPoint = .asRead) -> Quote? {
        guard !scorer.networkDroveLastScore else { return nil }
        if let spike = scorer.rowSpike(column: column), spike.reading.isFinite, spike.value.isFinite, spike.course.isFinite {
            let allowed = spike.allowedReadings
            return Quote(judged: spike.against == .band ? .band : .spike, low: Double(allowed.low), high: Double(allowed.high),
                         reading: Double(spike.reading), readingTime: scorer.timeOfRow(rowsAgo: spike.rowsAgo))
        }
        if let still = scorer.stillReadings(column: column), still.movement.isFinite {
            return Quote(judged: .still, low: .nan, high: .nan, readingTime: scorer.timeOfRow(rowsAgo: still.rowsAgo),
                         movement: Double(still.movement), movementRows: still.rows, leastMovement: Double(still.leastMovement))
        }
        guard let expectation = scorer.expectation(column: column) else { return nil }
        // A phase's mean is of that phase's state, the window's of the row's.
        let stateOn = expectation.phase.map { $0 == 1 }
            ?? detector.state.map { row.indices.contains($0.state) && row[$0.state] >= 0.5 } ?? false
        func readings(_ low: Float, _ high: Float) -> (low: Double, high: Double) {
            var range = (low: Double(low), high: Double(high))
            if let load = detector.load { range = load.readingRange(sensor: column, compensated: range, at: point.load) }
            if stateOn, let state = detector.state, state.shift.indices.contains(column) {
                range.low += Double(state.shift[column])
                range.high += Double(state.shift[column])
            }
            let offset = referenceOffset(column: column, row: row)
            return (range.low + offset, range.high + offset)
        }
        var range = readings(expectation.low, expectation.high)
        if detector.state?.state == column { range = (max(range.low, 0), min(range.high, 1)) }
        // One value maps to one (or, at the level itself, to the band the compensation allows:
        // its middle).
        let mean = expectation.mean.map { readings($0, $0) }.map { ($0.low + $0.high) / 2 }
        let partner = expectation.relativeTo.flatMap { sensorNames.indices.contains($0) ? sensorNames[$0] : nil }
        // What moved it: a two-state machine's state (its duty cycle too), else a speed.
        let movedWith: ExpectedRangeCondition? = stateMovesRange(column: column) || (loadMovesRange(column: column) && loadDriverIsDuty) ? .state
            : loadMovesRange(column: column) ? .speed : nil
        let judged: SensorJudgement = expectation.phase != nil ? .phase
            : partner != nil || movedWith != nil ? .state : .level
        return Quote(judged: judged, low: range.low, high: range.high, relativeTo: partner, mean: mean,
                     movedWith: judged == .state && partner == nil ? movedWith : nil)
    }

    /// The sensor that sets the operating point of a load-compensated machine (a pump's `speed`,
    /// or a compressor's `loaded` whose duty cycle its temperatures follow), nil without one.
    public var loadDriver: String? { detector.load.map { sensorNames[$0.driver] } }

    /// The column of a speed the load compensation sets to its calibration level (not a
    /// duty-cycle driver, which it leaves alone), nil without one.
    public var loadDriverColumn: Int? { detector.load.flatMap { $0.duty ? nil : $0.driver } }

    /// The range the int8 network learned for `column`: its input normalization's centre ± 3
    /// scales, over the readings as calibration read them (the network takes readings as they
    /// are: no state or load compensation moves them). Nil without a network model.
    public func networkNormalRange(column: Int) -> (low: Double, high: Double)? {
        guard let normalization = network?.normalization, normalization.centers.indices.contains(column) else { return nil }
        let centre = Double(normalization.centers[column]), halfWidth = 3 * Double(normalization.scales[column])
        return (centre - halfWidth, centre + halfWidth)
    }

    /// Whether `loadDriver` is a 0/1 state followed through its duty cycle (not a speed).
    public var loadDriverIsDuty: Bool { detector.load?.duty ?? false }

    /// The driver's calibration level: the median speed, or the duty cycle, calibration saw.
    public var calibrationDriverLevel: Double? { detector.load.map { Double($0.referenceDriver) } }

    /// Whether `column`'s normal range depends on the operating point: a sensor the load
    /// compensation follows with an elasticity or a band (not one it only allows a tolerance
    /// at any speed, such as a supply voltage, nor the speed itself, normal at any speed).
    public func loadMovesRange(column: Int) -> Bool {
        guard let load = detector.load, load.reference.indices.contains(column), load.reference[column].isFinite else { return false }
        return load.elasticity[column] != 0 || load.band[column] != 0
    }

    /// The operating point of the machine running steadily with `loadDriver` at `reading` (a
    /// speed; a duty-cycle driver's duty, 0…1), its moving averages caught up: for a summary's
    /// ranges over a period. Nil without a load compensation, or where it leaves rows as they are.
    public func settledOperatingPoint(driver reading: Double) -> OperatingPoint? {
        guard let point = detector.load?.settledPoint(driver: Float(reading)) else { return nil }
        return OperatingPoint(load: point)
    }

    /// The 0/1 sensor whose state moves some sensors' normal ranges (a compressor's `loaded`),
    /// nil for a machine calibrated without two-state compensation.
    public var stateSensor: String? { detector.state.map { sensorNames[$0.state] } }

    /// `stateSensor`'s column (model order).
    public var stateColumn: Int? { detector.state?.state }

    /// Whether `column`'s normal range depends on the state of `stateSensor`.
    public func stateMovesRange(column: Int) -> Bool {
        guard let state = detector.state, state.shift.indices.contains(column) else { return false }
        return state.shift[column] != 0
    }

    /// The operating state calibration never saw that `row` (model order; NaN = not read)
    /// shows: the state sensor's column and its state (0 or 1); nil when every state sensor
    /// is in a state calibration saw, or the detector recorded none. Allocation-free.
    public func uncalibratedState(in row: [Float]) -> (column: Int, state: Float)? {
        detector.calibratedStates?.unseenState(in: row)
    }

    /// The speed `row` (model order) shows when it lies more than 5 % outside the steady speeds
    /// calibration held, where the load prior alone compensates the readings: the speed
    /// sensor's column and reading; nil otherwise, or when the detector has no speed prior or
    /// recorded no steady speed. Allocation-free.
    public func speedOutsideCalibration(in row: [Float]) -> (column: Int, speed: Float)? {
        guard let load = detector.load, row.indices.contains(load.driver),
              load.isOutsideCalibratedSpeeds(row[load.driver]) else { return nil }
        return (load.driver, row[load.driver])
    }

    /// The steady speeds calibration held (lowest first), when the detector recorded them.
    public var calibratedSpeeds: [Float] { detector.load?.calibratedSpeeds ?? [] }

    /// The states (0, 1) calibration saw of the state sensor in `column`; nil when it is not
    /// one the detector recorded.
    public func calibratedStates(column: Int) -> [Float]? {
        detector.calibratedStates?.sensors.first { $0.column == column }?.states
    }

    /// Rows the scorer needs before its windows are full; earlier scores are not judged.
    public let windowRows: Int
    /// How many rows of the past the scorer's state depends on (`MachineDetector.streamMemoryRows`:
    /// windows, the rise check's blocks, three time constants of the slowest load lag;
    /// `Int.max` for a two-state machine's phase means): what the agent warms it with, bounded.
    public var streamMemoryRows: Int { detector.streamMemoryRows }
    /// The time of the first row calibration's stream scored, when it calibrated on the buffer
    /// (`DetectorFile.dataFrom`); nil otherwise.
    public let calibrationDataStart: Timestamp?
    /// Threshold of the int8 network's own score, when `calibrate` stored a network model
    /// (`<machine>.model`) beside the detector.
    public let networkThreshold: Double?
    private let detector: MachineDetector
    private let network: NetworkModel?

    /// Loads the model calibrated for `machine` from `<dataDirectory>/models/`.
    /// - Parameter alertScore: which score will raise alerts; `network` and `either` need the
    ///   int8 network model beside the detector.
    /// - Returns: nil when the machine has not been calibrated yet.
    /// - Throws: when a model file exists but cannot be used (corrupt, wrong version), or the
    ///   network model that `alertScore` needs is missing.
    public static func load(machine: String, dataDirectory: String, alertScore: AlertScore = .deviation) throws -> MachineModel? {
        let path = modelPath(machine: machine, dataDirectory: dataDirectory)
        guard fileExists(path) else { return nil }
        let file = try DetectorFile.read(path: path)
        var network: NetworkModel? = nil
        let networkPath = "\(dataDirectory)/models/\(machine).model"
        if fileExists(networkPath) {
            let model: NetworkModel
            do {
                model = try NetworkModel(contentsOf: networkPath)
            } catch {
                throw MachineModelError(path: networkPath, message: "\(error) (recalibrate the machine, or remove the file to run without the network score)")
            }
            guard model.metadata.sensorNames == file.detector.sensorNames else {
                throw MachineModelError(path: networkPath, message: "its sensors (\(model.metadata.sensorNames.joined(separator: ", "))) are not the detector's (\(file.detector.sensorNames.joined(separator: ", "))): recalibrate the machine")
            }
            network = model
        } else if alertScore != .deviation {
            throw MachineModelError(path: networkPath, message: "alert_score = \"\(alertScore.rawValue)\" needs the machine's int8 network model here, and there is none: recalibrate the machine (edge-agent calibrate), or set alert_score = \"deviation\"")
        }
        return MachineModel(path: path, file: file, network: network, alertScore: alertScore)
    }

    /// Where `calibrate` stores a machine's model.
    public static func modelPath(machine: String, dataDirectory: String) -> String {
        "\(dataDirectory)/models/\(machine).detector.json"
    }

    /// A model from a detector file already read (`path` names it in messages), as `load` makes
    /// it; public so that a benchmark can score a detector it calibrated in memory.
    public init(path: String, file: DetectorFile, network: NetworkModel? = nil, alertScore: AlertScore = .deviation) {
        self.path = path
        self.network = network
        networkThreshold = network.map { Double($0.threshold) }
        calibratedAt = file.calibratedAt
        detector = file.detector
        deviationThreshold = Double(file.detector.alertThreshold)
        // Without a network (only possible for `deviation`: `load` refuses the others) the
        // deviation score alerts whatever was asked.
        self.alertScore = network == nil ? .deviation : alertScore
        switch self.alertScore {
        case .deviation: threshold = deviationThreshold
        case .network: threshold = networkThreshold ?? deviationThreshold
        case .either: threshold = 1
        }
        sensorNames = file.detector.sensorNames
        calibrationDataStart = file.dataFrom.flatMap { Timestamp(iso8601: $0[...]) }
        let baseline = file.detector.baseline
        windowRows = max(baseline.settings.windowRows, file.detector.network?.windowRows ?? 0)
        // Centre ± 3 robust scales, widened by the sensor's configured tolerance (its dead band).
        let halfWidth = baseline.scale.indices.map { s in Double(baseline.scale[s] * (3 + (baseline.deadBand?[s] ?? 0))) }
        normalLow = baseline.median.indices.map { Double(baseline.median[$0]) - halfWidth[$0] }
        normalHigh = baseline.median.indices.map { Double(baseline.median[$0]) + halfWidth[$0] }
    }

    /// A fresh streaming scorer for this model.
    public func makeScorer() -> Scorer {
        Scorer(stream: detector.makeStream(), network: network.map(NetworkScorer.init), alertScore: alertScore,
               deviationThreshold: deviationThreshold, networkThreshold: networkThreshold ?? .nan,
               spikeRows: max(detector.spikes?.windowRows ?? 0, detector.receiver?.windowRows ?? 0))
    }

    /// Scores the machine's last `timeSteps` rows with the int8 network; allocation-free per row.
    ///
    /// - Important: not thread-safe (it owns a scoring workspace).
    struct NetworkScorer {
        let model: NetworkModel
        var window: Window
        var rows = 0
        let workspace: ScoringWorkspace

        init(model: NetworkModel) {
            self.model = model
            let c = model.normalization.sensorCount, w = model.metadata.timeSteps
            window = Window(timeSteps: w, sensorCount: c, values: [Float](repeating: 0, count: w * c))
            workspace = ScoringWorkspace(architecture: model.quantized.architecture)
        }

        /// Adds one row (missing readings replaced by the sensor's median) to the window.
        mutating func push(row: [Float]) {
            window.slide(in: row, fill: model.normalization.centers)
            rows += 1
        }

        /// The int8 score of the window ending at the last row, or NaN until the window is full.
        func scoreWindow() -> Float {
            rows >= window.timeSteps ? model.score(window, workspace: workspace) : .nan
        }

        /// Per-sensor contributions of the last window scored.
        var contributions: [Float] { workspace.contributions }
    }

    /// Scores one machine's rows as they arrive; no allocation per row.
    ///
    /// Every row goes through `score(row:)` (both windows slide); the windows that are judged go
    /// through `judge(deviationScore:)`, which runs the network's forward pass (so with `hop` > 1
    /// only judged windows cost one) and returns the score that alerts.
    ///
    /// - Important: not thread-safe (it owns scratch buffers): one per machine, used from one task.
    public struct Scorer {
        private var stream: DetectorStream
        private var network: NetworkScorer?
        private let alertScore: AlertScore
        private let deviationThreshold: Double
        private let networkThreshold: Double
        /// Whether the network's score drove the last judged window's alerting score.
        private var networkDrove = false
        /// The int8 network's score of the last judged window (NaN without a network model or
        /// before its window is full).
        public private(set) var networkScore: Double = .nan
        /// When each of the last rows scored was read, as many as the spike check holds (ring;
        /// `Int64.min`: not given): a spike is quoted with its row's time (`timeOfRow(rowsAgo:)`).
        private var rowTimes: [Int64]
        private var nextRowTime = 0

        init(stream: DetectorStream, network: NetworkScorer?, alertScore: AlertScore, deviationThreshold: Double, networkThreshold: Double,
             spikeRows: Int) {
            self.stream = stream
            self.network = network
            self.alertScore = alertScore
            self.deviationThreshold = deviationThreshold
            self.networkThreshold = networkThreshold
            rowTimes = [Int64](repeating: .min, count: max(0, spikeRows))
        }

        /// Starts afresh after a stop: empty windows, and the window-deviation score judges the
        /// new run as a recovery from where the stop left the sensors, `stoppedRow` (the last
        /// row read while the machine stood, model order, NaN = missing; nil: not known), against
        /// their levels in this scorer's last window before the stop
        /// (`DetectorStream.restart(afterStop:recoveryRows:)`), an allowance that fades by e
        /// each `recoveryRows` rows while a sensor stops coming back. Allocates once per restart.
        public mutating func restart(afterStop stoppedRow: [Float]?, recoveryRows: Int) {
            stream.restart(afterStop: stoppedRow, recoveryRows: recoveryRows)
            network = network.map { NetworkScorer(model: $0.model) }
            networkDrove = false
            networkScore = .nan
        }

        /// Adds one row (one value per sensor in model order; NaN = missing), read at `time`
        /// (nil: not known; a spike in it is then quoted without one), and returns the
        /// window-deviation score of the window ending at it.
        public mutating func score(row: [Float], at time: Timestamp? = nil) -> Double {
            if !rowTimes.isEmpty {
                rowTimes[nextRowTime] = time?.millisecondsSinceEpoch ?? .min
                nextRowTime = (nextRowTime + 1) % rowTimes.count
            }
            network?.push(row: row)
            return Double(stream.score(row: row))
        }

        /// When the row `rowsAgo` rows before the last one scored was read (0: the last), if
        /// it was given and is still held.
        func timeOfRow(rowsAgo: Int) -> Timestamp? {
            guard rowsAgo >= 0, rowsAgo < rowTimes.count else { return nil }
            let time = rowTimes[(nextRowTime - 1 - rowsAgo + 2 * rowTimes.count) % rowTimes.count]
            return time == .min ? nil : Timestamp(millisecondsSinceEpoch: time)
        }

        /// The score that alerts for the window ending at the last row, given its deviation
        /// score (from `score(row:)`): the deviation score, the network's, or the larger of the
        /// two over their thresholds, as `alert_score` says. Updates `networkScore`.
        public mutating func judge(deviationScore: Double) -> Double {
            networkScore = network.map { Double($0.scoreWindow()) } ?? .nan
            switch alertScore {
            case .deviation:
                networkDrove = false
                return deviationScore
            case .network:
                networkDrove = true
                return networkScore
            case .either:
                let a = deviationScore / deviationThreshold, b = networkScore / networkThreshold
                networkDrove = !b.isNaN && (a.isNaN || b > a)
                return networkDrove ? b : a
            }
        }

        /// Whether the int8 network's score, not the window-deviation score, was the last judged
        /// window's alerting score (`alert_score = network`, or `either` with the network further
        /// past its threshold): its contributions are then the network's.
        public var networkDroveLastScore: Bool { networkDrove }

        /// How the temperature in `column` rose per minute, and the fastest rise normal at the
        /// speeds the machine ran, when the rise check (not the level, nor the network) gave its
        /// contribution to the last judged score; nil otherwise. `secondsPerRow`: the poll
        /// interval, which turns the check's horizon in rows into minutes.
        public func temperatureRise(column: Int, secondsPerRow: Double) -> (perMinute: Double, normalPerMinute: Double)? {
            guard !networkDrove, let rise = stream.temperatureRise(column: column), rise.horizonRows > 0, secondsPerRow > 0 else { return nil }
            let minutes = Double(rise.horizonRows) * secondsPerRow / 60
            return (Double(rise.change) / minutes, Double(rise.normalChange) / minutes)
        }

        /// What the window score expected of the sensor in `column` at the last judged window
        /// (`DetectorStream.expectation(column:)`); for `MachineModel.quote`.
        func expectation(column: Int) -> WindowExpectation? { stream.expectation(column: column) }

        /// The row the spike check judged the sensor in `column` by, when that check drove its
        /// contribution to the last judged window (`DetectorStream.rowSpike(column:)`); for
        /// `MachineModel.quote`.
        func rowSpike(column: Int) -> RowSpike? { networkDrove ? nil : stream.rowSpike(column: column) }

        /// How still the receiver in `column` was, when its stillness drove its contribution to the
        /// last judged window (`DetectorStream.stillReadings(column:)`); for `MachineModel.quote`.
        func stillReadings(column: Int) -> StillReadings? { networkDrove ? nil : stream.stillReadings(column: column) }

        /// Where the last row scored put the machine (its speed and the speed's moving averages,
        /// as the load compensation judged it), for `MachineModel.normalRange(column:row:at:)`.
        public var operatingPoint: OperatingPoint { OperatingPoint(load: stream.loadOperatingPoint) }

        /// Each sensor's share of the last judged score, from whichever score drove it (in that
        /// score's units; over its threshold with `either`).
        public var contributions: [Float] {
            if networkDrove, let network {
                let shares = network.contributions
                return alertScore == .either ? shares.map { $0 / Float(networkThreshold) } : shares
            }
            return alertScore == .either ? stream.contributions.map { $0 / Float(deviationThreshold) } : stream.contributions
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whether a file exists (no Foundation).
func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// The file's modification time in nanoseconds, or nil when it does not exist.
func modificationTime(_ path: String) -> Int64? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
}
