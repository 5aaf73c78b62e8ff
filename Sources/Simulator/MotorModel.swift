import EdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An induction motor on a variable-speed drive, driving a fan.
///
/// Fan torque grows with the square of speed and with air density (colder air is heavier);
/// slip grows with torque; current follows the electrical power; winding and bearing
/// temperatures follow their losses through first-order lags; vibration grows with speed².
struct MotorModel: MachineModel {
    static let channels: [SensorChannel] = [
        SensorChannel(name: "speed", unit: "rpm", decimals: 1, minimum: 0, maximum: 4000),
        SensorChannel(name: "motor_current", unit: "A", decimals: 2, minimum: 0, maximum: 600),
        SensorChannel(name: "torque", unit: "Nm", decimals: 1, minimum: -100, maximum: 20000),
        SensorChannel(name: "supply_voltage", unit: "V", decimals: 1, minimum: 0, maximum: 1000),
        SensorChannel(name: "winding_temperature", unit: "°C", decimals: 2, minimum: -40, maximum: 250),
        SensorChannel(name: "bearing_temperature", unit: "°C", decimals: 2, minimum: -40, maximum: 200),
        SensorChannel(name: "vibration_x", unit: "mm/s", decimals: 3, minimum: 0, maximum: 100),
        SensorChannel(name: "vibration_y", unit: "mm/s", decimals: 3, minimum: 0, maximum: 100),
        SensorChannel(name: "running", unit: "", decimals: 0, minimum: 0, maximum: 1),
        SensorChannel(name: "electrical_power", unit: "kW", decimals: 2, minimum: 0, maximum: 2000, isStandard: false),
        SensorChannel(name: "ambient_temperature", unit: "°C", decimals: 2, minimum: -40, maximum: 80, isStandard: false),
    ]

    private enum C {
        static let speed = 0, current = 1, torque = 2, voltage = 3, winding = 4, bearing = 5
        static let vibX = 6, vibY = 7, running = 8, power = 9, ambient = 10
    }

    static func signature(of fault: FaultKind) -> [String] {
        switch fault {
        case .bearingWear: return ["vibration_x", "vibration_y", "bearing_temperature"]
        case .imbalance: return ["vibration_x", "vibration_y"]
        case .overheating: return ["winding_temperature", "bearing_temperature", "motor_current"]
        default: return []
        }
    }

    // Ratings.
    let ratedPower: Double          // W, mechanical
    let synchronousSpeed: Double    // rpm at 50 Hz
    let ratedSlip: Double
    let ratedTorque: Double         // Nm
    let fanTorqueShare: Double      // fan torque at full speed / rated torque
    let efficiency: Double
    let motor: DriveMotor
    let bearingTau: Double, bearingRise: Double
    let windingTau: Double, windingRise: Double
    let vibration: RotorVibration
    let loadRange: ClosedRange<Double>
    let absoluteNoise: [Double]
    let relativeNoise: [Double]
    let typicalMagnitude: [Double]

    // State.
    private var speedFraction = 0.0
    private var bearingTemperature = 20.0
    private var windingTemperature = 20.0

