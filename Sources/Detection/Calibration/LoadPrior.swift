#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What machines of one kind have in common about how their sensors follow the speed the plant
/// runs them at, learned across many machines (`LoadPriorLearning`), so that a speed a short
/// calibration never saw is expected rather than anomalous.
///
/// Each role (a sensor name such as `flow` or `vibration_x`) follows the driver (`speed`) as a
/// power law: `value ≈ reference · (speed / reference speed) ^ elasticity` (the affinity laws of
/// pumps and fans: flow ∝ speed, head ∝ speed², vibration ∝ speed²). `band` is how far the
/// elasticity of one machine may lie from the kind's (over the machines it was learned on):
/// inside that band a reading is normal. Temperatures follow their losses through thermal lags
/// of tens of minutes: for a *lagged* role the expected value ranges over the power law applied
/// to the current speed and to its moving averages over `lagSeconds`.
public struct LoadPrior: Sendable, Hashable, Codable {
    /// One sensor role of one kind of machine.
    public struct Role: Sendable, Hashable, Codable {
        /// Sensor name the role applies to (exact, case-insensitive).
        public var sensor: String
        /// d log(value) / d log(speed).
        public var elasticity: Float
        /// Half-width of the tolerated elasticity range around `elasticity`.
        public var band: Float
        /// Whether the sensor follows speed through a thermal lag.
        public var lagged: Bool
        /// Log change the sensor shows at an unchanged speed over hours (grid voltage, ambient
        /// temperature), tolerated whatever the speed.
        public var tolerance: Float
        /// An induction motor's current: besides the power law, the sensor may follow
        /// `√(f² + (1 − f²) · ratio^(2 · power))`, the magnetizing current `f` (a share of the
        /// calibration's current) in quadrature with a load current that follows the shaft power
        /// (`power`: its elasticity, 3 for fans and centrifugal pumps). With the least share the
        /// motor may have, this is the steepest fall (and rise) a speed change can give the
        /// current; the power law's band keeps the flatter side. Nil: the power law alone.
        public var induction: Induction? = nil
        /// A supply voltage: besides its tolerance, it may rise as the machine's current falls
        /// (and sag as it rises) through the supply's impedance: up to `limit` × the current's
        /// relative change, the current read on the same row. Nil: none.
        public var sag: Sag? = nil

        /// Creates a role.
        public init(sensor: String, elasticity: Float, band: Float, lagged: Bool, tolerance: Float = 0,
                    induction: Induction? = nil, sag: Sag? = nil) {
            self.sensor = sensor
            self.elasticity = elasticity
            self.band = band
            self.lagged = lagged
            self.tolerance = tolerance
            self.induction = induction
            self.sag = sag
        }
    }

    /// How an induction motor's current follows speed (see `Role.induction`).
    public struct Induction: Sendable, Hashable, Codable {
        /// The least magnetizing current, as a share of the current at calibration.
        public var leastShare: Float
        /// Elasticity of the load current (the shaft power's) with speed.
        public var power: Float

        /// Creates the law.
        public init(leastShare: Float, power: Float) {
            self.leastShare = leastShare
            self.power = power
        }
    }

    /// How a supply voltage follows the machine's current (see `Role.sag`).
    public struct Sag: Sendable, Hashable, Codable {
        /// The current's sensor name (role).
        public var current: String
        /// Largest relative voltage drop per relative change of the current.
        public var limit: Float

        /// Creates the law.
        public init(current: String, limit: Float) {
            self.current = current
            self.limit = limit
        }
    }

    /// How fast one sensor of a two-state kind approaches the new state's level after a change
    /// of state (`StateCompensation.approachRows`): the range of first-order time constants,
    /// in seconds, that the learning fleet's machines showed, toward state 1 and toward state 0.
    /// A property of the machine, which calibration takes from here where its own phases are
    /// too short to pin it (see `StateCompensation.fit`'s `approachBounds`).
    public struct Approach: Sendable, Hashable, Codable {
        /// Sensor name (role) it applies to.
        public var sensor: String
        /// Time constants toward state 1 (a compressor loading), seconds.
        public var up: ClosedRange<Float>
        /// Time constants toward state 0, seconds.
        public var down: ClosedRange<Float>

        /// Creates an approach range.
        public init(sensor: String, up: ClosedRange<Float>, down: ClosedRange<Float>) {
            self.sensor = sensor
            self.up = up
            self.down = down
        }

        /// Per sensor of `roleNames` the range toward state 1 (index `s`) and toward state 0
        /// (`roleNames.count + s`) in rows of `secondsPerRow`; nil where `approaches` has none.
        public static func bounds(_ approaches: [Approach], roleNames: [String], secondsPerRow: Float) -> [ClosedRange<Float>?] {
            let n = roleNames.count
            var bounds = [ClosedRange<Float>?](repeating: nil, count: 2 * n)
            guard secondsPerRow > 0 else { return bounds }
            for (s, name) in roleNames.enumerated() {
                guard let a = approaches.first(where: { $0.sensor.lowercased() == name.lowercased() }) else { continue }
                bounds[s] = (a.up.lowerBound / secondsPerRow)...(a.up.upperBound / secondsPerRow)
                bounds[n + s] = (a.down.lowerBound / secondsPerRow)...(a.down.upperBound / secondsPerRow)
            }
            return bounds
        }
    }

    /// One kind of machine (pump, fan motor, …).
    public struct Kind: Sendable, Hashable, Codable {
        /// Name, for people (`pump`).
        public var name: String
        /// The sensor the plant sets (`speed`), or a state whose duty cycle the demand sets
        /// (a compressor's `loaded`).
        public var driver: String
        /// Whether the driver is a 0/1 state: roles then follow its moving averages (the duty
        /// cycle, linearly: `value ≈ reference · exp(elasticity · Δduty)`), never the state itself.
        public var duty: Bool
        /// The sensors that follow it.
        public var roles: [Role]
        /// A duty kind's sensors whose approach to each state's level the fleet showed (nil or
        /// empty: none).
        public var approaches: [Approach]? = nil

