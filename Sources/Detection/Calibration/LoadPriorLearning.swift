#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One machine's recording for learning a load prior: its kind, sensor names and rows.
public struct LoadPriorMachine: Sendable {
    /// Kind of machine (machines of one kind share a prior).
    public var kind: String
    /// Sensor names, in column order.
    public var sensorNames: [String]
    /// Rows, row-major, NaN = missing; normal operation (no faults).
    public var values: [Float]

    /// Creates a recording.
    public init(kind: String, sensorNames: [String], values: [Float]) {
        self.kind = kind
        self.sensorNames = sensorNames
        self.values = values
    }
}

/// Settings of `LoadPriorLearning`.
public struct LoadPriorLearningSettings: Sendable, Hashable {
    /// The sensor the plant sets.
    public var driver = "speed"
    /// A 0/1 state whose duty cycle the demand sets, for kinds without `driver`.
    public var dutyDriver = "loaded"
    /// For a duty driver: the sensor that says whether the machine runs (above `runningFraction`
    /// of its highest); without it every row counts.
    public var dutyRunning = "motor_current"
    /// Time between rows.
    public var secondsPerRow: Float = 1
    /// Rows of one reference stretch (what a calibration sees).
    public var referenceRows = 600
    /// A new reference stretch starts every this many running rows.
    public var referenceEvery = 3600
    /// Rows averaged per sample (the detector's window).
    public var windowRows = 20
    /// Samples whose log speed is closer than this to the reference's teach nothing about slopes.
    public var minimumLogChange: Float = 0.1
    /// The band covers this fraction of the samples (beyond three noise units).
    public var coverage: Float = 0.98
    /// A lagged role is chosen when its band is below this fraction of the instantaneous one.
    public var lagPreference: Float = 0.8
    /// Rows whose driver is below this fraction of the machine's highest are not running.
    public var runningFraction: Float = 0.3
    /// Rows after each start left out (the detector's run signal leaves settling rows out).
    public var settleRows = 600
    /// Log change the detector tolerates anyway (its 1 % level floor, times a threshold of about 2):
    /// a band need not cover it. Used to decide whether a role follows speed at all.
    public var tolerance: Float = 0.02
    /// The same, for the band of a role that follows speed (elasticity ≠ 0 with `tolerance`); a
    /// role found flat keeps `tolerance` (a supply voltage's sag is the load's, not the speed's).
    /// The default, `tolerance`, changes nothing. 0.01 (the detector's 1 % level floor alone: fan
    /// motors' currents 0.6 % and 1.5 % beyond their band alerted) was tried and not shipped: see
    /// docs/load-prior.md, "Fan motors at speeds calibration did not see".
    public var followingTolerance: Float = 0.02
    /// The speed-driven kinds' motor current (role name) that gets an induction motor's law
    /// besides its learned power law (`LoadPrior.Role.induction`): physics, not learned. The
    /// least magnetizing share and the load current's elasticity (the shaft power's: fans and
    /// centrifugal pumps, speed³) bound how steeply the current may fall or rise with speed;
    /// the learned power law, fitted across speeds where the magnetizing part flattens it,
    /// does not reach a motor's steepest secants near its top speed (see docs/load-prior.md,
    /// "Fan motors and pumps at speeds calibration did not see: the mechanisms"). Nil: none.
    public var inductionCurrent: String? = "motor_current"
    /// Least magnetizing current as a share of the calibration's (an induction motor's no-load
    /// current is about a fifth to a half of its rated current).
    public var inductionLeastShare: Float = 0.2
    /// Elasticity of the load current with speed.
    public var inductionPower: Float = 3
    /// The speed-driven kinds' supply voltage (role name) that may sag with `inductionCurrent`
    /// through the supply's impedance (`LoadPrior.Role.sag`): physics, not learned. Nil: none.
    public var supplyVoltage: String? = "supply_voltage"
    /// Largest voltage drop per relative change of the current: 5 %, the drop an installation
    /// may have at full load (IEC 60364-5-52, Annex G).
    public var sagLimit: Float = 0.05
    /// Samples whose speed (and its averages) moved less than this from the reference's show
    /// what a role does at an unchanged speed.
    public var steadyLogChange: Float = 0.02
    /// Roles needing a wider band than this are left out: speed explains too little of them
    /// (ambient temperature), and so wide a band would hide their faults.
    public var maximumBand: Float = 1
    /// Whether machines that switch between two states are moved to one state's levels first
    /// (as `CalibrationSettings.compensateStates` does in calibration).
    public var compensateStates = true
    /// With `compensateStates`: whether the state compensation also fits each sensor's approach
    /// to the new state's level (as `CalibrationSettings.fitsStateApproach`).
    public var fitsStateApproach = true
    /// With `compensateStates`: sensors judged over another (as
    /// `CalibrationSettings.referencedSensors`), sensor → reference, by role name.
    public var referencedSensors: [String: String] = SensorOverReference.shippedPairs
    /// Time constants of the moving averages of speed, seconds.
    public var lagSeconds: [Float] = [300, 600, 1200, 2400]
    /// A two-state sensor's approach time constants become the kind's (`LoadPrior.Approach`)
    /// when the fleet's highest is at most this many times its lowest, in each direction.
    public var approachAgreement: Float = 1.5

