import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Simulator
import Testing

/// A machine calibrated in one operating state (a compressor unloaded) that goes into the other
/// one (loaded): not an anomaly but a state its calibration never saw. The agent's scoring path
/// gives one "uncalibrated operating state" notice and no anomaly alerts for it, and goes on
/// judging (and alerting on faults) once the machine has been back in the calibrated state long
/// enough to settle. Each case runs the same rows through an engine whose detector does not
/// record the calibrated states (as before): that one alerts, so the cases fail without the rule.
@Suite struct UncalibratedStateTests {
    /// Anomaly events and scored windows of one engine over a run of rows.
    struct Outcome {
        var raised: [Double] = []
        var cleared: [AlertEvent] = []
        var judged = 0
        var notices: [String] = []
    }

    static func detectorFiles(_ table: SensorTable, stateColumn: Int, settings: CalibrationSettings) -> (plain: DetectorFile, states: DetectorFile) {
        var (detector, report) = Calibrator(settings: settings).calibrate(table: table)
        let plain = DetectorFile(machine: "compressor-1", calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
        detector.calibratedStates = CalibratedStates.observe(values: table.values[...], sensorCount: table.sensorCount, columns: [stateColumn])
        let states = DetectorFile(machine: "compressor-1", calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
        return (plain, states)
    }

    /// A simulated compressor polled every 100 ms (no automatic operation, running at `load`),
    /// stepped into an unloaded stretch (15 s unloaded), and the next 30 s of rows (or `rows`) as
    /// its calibration table; `loaded` is the loaded sensor's column.
    static func simulatedCompressorUnloaded(seed: UInt64, load: Double, rows: Int = 300) throws
        -> (sim: SimulatedMachine, table: SensorTable, loaded: Int) {
        var options = MachineOptions()
        options.automaticOperation = false
        options.stepMilliseconds = 100
        var sim = SimulatedMachine(kind: .compressor, id: "compressor-1", seed: seed, options: options)
        sim.setOperatingPoint(running: true, load: load)
        let loaded = try #require(sim.channelIndex(named: "loaded"))
        var row: [Double] = []
        var unloadedRun = 0
        while unloadedRun < 150 {
            _ = sim.step(into: &row)
            unloadedRun = row[loaded] == 0 ? unloadedRun + 1 : 0
        }
        var calibration: [Float] = [], times: [String] = []
        for _ in 0..<rows {
            times.append(sim.time.iso8601)
            _ = sim.step(into: &row)
            calibration += row.map(Float.init)
        }
        return (sim, SensorTable(sensorNames: sim.channels.map(\.name), timestamps: times, values: calibration), loaded)
    }

    /// A simulated compressor polled every 100 ms, calibrated on 30 s of unloaded rows (the
    /// case met in a benchmark), then run for 10 minutes at a demand that loads it about every
    /// 80 s.
    @Test("a compressor calibrated unloaded gives one notice and no anomaly alerts when it loads", arguments: [UInt64(2), 5, 8])
    func simulatedCompressorCalibratedUnloaded(seed: UInt64) throws {
        let unloaded = try Self.simulatedCompressorUnloaded(seed: seed, load: 0.2)
        var sim = unloaded.sim
        let table = unloaded.table, loaded = unloaded.loaded
        var row: [Double] = []
        #expect(CalibratedStates.observe(values: table.values[...], sensorCount: table.sensorCount, columns: [loaded]).sensors
                == [CalibratedStates.Sensor(column: loaded, states: [0])])
        var machine = MachineConfiguration(id: "compressor-1", sensors: sim.channels.enumerated().map { i, channel in
            var sensor = SensorConfiguration(name: channel.name, bus: "b", address: i)
            if channel.name == "loaded" {
                sensor.kind = .discrete
                sensor.type = .bool
            }
            return sensor
        })
        machine.pollInterval = .milliseconds(100)
        var settings = CalibrationSettings()
        settings.secondsPerRow = 0.1
        settings.machineKind = "compressor"
        let files = Self.detectorFiles(table, stateColumn: loaded, settings: settings)
        var engines = [files.plain, files.states].map { ScoringEngine(machines: [machine], models: [MachineModel(path: "memory", file: $0)]) }
        var outcomes = [Outcome(), Outcome()]
        var firstLoaded: Double?
        for step in 0..<6000 {
            let time = sim.time
            _ = sim.step(into: &row)
            if firstLoaded == nil, row[loaded] == 1 { firstLoaded = Double(step) / 10 }
            let readings = row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
            for e in 0..<2 {
                let events = engines[e].process(readings) { _ in outcomes[e].judged += 1 }
                for event in events where event.alert.kind == .anomaly && event.change == .raised {
                    outcomes[e].raised.append(Double(step) / 10)
                }
                outcomes[e].notices += engines[e].takeUncalibratedStateNotices()
            }
        }
        print("seed \(seed): first loaded after \(firstLoaded ?? -1) s; without the rule \(outcomes[0].raised.count) alerts raised at \(outcomes[0].raised) s, \(outcomes[0].judged) windows judged; with it \(outcomes[1].raised.count) alerts, \(outcomes[1].judged) windows judged")
        #expect(firstLoaded != nil)
        // Before: an alert each time it loads.
        #expect(outcomes[0].raised.count >= 2)
        #expect(outcomes[0].notices.isEmpty)
        // Now: no alert, one notice naming the machine, the sensor, the state and what to do.
        #expect(outcomes[1].raised.isEmpty)
        #expect(outcomes[1].notices.count == 1)
        let notice = try #require(outcomes[1].notices.first)
        #expect(notice.hasPrefix("compressor-1: uncalibrated operating state: loaded is on, and it was off throughout the calibration"))
        #expect(notice.contains("edge-agent calibrate --machine compressor-1 --last 30m"))
        #expect(notice.contains("has been off again for 300 s"))
    }

    /// A simulated compressor at demand 0 (its leaks drain the receiver, so it still loads every
    /// few minutes), polled every 100 ms, judged by its motor current as `simulate
    /// --print-config` sets it up (running from 10 % of rated, 2 minutes of settling after a
    /// start), calibrated on 30 s unloaded: 15 minutes running, a 2-minute stop, 15 minutes
    /// running. Seeds whose compressor loads every 4 minutes or so, never unloaded for the 5
    /// minutes that end the state: one `uncalibrated_state` alert per run however often it
    /// loads, the first cleared by the stop. After the restart both load within the 2 minutes
    /// of settling (the receiver drained while it stood) and unload before the settling ends:
    /// no anomaly alert on the way back from that load (it used to be judged at the end of the
    /// settling and alerted at once on oil and discharge temperatures and pressures). Anomaly
    /// alerts before the stop are printed, not judged: this 30-s calibration, on a transient,
    /// alerts on its receiver pressure before the first load.
    @Test("a compressor that keeps loading gets one uncalibrated_state alert per run, ended by the stop", arguments: [UInt64(5), 8])
    func simulatedCompressorLoadingAtDemandZero(seed: UInt64) throws {
        let unloaded = try Self.simulatedCompressorUnloaded(seed: seed, load: 0)
        var sim = unloaded.sim
        let table = unloaded.table, loaded = unloaded.loaded
        let current = try #require(sim.channelIndex(named: "motor_current"))
        var row: [Double] = []
        let (machine, file) = try Self.judgedByMotorCurrent(sim, calibratedOn: table, loaded: loaded)
        var engine = ScoringEngine(machines: [machine], models: [MachineModel(path: "memory", file: file)])
        var events: [AlertEvent] = [], anomalies: [Double] = []
        var loads = [0, 0], wasLoaded = false
        var stoppedAt: Timestamp?
        var firstLoadAfterStart: Double?
        for step in 0..<19_200 {
            let part = step < 9000 ? 0 : 1
            if step == 9000 { sim.setOperatingPoint(running: false, load: 0) }
            if step == 10_200 { sim.setOperatingPoint(running: true, load: 0) }
            let time = sim.time
            _ = sim.step(into: &row)
            if row[loaded] == 1, !wasLoaded {
                loads[part] += 1
                if part == 1, firstLoadAfterStart == nil { firstLoadAfterStart = Double(step - 10_200) / 10 }
            }
            wasLoaded = row[loaded] == 1
            if stoppedAt == nil, step >= 9000, row[current] < machine.runThreshold! {
                stoppedAt = time
            }
            let readings = row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
            for event in engine.process(readings) {
                if event.alert.kind == .uncalibratedState { events.append(event) }
                if event.alert.kind == .anomaly, event.change == .raised { anomalies.append(Double(step) / 10) }
            }
        }
        print("seed \(seed): loaded \(loads[0]) times before the stop, \(loads[1]) after (the first at \(firstLoadAfterStart ?? -1) s after the start); uncalibrated_state events \(events.map { "\($0.change.rawValue)@\($0.time.iso8601)" }); anomaly alerts at \(anomalies) s")
        // It kept loading: several times in each run.
        #expect(loads[0] >= 3 && loads[1] >= 3)
        // One alert per run: the first raised at its first load and cleared when the motor
        // current fell below the run threshold, the second open at the end.
        try #require(events.count == 3, "\(events.map(\.change))")
        #expect(events.map(\.change) == [.raised, .cleared, .raised])
        #expect(events[1].alert.id == events[0].alert.id && events[2].alert.id != events[0].alert.id)
        #expect(events[1].time == stoppedAt)
        #expect(events[1].alert.message.hasSuffix("; cleared because compressor-1 stopped (motor_current below \(machine.runThreshold!) A)"))
        #expect(engine.openAlerts.map(\.id) == [events[2].alert.id])
        // The second alert from the load while it settled; no anomaly alert after the restart.
        #expect(firstLoadAfterStart.map { $0 < 120 } == true)
        #expect(events[2].time.millisecondsSinceEpoch < stoppedAt!.millisecondsSinceEpoch + 240_000)
        #expect(anomalies.allSatisfy { $0 < 1020 }, "anomaly alerts after the restart at 1020 s: \(anomalies.filter { $0 >= 1020 })")
    }

    /// `sim`'s compressor as `simulate --print-config` sets it up (100 ms polls, run signal
    /// motor_current from 10 % of rated, 2 minutes of settling after a start) and its detector
    /// calibrated on `table`, with the states of its `loaded` column.
    static func judgedByMotorCurrent(_ sim: SimulatedMachine, calibratedOn table: SensorTable, loaded: Int) throws
        -> (machine: MachineConfiguration, file: DetectorFile) {
        let rated = try #require(sim.typicalMagnitude(ofChannel: "motor_current"))
        var machine = MachineConfiguration(id: "compressor-1", sensors: sim.channels.enumerated().map { i, channel in
            var sensor = SensorConfiguration(name: channel.name, bus: "b", address: i)
            sensor.unit = channel.unit
            if channel.name == "loaded" {
                sensor.kind = .discrete
                sensor.type = .bool
            }
            return sensor
        })
        machine.pollInterval = .milliseconds(100)
        machine.runSignal = "motor_current"
        machine.runThreshold = (0.1 * rated * 10).rounded() / 10
        machine.settleAfterStart = .seconds(120)
        var settings = CalibrationSettings()
        settings.secondsPerRow = 0.1
        settings.machineKind = "compressor"
        return (machine, Self.detectorFiles(table, stateColumn: loaded, settings: settings).states)
    }

    /// The compressors of `simulatedCompressorLoadingAtDemandZero` calibrated on 10 minutes of
    /// their running at demand 0 (loads included, so no state is one calibration never saw),
    /// through the same 15 minutes, 2-minute stop and 15 minutes: judged from the end of the
    /// restart's settling, with the oil still 3–4 °C below anything calibration saw, and no
    /// anomaly alert (the restart rule allows for what the stop did). The anomaly alerts the
    /// 30-s calibration gave after its restart were that calibration's and the load while it
    /// settled, not the temperatures a stop leaves.
    @Test("a compressor calibrated on 10 minutes raises no anomaly alert after a 2-minute stop", arguments: [UInt64(5), 8])
    func simulatedCompressorCalibratedOnTenMinutesRestarts(seed: UInt64) throws {
        let calibrated = try Self.simulatedCompressorUnloaded(seed: seed, load: 0, rows: 6000)
        var sim = calibrated.sim
        let oil = try #require(sim.channelIndex(named: "oil_temperature"))
        let (machine, file) = try Self.judgedByMotorCurrent(sim, calibratedOn: calibrated.table, loaded: calibrated.loaded)
        #expect(file.detector.calibratedStates?.sensors.first?.states.count == 2)
        let calibratedOil = stride(from: oil, to: calibrated.table.values.count, by: calibrated.table.sensorCount).map { calibrated.table.values[$0] }
        var engine = ScoringEngine(machines: [machine], models: [MachineModel(path: "memory", file: file)])
        var row: [Double] = []
        var anomalies: [Double] = [], judgedAfterRestart = 0
        var oilWhenJudged: Double?
        for step in 0..<19_200 {
            if step == 9000 { sim.setOperatingPoint(running: false, load: 0) }
            if step == 10_200 { sim.setOperatingPoint(running: true, load: 0) }
            let time = sim.time
            _ = sim.step(into: &row)
            let readings = row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
            let events = engine.process(readings) { _ in
                if step >= 10_200 {
                    judgedAfterRestart += 1
                    if oilWhenJudged == nil { oilWhenJudged = row[oil] }
                }
            }
            for event in events where event.alert.kind == .anomaly && event.change == .raised { anomalies.append(Double(step) / 10) }
        }
        print("seed \(seed): oil calibrated \(calibratedOil.min()!)…\(calibratedOil.max()!) °C, \(oilWhenJudged ?? .nan) °C when first judged after the restart; \(judgedAfterRestart) windows judged after it; anomaly alerts at \(anomalies) s")
        #expect(judgedAfterRestart > 5000)
        let coldest = Double(try #require(calibratedOil.min()))
        #expect(oilWhenJudged.map { $0 < coldest - 3 } == true)
        #expect(anomalies.isEmpty)
    }

    /// Synthetic compressor rows at 1 s polls: pressure and current follow `loaded` with a 5 s
    /// lag, a little noise. Calibrated on 10 minutes unloaded.
    struct Rows {
        var random = SplitMix64(seed: 42)
        var pressure = 2.0, current = 20.0
        var time: Int64 = 1_800_000_000_000

        /// The next poll: loaded or not, with `offset` added to the pressure reading (a fault);
        /// stopped (`running` false): the current at 0 at once, the pressure falling, unloaded.
        mutating func next(loaded: Bool, offset: Double = 0, running: Bool = true) -> [Double] {
            let loaded = loaded && running
            pressure += ((running ? loaded ? 7 : 2 : 0) - pressure) / 5
            current = running ? current + ((loaded ? 60 : 20) - current) / 5 : 0
            time += 1000
            return [pressure + 0.02 * (random.uniform() - 0.5) + offset, current + 0.2 * (random.uniform() - 0.5), loaded ? 1 : 0]
        }
    }

    /// The plain and the state-aware detector files calibrated on the next 10 minutes of `rows`,
    /// unloaded throughout.
    static func calibratedUnloaded(_ rows: inout Rows) -> (plain: DetectorFile, states: DetectorFile) {
        var calibration: [Float] = [], times: [String] = []
        for _ in 0..<600 {
            times.append(Timestamp(millisecondsSinceEpoch: rows.time).iso8601)
            calibration += rows.next(loaded: false).map(Float.init)
        }
        let table = SensorTable(sensorNames: ["pressure", "current", "loaded"], timestamps: times, values: calibration)
        return detectorFiles(table, stateColumn: 2, settings: CalibrationSettings())
    }

    static let machine: MachineConfiguration = {
        var machine = MachineConfiguration(id: "compressor-1", sensors: ["pressure", "current", "loaded"].enumerated().map { i, name in
            var sensor = SensorConfiguration(name: name, bus: "b", address: i)
            if name == "loaded" {
                sensor.kind = .discrete
                sensor.type = .bool
            }
            return sensor
        })
        machine.pollInterval = .seconds(1)
        return machine
    }()

    @Test("an open alert ends when the state changes, and a fault after the machine settled back is still alerted")
    func faultsAreStillAlertedInTheCalibratedState() throws {
        var rows = Rows()
        let files = Self.calibratedUnloaded(&rows)
        var engines = [files.plain, files.states].map { ScoringEngine(machines: [Self.machine], models: [MachineModel(path: "memory", file: $0)]) }
        var outcomes = [Outcome(), Outcome()]
        func run(_ count: Int, loaded: Bool, offset: Double = 0) -> [Outcome] {
            let before = outcomes
            for _ in 0..<count {
                let time = Timestamp(millisecondsSinceEpoch: rows.time)
                let values = rows.next(loaded: loaded, offset: offset)
                let readings = values.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
                for e in 0..<2 {
                    for event in engines[e].process(readings, scored: { _ in outcomes[e].judged += 1 }) where event.alert.kind == .anomaly {
                        if event.change == .raised { outcomes[e].raised.append(Double(time.millisecondsSinceEpoch)) }
                        if event.change == .cleared { outcomes[e].cleared.append(event) }
                    }
                    outcomes[e].notices += engines[e].takeUncalibratedStateNotices()
                }
            }
            return (0..<2).map { e in
                Outcome(raised: Array(outcomes[e].raised.dropFirst(before[e].raised.count)),
                        cleared: Array(outcomes[e].cleared.dropFirst(before[e].cleared.count)),
                        judged: outcomes[e].judged - before[e].judged,
                        notices: Array(outcomes[e].notices.dropFirst(before[e].notices.count)))
            }
        }
        // Normal, then a fault while unloaded: both engines alert and hold the alert open.
        #expect(run(120, loaded: false).allSatisfy { $0.raised.isEmpty && $0.judged > 0 })
        #expect(run(30, loaded: false, offset: 1).allSatisfy { $0.raised.count == 1 })
        // It loads, the fault still there: the state calibration never saw ends the open alert
        // at once, with a reason; one notice.
        let entering = run(30, loaded: true, offset: 1)
        #expect(entering[1].cleared.count == 1 && entering[1].judged == 0 && entering[1].raised.isEmpty)
        #expect(entering[1].cleared.first?.alert.message.hasSuffix(
            "; cleared because compressor-1 went into an operating state its calibration never saw (loaded on)") == true)
        #expect(entering[1].notices.count == 1)
        #expect(entering[0].notices.isEmpty)
        // Load cycles (30 s loaded, 60 s unloaded), no fault: nothing judged, no alert, no new
        // notice; without the rule, alerts.
        var cycling = [Outcome(), Outcome()]
        for _ in 0..<6 {
            for (loaded, count) in [(false, 60), (true, 30)] {
                let part = run(count, loaded: loaded)
                for e in 0..<2 {
                    cycling[e].raised += part[e].raised
                    cycling[e].judged += part[e].judged
                    cycling[e].notices += part[e].notices
                }
            }
        }
        #expect(cycling[1].raised.isEmpty && cycling[1].judged == 0 && cycling[1].notices.isEmpty)
        #expect(cycling[0].raised.count >= 3, "without the rule: \(cycling[0].raised.count) alerts in 6 load cycles")
        // Unloaded for good: after 300 s of settling, judged again, and quiet.
        let settling = run(300, loaded: false)
        #expect(settling[1].judged == 0 && settling[1].raised.isEmpty)
        let settled = run(200, loaded: false)
        #expect(settled[1].judged > 100 && settled[1].raised.isEmpty)
        // A fault now is alerted.
        let fault = run(30, loaded: false, offset: 1)
        #expect(fault[1].raised.count == 1)
        #expect(outcomes[1].notices.count == 1)
    }

    @Test func statesAreReadFromCalibrationRowsAndJudgeOnlyTheirSensors() {
        // Columns: a state seen in both states, one seen only on, a pressure that stayed at 0.
        let values: [Float] = [0, 1, 0, 1, 1, 0, .nan, 1, 0]
        let states = CalibratedStates.observe(values: values[...], sensorCount: 3, columns: [0, 1])
        #expect(states.sensors == [CalibratedStates.Sensor(column: 0, states: [0, 1]), CalibratedStates.Sensor(column: 1, states: [1])])
        #expect(states.unseenState(in: [0, 1, 5] as [Float]) == nil)
        #expect(states.unseenState(in: [1, 0, 0] as [Float])?.column == 1)
        #expect(states.unseenState(in: [1, 0.2, 0] as [Float])?.state == 0)
        // Not read: judges nothing; the column that is no state sensor is never a state.
        #expect(states.unseenState(in: [0, Float.nan, 9] as [Float]) == nil)
        let never = CalibratedStates.observe(values: [Float.nan, 1][...], sensorCount: 2, columns: [0])
        #expect(never.sensors.first?.states == [] && never.unseenState(in: [1, 1] as [Float]) == nil)
    }
}