        /// Creates a kind.
        public init(name: String, driver: String, duty: Bool = false, roles: [Role], approaches: [Approach]? = nil) {
            self.name = name
            self.driver = driver
            self.duty = duty
            self.roles = roles
            self.approaches = approaches
        }
    }

    /// The kinds known.
    public var kinds: [Kind]
    /// Time constants, in seconds, of the moving averages of speed a lagged role may follow.
    public var lagSeconds: [Float]
    /// Rows whose driver is below this fraction of its calibration level are left as they are
    /// (starting, stopping: the power law says nothing useful there).
    public var minimumDriverRatio: Float

    /// Creates a prior.
    public init(kinds: [Kind], lagSeconds: [Float] = [300, 600, 1200, 2400], minimumDriverRatio: Float = 0.2) {
        self.kinds = kinds
        self.lagSeconds = lagSeconds
        self.minimumDriverRatio = minimumDriverRatio
    }

    /// The kind whose roles match the most of `sensorNames` (the driver among them and at least
    /// one role), or nil when no kind applies (e.g. a machine without a speed sensor).
    /// - Parameter named: only this kind is considered (a machine's `kind` in agent.conf, for
    ///   when its roles alone fit several kinds); nil: any kind.
    public func kind(for sensorNames: [String], named: String? = nil) -> Kind? {
        let names = Set(sensorNames.map { $0.lowercased() })
        var best: Kind? = nil
        var bestCount = 0
        for kind in kinds where names.contains(kind.driver.lowercased()) && (named.map { $0 == kind.name } ?? true) {
            let count = kind.roles.filter { names.contains($0.sensor.lowercased()) }.count
            if count > bestCount { best = kind; bestCount = count }
        }
        return best
    }

    /// Every sensor name the prior knows: the drivers and their roles, sorted.
    public var roleNames: [String] {
        Set(kinds.flatMap { [$0.driver] + $0.roles.map(\.sensor) }).sorted()
    }

    /// The first of `sensorNames` that looks like a driver the prior did not recognise (a name
    /// holding `speed`, `rpm`, `frequency` or `load`, but no driver's exact name): a hint that
    /// naming the sensors' roles would let the prior apply. Nil when none looks like one.
    public func unrecognisedDriver(among sensorNames: [String]) -> String? {
        let drivers = Set(kinds.map { $0.driver.lowercased() })
        return sensorNames.first { name in
            let lower = name.lowercased()
            return !drivers.contains(lower) && ["speed", "rpm", "frequency", "load"].contains { lower.contains($0) }
        }
    }
}

extension LoadPrior {
    /// The prior shipped in this build (`models/load-prior.txt`, compiled in), nil if it does not parse.
    public static let shipped: LoadPrior? = try? LoadPrior.parse(ShippedLoadPrior.text)

    /// The prior as text (the format of `models/load-prior.txt`).
    public func text(recipe: String) -> String {
        var out = "edge-agent load prior 1\n"
        out += "# \(recipe)\n"
        out += "# kind NAME driver SENSOR [duty] | role KIND SENSOR ELASTICITY BAND instant|lagged TOLERANCE [induction LEAST-SHARE POWER | sag CURRENT LIMIT]"
        if kinds.contains(where: { !($0.approaches ?? []).isEmpty }) { out += " | approach KIND SENSOR UP-LOW UP-HIGH DOWN-LOW DOWN-HIGH (s)" }
        out += "\n"
        out += "lags " + lagSeconds.map { LoadPrior.format($0) }.joined(separator: " ") + "\n"
        out += "minimum-driver-ratio \(LoadPrior.format(minimumDriverRatio))\n"
        for kind in kinds {
            out += "kind \(kind.name) driver \(kind.driver)\(kind.duty ? " duty" : "")\n"
            for role in kind.roles {
                out += "role \(kind.name) \(role.sensor) \(LoadPrior.format(role.elasticity)) \(LoadPrior.format(role.band)) \(role.lagged ? "lagged" : "instant") \(LoadPrior.format(role.tolerance))"
                if let i = role.induction { out += " induction \(LoadPrior.format(i.leastShare)) \(LoadPrior.format(i.power))" }
                if let g = role.sag { out += " sag \(g.current) \(LoadPrior.format(g.limit))" }
                out += "\n"
            }
            for a in kind.approaches ?? [] {
                out += "approach \(kind.name) \(a.sensor) " + [a.up.lowerBound, a.up.upperBound, a.down.lowerBound, a.down.upperBound]
                    .map { LoadPrior.format($0) }.joined(separator: " ") + "\n"
            }
        }
        return out
    }

