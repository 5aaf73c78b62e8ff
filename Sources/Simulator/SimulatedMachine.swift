#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// Which channels a simulated machine reports.
public enum ChannelSelection: Sendable, Hashable {
    /// The kind's standard channels (the ones the Modbus register map serves).
    case standard
    /// Every channel the kind has, optional ones included.
    case all
    /// These channels, in the kind's order; names the kind lacks are ignored.
    case named([String])
    /// A random subset per machine of at least `minimum` channels, drawn from all of the kind's
    /// channels: for meta-training on machines with varied sensor counts.
    case random(minimum: Int)
}

/// How machines are built and stepped.
public struct MachineOptions: Sendable, Hashable {
    /// Simulated time between two samples.
    public var stepMilliseconds: Int64 = 1000
    /// Timestamp of the first sample (default 2026-01-01T00:00:00Z).
    public var startTime = Timestamp(millisecondsSinceEpoch: 1_767_225_600_000)
    /// Which channels machines report.
    public var channels: ChannelSelection = .standard
    /// Whether the plant changes setpoints and stops/restarts machines on its own (normal operation).
    public var automaticOperation = true
    /// Mean simulated time between two automatic operating-point changes.
    public var meanSecondsBetweenChanges = 1200.0

    /// The defaults: 1 s steps from 2026-01-01, standard channels, automatic operation every ~20 min.
    public init() {}
}

/// What one sample is known to contain: whether it is faulty, which faults act and which channels show them.
public struct SampleLabel: Sendable, Hashable {
    /// Whether any fault acts on this sample.
    public var anomaly: Bool
    /// Bit `i` set when `faults[i]` of the machine acts on this sample.
    public var faults: UInt64
    /// Bit `j` set when channel `j` (of the machine's `channels`) shows a fault.
    public var channels: UInt64

    /// A label with no fault.
    public static let normal = SampleLabel(anomaly: false, faults: 0, channels: 0)
}

/// One sample of a simulated machine: the measured values of its channels, and its label.
public struct Sample: Sendable {
    /// When it was measured (simulated time).
    public var time: Timestamp
    /// One value per channel, in the machine's `channels` order; NaN when the sensor dropped out.
    public var values: [Double]
    /// Whether it is faulty, and which faults and channels.
    public var label: SampleLabel
}

/// One simulated machine: a pump, motor or compressor with its own ratings, surroundings,
/// normal operation, sensor noise and faults. Pure computation, deterministic for a seed.
///
/// Step it (`step()`), or generate a labelled series at once (`generate(steps:)`).
public struct SimulatedMachine: Sendable {
    /// Unique name, e.g. `pump-1`.
    public let id: String
    /// What kind of machine it is.
    public let kind: MachineKind
    /// The channels it reports, in order.
    public let channels: [SensorChannel]
    /// How it was built.
    public let options: MachineOptions
    /// Its faults, scheduled or injected, in the order they were added (label bit `i` is `faults[i]`).
    public private(set) var faults: [Fault] = []
    /// Samples produced so far.
    public private(set) var stepIndex: Int64 = 0

    private var model: Model
    private let selected: [Int]
    private var schedule: OperatingSchedule
    private var environment: Environment
    private var processRandom: SplitMix64
    private var noiseRandom: SplitMix64
    private var faultRandom: SplitMix64
    private var planRandom: SplitMix64
    private var truth: [Double]
    private var measured: [Double]
    private var previous: [Double]
    private var faultStates: [FaultState] = []

    /// Per-fault bookkeeping: the affected channel and label mask, stuck value, spike phase.
    private struct FaultState: Sendable {
        var channelIndex: Int?
        var channelMask: UInt64
        var stuckValue: Double?
        var spikePhase: Double
    }

    /// The physics of one of the kinds, without an existential.
    private enum Model: Sendable {
        case pump(PumpModel)
        case motor(MotorModel)
        case compressor(CompressorModel)

