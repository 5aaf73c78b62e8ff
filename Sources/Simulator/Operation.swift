#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EdgeCore

/// The plant's normal use of a machine: setpoint changes, stops and restarts at random times.
///
/// None of these are faults; a detector must learn to accept them.
struct OperatingSchedule: Sendable {
    var running = true
    var load: Double
    var nextChangeSeconds: Double
    let meanSecondsBetweenChanges: Double
    let stopProbability: Double
    let meanStopSeconds: Double
    let loadRange: ClosedRange<Double>

    init(loadRange: ClosedRange<Double>, meanSecondsBetweenChanges: Double, random r: inout SplitMix64) {
        self.loadRange = loadRange
        self.meanSecondsBetweenChanges = meanSecondsBetweenChanges
        stopProbability = r.uniform(0.08...0.2)
        meanStopSeconds = meanSecondsBetweenChanges * r.uniform(0.3...0.8)
        load = r.uniform(loadRange)
        nextChangeSeconds = max(30, r.exponential(mean: meanSecondsBetweenChanges))
    }

    /// Applies every change due by `seconds`.
    mutating func update(at seconds: Double, random r: inout SplitMix64) {
        while seconds >= nextChangeSeconds {
            let gap: Double
            if !running {
                running = true
                load = r.uniform(loadRange)
                gap = r.exponential(mean: meanSecondsBetweenChanges)
            } else if r.chance(stopProbability) {
                running = false
                gap = r.exponential(mean: meanStopSeconds)
            } else {
                // A setpoint change worth noticing: at least a tenth of the range away.
                let span = loadRange.upperBound - loadRange.lowerBound
                var next = r.uniform(loadRange)
                if abs(next - load) < 0.1 * span {
                    next = next + 0.3 * span > loadRange.upperBound ? next - 0.3 * span : next + 0.3 * span
                }
                load = next
                gap = r.exponential(mean: meanSecondsBetweenChanges)
            }
            nextChangeSeconds += max(30, gap)
        }
    }
}

/// The machine's surroundings: ambient temperature with a daily cycle and weather drift,
/// grid voltage and atmospheric pressure wandering slowly.
struct Environment: Sendable {
    let meanAmbient: Double
    let dailyAmplitude: Double
    var weather = 0.0       // °C, Ornstein–Uhlenbeck around 0
    var grid = 0.0          // relative, OU around 0
    var barometer = 0.0     // bar, OU around 0

    init(random r: inout SplitMix64) {
        meanAmbient = r.uniform(12...30)
        dailyAmplitude = r.uniform(2...7)
        weather = r.uniform(-1...1)
    }

    /// Advances the slow random walks by `dt` seconds and returns the conditions at `time`.
    mutating func advance(
        seconds dt: Double, at time: Timestamp, running: Bool, load: Double, random r: inout SplitMix64
    ) -> OperatingConditions {
        ornsteinUhlenbeck(&weather, tau: 7200, sigma: 1.5, dt: dt, random: &r)
        ornsteinUhlenbeck(&grid, tau: 1800, sigma: 0.008, dt: dt, random: &r)
        ornsteinUhlenbeck(&barometer, tau: 21600, sigma: 0.008, dt: dt, random: &r)
        // Daily cycle peaking at 15:00 UTC.
        var msOfDay = time.millisecondsSinceEpoch % 86_400_000
        if msOfDay < 0 { msOfDay += 86_400_000 }
        let hours = Double(msOfDay) / 3_600_000
        let daily = dailyAmplitude * cos(2 * Double.pi * (hours - 15) / 24)
        // The grid sags a little in working hours.
        let gridDaily = -0.004 * cos(2 * Double.pi * (hours - 14) / 24)
        return OperatingConditions(
            running: running, load: load, ambientCelsius: meanAmbient + daily + weather,
            gridVoltageFactor: 1 + grid + gridDaily, atmosphericBar: 1.013 + barometer
        )
    }

    private func ornsteinUhlenbeck(_ x: inout Double, tau: Double, sigma: Double, dt: Double, random r: inout SplitMix64) {
        let decay = exp(-dt / tau)
        x = x * decay + sigma * (1 - decay * decay).squareRoot() * r.gaussian()
    }
}