    /// Reads the text format.
    /// - Throws: `LoadPriorError` naming the line that does not parse.
    public static func parse(_ text: String) throws(LoadPriorError) -> LoadPrior {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.split(separator: " ").map(String.init) }
        guard lines.first == ["edge-agent", "load", "prior", "1"] else {
            throw LoadPriorError(message: "line 1: expected \"edge-agent load prior 1\" (a load-prior file of another version?)")
        }
        lines.removeFirst()
        var prior = LoadPrior(kinds: [])
        for (i, f) in lines.enumerated() where !f.isEmpty && !f[0].hasPrefix("#") {
            let number = i + 2
            switch f[0] {
            case "lags":
                let values = f.dropFirst().compactMap { Float($0) }
                guard values.count == f.count - 1, values.allSatisfy({ $0 > 0 }) else { throw LoadPriorError(message: "line \(number): lags must be positive numbers of seconds") }
                prior.lagSeconds = values
            case "minimum-driver-ratio":
                guard f.count == 2, let v = Float(f[1]), v > 0 else { throw LoadPriorError(message: "line \(number): minimum-driver-ratio needs one positive number") }
                prior.minimumDriverRatio = v
            case "kind":
                guard f.count == 4 || (f.count == 5 && f[4] == "duty"), f[2] == "driver" else {
                    throw LoadPriorError(message: "line \(number): expected \"kind NAME driver SENSOR [duty]\"")
                }
                prior.kinds.append(Kind(name: f[1], driver: f[3], duty: f.count == 5, roles: []))
            case "role":
                guard f.count == 7 || f.count == 10, let e = Float(f[3]), let b = Float(f[4]), let t = Float(f[6]), e.isFinite, b.isFinite, b >= 0,
                      t.isFinite, t >= 0, f[5] == "instant" || f[5] == "lagged" else {
                    throw LoadPriorError(message: "line \(number): expected \"role KIND SENSOR ELASTICITY BAND instant|lagged TOLERANCE [induction LEAST-SHARE POWER | sag CURRENT LIMIT]\"")
                }
                guard let k = prior.kinds.lastIndex(where: { $0.name == f[1] }) else {
                    throw LoadPriorError(message: "line \(number): role of kind \"\(f[1])\" before its \"kind\" line")
                }
                var role = Role(sensor: f[2], elasticity: e, band: b, lagged: f[5] == "lagged", tolerance: t)
                if f.count == 10 {
                    switch f[7] {
                    case "induction":
                        guard let share = Float(f[8]), let power = Float(f[9]), share > 0, share < 1, power.isFinite, power > 0 else {
                            throw LoadPriorError(message: "line \(number): induction needs a least share between 0 and 1 and a power elasticity above 0")
                        }
                        role.induction = Induction(leastShare: share, power: power)
                    case "sag":
                        guard let limit = Float(f[9]), limit.isFinite, limit >= 0, limit < 1 else {
                            throw LoadPriorError(message: "line \(number): sag needs a current sensor and a limit between 0 and 1")
                        }
                        role.sag = Sag(current: f[8], limit: limit)
                    default:
                        throw LoadPriorError(message: "line \(number): unknown law \"\(f[7])\" (expected induction or sag)")
                    }
                }
                prior.kinds[k].roles.append(role)
            case "approach":
                let seconds = f.dropFirst(3).compactMap { Float($0) }
                guard f.count == 7, seconds.count == 4, seconds.allSatisfy({ $0.isFinite && $0 >= 0 }),
                      seconds[0] <= seconds[1], seconds[2] <= seconds[3] else {
                    throw LoadPriorError(message: "line \(number): expected \"approach KIND SENSOR UP-LOW UP-HIGH DOWN-LOW DOWN-HIGH\" (seconds, each low at most its high)")
                }
                guard let k = prior.kinds.lastIndex(where: { $0.name == f[1] }) else {
                    throw LoadPriorError(message: "line \(number): approach of kind \"\(f[1])\" before its \"kind\" line")
                }
                prior.kinds[k].approaches = (prior.kinds[k].approaches ?? []) + [Approach(sensor: f[2], up: seconds[0]...seconds[1], down: seconds[2]...seconds[3])]
            default:
                throw LoadPriorError(message: "line \(number): unknown entry \"\(f[0])\"")
            }
        }
        return prior
    }

    /// The prior as Swift source, compiled into the Detection module as `ShippedLoadPrior`.
    public func swiftSource(recipe: String) -> String {
        "// Generated by `\(recipe)`; do not edit by hand.\n"
            + "// The shipped load prior (see README, \"Loads calibration never saw: the load prior\").\n\n"
            + "/// The shipped load prior in the text format of `models/load-prior.txt`.\n"
            + "enum ShippedLoadPrior {\n    /// The file's text.\n    static let text = \"\"\"\n"
            + text(recipe: recipe) + "\"\"\"\n}\n"
    }

    /// A number with four decimals, without Foundation formatters.
    static func format(_ value: Float) -> String { EvaluationText.trimmed(Double(value), decimals: 4) }
}

/// A load prior that cannot be read; the message names the line.
public struct LoadPriorError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and where.
    public var message: String
    public var description: String { message }
}

/// One machine's load compensation: the prior's roles bound to its sensor columns and to the
/// levels its calibration saw. Stored in the detector; applied to every row before the
/// window-deviation score (`LoadCompensator`).
public struct LoadCompensation: Sendable, Hashable, Codable {
    /// The kind of machine the prior matched.
    public var kind: String
    /// Column of the driver (speed).
    public var driver: Int
    /// Whether the driver is a 0/1 state followed through its duty cycle (see `LoadPrior.Kind.duty`).
    public var duty: Bool
    /// The driver's calibration level: natural log of its median, or its mean (the duty cycle).
    public var driverReference: Float
    /// Per sensor: its calibration median (NaN: not compensated).
    public var reference: [Float]
    /// Per sensor: elasticity (0 where not compensated).
    public var elasticity: [Float]
    /// Per sensor: half-width of the tolerated elasticity range.
    public var band: [Float]
    /// Per sensor: whether it follows speed through a thermal lag.
    public var lagged: [Bool]
    /// Per sensor: log change tolerated at any speed.
    public var tolerance: [Float]
    /// Time constants of the driver's moving averages, in rows.
    public var lagRows: [Float]
    /// Rows whose driver is below this fraction of its reference are left as they are.
    public var minimumDriverRatio: Float
    /// Sensors whose role this machine's own calibration at several speeds contradicts (see
    /// `droppingMisfits`), one line each saying why and whether the sensor now follows the
    /// machine's own law or is left uncompensated; nil or empty: none.
    public var dropped: [String]? = nil
    /// The steady speeds calibration held (each level's median, lowest first; see
    /// `speedCoverage(values:)`), so that an alert at another speed can say so; nil in a
    /// detector calibrated before they were recorded, for a duty-cycle driver, or when the speed
    /// never held steady.
    public var calibratedSpeeds: [Float]? = nil
    /// Per sensor: the least magnetizing share of an induction motor's current (0: none; see
    /// `LoadPrior.Role.induction`); nil in a detector calibrated before it existed.
    public var inductionShare: [Float]? = nil
    /// Per sensor: the load current's elasticity with speed, where `inductionShare` is above 0.
    public var inductionPower: [Float]? = nil
    /// A supply voltage that may follow the machine's current (see `LoadPrior.Role.sag`); nil: none.
    public var sag: SupplySag? = nil

