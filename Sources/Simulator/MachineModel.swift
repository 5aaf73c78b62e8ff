import EdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the plant asks of a machine and the surroundings it works in, at one instant.
struct OperatingConditions: Sendable {
    /// Whether the machine is switched on.
    var running: Bool
    /// The operating point, 0 … 1: speed setpoint (pump, fan) or air demand (compressor).
    var load: Double
    /// Air temperature around the machine.
    var ambientCelsius: Double
    /// Grid voltage relative to nominal (about 1).
    var gridVoltageFactor: Double
    /// Atmospheric pressure, bar absolute.
    var atmosphericBar: Double
}

/// The physics of one kind of machine: ratings drawn at random, state advanced in time.
///
/// `truth` holds the true value of every channel in `channels` order; noise and sensor
/// faults are added by `SimulatedMachine`, not here.
protocol MachineModel: Sendable {
    /// Every channel this kind can have, in a fixed order (the order of `truth`).
    static var channels: [SensorChannel] { get }
    /// Channels that a process fault visibly changes, by name.
    static func signature(of fault: FaultKind) -> [String]
    /// The lowest and highest operating point the plant uses in normal operation.
    var loadRange: ClosedRange<Double> { get }
    /// Absolute sensor noise per channel (standard deviation, engineering units).
    var absoluteNoise: [Double] { get }
    /// Relative sensor noise per channel (fraction of the value).
    var relativeNoise: [Double] { get }
    /// A typical magnitude per channel, used to size sensor drift and spikes.
    var typicalMagnitude: [Double] { get }
    /// One line on the machine's ratings, for people.
    var ratingSummary: String { get }
    /// Draws the ratings of one machine.
    init(random: inout SplitMix64)
    /// Advances the state by `dt` seconds and writes every channel's true value to `truth`.
    ///
    /// `random` is the fault stream: it is only drawn from while a fault acts, so that a
    /// faulty run and a fault-free run with the same seed share everything else.
    mutating func advance(
        seconds dt: Double, conditions: OperatingConditions, effects: ProcessEffects,
        random: inout SplitMix64, truth: inout [Double]
    )
}

/// Moves `value` toward `target` as a first-order lag with time constant `tau` seconds.
@inline(__always)
func lag(_ value: inout Double, toward target: Double, tau: Double, dt: Double) {
    value += (target - value) * (1 - exp(-dt / max(tau, 1e-9)))
}

/// Moves `value` toward `target` by at most `rate * dt` (a drive's speed ramp).
@inline(__always)
func ramp(_ value: inout Double, toward target: Double, rate: Double, dt: Double) {
    let step = rate * dt
    if value < target { value = min(target, value + step) } else { value = max(target, value - step) }
}

/// Water: bar per metre of head (ρ g / 10⁵).
let barPerMetre = 0.0981