    /// The defaults (see docs/load-prior.md).
    public init() {}
}

/// Learns a `LoadPrior` from normal operation of many machines: per kind and sensor role, the
/// elasticity to speed and the narrowest band around it that covers `coverage` of what the
/// machines did, once each machine's levels are taken relative to a short reference stretch
/// (exactly the detector's view: a calibration, then later speeds).
public enum LoadPriorLearning {
    /// Samples of one role: log change of the reading and of the speed (now and its averages).
    struct Sample {
        var y: Float
        var now: Float
        var low: Float
        var high: Float
        var noise: Float
    }

    /// Learns the prior.
    public static func learn(_ machines: [LoadPriorMachine], settings: LoadPriorLearningSettings = LoadPriorLearningSettings()) -> LoadPrior {
        var kinds: [LoadPrior.Kind] = []
        var kindNames: [String] = []
        for m in machines where !kindNames.contains(m.kind) && (m.sensorNames.contains(settings.driver) || m.sensorNames.contains(settings.dutyDriver)) {
            kindNames.append(m.kind)
        }
        for kindName in kindNames {
            var samples: [String: [Sample]] = [:]
            // Each machine's own elasticity per role (see `machineElasticity`).
            var machineElasticities: [String: [Float]] = [:]
            var order: [String] = []
            let duty = !machines.contains { $0.kind == kindName && $0.sensorNames.contains(settings.driver) }
            // How fast each two-state sensor approaches the new state's level, over the fleet:
            // calibration holds a fit its own phases do not pin to that range.
            let approaches = duty && settings.compensateStates && settings.fitsStateApproach
                ? approachRanges(machines.filter { $0.kind == kindName }, settings: settings) : []
            for var m in machines where m.kind == kindName {
                // As calibration does: a machine that switches between two states while it runs
                // is first moved to one state's levels, so the prior describes what is left of
                // each sensor after that. (Speed-driven machines: the recording's 0/1 sensor is
                // the run signal, whose stops calibration leaves out.)
                if duty, settings.compensateStates { m.values = preparedAsCalibration(m, settings: settings, approaches: approaches).values }
                for (role, list) in collect(m, duty: duty, settings: settings) {
                    if samples[role] == nil { order.append(role) }
                    samples[role, default: []] += list
                    if let e = machineElasticity(list, settings: settings) { machineElasticities[role, default: []].append(e) }
                }
            }
            var roles: [LoadPrior.Role] = []
            for role in order {
                guard let list = samples[role], list.count >= 50 else { continue }
                // What the role does at an unchanged speed (grid, weather) is tolerated at any speed.
                let steady = list.filter { max(duty ? 0 : abs($0.now), abs($0.low), abs($0.high)) < settings.steadyLogChange }
                    .map { max(0, abs($0.y) - 3 * $0.noise) }
                var tolerance = RobustStatistics.quantile(steady, Double(settings.coverage))
                if !tolerance.isFinite { tolerance = 0 }
                tolerance = (tolerance * 1000).rounded(.up) / 1000
                var instant = fit(list, lagged: false, tolerance: tolerance, slack: settings.tolerance, settings: settings)
                var lagged = fit(list, lagged: true, tolerance: tolerance, slack: settings.tolerance, settings: settings)
                var useLag = duty || lagged.band < settings.lagPreference * instant.band
                // A role that follows speed gets the band its misses need beyond what the detector
                // really tolerates (its level floor), not beyond twice that.
                if (useLag ? lagged : instant).elasticity != 0, settings.followingTolerance < settings.tolerance {
                    instant = fit(list, lagged: false, tolerance: tolerance, slack: settings.followingTolerance, settings: settings)
                    lagged = fit(list, lagged: true, tolerance: tolerance, slack: settings.followingTolerance, settings: settings)
                    useLag = duty || lagged.band < settings.lagPreference * instant.band
                }
                var chosen = useLag ? lagged : instant
                // The band is how far one machine's elasticity may lie from the kind's. A fitted
                // band of 0 says only that noise and tolerated change hid every sample's miss, not
                // that the machines agree: the miss recurs at every sample of a machine (pump
                // vibration: 0.03 mm/s that does not follow speed bends a quiet pump's law from
                // speed^2 toward speed^1.8). Then the band reaches every learning machine's own
                // elasticity instead. (A role that does not follow speed, elasticity 0, keeps
                // its tolerance alone: a supply voltage's sag is the load's, not the speed's.)
                if !duty, chosen.band == 0, chosen.elasticity != 0, let own = machineElasticities[role], own.count >= 2 {
                    let spread = own.map { abs($0 - chosen.elasticity) }.max() ?? 0
                    chosen.band = max(chosen.band, (spread * 1000).rounded(.up) / 1000)
                }
                // Left out: too wide to keep its faults, or no change at all (nothing to compensate).
                guard chosen.band <= settings.maximumBand, chosen.elasticity != 0 || chosen.band > 0 || tolerance > 0 else { continue }
                roles.append(LoadPrior.Role(sensor: role, elasticity: chosen.elasticity, band: chosen.band, lagged: useLag, tolerance: tolerance))
            }
            // Laws of electrical machines, not learned: a speed-driven kind's motor current and
            // the supply voltage that sags with it.
            if !duty, let current = settings.inductionCurrent, let k = roles.firstIndex(where: { $0.sensor == current }) {
                roles[k].induction = LoadPrior.Induction(leastShare: settings.inductionLeastShare, power: settings.inductionPower)
                if let voltage = settings.supplyVoltage, let v = roles.firstIndex(where: { $0.sensor == voltage }) {
                    roles[v].sag = LoadPrior.Sag(current: current, limit: settings.sagLimit)
                }
            }
            if !roles.isEmpty {
                kinds.append(LoadPrior.Kind(name: kindName, driver: duty ? settings.dutyDriver : settings.driver, duty: duty, roles: roles,
                                            approaches: approaches.isEmpty ? nil : approaches))
            }
        }
        return LoadPrior(kinds: kinds, lagSeconds: settings.lagSeconds)
    }