    /// A supply voltage bound to the machine's current column.
    public struct SupplySag: Sendable, Hashable, Codable {
        /// Column of the voltage.
        public var voltage: Int
        /// Column of the current.
        public var current: Int
        /// The current's calibration median.
        public var currentReference: Float
        /// Largest relative voltage drop per relative change of the current.
        public var limit: Float
    }

    /// Whether `speed` (the driver's reading) lies more than 5 % outside the steady speeds
    /// calibration held: the prior alone compensates the readings there. False when they are
    /// not recorded or the reading is not a number. Allocation-free.
    public func isOutsideCalibratedSpeeds(_ speed: Float) -> Bool {
        guard !duty, speed.isFinite, let speeds = calibratedSpeeds, let low = speeds.first, let high = speeds.last else { return false }
        return speed < low / 1.05 || speed > high * 1.05
    }

    /// The driver's calibration median (the speed calibration saw).
    public var referenceDriver: Float { duty ? driverReference : exp(driverReference) }

    /// The readings of sensor `s` the compensation accepts as explained by the driver at
    /// `point`: `reference · exp(k · Δ ∓ tolerance)` for every k in elasticity ± band and every
    /// Δ the point gives the sensor (the driver's change now; for a lagged sensor, anything
    /// between its moving averages' changes). Only for a compensated sensor (`reference[s]`
    /// finite); allocation-free. `LoadCompensator.apply` and `readingRange` share it, so what
    /// an alert quotes is what the detector judged.
    @inline(__always)
    func expectedReadings(sensor s: Int, at point: LoadOperatingPoint) -> (low: Float, high: Float) {
        let level = reference[s]
        let e = elasticity[s], b = band[s]
        // Lagged: anywhere between the power law at the current speed and at its moving
        // averages (where the thermal lags may still hold it).
        let from = lagged[s] ? point.lowLag : point.now, to = lagged[s] ? point.highLag : point.now
        let a = (e - b) * from, d = (e + b) * from, f = (e - b) * to, g = (e + b) * to
        var low = min(min(a, d), min(f, g)), high = max(max(a, d), max(f, g))
        if let shares = inductionShare, let powers = inductionPower, s < shares.count, shares[s] > 0 {
            // The magnetizing current in quadrature with a load current following the power.
            let f2 = shares[s] * shares[s], p = 2 * powers[s]
            let q1 = 0.5 * log(f2 + (1 - f2) * exp(p * from)), q2 = 0.5 * log(f2 + (1 - f2) * exp(p * to))
            low = min(low, min(q1, q2))
            high = max(high, max(q1, q2))
        }
        if let sag, sag.voltage == s, point.currentRatio.isFinite {
            // Through the supply's impedance: up as the current falls, down as it rises (a current
            // read beyond twice calibration's, a spike, moves it no further than twice would).
            let q = log(1 + sag.limit * (1 - min(max(point.currentRatio, 0), 2)))
            low += min(0, q)
            high += max(0, q)
        }
        return (level * exp(low - tolerance[s]), level * exp(high + tolerance[s]))
    }

    /// The raw readings of sensor `s` that the compensation at `point` maps into `range` (a
    /// range of compensated values, such as the detector's calibration range): what the
    /// detector judges a reading against at that operating point. Allocation-free.
    ///
    /// A compensated reading is its calibration level inside `expectedReadings` and keeps its
    /// distance to the nearer end outside it, a non-decreasing map, so the readings it sends
    /// into `range` are one interval: `range` moved by how far the expected readings lie from
    /// the level (the low end by the expected low end's distance, the high end by the high
    /// end's), wider by the expected span wherever `range` holds the level.
    ///
    /// - `point` nil (a row whose driver is missing or below `minimumDriverRatio`: left as it
    ///   is), or a sensor not compensated: `range` itself.
    /// - The speed itself: any speed from `minimumDriverRatio` of the calibration's up is set to
    ///   its calibration level, so `(minimumDriverRatio · calibration speed, +∞)` when `range`
    ///   holds that level. A duty-cycle driver (a 0/1 state) is not compensated: `range`.
    public func readingRange(sensor s: Int, compensated range: (low: Double, high: Double),
                             at point: LoadOperatingPoint?) -> (low: Double, high: Double) {
        guard let point, s >= 0, s < reference.count else { return range }
        if s == driver, !duty {
            let speed = exp(driverReference)
            guard range.low <= Double(speed), Double(speed) <= range.high else { return range }
            return (Double(minimumDriverRatio * speed), .infinity)
        }
        guard reference[s].isFinite else { return range }
        let expected = expectedReadings(sensor: s, at: point)
        let level = Double(reference[s]), low = Double(expected.low), high = Double(expected.high)
        return (range.low <= level ? range.low + (low - level) : range.low + (high - level),
                range.high >= level ? range.high + (high - level) : range.high + (low - level))
    }

    /// The operating point of a machine that has run steadily with its driver at `reading`
    /// (every moving average caught up with it): a speed, or a duty-cycle driver's duty (the
    /// mean of its 0/1 state). Nil where the compensation leaves rows as they are (not a
    /// number, or a speed below `minimumDriverRatio` of the calibration's).
    public func settledPoint(driver reading: Float) -> LoadOperatingPoint? {
        guard reading.isFinite else { return nil }
        let change: Float
        if duty {
            change = reading - driverReference
        } else {
            guard reading > 0, reading >= minimumDriverRatio * exp(driverReference) else { return nil }
            change = log(reading) - driverReference
        }
        return LoadOperatingPoint(now: change, lowLag: change, highLag: change)
    }

