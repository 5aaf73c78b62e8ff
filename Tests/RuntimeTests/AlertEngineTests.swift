import Configuration
import Detection
import EdgeCore
import Runtime
import Testing

@Suite struct AnomalyAlertEngineTests {
    let contributions = [
        SensorContribution(sensor: "flow", value: 12, unit: "m3/h", contribution: 0.2, normalLow: 20, normalHigh: 40),
        SensorContribution(sensor: "inlet_pressure", value: 0.1, unit: "bar", contribution: 2.5, normalLow: 0.8, normalHigh: 1.2),
        SensorContribution(sensor: "current", value: 10, unit: "A", contribution: 0.01, normalLow: 9, normalHigh: 11),
        SensorContribution(sensor: "vibration", value: 4, unit: "mm/s", contribution: 1.1, normalLow: 1, normalHigh: 2),
    ]

    func t(_ second: Int) -> Timestamp { Timestamp(millisecondsSinceEpoch: 1_700_000_000_000 + Int64(second) * 1000) }

    /// Runs scores (one per second) through a fresh engine and returns (second, event) pairs.
    func run(_ scores: [Double], policy: AlertPolicy = AlertPolicy(), threshold: Double = 1) -> [(Int, AlertEvent)] {
        var engine = AnomalyAlertEngine(machine: "pump-1", policy: policy)
        var events: [(Int, AlertEvent)] = []
        for (i, s) in scores.enumerated() {
            if let e = engine.observe(score: s, threshold: threshold, time: t(i), contributions: contributions) {
                events.append((i, e))
            }
        }
        return events
    }

    @Test("agent.conf's [alerts] defaults are the rule replay and evaluate apply (cooldown 60 s = 60 rows at 1 Hz)")
    func defaultsAreTheShippedRule() {
        let policy = AlertPolicy(AlertSettings())
        var rule = policy.decisionRule
        rule.cooldownScores = Int(policy.cooldown / .seconds(1))
        #expect(rule == .standard)
        #expect(CalibrationSettings().rule == .standard)
    }

    @Test func isolatedSpikesDoNotRaise() {
        // Two of every five windows above threshold never reach 3 of 5.
        let scores = (0..<100).map { $0 % 5 < 2 ? 5.0 : 0.1 }
        #expect(run(scores).isEmpty)
    }

    @Test func raisesOnThirdOfFiveAndNamesTopSensors() throws {
        let scores = [0.1, 0.1, 1.5, 0.2, 1.6, 1.7, 1.8]
        let events = run(scores)
        let (second, first) = try #require(events.first)
        #expect(second == 5)
        #expect(first.change == .raised)
        #expect(first.alert.started == t(2))  // the first window over threshold in the run
        #expect(first.alert.severity == .warning)
        #expect(first.alert.topSensors.map(\.sensor) == ["inlet_pressure", "vibration", "flow"])
        #expect(first.alert.message.contains("inlet_pressure=0.1 bar (normal 0.8…1.2)"))
    }

    @Test("the sensors are asked for, and the parts kept quoted, only when an alert is raised or reaches a new peak")
    func sensorsOnlyWhenAnAlertNamesThem() throws {
        // Windows: 2 above (no alert yet), the raise, 2 under the peak, a new peak (no event: too
        // soon), 1 under it, then 10 below the clear ratio (cleared at the last).
        let scores = [1.5, 1.6, 1.7, 1.2, 1.65, 1.9, 1.1] + Array(repeating: 0.1, count: 10)
        var engine = AnomalyAlertEngine(machine: "pump-1")
        var asked: [Int] = [], quoted: [[Int]] = []
        var changes: [AlertEvent.Change] = []
        var last: AlertEvent?
        for (i, s) in scores.enumerated() {
            let event = engine.observe(score: s, threshold: 1, time: t(i),
                                       sensors: { asked.append(i); return .init(contributions: contributions, keys: [10, 11, 12, 13]) },
                                       quote: { parts, keys in
                                           quoted.append(keys)
                                           for k in parts.indices { parts[k].expectedLow = Double(keys[k]) }
                                       })
            if let event { changes.append(event.change); last = event }
        }
        #expect(changes == [.raised, .cleared])
        #expect(asked == [2, 5], "asked for the sensors of windows \(asked)")
        // The parts kept (the three largest) with their keys, in the order they are named.
        #expect(quoted == [[11, 13, 10], [11, 13, 10]])
        let cleared = try #require(last?.alert)
        #expect(cleared.topSensors.map(\.sensor) == ["inlet_pressure", "vibration", "flow"])
        #expect(cleared.topSensors.map(\.expectedLow) == [11, 13, 10])
        #expect(cleared.peakScore == 1.9)
    }

    @Test func escalatesToCriticalWithUpdate() {
        let scores = [1.5, 1.5, 1.5, 1.6, 2.5, 2.4]
        let events = run(scores)
        #expect(events.map(\.1.change) == [.raised, .updated])
        #expect(events[1].1.alert.severity == .critical)
        #expect(events[1].1.alert.peakScore == 2.5)
    }

    @Test func hysteresisHoldsAlertWhileBetweenClearLevelAndThreshold() {
        var policy = AlertPolicy()
        policy.clearCount = 3
        // 0.9 is below threshold but above 0.8 × threshold: the alert must stay open.
        let scores = [1.5, 1.5, 1.5] + Array(repeating: 0.9, count: 20) + [0.1, 0.1, 0.1]
        let events = run(scores, policy: policy)
        #expect(events.map(\.1.change) == [.raised, .cleared])
        #expect(events.last?.0 == 25)
        #expect(events.last?.1.alert.ended == t(25))
    }

    @Test func cooldownSuppressesImmediateReRaise() {
        var policy = AlertPolicy()
        policy.clearCount = 2
        policy.cooldown = .seconds(30)
        let burst = [1.5, 1.5, 1.5, 0.1, 0.1]
        // Second burst at t=5…9 is inside the cooldown (clear at t=4 → until t=34); third at t=40 is not.
        let scores = burst + burst + Array(repeating: 0.1, count: 30) + burst
        let events = run(scores, policy: policy)
        #expect(events.map(\.1.change) == [.raised, .cleared, .raised, .cleared])
        #expect(events[2].0 == 42)
    }

    @Test func eventsAreValidJSONLines() throws {
        let events = run([1.5, 1.5, 3.0])
        let line = try #require(events.first?.1.jsonLine)
        #expect(line.hasPrefix(#"{"event":"raised","time":"2023-11-14T22:13:22.000Z","id":"pump-1-1700000000000""#))
        #expect(line.contains(#""top_sensors":[{"sensor":"inlet_pressure","value":0.1,"unit":"bar""#))
        #expect(!line.contains("\n"))
    }
}
