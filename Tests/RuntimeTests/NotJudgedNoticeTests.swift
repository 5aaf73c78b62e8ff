import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Testing

/// What the scoring stage says when a machine is not judged: a long blind spot (an operating
/// state calibration never saw) is an `uncalibrated_state` alert in the alert log from its first
/// row to the row judged again; `status`'s monitoring state follows the judged windows with a
/// `hop`, puts too few sensors before a stop, and an out-of-range run signal is not read.
@Suite struct NotJudgedNoticeTests {
    /// The `uncalibrated_state` events of a run of rows of the compressor of `UncalibratedStateTests`.
    struct Run {
        var engine: ScoringEngine
        var rows = UncalibratedStateTests.Rows()
        var events: [AlertEvent] = []

        init(machine: MachineConfiguration = UncalibratedStateTests.machine) {
            let file = UncalibratedStateTests.calibratedUnloaded(&rows).states
            engine = ScoringEngine(machines: [machine], models: [MachineModel(path: "memory", file: file)])
        }

        /// Feeds `count` rows (stopped ones when `running` is false); returns the time of the first.
        @discardableResult
        mutating func feed(_ count: Int, loaded: Bool, running: Bool = true) -> Timestamp {
            let first = Timestamp(millisecondsSinceEpoch: rows.time + 1000)
            for _ in 0..<count {
                let values = rows.next(loaded: loaded, running: running)
                let time = Timestamp(millisecondsSinceEpoch: rows.time)
                let readings = values.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
                events += engine.process(readings).filter { $0.alert.kind == .uncalibratedState }
            }
            return first
        }
    }

    @Test("an operating state calibration never saw is an uncalibrated_state alert from its first row to the row judged again")
    func anUncalibratedStateIsInTheAlertLog() throws {
        var run = Run()
        run.feed(120, loaded: false)
        #expect(run.events.isEmpty)
        let loadedAt = run.feed(30, loaded: true)
        // Raised once, at the first loaded row, and open (status lists it).
        try #require(run.events.count == 1)
        let raised = run.events[0]
        #expect(raised.change == .raised && raised.time == loadedAt && raised.alert.started == loadedAt)
        #expect(raised.alert.id == "compressor-1-uncalibrated-state-\(loadedAt.millisecondsSinceEpoch)")
        #expect(raised.alert.severity == .warning && raised.alert.ended == nil)
        #expect(raised.alert.message.hasPrefix("compressor-1: not judged: uncalibrated operating state (loaded on; its calibration saw loaded off only)"))
        #expect(raised.alert.message.contains("no anomaly alert until loaded has been off again for 300 s"))
        #expect(raised.alert.message.contains("`edge-agent calibrate --machine compressor-1 --last 30m`"))
        let line = raised.jsonLine
        #expect(line.hasPrefix("{\"event\":\"raised\",\"time\":\"\(loadedAt.iso8601)\",\"id\":\"compressor-1-uncalibrated-state-"), "\(line)")
        #expect(line.contains("\"kind\":\"uncalibrated_state\",\"severity\":\"warning\""))
        #expect(line.contains("\"ended\":null") && line.contains("\"top_sensors\":[]"))
        #expect(run.engine.openAlerts.map(\.kind) == [.uncalibratedState])
        // Load cycles within the episode: no new event.
        for _ in 0..<3 {
            run.feed(60, loaded: false)
            run.feed(20, loaded: true)
        }
        #expect(run.events.count == 1)
        // Back in the calibrated state: still not judged while it settles (300 s), then cleared
        // at the row judged again, the 301st.
        let unloadedAt = run.feed(300, loaded: false)
        #expect(run.events.count == 1)
        run.feed(50, loaded: false)
        try #require(run.events.count == 2)
        let cleared = run.events[1]
        let judgedAgain = Timestamp(millisecondsSinceEpoch: unloadedAt.millisecondsSinceEpoch + 300_000)
        #expect(cleared.change == .cleared && cleared.alert.id == raised.alert.id)
        #expect(cleared.time == judgedAgain && cleared.alert.ended == judgedAgain && cleared.reason == nil)
        #expect(run.engine.openAlerts.isEmpty)
    }

