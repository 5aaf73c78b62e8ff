import EdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A centrifugal water pump on a variable-speed drive.
///
/// Flow is where the pump curve `H = H₀ s² − k_p Q²` meets the suction and system losses
/// (affinity laws: head ∝ speed², flow ∝ speed); the motor current follows the shaft power,
/// the supply voltage sags with the current, bearing and winding temperatures follow their
/// losses through first-order thermal lags, and vibration grows with the square of speed.
struct PumpModel: MachineModel {
    static let channels: [SensorChannel] = [
        SensorChannel(name: "flow", unit: "m³/h", decimals: 2, minimum: 0, maximum: 2000),
        SensorChannel(name: "inlet_pressure", unit: "bar", decimals: 3, minimum: -1, maximum: 10),
        SensorChannel(name: "outlet_pressure", unit: "bar", decimals: 3, minimum: -1, maximum: 25),
        SensorChannel(name: "motor_current", unit: "A", decimals: 2, minimum: 0, maximum: 600),
        SensorChannel(name: "supply_voltage", unit: "V", decimals: 1, minimum: 0, maximum: 1000),
        SensorChannel(name: "bearing_temperature", unit: "°C", decimals: 2, minimum: -40, maximum: 200),
        SensorChannel(name: "winding_temperature", unit: "°C", decimals: 2, minimum: -40, maximum: 250),
        SensorChannel(name: "vibration_x", unit: "mm/s", decimals: 3, minimum: 0, maximum: 100),
        SensorChannel(name: "vibration_y", unit: "mm/s", decimals: 3, minimum: 0, maximum: 100),
        SensorChannel(name: "speed", unit: "rpm", decimals: 1, minimum: 0, maximum: 4000),
        SensorChannel(name: "running", unit: "", decimals: 0, minimum: 0, maximum: 1),
        SensorChannel(name: "shaft_power", unit: "kW", decimals: 2, minimum: 0, maximum: 2000, isStandard: false),
        SensorChannel(name: "ambient_temperature", unit: "°C", decimals: 2, minimum: -40, maximum: 80, isStandard: false),
    ]

    private enum C {
        static let flow = 0, inlet = 1, outlet = 2, current = 3, voltage = 4, bearing = 5, winding = 6
        static let vibX = 7, vibY = 8, speed = 9, running = 10, power = 11, ambient = 12
    }

    static func signature(of fault: FaultKind) -> [String] {
        switch fault {
        case .bearingWear: return ["vibration_x", "vibration_y", "bearing_temperature"]
        case .cavitation: return ["flow", "inlet_pressure", "outlet_pressure", "vibration_x", "vibration_y", "motor_current"]
        case .inletValveClosing, .outletValveClosing, .leak:
            return ["flow", "inlet_pressure", "outlet_pressure", "motor_current", "shaft_power"]
        case .imbalance: return ["vibration_x", "vibration_y"]
        case .overheating: return ["winding_temperature", "bearing_temperature", "motor_current"]
        default: return []
        }
    }