    /// Binds `prior` to a machine calibrated on `values` (row-major, NaN = missing); nil when no
    /// kind matches its sensors or its driver had no positive level during calibration.
    /// `sensorNames` are the names the prior matches: each sensor's role where it has one.
    /// - Parameter secondsPerRow: the time between two rows (for the thermal lags).
    /// - Parameter kindName: only this kind of the prior may match (nil: the best match).
    /// - Parameter runStarts: rows where the machine runs again after a stop (its moving
    ///   averages start afresh there, as the agent's do).
    public static func fit(prior: LoadPrior, values: ArraySlice<Float>, sensorNames: [String],
                           kindName: String? = nil, secondsPerRow: Float = 1, runStarts: [Int] = []) -> LoadCompensation? {
        let n = sensorNames.count
        guard n > 1, let kind = prior.kind(for: sensorNames, named: kindName),
              let driver = sensorNames.firstIndex(where: { $0.lowercased() == kind.driver.lowercased() }) else { return nil }
        let rows = values.count / n
        func column(_ s: Int) -> [Float] { (0..<rows).map { values[values.startIndex + $0 * n + s] }.filter(\.isFinite) }
        let levels = column(driver)
        let speed = kind.duty ? levels.reduce(0, +) / Float(max(1, levels.count)) : RobustStatistics.median(levels)
        guard speed.isFinite, kind.duty || speed > 0 else { return nil }
        var reference = [Float](repeating: .nan, count: n)
        var elasticity = [Float](repeating: 0, count: n)
        var band = [Float](repeating: 0, count: n)
        var lagged = [Bool](repeating: false, count: n)
        var tolerance = [Float](repeating: 0, count: n)
        var inductionShare = [Float](repeating: 0, count: n)
        var inductionPower = [Float](repeating: 0, count: n)
        var sag: SupplySag? = nil
        var any = false
        for (s, name) in sensorNames.enumerated() where s != driver {
            guard let role = kind.roles.first(where: { $0.sensor.lowercased() == name.lowercased() }),
                  role.lagged || !kind.duty else { continue }
            let level = RobustStatistics.median(column(s))
            // A power law needs a level away from zero (a signed sensor crossing zero has none).
            guard level.isFinite, level > 0 else { continue }
            reference[s] = level
            elasticity[s] = role.elasticity
            band[s] = role.band
            lagged[s] = role.lagged
            tolerance[s] = role.tolerance
            if let induction = role.induction {
                inductionShare[s] = induction.leastShare
                inductionPower[s] = induction.power
            }
            if let law = role.sag, let current = sensorNames.firstIndex(where: { $0.lowercased() == law.current.lowercased() }) {
                let currentLevel = RobustStatistics.median(column(current))
                if currentLevel.isFinite, currentLevel > 0 {
                    sag = SupplySag(voltage: s, current: current, currentReference: currentLevel, limit: law.limit)
                }
            }
            any = true
        }
        guard any else { return nil }
        let step = max(secondsPerRow, 1e-3)
        var compensation = LoadCompensation(kind: kind.name, driver: driver, duty: kind.duty,
                                            driverReference: kind.duty ? speed : log(speed), reference: reference,
                                            elasticity: elasticity, band: band, lagged: lagged, tolerance: tolerance,
                                            lagRows: prior.lagSeconds.map { max(1, $0 / step) },
                                            minimumDriverRatio: prior.minimumDriverRatio)
        if inductionShare.contains(where: { $0 > 0 }) {
            compensation.inductionShare = inductionShare
            compensation.inductionPower = inductionPower
        }
        compensation.sag = sag
        if !kind.duty {
            let temperatures = sensorNames.indices.filter { sensorNames[$0].lowercased().hasSuffix("temperature") }
            compensation.referLaggedToSettledSpeed(sensors: temperatures, values: values, runStarts: runStarts)
        }
        return compensation
    }

    /// Moves each lagged temperature's (`sensors`) reference to the level it would settle at with the speed
    /// held at the calibration's reference, where calibration ran at speeds its moving averages
    /// show had not settled: the median reading is then a level on its way (a winding still
    /// warming after a step up, a cooler one after a step down), which the compensation would
    /// otherwise take as the settled level at the median speed. Each row's reading is taken
    /// back by the law's central elasticity over the middle of the changes it may still follow
    /// (now and the moving averages, `LoadOperatingPoint`); the reference is the median of
    /// those. A calibration whose speed stayed within half a settled-speed bin (2.5 %) of its
    /// reference on every row keeps the plain median, as before.
    mutating func referLaggedToSettledSpeed(sensors temperatures: [Int], values: ArraySlice<Float>, runStarts: [Int]) {
        let n = reference.count
        let sensors = temperatures.filter { $0 < n && lagged[$0] && reference[$0].isFinite && elasticity[$0] != 0 }
        guard n > 0, !sensors.isEmpty else { return }
        let rows = values.count / n
        var middles = [Float](repeating: .nan, count: rows)
        var compensator = LoadCompensator(self)
        var row = [Float](repeating: .nan, count: n)
        let starts = Set(runStarts)
        var moved = false
        for r in 0..<rows {
            if r > 0, starts.contains(r) { compensator = LoadCompensator(self) }
            for c in 0..<n { row[c] = values[values.startIndex + r * n + c] }
            row.withUnsafeMutableBufferPointer { compensator.apply($0) }
            guard let point = compensator.operatingPoint else { continue }
            middles[r] = (point.lowLag + point.highLag) / 2
            if max(abs(point.lowLag), abs(point.highLag)) > 0.5 * SettledSpeeds.binWidth { moved = true }
        }
        guard moved else { return }
        for s in sensors {
            let settled = (0..<rows).compactMap { r -> Float? in
                let x = values[values.startIndex + r * n + s]
                guard x.isFinite, x > 0, middles[r].isFinite else { return nil }
                return x * exp(-elasticity[s] * middles[r])
            }
            let level = RobustStatistics.median(settled)
            if level.isFinite, level > 0 { reference[s] = level }
        }
    }

    /// Compensates a block of rows in order with a fresh compensator (calibration rows).
    public func apply(to values: ArraySlice<Float>) -> [Float] {
        var compensator = LoadCompensator(self)
        return rowByRow(values, sensorCount: reference.count) { compensator.apply($0) }
    }

