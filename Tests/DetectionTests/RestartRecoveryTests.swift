import Detection
import EdgeCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The restart rule (`WindowDeviationScorer.allowRecovery`) judges a run after a stop as a
/// recovery from it. A sensor that was off before the stop (a fault, repaired during the stop,
/// or a transient the stop cut short) and reads normal after the start must be judged normal:
/// the rule used to hold its old offset against it until the allowance faded (seed-8 export:
/// motor-2's bearing and pump-2's winding temperature, 314 and 230 false rows after one start
/// each). A sensor still off after the start must still alert.
@Suite struct RestartRecoveryTests {
    /// Deterministic noise in −0.5…0.5.
    static func noise(_ r: Int) -> Float {
        var random = SplitMix64(seed: UInt64(truncatingIfNeeded: r) &+ 4242)
        return Float(random.next() % 10_000) / 10_000 - 0.5
    }

    enum After: String, CaseIterable, Sendable {
        /// The sensor is back at its normal level at once.
        case repaired
        /// It warms up from the stop's level toward its normal level (time constant 60 rows).
        case warmingUpToNormal
        /// It is back at the offset it had before the stop.
        case stillOff
    }

    /// A two-sensor machine with a running contact, one row a second: 800 rows at a ≈ 50, then
    /// 100 rows with a 3 higher (a fault: 6 times its tolerated spread, its 1 % floor), a
    /// 60-row stop that cools a to 30, 100 rows of settling (a warming to 40) and 300 rows as
    /// `after` says.
    /// Rows after the start are labelled anomalous only when a is still off.
    static func table(after: After) -> SensorTable {
        var rows: [[Float]] = []
        var labels: [UInt8] = []
        func row(_ a: Float, running: Bool = true, anomalous: Bool = false) {
            let r = rows.count
            rows.append(running ? [a + Self.noise(r) / 5, 5 + Self.noise(r + 50_000) / 10, 1] : [a, 0, 0])
            labels.append(anomalous ? 1 : 0)
        }
        for _ in 0..<800 { row(50) }
        for _ in 0..<100 { row(53, anomalous: true) }
        for _ in 0..<60 { row(30, running: false) }
        for i in 0..<100 { row(30 + Float(i) / 10) }
        for i in 0..<300 {
            switch after {
            case .repaired: row(50)
            case .warmingUpToNormal: row(50 - 10 * exp(-Float(i) / 60))
            case .stillOff: row(53, anomalous: true)
            }
        }
        let times = rows.indices.map { Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + Int64($0) * 1000).iso8601 }
        return SensorTable(sensorNames: ["a", "b", "running"], timestamps: times, values: rows.flatMap { $0 },
                           anomalyLabels: labels)
    }

    @Test("a sensor off before a stop is judged by where it is after the start", arguments: After.allCases)
    func judgedByWhereItIsAfterTheStart(after: After) throws {
        let running = Self.table(after: after).runningRows(signal: "running", settleRows: 100).table
        #expect(running.runStarts == [900])
        #expect(running.stopLevels[900] != nil)
        let replay = try Replay.run(running, calibrationRows: 600)
        // The fault before the stop alerts (the rule's reference is a real fault).
        #expect(replay.alerts[800..<900].contains(true))
        #expect(!replay.alerts[600..<800].contains(true))
        let afterStart = replay.alerts[900...].filter { $0 }.count
        let peak = replay.scores[920...].max() ?? .nan
        print("restart, \(after.rawValue): \(afterStart) alerted rows after the start, peak \(peak / replay.detector.alertThreshold)× threshold")
        switch after {
        case .repaired, .warmingUpToNormal:
            #expect(afterStart == 0)
        case .stillOff:
            // Raised once the window is full and 3 of 5 scores are above the threshold.
            let first = try #require(replay.alerts[900...].firstIndex(of: true))
            #expect(first - 900 < 30)
        }
    }
}