    /// A two-state machine's rows as calibration hands them to the load prior
    /// (`MachineDetector.calibrate`): sensors judged over their reference
    /// (`SensorOverReference`), then moved to one state's levels by a `StateCompensation` fitted
    /// on the running rows, with its approach, and applied run by run. Rows while stopped are
    /// left as they are (`collect` leaves them out). Unchanged when no state is found.
    ///
    /// The prior must describe what calibration leaves of each sensor: learned on other
    /// readings, its duty elasticity counts again what the approach and the reference already
    /// took off (a compressor's discharge temperature, whose lower level at a lower duty is the
    /// shorter loaded phases' incomplete approach and the cooler oil).
    /// - Parameter approaches: the kind's approach ranges, which calibration holds its fit to
    ///   where its phases do not pin it (`StateCompensation.fit`'s `approachBounds`).
    /// - Parameter skippingInrush: whether the running level `runningFraction` is taken of is
    ///   the indicator's 99th percentile rather than its highest reading. A compressor's motor
    ///   current starts at 2.5 times its rated current for a few seconds; 0.3 of that (0.75
    ///   rated) is above an unloaded compressor's current (0.38 rated), so on every machine that
    ///   started during its recording the highest reading leaves only loaded rows running, and
    ///   no state compensation is fitted (7 of the 8 compressors of `learn-load-prior`'s fleet;
    ///   the duty roles are still learned so, see docs/load-prior.md).
    /// - Returns: the rows, and the compensation fitted (nil: none).
    static func preparedAsCalibration(_ m: LoadPriorMachine, settings: LoadPriorLearningSettings,
                                      approaches: [LoadPrior.Approach] = [],
                                      skippingInrush: Bool = false) -> (values: [Float], state: StateCompensation?) {
        let n = m.sensorNames.count
        guard n > 1 else { return (m.values, nil) }
        let rows = m.values.count / n
        let overReference = SensorOverReference.find(in: m.values[...], roleNames: m.sensorNames, pairs: settings.referencedSensors)
        let values = overReference.map { $0.apply(to: m.values[...], sensorCount: n) } ?? m.values
        // Running rows, as `collect` tells them (a missing reading does not stop the machine).
        let indicator = m.sensorNames.firstIndex(of: settings.dutyRunning)
        let column = indicator.map { i in (0..<rows).map { m.values[$0 * n + i] } } ?? []
        let top = indicator == nil ? 0 : skippingInrush ? RobustStatistics.quantile(column, 0.99) : column.filter(\.isFinite).max() ?? 0
        var running: [Int] = []
        var starts: [Int] = []
        for r in 0..<rows {
            let x = indicator.map { m.values[r * n + $0] } ?? 1
            guard !x.isFinite || x >= settings.runningFraction * top else { continue }
            if let last = running.last, last != r - 1 { starts.append(running.count) }
            running.append(r)
        }
        var packed: [Float] = []
        packed.reserveCapacity(running.count * n)
        for r in running { packed += values[(r * n)..<((r + 1) * n)] }
        let bounds = LoadPrior.Approach.bounds(approaches, roleNames: m.sensorNames, secondsPerRow: settings.secondsPerRow)
        guard let state = StateCompensation.fit(values: packed[...], sensorCount: n, averagedRows: settings.windowRows,
                                                runStarts: starts, fitsApproach: settings.fitsStateApproach,
                                                approachBounds: bounds) else { return (m.values, nil) }
        let compensated = CalibrationRuns.byRun(packed[...], sensorCount: n, starts: starts) { rows, afterStop in
            state.apply(to: rows, settled: !afterStop)
        }
        var out = values
        for (i, r) in running.enumerated() {
            for s in 0..<n { out[r * n + s] = compensated[i * n + s] }
        }
        return (out, state)
    }