    // Ratings.
    let ratedSpeed: Double          // rpm
    let ratedFlow: Double           // m³/h
    let shutoffHead: Double         // m
    let designHead: Double          // m
    let staticHead: Double          // m, system lift plus back pressure
    let supplyHead: Double          // m, suction tank
    let pumpLoss: Double            // m per (m³/h)²
    let systemLoss: Double          // m per (m³/h)²
    let inletLoss: Double           // m per (m³/h)²
    let ratedShaftPower: Double     // W
    let motorEfficiency: Double
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
        ratedSpeed = [1450.0, 1480, 2900, 2950][r.index(below: 4)]
        ratedFlow = r.logUniform(15...300)
        shutoffHead = r.uniform(25...90)
        designHead = shutoffHead * r.uniform(0.72...0.82)
        supplyHead = r.uniform(3...15)
        staticHead = supplyHead + shutoffHead * r.uniform(0.1...0.3)
        pumpLoss = (shutoffHead - designHead) / (ratedFlow * ratedFlow)
        inletLoss = r.uniform(0.3...1.0) / (ratedFlow * ratedFlow)
        // The system loss that puts the design point at rated speed on the pump curve.
        systemLoss = max(designHead - (staticHead - supplyHead) - inletLoss * ratedFlow * ratedFlow, 1)
            / (ratedFlow * ratedFlow)
        let pumpEfficiency = r.uniform(0.65...0.82)
        ratedShaftPower = 1000 * 9.81 * ratedFlow / 3600 * designHead / pumpEfficiency
        motorEfficiency = r.uniform(0.90...0.95)
        let powerFactor = r.uniform(0.82...0.88)
        let nominalVoltage = [400.0, 400, 415, 380][r.index(below: 4)]
        let motorPower = ratedShaftPower * r.uniform(1.1...1.3)
        let ratedCurrent = motorPower / (motorEfficiency * 3.0.squareRoot() * nominalVoltage * powerFactor)
        motor = DriveMotor(
            nominalVoltage: nominalVoltage, powerFactor: powerFactor, ratedCurrent: ratedCurrent,
            magnetizingCurrent: ratedCurrent * r.uniform(0.25...0.35),
            sagOhms: nominalVoltage * r.uniform(0.01...0.03) / ratedCurrent)
        bearingTau = r.uniform(900...2400)
        bearingRise = r.uniform(18...35)
        windingTau = r.uniform(600...1200)
        windingRise = r.uniform(35...65)
        vibration = RotorVibration(
            base: r.uniform(0.8...2.5), yRatio: r.uniform(0.6...1.1), imbalanceGain: r.uniform(3...7),
            wearGain: r.uniform(2.5...5))
        let low = r.uniform(0.6...0.7)
        loadRange = low...1.0
        let m = r.uniform(0.5...2.0)
        absoluteNoise = [
            0.004 * ratedFlow * m, 0.004 * m, 0.008 * m, 0.004 * ratedCurrent * m, 0.6 * m,
            0.08 * m, 0.12 * m, 0.02 * m, 0.02 * m, 1.5 * m, 0, 0.004 * ratedShaftPower / 1000 * m, 0.05 * m,
        ]
        relativeNoise = [0.003 * m, 0, 0, 0.002 * m, 0, 0, 0, 0.03 * m, 0.03 * m, 0, 0, 0.002 * m, 0]
        typicalMagnitude = [
            ratedFlow, 1, shutoffHead * barPerMetre, ratedCurrent, nominalVoltage * 0.05, 30, 40,
            vibration.base * 2, vibration.base * 2, ratedSpeed * 0.2, 1, ratedShaftPower / 1000, 10,
        ]
    }

    var ratingSummary: String {
        "centrifugal pump \(Int(ratedFlow.rounded())) m3/h at \(Int(designHead.rounded())) m, "
            + "\(Int(ratedSpeed)) rpm, motor \(Int((motor.ratedCurrent).rounded())) A at \(Int(motor.nominalVoltage)) V"
    }

    mutating func advance(
        seconds dt: Double, conditions: OperatingConditions, effects: ProcessEffects,
        random r: inout SplitMix64, truth: inout [Double]
    ) {
        // The drive ramps the speed at 10 % of rated speed per second, up and down.
        ramp(&speedFraction, toward: conditions.running ? conditions.load : 0, rate: 0.1, dt: dt)
        let s = speedFraction
        let spinning = s > 0.005

        // Hydraulics: pump curve = suction losses + system curve.
        let cavitation = effects.cavitation
        let headFactor = 1 - 0.12 * cavitation
        let supply = supplyHead - cavitation * (0.5 * supplyHead + 4)
        // A throttling valve adds a loss ∝ 1/opening² (sized like the rest of the circuit).
        let inletOpen = 1 - 0.9 * effects.inletRestriction
        let outletOpen = 1 - 0.9 * effects.outletRestriction
        let kIn = inletLoss + 0.5 * (pumpLoss + systemLoss) * (1 / (inletOpen * inletOpen) - 1)
        let kSystem = systemLoss / (outletOpen * outletOpen) * (1 - 0.6 * effects.leak)
        let drive = supply + shutoffHead * s * s * headFactor - staticHead
        var flow = drive > 0 ? (drive / (kIn + pumpLoss + kSystem)).squareRoot() : 0
        let pumpHead = shutoffHead * s * s * headFactor - pumpLoss * flow * flow
        var inletHead = supply - kIn * flow * flow
        var outletHead = inletHead + pumpHead
        if cavitation > 0, spinning {
            // Vapour bubbles collapsing: broadband fluctuation of flow and pressures.
            flow *= 1 + 0.04 * cavitation * r.gaussian()
            inletHead += 0.6 * cavitation * r.gaussian()
            outletHead += 1.5 * cavitation * r.gaussian()
        }
        flow = max(flow, 0)

        // Power and electrics.
        // Radial pumps: shaft power rises linearly with flow from about a third at shut-off
        // (affinity: ∝ speed³ at similar flow share); head lost to cavitation is power not drawn.
        var shaftPower = ratedShaftPower * headFactor * (0.35 * s * s * s + 0.65 * s * s * flow / ratedFlow)
        shaftPower += ratedShaftPower * 0.05 * effects.bearingWear * s
        let (current, voltage) = motor.electrics(
            inputPower: shaftPower / motorEfficiency, spinning: spinning,
            gridVoltageFactor: conditions.gridVoltageFactor, overheating: effects.overheating)

        // Thermal: first-order lags toward the temperature the losses sustain.
        let ambient = conditions.ambientCelsius
        let loadShare = shaftPower / ratedShaftPower
        let bearingTarget = ambient + bearingRise * (0.35 * s + 0.65 * loadShare)
            + 25 * effects.bearingWear * s + 15 * effects.overheating
        lag(&bearingTemperature, toward: bearingTarget, tau: bearingTau, dt: dt)
        let currentShare = current / motor.ratedCurrent
        let windingTarget = ambient + windingRise * currentShare * currentShare + 45 * effects.overheating
        lag(&windingTemperature, toward: windingTarget, tau: windingTau, dt: dt)

        // Vibration RMS: running speed, imbalance ∝ speed², wear and cavitation broadband.
        var (vibX, vibY) = vibration.rms(
            speedFraction: s, spinning: spinning, effects: effects, imbalanceYShare: 0.8, random: &r)
        if cavitation > 0, spinning {
            vibX += 2.5 * cavitation * (1 + 0.4 * abs(r.gaussian()))
            vibY += 2.0 * cavitation * (1 + 0.4 * abs(r.gaussian()))
        }

        truth[C.flow] = flow
        truth[C.inlet] = max(inletHead * barPerMetre, -0.95)
        truth[C.outlet] = max(outletHead * barPerMetre, -0.95)
        truth[C.current] = current
        truth[C.voltage] = voltage
        truth[C.bearing] = bearingTemperature
        truth[C.winding] = windingTemperature
        truth[C.vibX] = vibX
        truth[C.vibY] = vibY
        truth[C.speed] = s * ratedSpeed
        truth[C.running] = spinning ? 1 : 0
        truth[C.power] = shaftPower / 1000 * (spinning ? 1 : 0)
        truth[C.ambient] = ambient
    }
}
