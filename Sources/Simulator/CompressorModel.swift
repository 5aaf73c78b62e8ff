import EdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An oil-injected rotary screw air compressor with load/unload control and an air receiver.
///
/// The receiver pressure integrates delivered air minus demand and leaks; the controller
/// loads below the lower pressure and unloads above the upper one, so load/unload cycles
/// arise from demand. Unloaded, the intake closes (suction pressure falls to a deep vacuum)
/// and the separator blows down. Discharge temperature rises with the compression ratio
/// above the oil temperature, which a thermostat and cooler hold near its setpoint.
struct CompressorModel: MachineModel {
    static let channels: [SensorChannel] = [
        SensorChannel(name: "discharge_pressure", unit: "bar", decimals: 3, minimum: -1, maximum: 16),
        SensorChannel(name: "receiver_pressure", unit: "bar", decimals: 3, minimum: -1, maximum: 16),
        SensorChannel(name: "suction_pressure", unit: "bar(a)", decimals: 3, minimum: 0, maximum: 2),
        SensorChannel(name: "discharge_temperature", unit: "°C", decimals: 2, minimum: -40, maximum: 150),
        SensorChannel(name: "oil_temperature", unit: "°C", decimals: 2, minimum: -40, maximum: 150),
        SensorChannel(name: "motor_current", unit: "A", decimals: 2, minimum: 0, maximum: 3000),
        SensorChannel(name: "vibration_x", unit: "mm/s", decimals: 3, minimum: 0, maximum: 100),
        SensorChannel(name: "vibration_y", unit: "mm/s", decimals: 3, minimum: 0, maximum: 100),
        SensorChannel(name: "loaded", unit: "", decimals: 0, minimum: 0, maximum: 1),
        SensorChannel(name: "bearing_temperature", unit: "°C", decimals: 2, minimum: -40, maximum: 200, isStandard: false),
        SensorChannel(name: "supply_voltage", unit: "V", decimals: 1, minimum: 0, maximum: 1000, isStandard: false),
        SensorChannel(name: "ambient_temperature", unit: "°C", decimals: 2, minimum: -40, maximum: 80, isStandard: false),
    ]

    private enum C {
        static let discharge = 0, receiver = 1, suction = 2, dischargeTemp = 3, oil = 4, current = 5
        static let vibX = 6, vibY = 7, loaded = 8, bearing = 9, voltage = 10, ambient = 11
    }

    static func signature(of fault: FaultKind) -> [String] {
        switch fault {
        case .bearingWear: return ["vibration_x", "vibration_y", "bearing_temperature"]
        case .inletValveClosing: return ["suction_pressure", "discharge_temperature", "loaded", "receiver_pressure"]
        case .outletValveClosing: return ["discharge_pressure", "motor_current", "discharge_temperature"]
        case .imbalance: return ["vibration_x", "vibration_y"]
        case .overheating: return ["oil_temperature", "discharge_temperature", "bearing_temperature"]
        case .leak: return ["loaded", "receiver_pressure", "motor_current"]
        default: return []
        }
    }

    // Ratings.
    let freeAirDelivery: Double     // m³/min at the intake
    let receiverVolume: Double      // m³
    let loadPressure: Double        // bar g, loads below
    let unloadPressure: Double      // bar g, unloads above
    let separatorDrop: Double       // bar, discharge above receiver when loaded
    let systemLeak: Double          // fraction of FAD lost to normal leaks
    let ratedCurrent: Double
    let nominalVoltage: Double
    let sagOhms: Double
    let oilSetpoint: Double
    let oilTau: Double
    let bearingTau: Double, bearingRise: Double
    let vibrationBase: Double, vibrationYRatio: Double, imbalanceGain: Double, wearGain: Double
    let loadRange: ClosedRange<Double>
    let absoluteNoise: [Double]
    let relativeNoise: [Double]
    let typicalMagnitude: [Double]