    /// Per two-state sensor (role name) the range of approach time constants, in seconds, that
    /// the machines' own fits (`preparedAsCalibration`, whole recordings, no bounds) showed in
    /// each direction; only sensors fitted on at least two machines, in the order first seen.
    /// A whole recording's many phases of every length pin what ten minutes of a low duty's
    /// short loaded phases do not.
    static func approachRanges(_ machines: [LoadPriorMachine], settings: LoadPriorLearningSettings) -> [LoadPrior.Approach] {
        var seen: [String: (up: [Float], down: [Float])] = [:]
        var order: [String] = []
        for m in machines {
            guard let state = preparedAsCalibration(m, settings: settings, skippingInrush: true).state, let rows = state.approachRows else { continue }
            let n = m.sensorNames.count
            for s in 0..<n where state.shift[s] != 0 && rows.count == 2 * n {
                let name = m.sensorNames[s]
                if seen[name] == nil { order.append(name) }
                seen[name, default: ([], [])].up.append(rows[s] * settings.secondsPerRow)
                seen[name, default: ([], [])].down.append(rows[n + s] * settings.secondsPerRow)
            }
        }
        return order.compactMap { name in
            guard let (up, down) = seen[name], up.count >= 2, let upLow = up.min(), let upHigh = up.max(),
                  let downLow = down.min(), let downHigh = down.max() else { return nil }
            // A property of the kind only where its machines agree (within a factor of
            // `approachAgreement`); a receiver's fill or an oil's warming depends on the demand
            // and the recording, not on the machine alone.
            guard upHigh <= settings.approachAgreement * upLow, downHigh <= settings.approachAgreement * downLow else { return nil }
            // Outward to a hundredth of a second, as the prior's text keeps them.
            func low(_ x: Float) -> Float { (x * 100).rounded(.down) / 100 }
            func high(_ x: Float) -> Float { (x * 100).rounded(.up) / 100 }
            return LoadPrior.Approach(sensor: name, up: low(upLow)...high(upHigh), down: low(downLow)...high(downHigh))
        }
    }

