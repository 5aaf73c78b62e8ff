import Configuration
import EdgeCore
import Store

/// A machine's scorer after a warm-up on buffered rows (`StreamWarmUp`), to be continued by the
/// scoring stage (`ScoringEngine.continueStream(machine:from:)`).
///
/// `@unchecked Sendable`: it is made on a thread of its own (off the cooperative pool) and handed
/// once to the scoring task; nothing else holds the state it carries (the warm-up's engine is
/// dropped when the warm-up ends), so no two threads ever touch it.
public struct WarmedStream: @unchecked Sendable {
    /// The machine state of the warm-up's own engine, whose stream is continued.
    let state: ScoringEngine.MachineState
    /// Rows the stream took (after the last gap that restarted it).
    public let rows: Int
    /// The first and last of those rows.
    public let first: Timestamp
    public let last: Timestamp
}

/// Warms a machine's new stream on the rows its buffer already holds, so that a model that
/// loads (agent start, reload, `calibrate` writing a new one) judges the next live row as if its
/// stream had been running: the load compensation's moving averages, the temperature rise
/// check's blocks, the windows and the run signal's state carry on from the recent past instead
/// of starting at the first live row, as `replay`'s stream runs on from the calibration rows.
///
/// The rows go through a `ScoringEngine` of their own (the same code as live rows: run signal,
/// stop grace, sensor ranges and usable fraction, operating states calibration never saw), in
/// warming mode: they fill the stream and nothing is judged, so a warm-up raises no alert, gives
/// no score and stores nothing. Which rows (`stretch(model:pollInterval:until:)`):
/// - at most the last `longestStretch` (30 min) before `until`, fewer when the model's stream
///   keeps less (`MachineModel.streamMemoryRows` poll intervals: windows only, for a machine
///   without load compensation);
/// - none before the first row calibration's stream scored (`MachineModel.calibrationDataStart`),
///   so a model that loads right after `calibrate` continues calibration's own stream, as
///   `replay` does;
/// - none before a gap of more than `longestGap` (no row of the machine: the agent was not
///   polling it): the stream restarts after it; a gap that long before `until` (the last row
///   too old) leaves the stream cold, as without a warm-up;
/// - none when the last rows are in an operating state calibration never saw, or settling back
///   from one (the live gate then starts from calibrated states and judges the next rows itself).
public struct StreamWarmUp {
    /// The longest stretch of buffered rows a stream is warmed with.
    public static let longestStretch: Duration = .seconds(30 * 60)
    /// The longest gap between two rows that the warm-up bridges. A restart of the agent or of
    /// its gateway lasts seconds to a minute or two; a moving average of the shortest shipped
    /// load lag (300 s) bridged over 2 minutes is off by 1 − e^(−0.4) = 33 % of the speed's
    /// change, no worse than a cold start's, which puts the average at the current speed, for a
    /// gap up to ln 2 · 300 s = 208 s.
    public static let longestGap: Duration = .seconds(120)

    private let configuration: MachineConfiguration
    private let model: MachineModel
    private let dataPolicy: DataQualityPolicy
    private var engine: ScoringEngine
    private var readings: [Reading]
    private let from: Timestamp
    private let gapMilliseconds: Int64
    private var first: Timestamp?
    private var last: Timestamp?
    private var count = 0

    /// The stretch of `configuration`'s rows that warms `model`'s stream when it takes over at
    /// `until` (the first live row's time at the latest; rows from `until` on are live).
    public static func stretch(model: MachineModel, pollInterval: Duration, until: Timestamp) -> (from: Timestamp, until: Timestamp) {
        let interval = max(1, pollInterval.wholeMilliseconds)
        let memory = model.streamMemoryRows
        let longest = longestStretch.wholeMilliseconds
        let span = memory >= Int(longest / interval) ? longest : Int64(memory) * interval
        var from = until.millisecondsSinceEpoch - span
        if let start = model.calibrationDataStart?.millisecondsSinceEpoch, start > from { from = start }
        return (Timestamp(millisecondsSinceEpoch: min(from, until.millisecondsSinceEpoch)), until)
    }