    // State.
    private var receiverPressure: Double
    private var separatorPressure: Double
    private var suctionPressure = 1.0
    private var dischargeTemperature = 20.0
    private var oilTemperature = 20.0
    private var bearingTemperature = 20.0
    private var current = 0.0
    private var motorOn = false
    private var loaded = false
    private var secondsSinceStart = 0.0

    init(random r: inout SplitMix64) {
        let motorPower = r.logUniform(11_000...160_000)
        freeAirDelivery = motorPower / 1000 * r.uniform(0.14...0.18)
        receiverVolume = freeAirDelivery * r.uniform(0.15...0.4)
        loadPressure = r.uniform(6.0...7.2)
        unloadPressure = loadPressure + r.uniform(0.6...1.2)
        separatorDrop = r.uniform(0.2...0.45)
        systemLeak = r.uniform(0.03...0.08)
        nominalVoltage = [400.0, 400, 415, 690][r.index(below: 4)]
        ratedCurrent = motorPower / (0.93 * 3.0.squareRoot() * nominalVoltage * 0.86)
        sagOhms = nominalVoltage * r.uniform(0.01...0.03) / ratedCurrent
        oilSetpoint = r.uniform(72...85)
        oilTau = r.uniform(300...700)
        bearingTau = r.uniform(900...2000)
        bearingRise = r.uniform(20...35)
        vibrationBase = r.uniform(1.2...3.0)
        vibrationYRatio = r.uniform(0.6...1.1)
        imbalanceGain = r.uniform(3...6)
        wearGain = r.uniform(2...4)
        loadRange = r.uniform(0.2...0.35)...r.uniform(0.75...0.85)
        receiverPressure = loadPressure
        separatorPressure = loadPressure
        let m = r.uniform(0.5...2.0)
        absoluteNoise = [
            0.01 * m, 0.008 * m, 0.003 * m, 0.12 * m, 0.1 * m, 0.004 * ratedCurrent * m,
            0.03 * m, 0.03 * m, 0, 0.08 * m, 0.6 * m, 0.05 * m,
        ]
        relativeNoise = [0, 0, 0, 0, 0, 0.003 * m, 0.03 * m, 0.03 * m, 0, 0, 0, 0]
        typicalMagnitude = [2, 2, 0.3, 20, 15, ratedCurrent, vibrationBase * 2, vibrationBase * 2, 1, 30, nominalVoltage * 0.05, 10]
    }

    var ratingSummary: String {
        "screw compressor \(oneDecimal(freeAirDelivery)) m3/min, load/unload "
            + "\(oneDecimal(loadPressure))…\(oneDecimal(unloadPressure)) bar, "
            + "motor \(Int(ratedCurrent.rounded())) A at \(Int(nominalVoltage)) V"
    }