        init(kind: MachineKind, random: inout SplitMix64) {
            switch kind {
            case .pump: self = .pump(PumpModel(random: &random))
            case .motor: self = .motor(MotorModel(random: &random))
            case .compressor: self = .compressor(CompressorModel(random: &random))
            }
        }

        var base: any MachineModel {
            switch self {
            case .pump(let m): return m
            case .motor(let m): return m
            case .compressor(let m): return m
            }
        }

        mutating func advance(
            seconds dt: Double, conditions: OperatingConditions, effects: ProcessEffects,
            random: inout SplitMix64, truth: inout [Double]
        ) {
            switch self {
            case .pump(var m):
                m.advance(seconds: dt, conditions: conditions, effects: effects, random: &random, truth: &truth)
                self = .pump(m)
            case .motor(var m):
                m.advance(seconds: dt, conditions: conditions, effects: effects, random: &random, truth: &truth)
                self = .motor(m)
            case .compressor(var m):
                m.advance(seconds: dt, conditions: conditions, effects: effects, random: &random, truth: &truth)
                self = .compressor(m)
            }
        }

        static func signature(kind: MachineKind, fault: FaultKind) -> [String] {
            switch kind {
            case .pump: return PumpModel.signature(of: fault)
            case .motor: return MotorModel.signature(of: fault)
            case .compressor: return CompressorModel.signature(of: fault)
            }
        }
    }

    private let absoluteNoise: [Double]
    private let relativeNoise: [Double]
    private let typicalMagnitude: [Double]
    /// One line on the machine's ratings, for people.
    public let ratingSummary: String

    /// A typical magnitude of channel `name` (what drift and spikes are sized by; for the supply
    /// voltage 5 % of the nominal voltage), or nil when the kind has no such channel.
    public func typicalMagnitude(ofChannel name: String) -> Double? {
        kind.allChannels.firstIndex(where: { $0.name == name }).map { typicalMagnitude[$0] }
    }

    /// Builds a machine whose ratings, surroundings, operation and noise are fixed by `seed`.
    /// - Parameters:
    ///   - kind: pump, motor or compressor.
    ///   - id: its name in files, registers and commands.
    ///   - seed: everything random about it derives from this.
    ///   - options: time step, start time, channels, automatic operation.
    public init(kind: MachineKind, id: String, seed: UInt64, options: MachineOptions = MachineOptions()) {
        self.kind = kind
        self.id = id
        self.options = options
        var root = SplitMix64(seed: seed)
        var ratingRandom = root.split()
        processRandom = root.split()
        noiseRandom = root.split()
        faultRandom = root.split()
        planRandom = root.split()
        var selectionRandom = root.split()

        model = Model(kind: kind, random: &ratingRandom)
        let base = model.base
        absoluteNoise = base.absoluteNoise
        relativeNoise = base.relativeNoise
        typicalMagnitude = base.typicalMagnitude
        ratingSummary = base.ratingSummary
        schedule = OperatingSchedule(
            loadRange: base.loadRange, meanSecondsBetweenChanges: options.meanSecondsBetweenChanges,
            random: &ratingRandom
        )
        environment = Environment(random: &ratingRandom)

        let all = kind.allChannels
        var chosen: [Int]
        switch options.channels {
        case .standard:
            chosen = all.indices.filter { all[$0].isStandard }
        case .all:
            chosen = Array(all.indices)
        case .named(let names):
            chosen = all.indices.filter { names.contains(all[$0].name) }
        case .random(let minimum):
            let count = min(all.count, max(1, minimum) + selectionRandom.index(below: max(1, all.count - minimum + 1)))
            var pool = Array(all.indices)
            // Partial Fisher–Yates with our own generator, then back to the kind's order.
            for i in 0..<count {
                let j = i + selectionRandom.index(below: pool.count - i)
                pool.swapAt(i, j)
            }
            chosen = pool.prefix(count).sorted()
        }
        selected = chosen
        channels = chosen.map { all[$0] }
        truth = Array(repeating: 0, count: all.count)
        measured = truth
        previous = truth

        // Warm up for three simulated hours at the first operating point, so that series
        // start in thermal steady state rather than with a cold machine.
        var conditions = environment.advance(
            seconds: 0, at: options.startTime, running: schedule.running, load: schedule.load, random: &processRandom
        )
        conditions.running = true
        var unused = SplitMix64(seed: 0)
        for _ in 0..<10_800 {
            model.advance(seconds: 1, conditions: conditions, effects: ProcessEffects(), random: &unused, truth: &truth)
        }
    }