    /// The samples of every role of one machine.
    static func collect(_ m: LoadPriorMachine, duty: Bool, settings: LoadPriorLearningSettings) -> [(String, [Sample])] {
        let n = m.sensorNames.count
        guard n > 1, let driver = m.sensorNames.firstIndex(of: duty ? settings.dutyDriver : settings.driver) else { return [] }
        let rows = m.values.count / n
        // A duty driver is 0 whenever unloaded: whether it runs comes from another sensor.
        let indicator = duty ? m.sensorNames.firstIndex(of: settings.dutyRunning) : driver
        let top = indicator.map { i in (0..<rows).map { m.values[$0 * n + i] }.filter(\.isFinite).max() ?? 0 } ?? 0
        guard top > 0 || (duty && indicator == nil) else { return [] }
        // Running rows only, as the detector sees them (stops are left out by the run signal).
        var running: [Int] = []
        var sinceStart = Int.max / 2
        for r in 0..<rows {
            // A missing reading (a state change's settling rows) does not stop the machine.
            let s = indicator.map { m.values[r * n + $0] } ?? 1
            if !s.isFinite || s >= settings.runningFraction * top {
                sinceStart += 1
                if sinceStart > settings.settleRows { running.append(r) }
            } else {
                sinceStart = 0
            }
        }
        guard running.count > settings.referenceRows + settings.windowRows else { return [] }
        // Per running row: log speed and its moving averages.
        let lagRows = settings.lagSeconds.map { max(1, $0 / max(settings.secondsPerRow, 1e-3)) }
        func transformed(_ r: Int) -> Float {
            let x = m.values[r * n + driver]
            return duty ? (x.isFinite ? x : 0) : log(x)
        }
        let start = duty ? running.prefix(settings.referenceRows).map(transformed).reduce(0, +) / Float(settings.referenceRows)
                         : transformed(running[0])
        var averages = [Float](repeating: start, count: lagRows.count)
        var logSpeed: [Float] = [], lowAverage: [Float] = [], highAverage: [Float] = []
        for r in running {
            let l = transformed(r)
            for k in averages.indices { averages[k] += (l - averages[k]) / lagRows[k] }
            logSpeed.append(l)
            // A duty driver's state itself is no operating point: only its averages are.
            lowAverage.append(duty ? averages.min() ?? l : min(l, averages.min() ?? l))
            highAverage.append(duty ? averages.max() ?? l : max(l, averages.max() ?? l))
        }
        var result: [(String, [Sample])] = []
        for s in 0..<n where s != driver {
            let column = running.map { m.values[$0 * n + s] }
            let finite = column.filter(\.isFinite)
            // State bits (0/1) follow no power law.
            if finite.allSatisfy({ $0 == 0 || $0 == 1 }) || s == driver { continue }
            // Window means of the reading and of log speed, with the averages at the window's end.
            let w = settings.windowRows
            var y: [Float] = [], now: [Float] = [], low: [Float] = [], high: [Float] = []
            var start = 0
            while start + w <= column.count {
                let block = column[start..<(start + w)].filter(\.isFinite)
                let mean = block.isEmpty ? Float.nan : block.reduce(0, +) / Float(block.count)
                y.append(mean > 0 ? log(mean) : .nan)
                now.append(logSpeed[start..<(start + w)].reduce(0, +) / Float(w))
                low.append(lowAverage[start + w - 1])
                high.append(highAverage[start + w - 1])
                start += w
            }
            // Short-term noise of the window means (consecutive windows; load steps are rare).
            let changes = (1..<max(1, y.count)).map { abs(y[$0] - y[$0 - 1]) }.filter(\.isFinite)
            let noise = RobustStatistics.median(changes) * 1.4826 / Float(2).squareRoot()
            var list: [Sample] = []
            let referenceWindows = settings.referenceRows / w
            var reference = 0
            while reference + referenceWindows < y.count {
                let refY = RobustStatistics.median(y[reference..<(reference + referenceWindows)].filter(\.isFinite))
                let referenceNow = Array(now[reference..<(reference + referenceWindows)])
                let refL = duty ? referenceNow.reduce(0, +) / Float(referenceWindows) : RobustStatistics.median(referenceNow)
                if refY.isFinite, refL.isFinite {
                    for t in (reference + referenceWindows)..<y.count where y[t].isFinite {
                        list.append(Sample(y: y[t] - refY, now: now[t] - refL, low: low[t] - refL, high: high[t] - refL,
                                           noise: noise.isFinite ? noise : 0))
                    }
                }
                reference += max(1, settings.referenceEvery / w)
            }
            result.append((m.sensorNames[s], list))
        }
        return result
    }

