/// What goes wrong. Process faults change the physics; sensor faults change one measured channel.
public enum FaultKind: String, Sendable, CaseIterable, Hashable {
    /// Bearing wear: vibration and bearing temperature creep up, friction adds load.
    case bearingWear = "bearing-wear"
    /// Pump cavitation: inlet pressure drops, pressure and flow turn noisy, head falls, vibration rises.
    case cavitation
    /// A valve on the inlet (pump suction, compressor intake) closes: flow falls, inlet pressure drops.
    case inletValveClosing = "inlet-valve-closing"
    /// A valve on the outlet (pump discharge, compressor minimum-pressure valve) closes:
    /// flow falls, outlet pressure rises.
    case outletValveClosing = "outlet-valve-closing"
    /// Rotor imbalance: vibration at running speed grows with the square of speed.
    case imbalance
    /// Cooling fails (blocked fan, fouled oil cooler): winding, bearing and oil temperatures rise.
    case overheating
    /// A leak downstream (pipe or compressed-air leak): pump flow up and pressure down;
    /// compressor loaded longer and pressure falling faster.
    case leak
    /// A sensor freezes at the value it had when the fault began.
    case sensorStuck = "sensor-stuck"
    /// A sensor's reading drifts away from the truth, growing linearly with time.
    case sensorDrift = "sensor-drift"
    /// A sensor produces occasional large spikes.
    case sensorSpike = "sensor-spike"
    /// A sensor's readings go missing (NaN); severity is the fraction missing, 1 = dead sensor.
    case sensorDropout = "sensor-dropout"

    /// Whether this fault affects one measured channel rather than the machine.
    public var isSensorFault: Bool {
        switch self {
        case .sensorStuck, .sensorDrift, .sensorSpike, .sensorDropout: return true
        default: return false
        }
    }

    /// The profile a fault of this kind follows when none is given: wear and drift creep, the rest step.
    public var defaultProfile: FaultProfile {
        switch self {
        case .bearingWear, .sensorDrift: return .ramp
        case .inletValveClosing, .outletValveClosing, .overheating: return .ramp
        default: return .step
        }
    }
}

/// How a fault's severity evolves over its duration.
public enum FaultProfile: String, Sendable, CaseIterable, Hashable {
    /// Full severity from the start.
    case step
    /// Severity rises linearly from 0 to full over the ramp time (the whole duration when none is given).
    case ramp
    /// Intermittent bursts of full severity, a few seconds each, about every half minute.
    case spike
}

/// One fault in a machine's schedule.
public struct Fault: Sendable, Hashable {
    /// What goes wrong.
    public var kind: FaultKind
    /// When it starts, in seconds since the simulation started.
    public var startSeconds: Double
    /// How long it lasts, in seconds; nil lasts until the end of the run.
    public var durationSeconds: Double?
    /// Full severity, 0 … 1.
    public var severity: Double
    /// How the severity evolves.
    public var profile: FaultProfile
    /// For `.ramp`: seconds to reach full severity (nil = the whole duration, or one hour when open-ended).
    public var rampSeconds: Double?
    /// For sensor faults: the channel it affects (nil = chosen at random when the fault is added).
    public var channel: String?

    /// Creates a fault.
    /// - Parameters:
    ///   - kind: what goes wrong.
    ///   - startSeconds: seconds after the simulation started.
    ///   - durationSeconds: how long it lasts; nil until the end.
    ///   - severity: 0 … 1 (clamped).
    ///   - profile: step, ramp or spike; nil takes the kind's default.
    ///   - rampSeconds: time to full severity for ramps.
    ///   - channel: the affected channel of a sensor fault.
    public init(
        _ kind: FaultKind, startSeconds: Double, durationSeconds: Double? = nil, severity: Double = 1,
        profile: FaultProfile? = nil, rampSeconds: Double? = nil, channel: String? = nil
    ) {
        self.kind = kind
        self.startSeconds = startSeconds
        self.durationSeconds = durationSeconds
        self.severity = min(max(severity, 0), 1)
        self.profile = profile ?? kind.defaultProfile
        self.rampSeconds = rampSeconds
        self.channel = channel
    }

    /// When it ends, in seconds since the simulation started (infinity when open-ended).
    public var endSeconds: Double {
        durationSeconds.map { startSeconds + $0 } ?? .infinity
    }

    /// The severity at `seconds` since the simulation started (0 outside the fault's window).
    ///
    /// `spikePhase` is a per-fault random offset so that two spiking faults do not pulse together.
    public func severity(at seconds: Double, spikePhase: Double = 0) -> Double {
        guard seconds >= startSeconds, seconds < endSeconds else { return 0 }
        let age = seconds - startSeconds
        switch profile {
        case .step:
            return severity
        case .ramp:
            let ramp = rampSeconds ?? durationSeconds ?? 3600
            return ramp <= 0 ? severity : severity * min(1, age / ramp)
        case .spike:
            // Bursts of 4 s every 30 s, the first one at the start.
            let period = 30.0
            let phase = (age + spikePhase).truncatingRemainder(dividingBy: period)
            return phase < 4 ? severity : 0
        }
    }
}

/// A fault that cannot be added to a machine, and why.
public struct FaultError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What is wrong and what to do instead.
    public var message: String

    /// Creates an error with a message for people.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// How strongly each process fault acts on the physics at one instant (each 0 … 1).
struct ProcessEffects: Sendable {
    var bearingWear = 0.0
    var cavitation = 0.0
    var inletRestriction = 0.0
    var outletRestriction = 0.0
    var imbalance = 0.0
    var overheating = 0.0
    var leak = 0.0

    /// Adds `amount` of a process fault (sensor faults are ignored here).
    mutating func add(_ kind: FaultKind, _ amount: Double) {
        switch kind {
        case .bearingWear: bearingWear = min(1, bearingWear + amount)
        case .cavitation: cavitation = min(1, cavitation + amount)
        case .inletValveClosing: inletRestriction = min(1, inletRestriction + amount)
        case .outletValveClosing: outletRestriction = min(1, outletRestriction + amount)
        case .imbalance: imbalance = min(1, imbalance + amount)
        case .overheating: overheating = min(1, overheating + amount)
        case .leak: leak = min(1, leak + amount)
        case .sensorStuck, .sensorDrift, .sensorSpike, .sensorDropout: break
        }
    }
}