    @Test("an open uncalibrated_state alert ends with a reason when the model is replaced or the agent stops")
    func itEndsWithAReason() throws {
        var run = Run()
        run.feed(120, loaded: false)
        run.feed(10, loaded: true)
        let model = try #require(run.engine.model(machine: 0))
        let replacedAt = Timestamp(millisecondsSinceEpoch: run.rows.time + 500)
        let ended = run.engine.replaceModel(machine: 0, with: model, at: replacedAt)
        #expect(ended.map(\.alert.kind) == [.uncalibratedState])
        #expect(ended.first?.alert.ended == replacedAt)
        #expect(ended.first?.reason?.hasPrefix("model replaced (threshold ") == true)
        #expect(run.engine.openAlerts.isEmpty)
        // The new model meets the state again: a new alert, ended when the agent stops.
        run.feed(5, loaded: true)
        #expect(run.events.map(\.change) == [.raised, .raised])
        let stopped = run.engine.endOpenAlerts(at: Timestamp(millisecondsSinceEpoch: run.rows.time + 100), reason: "agent stopped")
        #expect(stopped.map(\.alert.kind) == [.uncalibratedState] && stopped.first?.reason == "agent stopped")
        #expect(stopped.first?.jsonLine.contains("\"reason\":\"agent stopped\"") == true)
    }

    /// The compressor of `UncalibratedStateTests` with its motor current as run signal (running
    /// from 10 A; unloaded it draws 20 A) and 30 s of settling after a start.
    static var compressorWithRunSignal: MachineConfiguration {
        var machine = UncalibratedStateTests.machine
        machine.runSignal = "current"
        machine.runThreshold = 10
        machine.settleAfterStart = .seconds(30)
        return machine
    }