    /// Simulated time step in seconds.
    public var stepSeconds: Double { Double(options.stepMilliseconds) / 1000 }

    /// Simulated seconds since the first sample, for the next sample.
    public var elapsedSeconds: Double { Double(stepIndex) * stepSeconds }

    /// Timestamp of the next sample.
    public var time: Timestamp {
        Timestamp(millisecondsSinceEpoch: options.startTime.millisecondsSinceEpoch + stepIndex * options.stepMilliseconds)
    }

    /// Whether the plant has the machine switched on, and its operating point (0 … 1).
    public var operatingPoint: (running: Bool, load: Double) { (schedule.running, schedule.load) }

    /// The range of operating points the plant uses for this machine.
    public var loadRange: ClosedRange<Double> { schedule.loadRange }

    /// Sets the operating point now (a normal change: setpoint step, stop or start).
    ///
    /// With automatic operation on, the plant's next scheduled change overrides it.
    public mutating func setOperatingPoint(running: Bool, load: Double) {
        schedule.running = running
        schedule.load = min(max(load, 0), 1)
    }

    /// Brings the machine to thermal steady state at its current operating point, as a new machine
    /// starts at its first one: three simulated hours of its physics, fault-free, at the present
    /// surroundings. Time does not advance and no random stream moves (ambient, grid, noise and
    /// faults go on exactly as without it); only the machine's state (temperatures, speed) changes.
    ///
    /// `setOperatingPoint` alone is a setpoint change: a pump moved from the load it warmed up at
    /// to another one cools or heats toward the new level over its thermal time constants (tens of
    /// minutes). Call this after it when a run should start *at* the new operating point.
    public mutating func settle() {
        // Conditions from copies, so the environment's and the process's streams stay untouched
        // (with no time elapsed the slow random walks would not move anyway).
        var environmentCopy = environment
        var randomCopy = processRandom
        var conditions = environmentCopy.advance(
            seconds: 0, at: time, running: schedule.running, load: schedule.load, random: &randomCopy
        )
        conditions.running = schedule.running
        var unused = SplitMix64(seed: 0)
        var scratch = truth
        for _ in 0..<10_800 {
            model.advance(seconds: 1, conditions: conditions, effects: ProcessEffects(), random: &unused, truth: &scratch)
        }
    }

    /// The index of a channel in `channels`, if the machine reports it.
    public func channelIndex(named name: String) -> Int? {
        channels.firstIndex { $0.name == name }
    }