    /// This compensation with the sensors whose calibration readings (`values`, row-major, the
    /// rows it was fitted on) contradict their role re-fitted to this machine: when calibration
    /// ran at several settled speeds, a sensor whose compensated level still differs between them
    /// by more than its noise explains follows this machine's own law, not the kind's (a pump
    /// whose static head makes flow collapse at half speed). Such a sensor is compensated with the
    /// elasticity its own settled levels show, and a band reaching each of them (at least the
    /// kind's), without lags; so the other speeds calibration showed leave nothing for the
    /// window-deviation baseline to discount as wandering, while what speed cannot explain (a
    /// closing valve) still stands out. A lagged role is tested with its lags (the compensated
    /// level already spans the power law at the current speed and at its moving averages) and,
    /// when it visibly settled within every stretch of steady speed after stepping at a change
    /// (a pressure the prior calls lagged that is fast on this machine), also at those settled
    /// levels without them (`settledSpread`). A lagged sensor contradicting its role while still
    /// drifting has no law to fit: it is left uncompensated, for the baseline's operating
    /// directions. A calibration at one speed keeps the prior: nothing here tests it.
    /// - Parameter sensorNames: names for the reasons recorded in `dropped`.
    public func droppingMisfits(values: ArraySlice<Float>, sensorNames: [String]) -> LoadCompensation {
        let n = reference.count
        let binWidth = SettledSpeeds.binWidth
        guard let settledSpeeds = settledSpeeds(values: values), settledSpeeds.testsThePrior else { return self }
        let (levels, centers, stretches, logSpeed) = (settledSpeeds.levels, settledSpeeds.centers, settledSpeeds.stretches, settledSpeeds.logSpeed)
        guard let first = centers.first, let last = centers.last else { return self }
        let compensated = apply(to: values)
        var result = self
        var reasons: [String] = []
        for s in 0..<n where reference[s].isFinite {
            func column(_ rows: [Int], _ block: some Collection<Float>) -> [Float] {
                rows.map { block[block.index(block.startIndex, offsetBy: $0 * n + s)] }
            }
            let levelMedians = levels.map { RobustStatistics.median(column($0, compensated)) }
            let noises = levels.map { level -> Float in
                let raw = column(level, values)
                return RobustStatistics.scaledMAD(raw, center: RobustStatistics.median(raw))
            }
            let low = levelMedians.min() ?? .nan, high = levelMedians.max() ?? .nan
            let noise = RobustStatistics.median(noises)
            guard low.isFinite, high.isFinite, noise.isFinite else { continue }
            let limit = 3 * noise + (tolerance[s] + 0.005) * abs(reference[s])
            var moves = high - low
            var how = "its compensated level still moves"
            // Its lags explain anything between the old and the new speed's level; a sensor that
            // visibly reached its level within each stretch must fit the law there.
            let settled = lagged[s] ? settledSpread(sensor: s, stretches: stretches, values: values, logSpeed: logSpeed) : nil
            if moves <= limit, let settled {
                moves = settled
                how = "it settles within each stretch of steady speed, and its settled level still moves"
            }
            guard moves > limit else { continue }
            // This machine's own elasticity between its settled speeds (Theil–Sen over the levels).
            let logLevels = levels.map { level in log(max(RobustStatistics.median(column(level, values)), 1e-12)) }
            var slopes: [Float] = []
            for i in levels.indices { for j in levels.indices where j > i && centers[j] > centers[i] {
                slopes.append((logLevels[j] - logLevels[i]) / (centers[j] - centers[i]))
            } }
            let theilSen = RobustStatistics.median(slopes)
            // A sensor that reaches its level within seconds (not lagged, or seen settling) follows
            // this machine's own law through its settled levels: each level's elasticity against
            // the calibration's reference, their median, and a band reaching every one of them
            // (at least the kind's band). A lagged one still drifting through its stretches says
            // nothing that fits a law: it is left as it is, for the operating directions.
            var own: [Float] = []
            for (j, center) in centers.enumerated() where abs(center - driverReference) >= 0.5 * binWidth {
                own.append((logLevels[j] - log(reference[s])) / (center - driverReference))
            }
            let name = s < sensorNames.count ? sensorNames[s] : "sensor \(s + 1)"
            var reason = "\(name): at \(levels.count) settled speeds (\(EvaluationText.fixed(Double(exp(first)), 0))–\(EvaluationText.fixed(Double(exp(last)), 0))) \(how) by \(EvaluationText.fixed(Double(moves), 3)) (allowed \(EvaluationText.fixed(Double(limit), 3))): elasticity here \(EvaluationText.fixed(Double(theilSen), 2)), prior \(EvaluationText.fixed(Double(elasticity[s]), 2)) ± \(EvaluationText.fixed(Double(band[s]), 2))"
            if !lagged[s] || settled != nil, !own.isEmpty {
                let e = RobustStatistics.median(own)
                let b = max(band[s], own.map { abs($0 - e) }.max() ?? 0)
                result.elasticity[s] = e
                result.band[s] = b
                result.lagged[s] = false
                result.inductionShare?[s] = 0
                reason += "; compensated with this machine's own \(EvaluationText.fixed(Double(e), 2)) ± \(EvaluationText.fixed(Double(b), 2)) instead"
            } else {
                result.reference[s] = .nan
                result.inductionShare?[s] = 0
                result.elasticity[s] = 0
                result.band[s] = 0
                result.lagged[s] = false
                result.tolerance[s] = 0
                reason += "; left uncompensated: its calibration's operating directions judge it instead"
            }
            reasons.append(reason)
        }
        if !reasons.isEmpty { result.dropped = reasons }
        return result
    }