    @Test("a stop clears an open uncalibrated_state alert, saying so; a run that goes into the state again, settling or not, raises one new alert")
    func aStopClearsItAndTheNextRunRaisesItOnce() throws {
        var run = Run(machine: Self.compressorWithRunSignal)
        run.feed(120, loaded: false)
        run.feed(30, loaded: true)
        try #require(run.events.count == 1)
        let first = run.events[0]
        #expect(first.alert.message.contains("no anomaly alert until loaded has been off again for 300 s (this alert then clears; so does a stop)"))
        // The journal's notice and status say so too.
        #expect(run.engine.takeUncalibratedStateNotices().first?.contains(
            "scoring resumes once loaded has been off again for 300 s, or after a stop once the restart has settled.") == true)
        #expect(run.engine.monitoring(machine: 0).reason?.hasPrefix(
            "uncalibrated operating state (loaded on); judged again once loaded has been off for 300 s, or after a stop once the restart has settled;") == true)
        // Stopped while loaded: cleared at the first stopped row, the stop at the end of its
        // message, as an anomaly alert cleared by a stop; nothing open while it stands.
        let stoppedAt = run.feed(60, loaded: false, running: false)
        try #require(run.events.count == 2)
        let cleared = run.events[1]
        #expect(cleared.change == .cleared && cleared.alert.id == first.alert.id)
        #expect(cleared.time == stoppedAt && cleared.alert.ended == stoppedAt && cleared.reason == nil)
        #expect(cleared.alert.message.hasSuffix("; cleared because compressor-1 stopped (current below 10.0)"), "\(cleared.alert.message)")
        #expect(run.engine.openAlerts.isEmpty)
        #expect(run.engine.monitoring(machine: 0).state == .stopped)
        // Started again, loaded at once: a new alert from its first row, though it settles
        // (the state is no less one calibration never saw), raised once the stop grace (2 s)
        // has shown it still running.
        let startedAt = run.feed(2, loaded: true)
        #expect(run.events.count == 2)
        #expect(run.engine.monitoring(machine: 0).state == .settling)
        run.feed(28, loaded: true)
        try #require(run.events.count == 3)
        #expect(run.engine.monitoring(machine: 0).state == .uncalibratedState)
        #expect(run.engine.monitoring(machine: 0).since == startedAt)
        let second = run.events[2]
        #expect(second.change == .raised && second.time == startedAt && second.alert.started == startedAt)
        #expect(second.alert.id == "compressor-1-uncalibrated-state-\(startedAt.millisecondsSinceEpoch)")
        #expect(run.engine.openAlerts.map(\.kind) == [.uncalibratedState])
        run.feed(5, loaded: true)
        #expect(run.events.count == 3)
        // It keeps loading every 80 s: the one alert stays open, no other event.
        for _ in 0..<5 {
            run.feed(60, loaded: false)
            run.feed(20, loaded: true)
        }
        #expect(run.events.count == 3)
        #expect(run.engine.openAlerts.map(\.id) == [second.alert.id])
        // Unloaded for good: cleared, without a reason, at the row judged again.
        run.feed(350, loaded: false)
        #expect(run.events.map(\.change) == [.raised, .cleared, .raised, .cleared])
        #expect(run.events.last?.alert.id == second.alert.id && run.events.last?.alert.message.contains("cleared because") == false)
    }

    @Test("after a stop, a run in the calibrated state is judged once the restart has settled, not 5 minutes later")
    func aRunAfterAStopInTheCalibratedStateIsJudged() throws {
        var run = Run(machine: Self.compressorWithRunSignal)
        run.feed(120, loaded: false)
        run.feed(30, loaded: true)
        run.feed(60, loaded: false, running: false)
        #expect(run.events.map(\.change) == [.raised, .cleared])
        // Started unloaded (its current rising past 10 A): settling (30 s), the windows fill,
        // judged; no uncalibrated_state
        // alert and no settling back from the state the run before the stop was in.
        var states: [MonitoringState] = []
        for _ in 0..<120 {
            run.feed(1, loaded: false)
            states.append(run.engine.monitoring(machine: 0).state)
        }
        #expect(!states.contains(.settlingAfterUncalibratedState) && !states.contains(.uncalibratedState))
        #expect(states.contains(.settling) && states.last == .judged, "\(MonitoringStateTests.changes(states))")
        #expect(run.events.count == 2)
    }

    @Test("a run that loads while it settles after a start and unloads before the settling ends is judged only once it has been unloaded for 300 s")
    func aLoadWhileSettlingIsSettledBackFrom() throws {
        var run = Run(machine: Self.compressorWithRunSignal)
        run.feed(120, loaded: false)
        run.feed(60, loaded: false, running: false)
        #expect(run.events.isEmpty)
        // Started: 5 s unloaded, 10 s loaded, then unloaded for good, all within the 30 s of
        // settling. The load is an uncalibrated_state alert from its first row.
        let startedAt = run.feed(5, loaded: false)
        let loadedAt = run.feed(10, loaded: true)
        let unloadedAt = run.feed(15, loaded: false)
        try #require(run.events.count == 1, "\(run.events.map(\.change))")
        #expect(run.events[0].change == .raised && run.events[0].time == loadedAt)
        #expect(unloadedAt.millisecondsSinceEpoch < startedAt.millisecondsSinceEpoch + 30_000)
        // Not judged when the settling after the start ends (it would be judged on its way back
        // from the load), but after 300 s unloaded: then the alert clears.
        var judged: [Int64] = []
        var states: [MonitoringState] = []
        for _ in 0..<330 {
            let values = run.rows.next(loaded: false)
            let time = Timestamp(millisecondsSinceEpoch: run.rows.time)
            let readings = values.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
            run.events += run.engine.process(readings) { judged.append($0.time.millisecondsSinceEpoch) }.filter { $0.alert.kind == .uncalibratedState }
            states.append(run.engine.monitoring(machine: 0).state)
        }
        let judgedAgain = unloadedAt.millisecondsSinceEpoch + 300_000
        #expect(judged.first.map { $0 >= judgedAgain } == true, "first judged \(judged.first.map { ($0 - unloadedAt.millisecondsSinceEpoch) / 1000 } ?? -1) s after it unloaded")
        #expect(run.events.map(\.change) == [.raised, .cleared])
        #expect(run.events.last?.time.millisecondsSinceEpoch == judgedAgain)
        #expect(states.contains(.settlingAfterUncalibratedState) && states.last == .judged, "\(MonitoringStateTests.changes(states))")
    }

    @Test("a state shown only in the stop grace before a stop (the machine already stopping) raises no uncalibrated_state alert")
    func aStateOnlyInTheStopGraceIsNotEntered() throws {
        var run = Run(machine: Self.compressorWithRunSignal)
        run.feed(120, loaded: false)
        // Loaded for its last 2 rows (1 s polls), the 2 s of stop grace before the stop.
        run.feed(2, loaded: true)
        run.feed(30, loaded: false, running: false)
        #expect(run.events.isEmpty, "\(run.events.map { "\($0.change.rawValue)@\($0.time.iso8601)" })")
        #expect(run.engine.takeUncalibratedStateNotices().isEmpty)
        // Loaded 3 rows, the first of them 3 s before the stop: it is.
        run.feed(40, loaded: false)
        let loadedAt = run.feed(3, loaded: true)
        run.feed(30, loaded: false, running: false)
        #expect(run.events.map(\.change) == [.raised, .cleared])
        #expect(run.events.first?.time == loadedAt)
    }

    /// Feeds (flow, running) rows of `RunSignalTests`' pump, one a second from `start`; returns
    /// the times of the windows judged and the monitoring after each row.
    static func feed(_ engine: inout ScoringEngine, _ rows: [(Double?, Double)], start: Int64)
        -> (judged: [Int64], states: [MachineMonitoring]) {
        var judged: [Int64] = [], states: [MachineMonitoring] = []
        for (i, (flow, running)) in rows.enumerated() {
            let t = Timestamp(millisecondsSinceEpoch: start + Int64(i) * 1000)
            _ = engine.process([
                Reading(machine: 0, sensor: 0, time: t, value: flow ?? .nan, quality: flow == nil ? .offline : .good),
                Reading(machine: 0, sensor: 1, time: t, value: running, quality: .good),
            ]) { judged.append($0.time.millisecondsSinceEpoch) }
            states.append(engine.monitoring(machine: 0))
        }
        return (judged, states)
    }

    static func normal(_ count: Int) -> [(Double?, Double)] { RunSignalTests.normalRows(count).map { ($0.0, $0.1) } }

    @Test("with a hop, the first full window is judged and JUDGED begins there, after the agent's start and after a stop; a hop longer than the window judges every window",
          arguments: [5, 25])
    func hopJudgesTheFirstFullWindow(hop: Int) throws {
        var (machine, model) = try RunSignalTests.machineAndModel(settle: .seconds(10))
        machine.hop = hop
        var engine = ScoringEngine(machines: [machine], models: [model])
        let start: Int64 = 1_800_000_000_000
        let w = model.windowRows
        try #require(w == 20)
        let step = Int64(min(hop, w)) * 1000
        for offset in [Int64(0), 200_000] {
            if offset > 0 {
                // A 30 s stop, then a start: 10 s of settling before the windows fill again.
                _ = Self.feed(&engine, [(Double?, Double)](repeating: (0, 0), count: 30), start: start + offset - 30_000)
            }
            let run = Self.feed(&engine, Self.normal(60), start: start + offset)
            // Judged: the window ending at the w-th row of the windows, then every hop-th (at
            // most every w-th: no row outside every judged window).
            let phaseStart = try #require(run.states.first { $0.state == .fillingWindows }?.since?.millisecondsSinceEpoch)
            #expect(phaseStart == start + offset + (offset > 0 ? 10_000 : 0))
            let firstJudged = phaseStart + Int64(w - 1) * 1000
            #expect(run.judged.first == firstJudged, "judged at \(run.judged.map { ($0 - start) / 1000 })")
            #expect(run.judged.count >= 2 && zip(run.judged, run.judged.dropFirst()).allSatisfy { $1 - $0 == step })
            // JUDGED from that window on, filling before it; never judged without a window.
            let judgedSince = run.states.last.flatMap { $0.state == .judged ? $0.since : nil }
            #expect(judgedSince?.millisecondsSinceEpoch == firstJudged)
            let filling = run.states.filter { $0.state == .fillingWindows }.count
            #expect(filling == w - 1, "\(filling) rows filling")
        }
    }

    @Test("too few sensors wins over a stop and a settling, and says the machine is stopped")
    func tooFewSensorsWinsOverAStop() throws {
        let (machine, model) = try RunSignalTests.machineAndModel(settle: .seconds(30))
        var engine = ScoringEngine(machines: [machine], models: [model])
        let start: Int64 = 1_800_000_000_000
        #expect(Self.feed(&engine, Self.normal(60), start: start).states.last?.state == .judged)
        // Stopped with its flow sensor read: stopped.
        let stop = Self.feed(&engine, [(Double?, Double)](repeating: (0, 0), count: 10), start: start + 60_000)
        #expect(stop.states.map(\.state) == [MonitoringState](repeating: .stopped, count: 10))
        // Stopped, the flow sensor offline: too few sensors, since the first such row (not reset
        // row by row), and the reason gives the stop too.
        let dead = Self.feed(&engine, [(Double?, Double)](repeating: (nil, 0), count: 10), start: start + 70_000)
        #expect(dead.states.allSatisfy { $0.state == .tooFewSensors })
        #expect(dead.states.allSatisfy { $0.since == Timestamp(millisecondsSinceEpoch: start + 70_000) })
        let reason = try #require(dead.states.last?.reason)
        #expect(reason.hasPrefix("only 0 of 1 model sensors usable (1 needed): check the sensors' wiring, units and min/max"))
        #expect(reason.hasSuffix("; the machine is also stopped (running off), but would not be judged when it starts either"), "\(reason)")
        // Started, still dead while settling: too few sensors; its sensor back while settling: settling.
        let settling = Self.feed(&engine, [(Double?, Double)](repeating: (nil, 1), count: 5) + Self.normal(5), start: start + 80_000)
        #expect(settling.states.prefix(5).allSatisfy { $0.state == .tooFewSensors && $0.reason?.hasSuffix("also settling after a start") == true })
        #expect(settling.states.suffix(5).allSatisfy { $0.state == .settling })
    }

    @Test("a run signal reading outside its min…max is not read: held for 5 polls, then running state unknown")
    func anOutOfRangeRunSignalIsNotRead() throws {
        var (machine, model) = try RunSignalTests.machineAndModel(settle: .zero)
        machine.sensors[1].maximum = 1
        var engine = ScoringEngine(machines: [machine], models: [model])
        let start: Int64 = 1_800_000_000_000
        #expect(Self.feed(&engine, Self.normal(60), start: start).states.last?.state == .judged)
        // The contact reads 7 (a broken reading: its max is 1).
        let broken = Self.feed(&engine, Self.normal(10).map { ($0.0, 7) }, start: start + 60_000)
        #expect(broken.states.map(\.state) == [MonitoringState](repeating: .judged, count: 5) + [MonitoringState](repeating: .runSignalUnknown, count: 5))
        #expect(broken.judged.count == 5)
    }
}