    /// One machine's own elasticity for a role: the median of log change over log change of
    /// speed across its samples whose speed moved by at least `minimumLogChange` (nil: none). Its
    /// samples' noise averages out in the median; what remains is how this machine's law differs.
    static func machineElasticity(_ samples: [Sample], settings: LoadPriorLearningSettings) -> Float? {
        let ratios = samples.filter { abs($0.now) >= settings.minimumLogChange }.map { $0.y / $0.now }
        guard ratios.count >= 20 else { return nil }
        let e = RobustStatistics.median(ratios)
        return e.isFinite ? e : nil
    }

    /// The elasticity with the narrowest band covering `coverage` of the samples, and that band.
    /// - Parameters:
    ///   - tolerance: the role's tolerated change at an unchanged speed.
    ///   - slack: the change the detector is assumed to tolerate anyway.
    static func fit(_ samples: [Sample], lagged: Bool, tolerance: Float, slack: Float, settings: LoadPriorLearningSettings) -> (elasticity: Float, band: Float) {
        // The band the samples need at elasticity e, and (to choose among elasticities that need
        // the same band because noise and tolerance hide their difference) the median miss.
        func band(_ e: Float) -> (band: Float, miss: Float) {
            var needed: [Float] = [], misses: [Float] = []
            needed.reserveCapacity(samples.count)
            misses.reserveCapacity(samples.count)
            for x in samples {
                let from = lagged ? x.low : x.now, to = lagged ? x.high : x.now
                let reach = max(abs(from), abs(to))
                guard reach >= settings.minimumLogChange else { continue }
                let a = e * from, b = e * to
                let distance = x.y < min(a, b) ? min(a, b) - x.y : (x.y > max(a, b) ? x.y - max(a, b) : 0)
                needed.append(max(0, distance - 3 * x.noise - slack - tolerance) / reach)
                misses.append(distance / reach)
            }
            guard !needed.isEmpty else { return (.infinity, .infinity) }
            return (RobustStatistics.quantile(needed, Double(settings.coverage)), RobustStatistics.median(misses))
        }
        func search(from: Float, to: Float, step: Float) -> (Float, (band: Float, miss: Float)) {
            var best: (Float, (band: Float, miss: Float)) = (from, band(from))
            var e = from + step
            while e <= to + step / 2 {
                let b = band(e)
                if b.band < best.1.band - 1e-3 || (b.band <= best.1.band + 1e-3 && b.miss < best.1.miss) { best = (e, b) }
                e += step
            }
            return best
        }
        let coarse = search(from: -1, to: 3, step: 0.05)
        var best = search(from: coarse.0 - 0.05, to: coarse.0 + 0.05, step: 0.005)
        // Speed explains nothing beyond noise: no elasticity at all.
        let none = band(0)
        if none.band <= best.1.band + 1e-3 { best = (0, none) }
        return (elasticity: (best.0 * 1000).rounded() / 1000, band: (best.1.band * 1000).rounded(.up) / 1000)
    }
}