    mutating func advance(
        seconds dt: Double, conditions: OperatingConditions, effects: ProcessEffects,
        random r: inout SplitMix64, truth: inout [Double]
    ) {
        let atmosphere = conditions.atmosphericBar
        // Start/stop: a start runs unloaded for 5 s (star-delta), then the pressure switch rules.
        if conditions.running, !motorOn {
            motorOn = true
            secondsSinceStart = 0
        } else if !conditions.running {
            motorOn = false
            loaded = false
        }
        if motorOn {
            secondsSinceStart += dt
            if secondsSinceStart >= 5 {
                if receiverPressure <= loadPressure { loaded = true }
                if receiverPressure >= unloadPressure { loaded = false }
            }
        }

        // Receiver: delivered air minus demand minus leaks, all in free air.
        let inletOpen = 1 - 0.5 * effects.inletRestriction
        let backPressure = max(0, receiverPressure - loadPressure)
        let delivered = loaded ? freeAirDelivery * inletOpen * (1 - 0.02 * backPressure) : 0
        let pressureShare = max(receiverPressure, 0) / loadPressure
        let demand = (conditions.running ? conditions.load * freeAirDelivery : 0)
            + (systemLeak + 0.3 * effects.leak) * freeAirDelivery * pressureShare
        receiverPressure += (delivered - demand) * atmosphere / receiverVolume * dt / 60
        receiverPressure = max(receiverPressure, 0)

        // Airend: separator pressure, intake vacuum when unloaded.
        let outletDrop = separatorDrop + 1.6 * effects.outletRestriction
        let separatorTarget = loaded ? receiverPressure + outletDrop : (motorOn ? 2.0 : 0)
        lag(&separatorPressure, toward: separatorTarget, tau: loaded ? 2 : 8, dt: dt)
        let suctionTarget = loaded
            ? atmosphere - 0.02 - 0.4 * effects.inletRestriction
            : (motorOn ? 0.25 : atmosphere)
        lag(&suctionPressure, toward: suctionTarget, tau: 1, dt: dt)

        // Motor current: inrush, loaded (rising with discharge pressure), unloaded, off.
        let currentTarget: Double
        if !motorOn {
            currentTarget = 0
        } else if secondsSinceStart < 3 {
            currentTarget = 2.5 * ratedCurrent
        } else if loaded {
            currentTarget = ratedCurrent * (0.72 + 0.22 * separatorPressure / unloadPressure)
                * (1 + 0.03 * effects.overheating + 0.03 * effects.bearingWear)
        } else {
            currentTarget = 0.38 * ratedCurrent
        }
        lag(&current, toward: currentTarget, tau: 0.5, dt: dt)
        let voltage = nominalVoltage * conditions.gridVoltageFactor - sagOhms * current

        // Temperatures.
        let ambient = conditions.ambientCelsius
        let oilTarget: Double
        if !motorOn {
            oilTarget = ambient
        } else {
            oilTarget = max(ambient + 10, oilSetpoint - (loaded ? 0 : 6) + 0.25 * (ambient - 20))
                + (loaded ? 25 : 15) * effects.overheating
        }
        lag(&oilTemperature, toward: oilTarget, tau: motorOn ? oilTau : 3 * oilTau, dt: dt)
        let ratio = (max(separatorPressure, 0) + atmosphere) / max(suctionPressure, 0.05)
        let dischargeTarget: Double
        if loaded {
            dischargeTarget = oilTemperature + 5 + 1.5 * max(ratio - 7, 0)
        } else {
            dischargeTarget = motorOn ? oilTemperature - 3 : oilTemperature
        }
        lag(&dischargeTemperature, toward: dischargeTarget, tau: 20, dt: dt)
        let bearingTarget = ambient + bearingRise * (loaded ? 1 : (motorOn ? 0.7 : 0))
            + 25 * effects.bearingWear * (motorOn ? 1 : 0) + 10 * effects.overheating
        lag(&bearingTemperature, toward: bearingTarget, tau: bearingTau, dt: dt)

        // Vibration.
        let running = motorOn ? 1.0 : 0.0
        var vibX = 0.03 + running * (vibrationBase * (loaded ? 1 : 0.75) + imbalanceGain * effects.imbalance)
        var vibY = 0.03 + running * (vibrationBase * vibrationYRatio * (loaded ? 1 : 0.75)
            + 0.8 * imbalanceGain * effects.imbalance)
        if effects.bearingWear > 0, motorOn {
            vibX += wearGain * effects.bearingWear * (1 + 0.25 * abs(r.gaussian()))
            vibY += 0.9 * wearGain * effects.bearingWear * (1 + 0.25 * abs(r.gaussian()))
        }

        truth[C.discharge] = separatorPressure
        truth[C.receiver] = receiverPressure
        truth[C.suction] = suctionPressure
        truth[C.dischargeTemp] = dischargeTemperature
        truth[C.oil] = oilTemperature
        truth[C.current] = current
        truth[C.vibX] = vibX
        truth[C.vibY] = vibY
        truth[C.loaded] = loaded ? 1 : 0
        truth[C.bearing] = bearingTemperature
        truth[C.voltage] = voltage
        truth[C.ambient] = ambient
    }
}

/// `value` with one decimal, for people.
func oneDecimal(_ value: Double) -> String {
    var bytes: [UInt8] = []
    SeriesExport.appendFixed(value, decimals: 1, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
}
