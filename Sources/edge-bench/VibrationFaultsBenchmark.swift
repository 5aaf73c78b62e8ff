import Detection
import EdgeCore
import Simulator

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `edge-bench vibration-faults [--kind pump|motor|compressor] [--seeds FIRST-LAST] [--step-ms MS]
/// [--fault KIND] [--channel NAME] [--severity S] [--fault-minutes M] [--wander-power P] [--automatic] [--no-phase-means]
/// [--phase-states 1|0,1] [--no-load-prior] [--no-rise-check] [--no-spike-check] [--levels] [--settle|--no-settle]
/// [--settle-after-start S] [--stop-grace S] [--no-run-signal] [--trace]`: does a fault alert on a machine
/// calibrated for 10 minutes? (Vibration faults by default; `--fault` takes any of the machine
/// kind's process faults or a sensor fault, `--channel` the sensor a sensor fault hits;
/// `--wander-power P` calibrates with that wander discount power, 0 = none, to see what the
/// discount costs; `--no-phase-means` calibrates without `StatePhaseMeans`, `--phase-states 0,1`
/// judges the phases of both states instead of the loaded ones; `--no-load-prior` calibrates without the load prior, `--no-rise-check` without the `TemperatureRiseCheck`, `--no-spike-check` without the `RowSpikeCheck`;
/// `--fault-minutes M` lets the fault act M minutes instead of 10; `--levels` prints, per sensor the
/// fault moves, how far the load prior lets its level move and how far it moved.) Each simulated machine runs at one operating point (the
/// compressor at load 0.6, its receiver cycling it between loaded and unloaded; pumps and fan
/// motors at the middle of their range; `--automatic`: the plant's own load changes). Pumps and
/// fan motors are settled there (`SimulatedMachine.settle()`: thermal steady state at that point,
/// not at the load the simulator warmed them up at; `--no-settle`: as before 2026-11-30, still
/// cooling or warming toward it through the whole run); compressors are not, so that their
/// figures in docs/detection.md stay reproducible (`--settle` settles them too). Each is calibrated
/// on its first 10 minutes, runs 10 more minutes normally, then 10 minutes with the fault (step
/// profile). Prints per machine the weights of the sensors the fault moves (the simulator's label;
/// vibration for vibration faults) and of any other sensor weighted below 1, the alerted rows of
/// the normal stretch, and the fault's first alert (with the sensor that contributed most) and
/// peak score ÷ threshold. The `running` contact is the machine's run signal, as agent.conf's
/// `run_signal = "running"` makes it: stopped (and settling, `--settle-after-start S` seconds,
/// default 0 as agent.conf's) rows are neither calibrated on nor scored, and a start after a stop
/// restarts the stream as the agent does (`DetectorStream.restart(afterStop:recoveryRows:)`);
/// `--stop-grace S` leaves out, as agent.conf's `stop_grace` does, the rows S seconds or less
/// before each stop (the machine already stopping with its contact still on: a fan coasting
/// down; default 0, agent.conf's default for a running contact; `RunState.stopGrace`);
/// `--no-run-signal` scores every row, stopped or not, as the bench did before 2026-11-30 (a
/// stopped machine's readings alerted and "caught" faults). `--trace` adds, per machine, the
/// plant's operating-point changes and, for the normal stretch's alerted rows, the sensor that
/// contributed most, how it was judged (level, rise, phase) and, at its first alerted row, its
/// reading against the load prior's range at the speed and its moving averages. Figures, not a pass/fail: see docs/detection.md ("Vibration and the wander discount").
func vibrationFaultsBenchmark(_ args: [String]) throws -> Int32 {
    var kinds: [MachineKind] = [.compressor, .pump, .motor]
    var seeds: ClosedRange<UInt64> = 1...10
    var stepMilliseconds: Int64 = 100
    var fault = FaultKind.imbalance
    var severity = 0.5
    var automatic = false
    var phaseMeans = true
    var phaseStates = [1]
    var channel: String?
    var wanderPower: Float?
    var loadPrior = true
    var riseCheck = true
    var spikeCheck = true
    var faultMinutes = 10
    var levels = false
    var settle: Bool?
    var trace = false
    var settleAfterStartSeconds = 0.0
    var stopGraceSeconds = 0.0
    var runSignal = true
    try forEachBenchOption(args, flags: ["--trace", "--no-run-signal", "--automatic", "--no-load-prior", "--no-rise-check", "--no-spike-check", "--levels", "--settle", "--no-settle", "--no-phase-means"]) { name, value in
        switch name {
        case "--kind":
            guard let k = MachineKind(rawValue: value) else { throw BenchError("--kind must be pump, motor or compressor, not \"\(value)\"") }
            kinds = [k]
        case "--seeds":
            seeds = try seedRange(value)
        case "--step-ms":
            guard let ms = Int64(value), ms > 0 else { throw BenchError("--step-ms takes milliseconds > 0, not \"\(value)\"") }
            stepMilliseconds = ms
        case "--fault":
            guard let k = FaultKind(rawValue: value) else {
                throw BenchError("--fault must be one of \(FaultKind.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(value)\"")
            }
            fault = k
        case "--channel":
            guard !value.isEmpty else { throw BenchError("--channel takes a sensor name") }
            channel = value
        case "--severity":
            guard let s = Double(value), s > 0, s <= 1 else { throw BenchError("--severity takes 0 < S ≤ 1, not \"\(value)\"") }
            severity = s
        case "--wander-power":
            guard let p = Float(value), p >= 0 else { throw BenchError("--wander-power takes a power ≥ 0, not \"\(value)\"") }
            wanderPower = p
        case "--fault-minutes":
            guard let m = Int(value), m > 0 else { throw BenchError("--fault-minutes takes whole minutes > 0, not \"\(value)\"") }
            faultMinutes = m
        case "--automatic":
            automatic = true
        case "--no-load-prior":
            loadPrior = false
        case "--no-rise-check":
            riseCheck = false
        case "--no-spike-check":
            spikeCheck = false
        case "--levels":
            levels = true
        case "--settle", "--no-settle":
            settle = name == "--settle"
        case "--no-phase-means":
            phaseMeans = false
        case "--trace":
            trace = true
        case "--no-run-signal":
            runSignal = false
        case "--settle-after-start":
            guard let seconds = Double(value), seconds >= 0 else { throw BenchError("--settle-after-start takes seconds ≥ 0, not \"\(value)\"") }
            settleAfterStartSeconds = seconds
        case "--stop-grace":
            guard let seconds = Double(value), seconds >= 0 else { throw BenchError("--stop-grace takes seconds ≥ 0, not \"\(value)\"") }
            stopGraceSeconds = seconds
        case "--phase-states":
            let states = value.split(separator: ",").compactMap { Int($0) }
            guard !states.isEmpty, states.allSatisfy({ $0 == 0 || $0 == 1 }) else {
                throw BenchError("--phase-states takes 0, 1 or 0,1, not \"\(value)\"")
            }
            phaseStates = states
        default:
            throw BenchError("unknown argument \"\(name)\" (expected --kind, --seeds, --step-ms, --fault, --channel, --severity, --fault-minutes, --wander-power, --automatic, --no-phase-means, --phase-states, --no-load-prior, --no-rise-check, --no-spike-check, --levels, --settle, --no-settle, --settle-after-start, --stop-grace, --no-run-signal, --trace)")
        }
    }
    print("vibration-faults: \(fault.rawValue)\(channel.map { " on \($0)" } ?? "") severity \(severity) (step) for \(faultMinutes) min\(loadPrior ? "" : ", no load prior"), polls every \(stepMilliseconds) ms, \(automatic ? "automatic operation" : "one operating point" + (settle.map { $0 ? ", settled" : ", not settled" } ?? ", pumps and fan motors settled")); seeds \(seeds.lowerBound)–\(seeds.upperBound)")
    // The run-signal settings, as agent.conf would give them: the figures depend on them.
    print(runSignal ? "run signal: the running contact, settle_after_start \(EvaluationText.fixed(settleAfterStartSeconds, 1)) s, stop_grace \(EvaluationText.fixed(stopGraceSeconds, 1)) s" : "no run signal: every row scored")
    print("calibrated on 10 min; weights (the sensors the fault moves | any other below 1) / alerted rows in 10 normal min / first alert after the fault began [top sensor] / peak score ÷ threshold during the fault [top sensor]")
    for kind in kinds {
        guard fault.isSensorFault || kind.applicableFaults.contains(fault) else {
            print("\(kind.rawValue): \(fault.rawValue) does not apply")
            continue
        }
        var caught = 0, machines = 0, falseMachines = 0
        for seed in seeds {
            let outcome = vibrationProcedure(kind: kind, seed: seed, stepMilliseconds: stepMilliseconds, fault: fault,
                                             severity: severity, automatic: automatic, channel: channel,
                                             wanderPower: wanderPower, phaseMeans: phaseMeans, phaseStates: phaseStates,
                                             loadPrior: loadPrior, riseCheck: riseCheck, spikeCheck: spikeCheck, faultMinutes: faultMinutes, levels: levels, trace: trace,
                                             settleAfterStartSeconds: settleAfterStartSeconds, stopGraceSeconds: stopGraceSeconds, runSignal: runSignal,
                                             settle: !automatic && (settle ?? (kind != .compressor)))
            machines += 1
            if outcome.firstAlertSeconds != nil { caught += 1 }
            if outcome.normalAlertRows > 0 { falseMachines += 1 }
            func list(_ w: [(name: String, weight: Float)]) -> String {
                w.map { "\($0.name) \(EvaluationText.fixed(Double($0.weight), 3))" }.joined(separator: ", ")
            }
            let weights = list(outcome.weights) + (outcome.otherWeights.isEmpty ? "" : " | " + list(outcome.otherWeights))
            let first = outcome.firstAlertSeconds.map { "\(EvaluationText.fixed($0, 1)) s [\(outcome.firstAlertSensor)]" } ?? "none"
            print("  \(kind.rawValue) seed \(seed): \(weights) / \(outcome.normalAlertRows) / \(first) / \(EvaluationText.fixed(outcome.peakRatio, 2))× [\(outcome.peakSensor)]\(outcome.notes.isEmpty ? "" : "  (\(outcome.notes))")")
        }
        print("\(kind.rawValue): the fault alerts on \(caught) of \(machines); \(falseMachines) of \(machines) alert in the normal stretch")
    }
    return 0
}

