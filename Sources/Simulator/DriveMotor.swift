import EdgeCore

/// The induction motor of a drive-fed machine (pump, fan): its electrical ratings and the
/// current and terminal voltage it draws for a given input power.
struct DriveMotor: Sendable {
    let nominalVoltage: Double
    let powerFactor: Double
    let ratedCurrent: Double
    let magnetizingCurrent: Double
    /// The supply's source resistance: the terminal voltage sags by `sagOhms × current`.
    let sagOhms: Double

    /// Line current and terminal voltage while the motor draws `inputPower` watts from the grid.
    ///
    /// The current is the magnetizing and the load current added in quadrature (zero at rest);
    /// an overheating motor draws up to 3 % more.
    func electrics(
        inputPower: Double, spinning: Bool, gridVoltageFactor: Double, overheating: Double
    ) -> (current: Double, voltage: Double) {
        let voltage0 = nominalVoltage * gridVoltageFactor
        var current = 0.0
        if spinning {
            let load = inputPower / (3.0.squareRoot() * voltage0 * powerFactor)
            current = (magnetizingCurrent * magnetizingCurrent + load * load).squareRoot()
            current *= 1 + 0.03 * overheating
        }
        return (current, voltage0 - sagOhms * current)
    }
}

/// The vibration of a drive-fed rotor (pump, fan) on two axes, RMS in mm/s.
struct RotorVibration: Sendable {
    /// At full speed, healthy, x axis.
    let base: Double
    /// The y axis's healthy level relative to x.
    let yRatio: Double
    /// Added per unit of imbalance at full speed, x axis.
    let imbalanceGain: Double
    /// Added per unit of bearing wear at full speed, x axis.
    let wearGain: Double

    /// Running speed and imbalance grow with the square of the speed fraction `s`; bearing wear
    /// adds broadband vibration (drawn from `random`, the fault stream, only while it acts).
    ///
    /// - Parameter imbalanceYShare: the share of the imbalance the y axis sees.
    func rms(
        speedFraction s: Double, spinning: Bool, effects: ProcessEffects, imbalanceYShare: Double,
        random r: inout SplitMix64
    ) -> (x: Double, y: Double) {
        var x = 0.03 + base * s * s + imbalanceGain * effects.imbalance * s * s
        var y = 0.03 + base * yRatio * s * s + imbalanceYShare * imbalanceGain * effects.imbalance * s * s
        if effects.bearingWear > 0, spinning {
            let wear = wearGain * effects.bearingWear * (0.3 + 0.7 * s)
            x += wear * (1 + 0.25 * abs(r.gaussian()))
            y += 0.9 * wear * (1 + 0.25 * abs(r.gaussian()))
        }
        return (x, y)
    }
}