    /// The speeds a calibration held steady (`values`: row-major, the rows it was fitted on):
    /// nil for a duty-cycle driver or fewer rows than one settled level needs. A row is settled
    /// when the speed stayed within 2 % for the 20 rows before it; settled rows are binned by
    /// log speed (bins 0.05 wide) and a bin with at least 20 of them is a level.
    func settledSpeeds(values: ArraySlice<Float>) -> SettledSpeeds? {
        let n = reference.count
        let rows = n > 0 ? values.count / n : 0
        let settleRows = 20, minimumRows = 20
        guard !duty, rows >= 2 * settleRows + minimumRows, driver < n else { return nil }
        let binWidth = SettledSpeeds.binWidth
        // Log speed per row; a row is settled when the speed stayed within 2 % for settleRows rows.
        let logSpeed = (0..<rows).map { r -> Float in
            let v = values[values.startIndex + r * n + driver]
            return v.isFinite && v >= minimumDriverRatio * exp(driverReference) ? log(v) : .nan
        }
        var bins: [Int: [Int]] = [:]
        // Runs of consecutive settled rows in one bin: the stretches between speed changes.
        var stretches: [[Int]] = []
        var lastBin: Int? = nil
        for r in settleRows..<rows {
            var low = Float.infinity, high = -Float.infinity, usable = true
            for k in (r - settleRows)...r {
                usable = usable && logSpeed[k].isFinite
                low = min(low, logSpeed[k])
                high = max(high, logSpeed[k])
            }
            guard usable, high - low < 0.02 else { continue }
            let bin = Int((logSpeed[r] / binWidth).rounded(.down))
            bins[bin, default: []].append(r)
            if bin == lastBin, let previous = stretches.last?.last, previous == r - 1 {
                stretches[stretches.count - 1].append(r)
            } else {
                stretches.append([r])
            }
            lastBin = bin
        }
        stretches.removeAll { $0.count < minimumRows }
        let levels = bins.values.filter { $0.count >= minimumRows }.sorted { logSpeed[$0[0]] < logSpeed[$1[0]] }
        let centers = levels.map { level in RobustStatistics.median(level.map { logSpeed[$0] }) }
        return SettledSpeeds(levels: levels, centers: centers, stretches: stretches, logSpeed: logSpeed)
    }

    /// Which speeds the calibration rows `values` (row-major, the rows it was fitted on) held
    /// steady, and so whether they test the prior on this machine (see `droppingMisfits`);
    /// nil for a duty-cycle driver or too few rows to say.
    public func speedCoverage(values: ArraySlice<Float>) -> SpeedCoverage? {
        guard let speeds = settledSpeeds(values: values) else { return nil }
        return SpeedCoverage(settledSpeeds: speeds.centers.map { exp($0) }, testsThePrior: speeds.testsThePrior)
    }

    /// For a lagged sensor, how far apart its settled levels lie once the speed's own law (without
    /// lags) is taken out, or nil when they do not say: judged only when the sensor settled within
    /// every stretch of steady speed (its two halves agree within their noise) after visibly
    /// stepping at a speed change. A thermal lag drifts through the stretch instead (or, too slow
    /// to see, does not step), so it is never judged here: its lags may still hold it anywhere
    /// between the old and the new speed's level.
    /// - Parameters:
    ///   - stretches: runs of consecutive rows at one settled speed, in time order.
    ///   - logSpeed: natural log of the driver per row (NaN: unusable).
    func settledSpread(sensor s: Int, stretches: [[Int]], values: ArraySlice<Float>, logSpeed: [Float]) -> Float? {
        let n = reference.count
        func value(_ r: Int) -> Float { values[values.startIndex + r * n + s] }
        var levels: [(start: Float, end: Float, compensated: Float, logSpeed: Float, noise: Float, count: Int)] = []
        for stretch in stretches {
            let half = stretch.count / 2
            let first = stretch.prefix(half).map(value).filter(\.isFinite)
            let second = stretch.suffix(stretch.count - half).filter { value($0).isFinite }
            guard first.count >= 5, second.count >= 5 else { return nil }
            // Row-to-row changes measure the noise whatever the sensor's drift.
            let steps = zip(stretch.dropFirst(), stretch).map { value($0) - value($1) }.filter(\.isFinite)
            let noise = RobustStatistics.scaledMAD(steps, center: 0) / Float(2).squareRoot()
            let compensated = second.map { r -> Float in
                let x = value(r), delta = logSpeed[r] - driverReference
                // At this speed settled: no lags (the row's current is not needed: a lagged role
                // is never a supply voltage).
                let (lo, hi) = expectedReadings(sensor: s, at: LoadOperatingPoint(now: delta, lowLag: delta, highLag: delta))
                return x < lo ? reference[s] - (lo - x) : (x > hi ? reference[s] + (x - hi) : reference[s])
            }
            levels.append((RobustStatistics.median(first), RobustStatistics.median(second.map(value)),
                           RobustStatistics.median(compensated), RobustStatistics.median(second.map { logSpeed[$0] }),
                           noise, stretch.count))
        }
        guard levels.count >= 2 else { return nil }
        // The standard error of a difference of two half medians, for each stretch.
        func standardError(_ level: (start: Float, end: Float, compensated: Float, logSpeed: Float, noise: Float, count: Int)) -> Float {
            1.2533 * level.noise * 2 / Float(level.count).squareRoot()
        }
        let floor = 0.005 * abs(reference[s])
        // Settled: no drift within any stretch beyond 3 standard errors and 0.5 % of the level.
        for level in levels where abs(level.end - level.start) > 3 * standardError(level) + floor { return nil }
        // Stepped: at some change of speed the level moved by clearly more than that.
        let stepped = zip(levels.dropFirst(), levels).contains { next, previous in
            abs(next.logSpeed - previous.logSpeed) >= 0.05
                && abs(next.start - previous.end) > 3 * (standardError(next) + standardError(previous)) + floor
        }
        guard stepped else { return nil }
        let compensated = levels.map(\.compensated)
        guard let low = compensated.min(), let high = compensated.max() else { return nil }
        return high - low
    }
}

/// Where one row put a machine for its load compensation: the natural log of its speed over the
/// calibration's (`LoadCompensation.driverReference`), now and the lowest and highest of its
/// moving averages (a duty-cycle driver: its 0/1 state and its duty over the calibration's,
/// linearly). A sensor without a thermal lag is expected where the speed is now, a lagged one
/// anywhere between its averages (`LoadCompensation.expectedReadings`).
public struct LoadOperatingPoint: Sendable, Hashable {
    /// The driver's change from its calibration level at this row.
    public var now: Float
    /// The lowest of the changes a lagged sensor may still follow (now and the moving averages;
    /// a duty-cycle driver: its moving averages only).
    public var lowLag: Float
    /// The highest of them.
    public var highLag: Float
    /// The machine's current over its calibration median on this row, for a supply voltage
    /// that sags with it (`LoadCompensation.sag`); NaN: not known (no such law, the current not
    /// read, or a settled point without a row).
    public var currentRatio: Float