    /// Adds a fault to the schedule.
    /// - Throws: `FaultError` when the fault does not apply to this kind of machine, names a
    ///   channel the machine does not report, or the machine already has 64 faults.
    public mutating func add(_ fault: Fault) throws(FaultError) {
        guard faults.count < 64 else {
            throw FaultError("\(id): at most 64 faults per machine; build a new machine for more")
        }
        var fault = fault
        let all = kind.allChannels
        var state = FaultState(channelIndex: nil, channelMask: 0, stuckValue: nil, spikePhase: 0)
        if fault.kind.isSensorFault {
            let index: Int
            if let name = fault.channel {
                guard let i = selected.firstIndex(where: { all[$0].name == name }) else {
                    throw FaultError("\(id) has no sensor \"\(name)\" (it has: \(channels.map(\.name).joined(separator: ", ")))")
                }
                index = i
            } else {
                // A random analogue channel (status bits do not drift or spike).
                let candidates = selected.indices.filter { all[selected[$0]].maximum != 1 || all[selected[$0]].decimals != 0 }
                guard !candidates.isEmpty else { throw FaultError("\(id) has no analogue sensor to fault") }
                index = candidates[planRandom.index(below: candidates.count)]
                fault.channel = channels[index].name
            }
            state.channelIndex = selected[index]
            state.channelMask = 1 << UInt64(index)
        } else {
            guard kind.applicableFaults.contains(fault.kind) else {
                throw FaultError(
                    "\(fault.kind.rawValue) does not apply to a \(kind.rawValue) (try one of: "
                        + kind.applicableFaults.map(\.rawValue).joined(separator: ", ") + ", or a sensor fault)"
                )
            }
            let names = Model.signature(kind: kind, fault: fault.kind)
            for (position, channel) in channels.enumerated() where names.contains(channel.name) {
                state.channelMask |= 1 << UInt64(position)
            }
        }
        if fault.profile == .spike { state.spikePhase = planRandom.uniform(0...30) }
        faults.append(fault)
        faultStates.append(state)
    }

    /// Adds a fault starting with the next sample.
    /// - Parameters:
    ///   - kind: what goes wrong.
    ///   - severity: 0 … 1.
    ///   - durationSeconds: how long; nil until cleared.
    ///   - profile: nil takes the kind's default.
    ///   - rampSeconds: time to full severity for ramps (nil: the whole duration, or 10 minutes when open-ended).
    ///   - channel: for sensor faults, the affected channel (nil = random).
    /// - Throws: `FaultError` as `add(_:)`.
    public mutating func inject(
        _ kind: FaultKind, severity: Double = 1, durationSeconds: Double? = nil, profile: FaultProfile? = nil,
        rampSeconds: Double? = nil, channel: String? = nil
    ) throws(FaultError) {
        let ramp = rampSeconds ?? (durationSeconds == nil ? 600 : nil)
        try add(Fault(
            kind, startSeconds: elapsedSeconds, durationSeconds: durationSeconds, severity: severity,
            profile: profile, rampSeconds: ramp, channel: channel
        ))
    }

    /// Ends every fault that is active or scheduled, from the next sample on.
    public mutating func clearFaults() {
        let now = elapsedSeconds
        for i in faults.indices where faults[i].endSeconds > now {
            faults[i].durationSeconds = max(0, now - faults[i].startSeconds)
        }
    }

    /// Produces the next sample into `values` (resized to `channels.count`) and returns its label.
    ///
    /// Allocates nothing once `values` has the right size.
    public mutating func step(into values: inout [Double]) -> SampleLabel {
        let dt = stepSeconds
        let t = elapsedSeconds
        let now = time
        if options.automaticOperation { schedule.update(at: t, random: &processRandom) }
        let conditions = environment.advance(
            seconds: dt, at: now, running: schedule.running, load: schedule.load, random: &processRandom
        )

        var label = SampleLabel.normal
        var effects = ProcessEffects()
        for i in faults.indices {
            let severity = faults[i].severity(at: t, spikePhase: faultStates[i].spikePhase)
            guard severity > 0 else { continue }
            label.anomaly = true
            label.faults |= 1 << UInt64(i)
            label.channels |= faultStates[i].channelMask
            effects.add(faults[i].kind, severity)
        }

        model.advance(seconds: dt, conditions: conditions, effects: effects, random: &faultRandom, truth: &truth)

        // Sensor noise: one draw per channel per step, whatever the faults, so that faulty and
        // fault-free runs of one seed share their noise.
        let all = kind.allChannels
        for c in truth.indices {
            let sigma = absoluteNoise[c] + relativeNoise[c] * abs(truth[c])
            let noisy = truth[c] + sigma * noiseRandom.gaussian()
            measured[c] = min(max(noisy, all[c].minimum), all[c].maximum)
        }

        if label.anomaly { applySensorFaults(at: t, dt: dt) }
        for c in measured.indices { previous[c] = measured[c] }

        if values.count != selected.count { values = Array(repeating: 0, count: selected.count) }
        for (position, c) in selected.enumerated() { values[position] = measured[c] }
        stepIndex += 1
        return label
    }