private struct VibrationOutcome {
    var weights: [(name: String, weight: Float)] = []
    var otherWeights: [(name: String, weight: Float)] = []
    var normalAlertRows = 0
    var firstAlertSeconds: Double?
    var firstAlertSensor = ""
    var peakRatio = 0.0
    var peakSensor = ""
    var notes = ""
}

private func vibrationProcedure(kind: MachineKind, seed: UInt64, stepMilliseconds: Int64, fault: FaultKind,
                                severity: Double, automatic: Bool, channel: String?,
                                wanderPower: Float?, phaseMeans: Bool, phaseStates: [Int],
                                loadPrior: Bool, riseCheck: Bool, spikeCheck: Bool, faultMinutes: Int, levels: Bool, trace: Bool = false,
                                settleAfterStartSeconds: Double = 0, stopGraceSeconds: Double = 0, runSignal: Bool = true, settle: Bool) -> VibrationOutcome {
    var options = MachineOptions()
    options.stepMilliseconds = stepMilliseconds
    options.automaticOperation = automatic
    var machine = SimulatedMachine(kind: kind, id: "m", seed: seed, options: options)
    if !automatic {
        let range = machine.loadRange
        machine.setOperatingPoint(running: true, load: kind == .compressor ? 0.6 : (range.lowerBound + range.upperBound) / 2)
        if settle { machine.settle() }
    }
    // A running contact is the run signal, not a scored sensor (as the agent leaves it out).
    let keep = machine.channels.indices.filter { machine.channels[$0].name != "running" }
    let names = keep.map { machine.channels[$0].name }
    let rowsPerMinute = Int(60_000 / stepMilliseconds)
    var sample: [Double] = []
    // Channels (machine order) that any faulty row's label says the fault shows on.
    var moved: UInt64 = 0
    var operation: [String] = []
    var lastPoint = machine.operatingPoint
    let startPoint = lastPoint
    // The running contact, the machine's run signal as agent.conf's `run_signal = "running"`.
    let runColumn = runSignal ? machine.channels.firstIndex { $0.name == "running" } : nil
    var running: [Double] = []
    func rows(minutes: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(minutes * rowsPerMinute * keep.count)
        for _ in 0..<(minutes * rowsPerMinute) {
            let at = machine.elapsedSeconds
            moved |= machine.step(into: &sample).channels
            let point = machine.operatingPoint
            if trace, point.running != lastPoint.running || point.load != lastPoint.load {
                operation.append("\(EvaluationText.fixed(at, 1)) s " + (point.running ? "run at \(EvaluationText.fixed(point.load, 3))" : "stop"))
                lastPoint = point
            }
            for k in keep { out.append(Float(sample[k])) }
            running.append(runColumn.map { sample[$0] } ?? 1)
        }
        return out
    }
    // The same machine, for `--levels`: run on without the fault.
    var twin = machine
    let calibration = rows(minutes: 10)
    let normal = rows(minutes: 10)
    var notes: [String] = []
    do {
        try machine.inject(fault, severity: severity, durationSeconds: Double(faultMinutes * 60), profile: .step, channel: channel)
    } catch {
        notes.append("not injected: \(error)")
    }
    let faulty = rows(minutes: faultMinutes)

    var settings = CalibrationSettings()
    settings.secondsPerRow = Float(stepMilliseconds) / 1000
    settings.machineKind = kind.rawValue
    if let wanderPower { settings.deviation.wanderPenaltyPower = wanderPower }
    if !phaseMeans { settings.phaseMeans = nil }
    if !loadPrior { settings.loadPrior = nil }
    settings.checkTemperatureRise = riseCheck
    settings.checkRowSpikes = spikeCheck
    settings.phaseMeans?.states = phaseStates
    // As the agent calibrates with a run signal: stopped and settling rows left out, each run
    // calibrated on its own (`SensorTable.runningRowSelection`).
    let n = names.count
    let settleMilliseconds = Int64(settleAfterStartSeconds * 1000)
    // Which rows the agent judges (its `RunState`, times in milliseconds): running and settled,
    // and not `stop_grace` or less before a stop (the agent waits that long before judging a
    // row and drops the rows a stop finds waiting).
    var runState = RunState(settleTime: settleMilliseconds, holdTime: Int64(RunState.heldPolls) * stepMilliseconds,
                            stopGrace: Int64((stopGraceSeconds * 1000).rounded()))
    var phases: [RunState.Phase] = [], judged: [Bool] = []
    var runBegin = 0
    for r in running.indices {
        let time = Int64(r) * stepMilliseconds
        let wasRunning = runState.isScored
        let phase = runState.observe(running[r], at: time)
        phases.append(phase)
        judged.append(phase == .running)
        if phase == .running, runState.startsAfresh { runBegin = r }
        if phase != .running, wasRunning {
            var k = r - 1
            while k >= runBegin, judged[k], !runState.isJudged(rowAt: Int64(k) * stepMilliseconds, stoppedAt: time) {
                judged[k] = false
                k -= 1
            }
        }
    }
    // A judged row after rows that were not starts afresh (no window straddles a stop).
    func startsAfresh(_ r: Int) -> Bool { r > 0 && judged[r] && !judged[r - 1] }
    var runningCalibration: [Float] = [], runStarts: [Int] = []
    for r in 0..<(calibration.count / n) where judged[r] {
        if startsAfresh(r), !runningCalibration.isEmpty { runStarts.append(runningCalibration.count / n) }
        runningCalibration.append(contentsOf: calibration[(r * n)..<(r * n + n)])
    }
    if runningCalibration.count < calibration.count { notes.append("calibrated on \(runningCalibration.count / n) running rows") }
    let detector = Calibrator(settings: settings).calibrate(values: runningCalibration[...], sensorNames: names, runStarts: runStarts).detector
    var outcome = VibrationOutcome()
    let isMoved = keep.map { moved & (1 << UInt64($0)) != 0 }
    for (s, name) in names.enumerated() {
        if isMoved[s] || (moved == 0 && name.hasPrefix("vibration")) {
            outcome.weights.append((name, detector.baseline.weight[s]))
        } else if detector.baseline.weight[s] < 1 {
            outcome.otherWeights.append((name, detector.baseline.weight[s]))
        }
    }
    if let state = detector.state {
        let shifted = names.indices.filter { names[$0].hasPrefix("vibration") && state.shift[$0] != 0 }
        notes.append("state \(names[state.state])\(shifted.isEmpty ? "" : ", vibration shifted")")
    }
    if let operating = detector.baseline.operating { notes.append("\(operating.directionCount) operating directions") }
    // Why a vibration sensor is or is not compensated for the state: its two states' levels
    // apart in units of its within-state spread of single rows, and of window means.
    if let loaded = names.firstIndex(of: "loaded") {
        let n = names.count, w = Float(settings.deviation.windowRows)
        var changes = 0
        for r in 1..<(calibration.count / n) where calibration[r * n + loaded] != calibration[(r - 1) * n + loaded] { changes += 1 }
        notes.append("\(changes) changes of loaded")
        for (s, name) in names.enumerated() where name.hasPrefix("vibration") {
            let on = (0..<(calibration.count / n)).filter { calibration[$0 * n + loaded] == 1 }.map { calibration[$0 * n + s] }
            let off = (0..<(calibration.count / n)).filter { calibration[$0 * n + loaded] == 0 }.map { calibration[$0 * n + s] }
            let m1 = RobustStatistics.median(on), m0 = RobustStatistics.median(off)
            let spread = max(RobustStatistics.scaledMAD(on, center: m1), RobustStatistics.scaledMAD(off, center: m0))
            let apart = abs(m1 - m0) / spread
            notes.append("\(name) loaded \(EvaluationText.fixed(Double(m1), 3)) unloaded \(EvaluationText.fixed(Double(m0), 3)): \(EvaluationText.fixed(Double(apart), 1)) row spreads, \(EvaluationText.fixed(Double(apart * w.squareRoot()), 1)) window spreads")
        }
    }
    if let phases = detector.phases {
        let judged = (0..<2).map { k in names.indices.filter { phases.center[k * names.count + $0].isFinite }.map { names[$0] } }
        notes.append("phase means loaded: \(judged[1].joined(separator: " ")), unloaded: \(judged[0].joined(separator: " "))")
    }
    notes.append("threshold \(EvaluationText.fixed(Double(detector.threshold), 2))")
    if levels {
        // Per sensor the fault moves: its level in the calibration's last minute, the change of
        // level the load prior tolerates at an unchanged speed, the change of the last minute of
        // the fault from it and the same without the fault (the twin machine), and how far the
        // sensor's minute means wander in a day at this operating point without the fault (their
        // range, and their largest change over as many minutes as the fault lasted).
        var minuteMeans = [[Double]](repeating: [], count: names.count)
        var sums = [Double](repeating: 0, count: names.count)
        var twinSample: [Double] = []
        for _ in 0..<(24 * 60) {
            for j in sums.indices { sums[j] = 0 }
            for _ in 0..<rowsPerMinute {
                _ = twin.step(into: &twinSample)
                for (j, k) in keep.enumerated() { sums[j] += twinSample[k] }
            }
            for j in sums.indices { minuteMeans[j].append(sums[j] / Double(rowsPerMinute)) }
        }
        let width = names.count
        func lastMinuteMean(_ block: [Float], _ s: Int) -> Double {
            let count = block.count / width
            let values = ((count - rowsPerMinute)..<count).map { Double(block[$0 * width + s]) }.filter(\.isFinite)
            return values.reduce(0, +) / Double(max(1, values.count))
        }
        func fixed(_ x: Double) -> String { (x >= 0 ? "+" : "") + EvaluationText.fixed(x, 2) }
        for s in names.indices where isMoved[s] {
            let base = lastMinuteMean(calibration, s)
            var text = "\(names[s]) \(EvaluationText.fixed(base, 2))"
            if let load = detector.load, load.reference[s].isFinite {
                let r = Double(load.reference[s]), t = Double(load.tolerance[s])
                text += ", prior tolerates -\(EvaluationText.fixed(r * (1 - exp(-t)), 2))/+\(EvaluationText.fixed(r * (exp(t) - 1), 2)) around \(EvaluationText.fixed(r, 2))"
            }
            let m = minuteMeans[s]
            let withoutFault = m[20 + faultMinutes - 1] - base
            let day = (m.max() ?? .nan) - (m.min() ?? .nan)
            let fastest = (faultMinutes..<m.count).map { abs(m[$0] - m[$0 - faultMinutes]) }.max() ?? .nan
            text += ", fault's last minute \(fixed(lastMinuteMean(faulty, s) - base)) (without the fault \(fixed(withoutFault)))"
            text += ", a day without it: range \(EvaluationText.fixed(day, 2)), largest change in \(faultMinutes) min \(EvaluationText.fixed(fastest, 2))"
            notes.append(text)
        }
    }
    outcome.notes = notes.joined(separator: "; ")
    var stream = detector.makeStream()
    // As the agent follows its run signal (`ScoringEngine`): a stopped or settling row is not
    // scored, and a run after a stop starts the stream afresh, judged as a recovery from the
    // stop's last row over the settling time.
    var stoppedRow: [Float]?
    let recoveryRows = Int(settleMilliseconds / stepMilliseconds)
    var rowIndex = 0
    func topSensor() -> String {
        let c = stream.contributions
        guard let top = c.indices.filter({ c[$0].isFinite }).max(by: { c[$0] < c[$1] }) else { return "-" }
        return names[top]
    }
    if trace {
        let start = machine.loadRange
        notes.append("starts at \(EvaluationText.fixed(startPoint.load, 3)); load range \(EvaluationText.fixed(start.lowerBound, 3))–\(EvaluationText.fixed(start.upperBound, 3)); operation: \(operation.isEmpty ? "no change" : operation.joined(separator: ", "))")
        outcome.notes = notes.joined(separator: "; ")
    }
    // With `--trace`: the normal stretch's alerted rows by top sensor and how it was judged.
    var tally: [String: (rows: Int, first: Double, last: Double)] = [:]
    var firstReadings: [String] = []
    for (phase, block) in [calibration, normal, faulty].enumerated() {
        for r in 0..<(block.count / n) {
            let row = rowIndex
            rowIndex += 1
            if phases[row] == .stopped { stoppedRow = Array(block[(r * n)..<(r * n + n)]) }
            guard judged[row] else { continue }
            if startsAfresh(row) {
                stream.restart(afterStop: stoppedRow, recoveryRows: recoveryRows)
                stoppedRow = nil
            }
            let (score, alert) = stream.process(row: block[(r * n)..<(r * n + n)])
            if trace, phase == 1, alert {
                let c = stream.contributions
                if let top = c.indices.filter({ c[$0].isFinite }).max(by: { c[$0] < c[$1] }) {
                    let judged = stream.temperatureRise(column: top) != nil ? "rise" : (stream.expectation(column: top)?.phase != nil ? "phase" : "level")
                    let key = "\(names[top]) \(judged)", t = 600 + Double(r) * Double(stepMilliseconds) / 1000
                    if tally[key] == nil {
                        var text = "\(key) at \(EvaluationText.fixed(t, 1)) s: read \(block[r * n + top])"
                        if let load = detector.load, let p = stream.loadOperatingPoint, load.reference[top].isFinite {
                            let ref = Double(load.reference[top]), range = load.readingRange(sensor: top, compensated: (ref, ref), at: p)
                            text += ", reference \(EvaluationText.fixed(ref, 3)), prior \(EvaluationText.fixed(range.low, 3))…\(EvaluationText.fixed(range.high, 3)) at speed ×\(EvaluationText.fixed(Double(exp(p.now)), 3)) (lags ×\(EvaluationText.fixed(Double(exp(p.lowLag)), 3))…×\(EvaluationText.fixed(Double(exp(p.highLag)), 3)))"
                        }
                        if let e = stream.expectation(column: top) { text += ", window expects \(e.low)…\(e.high)" }
                        if let rise = stream.temperatureRise(column: top) { text += ", rise \(rise.change) (normal ≤ \(rise.normalChange))" }
                        firstReadings.append(text)
                    }
                    let old = tally[key] ?? (0, t, t)
                    tally[key] = (old.rows + 1, old.first, t)
                }
            }
            if phase == 1, alert {
                if outcome.normalAlertRows == 0 {
                    outcome.notes += "; normal stretch alerts first at \(EvaluationText.fixed(Double(r) * Double(stepMilliseconds) / 1000, 1)) s [\(topSensor())]"
                }
                outcome.normalAlertRows += 1
            }
            guard phase == 2 else { continue }
            if score.isFinite, Double(score / detector.alertThreshold) > outcome.peakRatio {
                outcome.peakRatio = Double(score / detector.alertThreshold)
                outcome.peakSensor = topSensor()
            }
            if alert, outcome.firstAlertSeconds == nil {
                outcome.firstAlertSeconds = Double(r) * Double(stepMilliseconds) / 1000
                outcome.firstAlertSensor = topSensor()
            }
        }
    }
    if trace, !tally.isEmpty {
        outcome.notes += "; normal-stretch alerts (s from calibration start): " + tally.sorted { $0.value.first < $1.value.first }
            .map { "\($0.key) \($0.value.rows) rows \(EvaluationText.fixed($0.value.first, 1))–\(EvaluationText.fixed($0.value.last, 1))" }.joined(separator: ", ")
        outcome.notes += "; " + firstReadings.joined(separator: "; ")
    }
    return outcome
}