    /// Creates a point.
    public init(now: Float, lowLag: Float, highLag: Float, currentRatio: Float = .nan) {
        self.now = now
        self.lowLag = lowLag
        self.highLag = highLag
        self.currentRatio = currentRatio
    }
}

/// The steady speeds found in a calibration's rows (`LoadCompensation.settledSpeeds(values:)`).
struct SettledSpeeds {
    /// Width of a level's bin, in log speed (about 5 %).
    static let binWidth: Float = 0.05
    /// The least span, in log speed (about 10 %), between the lowest and highest level for the
    /// calibration to test the prior on this machine.
    static let minimumSpan: Float = 0.1
    /// Per level, its settled rows, levels by increasing speed.
    var levels: [[Int]]
    /// Per level, its median log speed.
    var centers: [Float]
    /// Runs of consecutive settled rows at one level, in time order.
    var stretches: [[Int]]
    /// Log speed per row (NaN: unusable).
    var logSpeed: [Float]

    /// Whether the levels are at least two and span `minimumSpan`.
    var testsThePrior: Bool {
        guard levels.count >= 2, let first = centers.first, let last = centers.last else { return false }
        return last - first >= Self.minimumSpan
    }
}

/// The steady speeds a calibration saw, for `calibrate` to say whether the load prior was tested
/// on this machine or is trusted untested at other speeds.
public struct SpeedCoverage: Sendable, Hashable, Codable {
    /// The median speed of each level the calibration held for at least 20 settled rows, lowest
    /// first, in the driver's unit (empty: the speed never held steady).
    public var settledSpeeds: [Float]
    /// Whether the levels were at least two and at least 10 % apart: then calibration tested the
    /// prior's roles on this machine (`LoadCompensation.droppingMisfits`); otherwise every other
    /// speed is judged through the prior alone.
    public var testsThePrior: Bool
}

/// Applies a `LoadCompensation` to rows as they arrive: each compensated sensor's reading is
/// moved back to its calibration level by the part the speed explains. Allocation-free per row.
///
/// The expected reading at the current speed is `reference · exp(k · Δ)` for every elasticity k
/// within `elasticity ± band` and, for lagged sensors, every Δ among the log speed's change now
/// and of its moving averages; a reading inside that range becomes the reference level, one
/// outside keeps its distance to the nearer end. So a new speed gives the score nothing, while
/// a reading the speed cannot explain (a leak's flow, an imbalance's vibration) keeps its offset.
public struct LoadCompensator: Sendable {
    /// The compensation applied.
    public let compensation: LoadCompensation
    private var averages: [Float]
    private var started = false
    /// Where the last row put the machine (see `LoadOperatingPoint`); nil when the row was left
    /// as it is (driver missing, or below `minimumDriverRatio` of its calibration level) or
    /// none came yet.
    public private(set) var operatingPoint: LoadOperatingPoint?

    /// Creates a compensator whose moving averages start at the first usable row.
    public init(_ compensation: LoadCompensation) {
        self.compensation = compensation
        averages = [Float](repeating: 0, count: compensation.lagRows.count)
    }

    /// The driver's moving average with time constant `lagRows[k]`, as a change from its
    /// calibration level (log speed, or duty), after the last row applied.
    public func lagAverage(_ k: Int) -> Float { averages[k] }

    /// Compensates one row in place (one value per sensor, NaN = missing).
    public mutating func apply(_ row: UnsafeMutableBufferPointer<Float>) {
        let c = compensation
        operatingPoint = nil
        guard c.driver < row.count else { return }
        let speed = row[c.driver]
        let now: Float
        if c.duty {
            guard speed.isFinite else { return }
            now = speed - c.driverReference
        } else {
            guard speed.isFinite, speed > 0, speed >= c.minimumDriverRatio * exp(c.driverReference) else { return }
            now = log(speed) - c.driverReference
            // The speed itself is the plant's choice: any speed it runs at is normal.
            row[c.driver] = exp(c.driverReference)
        }
        if !started {
            // A duty cycle starts at calibration's (one state says nothing about it).
            for k in averages.indices { averages[k] = c.duty ? 0 : now }
            started = true
        } else {
            for k in averages.indices { averages[k] += (now - averages[k]) / c.lagRows[k] }
        }
        var lowLag = c.duty ? averages.first ?? 0 : now, highLag = lowLag
        for a in averages { lowLag = min(lowLag, a); highLag = max(highLag, a) }
        // The current as read, before its own compensation rewrites it.
        var currentRatio = Float.nan
        if let sag = c.sag, sag.current < row.count { currentRatio = row[sag.current] / sag.currentReference }
        let point = LoadOperatingPoint(now: now, lowLag: lowLag, highLag: highLag, currentRatio: currentRatio)
        operatingPoint = point
        for s in 0..<min(row.count, c.reference.count) {
            let level = c.reference[s]
            let x = row[s]
            guard level.isFinite, x.isFinite else { continue }
            let (lo, hi) = c.expectedReadings(sensor: s, at: point)
            if x < lo {
                row[s] = level - (lo - x)
            } else if x > hi {
                row[s] = level + (x - hi)
            } else {
                row[s] = level
            }
        }
    }
}

/// A copy of `values` (row-major, `n` per row) with `body` applied to each row in order: how the
/// compensations rewrite a block of calibration rows with the code that rewrites live rows.
func rowByRow(_ values: ArraySlice<Float>, sensorCount n: Int, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
    var out = Array(values)
    guard n > 0 else { return out }
    out.withUnsafeMutableBufferPointer { buffer in
        var r = 0
        while (r + 1) * n <= buffer.count {
            body(UnsafeMutableBufferPointer(rebasing: buffer[(r * n)..<((r + 1) * n)]))
            r += 1
        }
    }
    return out
}