    init(random r: inout SplitMix64) {
        ratedPower = r.logUniform(4000...200_000)
        synchronousSpeed = [3000.0, 1500, 1000][r.index(below: 3)]
        ratedSlip = r.uniform(0.01...0.035)
        ratedTorque = ratedPower / (2 * Double.pi * synchronousSpeed * (1 - ratedSlip) / 60)
        fanTorqueShare = r.uniform(0.75...0.95)
        efficiency = r.uniform(0.89...0.96)
        let powerFactor = r.uniform(0.8...0.88)
        let nominalVoltage = [400.0, 400, 415, 690][r.index(below: 4)]
        let ratedCurrent = ratedPower / (efficiency * 3.0.squareRoot() * nominalVoltage * powerFactor)
        motor = DriveMotor(
            nominalVoltage: nominalVoltage, powerFactor: powerFactor, ratedCurrent: ratedCurrent,
            magnetizingCurrent: ratedCurrent * r.uniform(0.25...0.4),
            sagOhms: nominalVoltage * r.uniform(0.01...0.03) / ratedCurrent)
        bearingTau = r.uniform(900...2400)
        bearingRise = r.uniform(15...30)
        windingTau = r.uniform(900...1800)
        windingRise = r.uniform(40...75)
        vibration = RotorVibration(
            base: r.uniform(0.6...2.2), yRatio: r.uniform(0.6...1.1), imbalanceGain: r.uniform(3...8),
            wearGain: r.uniform(2...4.5))
        loadRange = r.uniform(0.35...0.5)...1.0
        let m = r.uniform(0.5...2.0)
        absoluteNoise = [
            1.5 * m, 0.004 * ratedCurrent * m, 0.005 * ratedTorque * m, 0.6 * m, 0.1 * m, 0.08 * m,
            0.02 * m, 0.02 * m, 0, 0.004 * ratedPower / 1000 * m, 0.05 * m,
        ]
        relativeNoise = [0, 0.002 * m, 0.003 * m, 0, 0, 0, 0.03 * m, 0.03 * m, 0, 0.002 * m, 0]
        typicalMagnitude = [
            synchronousSpeed * 0.2, ratedCurrent, ratedTorque, nominalVoltage * 0.05, 40, 30,
            vibration.base * 2, vibration.base * 2, 1, ratedPower / 1000, 10,
        ]
    }

    var ratingSummary: String {
        "fan motor \(Int((ratedPower / 1000).rounded())) kW, \(Int(synchronousSpeed)) rpm synchronous, "
            + "\(Int(motor.ratedCurrent.rounded())) A at \(Int(motor.nominalVoltage)) V"
    }

    mutating func advance(
        seconds dt: Double, conditions: OperatingConditions, effects: ProcessEffects,
        random r: inout SplitMix64, truth: inout [Double]
    ) {
        // Large fans ramp slowly: 5 % of rated speed per second.
        ramp(&speedFraction, toward: conditions.running ? conditions.load : 0, rate: 0.05, dt: dt)
        let s = speedFraction
        let spinning = s > 0.005

        // Fan torque ∝ speed² × air density (∝ 1 / absolute temperature); friction; wear.
        let density = 293.15 / (273.15 + conditions.ambientCelsius) * conditions.atmosphericBar / 1.013
        var torque = ratedTorque * fanTorqueShare * s * s * density
        if spinning { torque += ratedTorque * (0.02 + 0.05 * effects.bearingWear * s) }
        let slip = ratedSlip * torque / ratedTorque
        let rpm = spinning ? synchronousSpeed * s * (1 - slip) : 0
        let mechanicalPower = torque * 2 * Double.pi * rpm / 60
        let electricalPower = spinning ? mechanicalPower / efficiency + 0.015 * ratedPower : 0
        let (current, voltage) = motor.electrics(
            inputPower: electricalPower, spinning: spinning, gridVoltageFactor: conditions.gridVoltageFactor,
            overheating: effects.overheating)

        // Thermal: the shaft-mounted cooling fan cools less at low speed.
        let ambient = conditions.ambientCelsius
        let currentShare = current / motor.ratedCurrent
        let cooling = 0.45 + 0.55 * s
        let windingTarget = ambient + windingRise * currentShare * currentShare / cooling + 50 * effects.overheating
        lag(&windingTemperature, toward: windingTarget, tau: windingTau, dt: dt)
        let bearingTarget = ambient + bearingRise * (0.3 + 0.7 * s) * (spinning ? 1 : 0)
            + 25 * effects.bearingWear * s + 8 * effects.overheating + 0.1 * (windingTemperature - ambient)
        lag(&bearingTemperature, toward: bearingTarget, tau: bearingTau, dt: dt)

        let (vibX, vibY) = vibration.rms(
            speedFraction: s, spinning: spinning, effects: effects, imbalanceYShare: 0.85, random: &r)

        truth[C.speed] = rpm
        truth[C.current] = current
        truth[C.torque] = torque
        truth[C.voltage] = voltage
        truth[C.winding] = windingTemperature
        truth[C.bearing] = bearingTemperature
        truth[C.vibX] = vibX
        truth[C.vibY] = vibY
        truth[C.running] = spinning ? 1 : 0
        truth[C.power] = electricalPower / 1000
        truth[C.ambient] = ambient
    }
}