    /// Starts a warm-up of `model`'s stream for the machine `configuration`, taking rows from
    /// `from` on (see `stretch`).
    public init(machine configuration: MachineConfiguration, model: MachineModel, from: Timestamp,
                dataPolicy: DataQualityPolicy = DataQualityPolicy()) {
        self.configuration = configuration
        self.model = model
        self.dataPolicy = dataPolicy
        self.from = from
        engine = StreamWarmUp.makeEngine(configuration, model, dataPolicy)
        readings = []
        readings.reserveCapacity(configuration.sensors.count)
        gapMilliseconds = max(StreamWarmUp.longestGap.wholeMilliseconds,
                              Int64(RunState.heldPolls) * max(1, configuration.pollInterval.wholeMilliseconds))
    }

    private static func makeEngine(_ configuration: MachineConfiguration, _ model: MachineModel,
                                   _ dataPolicy: DataQualityPolicy) -> ScoringEngine {
        var engine = ScoringEngine(machines: [configuration], models: [model], dataPolicy: dataPolicy)
        engine.warming = true
        return engine
    }

    /// Takes one buffered row, in time order: `values` and `qualities` in configuration order,
    /// as `BufferDatabase.forEachRowWithQualities` gives them (nil: no reading of that sensor).
    public mutating func take(time: Timestamp, values: UnsafeBufferPointer<Double>, qualities: UnsafeBufferPointer<Quality?>) {
        guard time >= from else { return }
        if let last, time.millisecondsSinceEpoch - last.millisecondsSinceEpoch > gapMilliseconds {
            // The agent was not polling the machine: its stream restarted after the gap.
            engine = StreamWarmUp.makeEngine(configuration, model, dataPolicy)
            first = nil
            count = 0
        }
        readings.removeAll(keepingCapacity: true)
        for (i, quality) in qualities.enumerated() where i < configuration.sensors.count {
            guard let quality else { continue }
            readings.append(Reading(machine: 0, sensor: Int32(i), time: time, value: values[i], quality: quality))
        }
        guard !readings.isEmpty else { return }
        // Events (data-quality episodes of the past) are dropped: the live monitors judge anew.
        _ = engine.process(readings)
        if first == nil { first = time }
        last = time
        count += 1
    }

    /// The warmed stream, to continue with rows from `until` on; nil when there is nothing to
    /// continue (no row, the last row more than `longestGap` before `until`, or the machine in
    /// or settling back from an operating state calibration never saw).
    public func finish(until: Timestamp) -> WarmedStream? {
        guard count > 0, let first, let last,
              until.millisecondsSinceEpoch - last.millisecondsSinceEpoch <= gapMilliseconds else { return nil }
        let state = engine.machines[0]
        guard !state.uncalibratedState.isInUncalibratedState, state.scorer != nil else { return nil }
        return WarmedStream(state: state, rows: count, first: first, last: last)
    }
}

extension StreamWarmUp {
    /// Warms the streams of `models` (one per machine of `configuration`, nil: none) on the
    /// buffer's rows before `until`, reading the buffer once for all of them.
    /// - Parameter until: per machine, when its model takes over (nil: not warmed).
    /// - Returns: per machine, the warmed stream, or nil (no model, nothing usable in the buffer).
    /// - Throws: what the buffer's read throws.
    static func warm(database: BufferDatabase, mapping: SensorMapping, configuration: AgentConfiguration,
                     models: [MachineModel?], until: [Timestamp?], dataPolicy: DataQualityPolicy) throws -> [WarmedStream?] {
        var warmUps: [(machine: Int, index: Int32, until: Timestamp, warmUp: StreamWarmUp)] = []
        for (i, machine) in configuration.machines.enumerated() {
            guard i < models.count, i < until.count, let model = models[i], let end = until[i],
                  let index = mapping.machineIndex(named: machine.id) else { continue }
            let stretch = stretch(model: model, pollInterval: machine.pollInterval, until: end)
            warmUps.append((i, index, end, StreamWarmUp(machine: machine, model: model, from: stretch.from, dataPolicy: dataPolicy)))
        }
        var streams = [WarmedStream?](repeating: nil, count: configuration.machines.count)
        guard !warmUps.isEmpty else { return streams }
        let from = warmUps.map { $0.warmUp.from }.min()!
        let end = warmUps.map(\.until).max()!
        try database.forEachRowWithQualities(machines: warmUps.map(\.index), mapping: mapping, from: from, until: end) { k, time, values, qualities in
            guard time < warmUps[k].until else { return }
            warmUps[k].warmUp.take(time: time, values: values, qualities: qualities)
        }
        for w in warmUps { streams[w.machine] = w.warmUp.finish(until: w.until) }
        return streams
    }
}