/// `replay`/`evaluate --config` count the agent's cooldown (a time) in judged windows: the
/// offline rule raises again at the same window as the agent's `AnomalyAlertEngine`.
@Suite struct CooldownParityTests {
    @Test("the offline cooldown in judged windows raises again where the agent's cooldown in time does",
          arguments: [(Int64(60_000), Int64(1000)), (60_000, 3000), (1500, 1000), (0, 1000), (10_000, 1000), (2000, 1000)])
    func cooldownInWindowsMatchesCooldownInTime(cooldown: Int64, step: Int64) {
        var policy = AlertPolicy()
        policy.cooldown = .milliseconds(cooldown)
        var agent = AnomalyAlertEngine(machine: "m", policy: policy)
        var rule = policy.decisionRule
        rule.cooldownScores = AlertDecisionRule.cooldownScores(cooldownMilliseconds: cooldown, judgedEveryMilliseconds: step)
        var offline = AlertDecisionRule.State()
        // A fault (raised), normal windows (cleared), then the fault again at once.
        let scores = [Double](repeating: 5, count: 5) + [Double](repeating: 0.1, count: 10) + [Double](repeating: 5, count: 200)
        var agentChanges: [String] = [], offlineChanges: [String] = []
        for (k, score) in scores.enumerated() {
            let time = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + Int64(k) * step)
            if let event = agent.observe(score: score, threshold: 1, time: time, contributions: []) {
                agentChanges.append("\(event.change.rawValue)@\(k)")
            }
            if let change = offline.step(score: score, threshold: 1, rule: rule) {
                offlineChanges.append("\(change == .raised ? "raised" : "cleared")@\(k)")
            }
        }
        #expect(agentChanges.count == 3, "\(agentChanges)")
        #expect(offlineChanges == agentChanges)
    }
}