    /// Produces the next sample.
    public mutating func step() -> Sample {
        let time = self.time
        var values: [Double] = []
        let label = step(into: &values)
        return Sample(time: time, values: values, label: label)
    }

    private mutating func applySensorFaults(at t: Double, dt: Double) {
        for i in faults.indices where faults[i].kind.isSensorFault {
            let fault = faults[i]
            let severity = fault.severity(at: t, spikePhase: faultStates[i].spikePhase)
            guard severity > 0, let c = faultStates[i].channelIndex else { continue }
            switch fault.kind {
            case .sensorStuck:
                if faultStates[i].stuckValue == nil { faultStates[i].stuckValue = previous[c] }
                measured[c] = faultStates[i].stuckValue ?? measured[c]
            case .sensorDrift:
                let hours = (t - fault.startSeconds) / 3600
                measured[c] += severity * 0.3 * typicalMagnitude[c] * hours
            case .sensorSpike:
                if faultRandom.chance(min(1, 0.05 * dt)) {
                    let sign: Double = faultRandom.chance(0.5) ? 1 : -1
                    measured[c] += sign * severity * typicalMagnitude[c] * (1 + faultRandom.uniform())
                }
            case .sensorDropout:
                if faultRandom.chance(severity) { measured[c] = .nan }
            default:
                break
            }
        }
    }

    /// Adds `count` random faults of kinds that suit this machine, in disjoint slots of the
    /// window `earliestStartSeconds ..< horizonSeconds` (so the run starts fault-free, for calibration).
    ///
    /// Deterministic for the machine's seed; about one fault in four is a sensor fault.
    public mutating func addRandomFaults(count: Int, earliestStartSeconds: Double, horizonSeconds: Double) {
        guard count > 0, horizonSeconds > earliestStartSeconds else { return }
        let slot = (horizonSeconds - earliestStartSeconds) / Double(count)
        let sensorKinds: [FaultKind] = [.sensorStuck, .sensorDrift, .sensorSpike, .sensorDropout]
        for n in 0..<count {
            let slotStart = earliestStartSeconds + Double(n) * slot
            let duration = max(min(600, slot * 0.8), slot * planRandom.uniform(0.2...0.5)).rounded()
            let start = (slotStart + planRandom.uniform(0...max(0, slot - duration))).rounded()
            let kind: FaultKind = planRandom.chance(0.25)
                ? sensorKinds[planRandom.index(below: sensorKinds.count)]
                : kind.applicableFaults[planRandom.index(below: kind.applicableFaults.count)]
            var profile = kind.defaultProfile
            if kind == .imbalance { profile = [.step, .ramp, .spike][planRandom.index(below: 3)] }
            let severity = ((kind == .sensorDropout ? planRandom.uniform(0.3...1) : planRandom.uniform(0.5...1)) * 100).rounded() / 100
            let fault = Fault(kind, startSeconds: start, durationSeconds: duration, severity: severity, profile: profile)
            do {
                try add(fault)
            } catch {
                // Only possible past 64 faults or without analogue channels: skip this one.
            }
        }
    }

    /// Generates the next `steps` samples as a labelled series.
    public mutating func generate(steps: Int) -> LabelledSeries {
        var series = LabelledSeries(machine: self, startTime: time, capacity: steps)
        var values = Array(repeating: 0.0, count: channels.count)
        for _ in 0..<max(steps, 0) {
            let label = step(into: &values)
            series.append(values, label: label)
        }
        series.faults = faults
        return series
    }

    /// Generates the next `hours` of simulated time as a labelled series.
    public mutating func generate(hours: Double) -> LabelledSeries {
        generate(steps: Int((hours * 3_600_000 / Double(options.stepMilliseconds)).rounded()))
    }
}
