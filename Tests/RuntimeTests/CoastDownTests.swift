import CompressorRig
import Configuration
import Detection
import EdgeCore
@testable import Runtime
import Simulator
import Testing

/// A compressor whose run signal is its motor current (`run_threshold` at 10 % of rated),
/// polled every 100 ms, stopped several times: after the stop command the current decays for
/// about a second (the simulator's motor, time constant 0.5 s) before it falls below the
/// threshold, while vibration and the loaded flag drop at once. Those coast-down rows must not
/// raise an alert.
@Suite struct CoastDownTests {
    struct Measurement: CustomStringConvertible {
        var stops = 0
        /// Rows judged between each stop command and the run signal's drop below the threshold.
        var judgedPerStop: [Int] = []
        /// Rows polled between each stop command and the drop.
        var coastRowsPerStop: [Int] = []
        /// Anomaly alerts raised in the last 3 s before each stop command (should be none) and
        /// between it and the drop.
        var raisedBeforeStops = 0
        var raisedInCoastDowns = 0
        /// Anomaly alerts raised while running normally, away from the stops.
        var raisedWhileRunning = 0
        /// Seconds after the start command of each alert raised while running.
        var raisedAt: [Double] = []
        /// The highest score ÷ threshold judged in each coast-down.
        var peakRatioPerStop: [Double] = []
        /// Rows judged above the threshold in each coast-down (3 of 5 raise an alert).
        var abovePerStop: [Int] = []
        var description: String {
            "stops \(stops), coast-down rows \(coastRowsPerStop), judged \(judgedPerStop), peak score/threshold \(peakRatioPerStop), rows above threshold \(abovePerStop), alerts raised in coast-downs \(raisedInCoastDowns), before stops \(raisedBeforeStops), while running \(raisedWhileRunning) at \(raisedAt) s after a start"
        }
    }

    /// Runs a simulated compressor (`seed`) through `stops` stops, each after 6 minutes of
    /// running (5 of them settling after the previous start), through the agent's scoring path
    /// twice over, the same rows to each: with `stop_grace = "0s"` (every row judged as it
    /// comes, as before stop_grace) and with agent.conf's default.
    static func measure(seed: UInt64, stops: Int) async throws -> (withoutGrace: Measurement, withDefault: Measurement) {
        let compressor = try await CalibratedCompressor.shared(seed: seed)
        var sim = compressor.sim
        let machine = compressor.machine, file = compressor.file
        let threshold = try #require(machine.runThreshold)
        let current = compressor.current
        var row: [Double] = []
        var immediate = machine
        immediate.stopGrace = .zero
        var engines = [immediate, machine].map { ScoringEngine(machines: [$0], models: [MachineModel(path: "memory", file: file)]) }

        var measurements = [Measurement(stops: stops), Measurement(stops: stops)]
        var judged: [[(time: Int64, ratio: Double)]] = [[], []]
        typealias Polled = (time: Timestamp, events: [[AlertEvent]], current: Double)
        func poll(_ count: Int) -> [Polled] {
            (0..<count).map { _ in
                let time = sim.time
                _ = sim.step(into: &row)
                let readings = row.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
                let events = (0..<2).map { e in
                    engines[e].process(readings) { judged[e].append(($0.time.millisecondsSinceEpoch, $0.score / $0.threshold)) }
                        .filter { $0.alert.kind == .anomaly }
                }
                return (time, events, row[current])
            }
        }
        func raised(_ rows: ArraySlice<Polled>, _ e: Int) -> Int {
            rows.reduce(0) { $0 + $1.events[e].filter { $0.change == .raised }.count }
        }
        for _ in 0..<stops {
            // Running for 6 minutes (settled after the first 5), then the stop command.
            let running = poll(3600)
            sim.setOperatingPoint(running: false, load: 0.6)
            let stopped = poll(300)
            let drop = try #require(stopped.firstIndex { $0.current < threshold })
            let stopTime = try #require(stopped.first?.time.millisecondsSinceEpoch)
            let dropTime = stopped[drop].time.millisecondsSinceEpoch
            for e in 0..<2 {
                measurements[e].raisedWhileRunning += raised(running.dropLast(30), e)
                for (i, r) in running.enumerated() where r.events[e].contains(where: { $0.change == .raised }) {
                    measurements[e].raisedAt.append(Double(i) / 10)
                }
                measurements[e].raisedBeforeStops += raised(running.suffix(30), e)
                measurements[e].coastRowsPerStop.append(drop)
                let coasting = judged[e].filter { $0.time >= stopTime && $0.time < dropTime }
                measurements[e].judgedPerStop.append(coasting.count)
                measurements[e].abovePerStop.append(coasting.filter { $0.ratio > 1 }.count)
                measurements[e].peakRatioPerStop.append(((coasting.map(\.ratio).max() ?? 0) * 100).rounded() / 100)
                measurements[e].raisedInCoastDowns += raised(stopped[..<drop], e)
            }
            sim.setOperatingPoint(running: true, load: 0.6)
        }
        return (measurements[0], measurements[1])
    }

    /// Seeds whose first two stops include a coast-down that alerts without the stop grace.
    static let seeds: [UInt64] = [3, 7, 21]

    /// One case per seed, so the seeds run in parallel (the suite took 38–76 s as one loop).
    @Test("a compressor's coast-down after a stop raises no alert (motor current as run signal, 100 ms polls)", arguments: seeds)
    func coastDownRaisesNoAlert(seed: UInt64) async throws {
        let (before, after) = try await Self.measure(seed: seed, stops: 2)
        // As before stop_grace: every coast-down row is judged.
        print("coast-down, seed \(seed), stop_grace 0s: \(before)")
        #expect(before.coastRowsPerStop.allSatisfy { (5...15).contains($0) })
        #expect(before.judgedPerStop == before.coastRowsPerStop)
        // The difference the grace makes: on each of these seeds a coast-down alerts without it.
        #expect(before.raisedInCoastDowns > 0)
        // The default for a measured run signal (2 s): no coast-down row is judged.
        print("coast-down, seed \(seed), stop_grace default: \(after)")
        #expect(after.judgedPerStop.allSatisfy { $0 == 0 })
        #expect(after.raisedInCoastDowns == 0)
        #expect(after.raisedBeforeStops == 0)
    }
}
