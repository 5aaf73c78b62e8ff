import Configuration
import Detection
import EdgeCore
import Foundation
import Modbus
import ModbusServer
import Runtime
import Synchronization
import Testing
import TestSupport

/// A device that answers NaN or ±infinity (a float32 register pair with an all-ones exponent,
/// a float64 beyond Float's range): the poller flags the reading, and the scoring stage leaves
/// a gap where it would be, so the detector and its network only ever see finite numbers.
@Suite("NaN and infinite Modbus values are flagged and never scored", .serialized)
struct NonFiniteReadingTests {
    static func sensor(_ name: String, address: Int, type: DataType) -> SensorConfiguration {
        var s = SensorConfiguration(name: name, bus: "line", address: address)
        s.type = type
        return s
    }

    /// A detector for sensors a…d calibrated on 200 normal rows, loaded as the runtime loads it.
    static func calibratedModel(directory: String) throws -> MachineModel {
        var values: [Float] = []
        var state: UInt64 = 3
        func noise() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) - 0.5
        }
        for _ in 0..<200 { values += [10 + 0.1 * noise(), 50 + noise(), 200 + 2 * noise(), 5 + 0.05 * noise()] }
        let network = NetworkCalibration(initialization: MetaInitialization.shipped ?? Network(seed: 1), adaptation: AdaptationSettings(steps: 2))
        let (detector, report) = Calibrator(settings: CalibrationSettings(network: network)).calibrate(values: values[...], sensorNames: ["a", "b", "c", "d"])
        #expect(detector.network != nil)
        try TextFile.makeDirectory(directory + "/models")
        try DetectorFile(machine: "m", calibratedAt: "2026-11-29T00:00:00.000Z", detector: detector, report: report)
            .write(to: MachineModel.modelPath(machine: "m", dataDirectory: directory))
        return try #require(try MachineModel.load(machine: "m", dataDirectory: directory))
    }

    @Test("a NaN, +inf or −inf float32 pair and a 1e300 float64 from a real server: decode_error, gaps, finite scores")
    func nonFiniteValuesNeverReachTheDetector() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let model = try Self.calibratedModel(directory: directory.path)

        let server = try startLoopbackServer(units: [1])
        defer { server.stop() }
        try server.setValue(.float(10), as: .float32, kind: .holding, unit: 1, address: 0)
        try server.setValue(.float(50), as: .float32, kind: .holding, unit: 1, address: 2)
        try server.setValue(.float(.nan), as: .float32, kind: .holding, unit: 1, address: 4)
        try server.setValue(.float(1e300), as: .float64, kind: .holding, unit: 1, address: 6)
        var bus = BusConfiguration(name: "line", transport: .tcp(host: "127.0.0.1", port: server.port))
        bus.responseTimeout = .milliseconds(500)
        var machine = MachineConfiguration(id: "m", sensors: [
            Self.sensor("a", address: 0, type: .float32), Self.sensor("b", address: 2, type: .float32),
            Self.sensor("c", address: 4, type: .float32), Self.sensor("d", address: 6, type: .float64),
        ])
        machine.pollInterval = .milliseconds(20)
        machine.windowLength = 32

        let batches = Mutex<[[Reading]]>([])
        let poller = try BusPoller(bus: bus, machines: [machine], sink: { readings in batches.withLock { $0.append(readings) } })
        try poller.start()
        // Three phases on the same register pair: NaN, then +inf, then −inf.
        for value in [Double.nan, .infinity, -.infinity] {
            try server.setValue(.float(value), as: .float32, kind: .holding, unit: 1, address: 4)
            let start = batches.withLock { $0.count }
            let deadline = ContinuousClock.now + .seconds(20)
            while batches.withLock({ $0.count }) < start + 20, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        }
        poller.stop()
        let cycles = batches.withLock { $0 }
        #expect(cycles.count >= 60)
        #expect((poller.health().units.first?.errors.decodeErrors ?? 0) >= cycles.count)

        var engine = ScoringEngine(machines: [machine], models: [model])
        var scores: [Double] = []
        for cycle in cycles {
            for reading in cycle {
                switch reading.sensor {
                case 2:
                    #expect(reading.quality == .decodeError, "\(reading.quality)")
                    #expect(reading.value.isNaN)
                case 3:  // a finite Double, stored as read; only scoring refuses it (Float overflow)
                    #expect(reading.quality == .good && reading.value == 1e300)
                default:
                    #expect(reading.quality == .good && reading.value.isFinite)
                }
            }
            _ = engine.process(cycle) { scores.append($0.score) }
        }
        // Half the sensors are usable, enough to score: every row once the windows are full was
        // judged, always finitely, and exactly as the model scores rows whose c and d are gaps
        // (NaN = no reading).
        #expect(scores.count == cycles.count - (model.windowRows - 1))
        #expect(scores.allSatisfy { $0.isFinite }, "\(scores.filter { !$0.isFinite }.count) non-finite scores")
        var reference = model.makeScorer()
        let expected = cycles.map { cycle in
            reference.score(row: [Float(cycle[0].value), Float(cycle[1].value), .nan, .nan])
        }
        #expect(scores.map(\.bitPattern) == expected.suffix(scores.count).map(\.bitPattern))
    }

    @Test("a good reading whose value overflows Float (a float64 register at 1e300) is a gap, not +inf")
    func float64BeyondFloatRangeIsAGap() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let model = try Self.calibratedModel(directory: directory.path)
        var machine = MachineConfiguration(id: "m", sensors: ["a", "b", "c", "d"].enumerated().map { Self.sensor($1, address: 2 * $0, type: .float64) })
        machine.pollInterval = .milliseconds(20)
        var engine = ScoringEngine(machines: [machine], models: [model])
        var scores: [Double] = []
        for row in 0..<60 {  // rows 30… are beyond Float's range
            let time = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + Int64(row) * 20)
            let values = [10, 50, 200, row >= 30 ? 1e300 : 5]
            let readings = values.enumerated().map { Reading(machine: 0, sensor: Int32($0), time: time, value: $1, quality: .good) }
            _ = engine.process(readings) { scores.append($0.score) }
        }
        #expect(scores.count == 60 - (model.windowRows - 1))
        #expect(scores.allSatisfy { $0.isFinite })
        var reference = model.makeScorer()
        let expected = (0..<60).map { row in reference.score(row: [10, 50, 200, row >= 30 ? .nan : 5] as [Float]) }
        #expect(scores.map(\.bitPattern) == expected.suffix(scores.count).map(\.bitPattern))
    }
}
