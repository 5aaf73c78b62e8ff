import Detection
import EdgeCore
import Foundation
import Testing

/// `CalibrationDrift` finds a sensor still trending at the end of the calibration rows (a machine
/// calibrated while it warms up) and leaves alone one that wanders both ways or rose and settled.
@Suite struct CalibrationDriftTests {
    /// `minutes` of 1 s rows: column 0 is `temperature(seconds)` plus noise (σ 0.3), column 1 a
    /// settled pressure (7 bar, σ 0.05), column 2 a state sensor switching every 40 s.
    static func table(minutes: Double, seed: UInt64 = 1, temperature: (Double) -> Double) -> SensorTable {
        var random = SplitMix64(seed: seed)
        var times: [String] = [], values: [Float] = []
        let start: Int64 = 1_800_000_000_000
        for r in 0..<Int(minutes * 60) {
            times.append(Timestamp(millisecondsSinceEpoch: start + Int64(r) * 1000).iso8601)
            values += [Float(temperature(Double(r)) + 0.3 * random.gaussian()), Float(7 + 0.05 * random.gaussian()),
                       (r / 40) % 2 == 0 ? 1 : 0]
        }
        return SensorTable(sensorNames: ["winding_temperature", "pressure", "loaded"], timestamps: times, values: values)
    }

    /// A first-order thermal lag from `cold` toward `warm` with time constant `tau` seconds.
    static func warming(from cold: Double, to warm: Double, tau: Double) -> (Double) -> Double {
        { t in warm - (warm - cold) * exp(-t / tau) }
    }

    @Test("a machine calibrated in its first 10 minutes after a cold start is still warming")
    func warmingWarns() throws {
        // Winding 20 → 80 °C with τ = 15 min: 29 °C of rise in the 10 minutes, still 2 °C/min.
        let drifts = CalibrationDrift.measure(table: Self.table(minutes: 10, temperature: Self.warming(from: 20, to: 80, tau: 900)),
                                              skipping: [2], secondsPerRow: 1)
        #expect(drifts.map(\.column) == [0, 1])
        let winding = try #require(drifts.first)
        #expect(winding.isTrending())
        #expect(winding.change > 20 && winding.change < 30)
        // The exact slope at 9 min (the last fifth's middle) is 60/15 × e^(-9/15) = 2.2 °C/min.
        #expect(abs(winding.endRatePerMinute - 2.2) < 0.3, "\(winding.endRatePerMinute)")
        #expect(!drifts[1].isTrending())
        let text = try #require(CalibrationDrift.warning(machine: "pump-1", drifts: drifts, sensorNames: ["winding_temperature", "pressure", "loaded"],
                                                         units: ["°C", "bar", ""], lastRowTime: Timestamp(iso8601: "2026-11-29T08:10:00Z"),
                                                         fromBuffer: true))
        #expect(text.hasPrefix("pump-1 was still settling at the end of calibration (warming up or cooling down): winding_temperature rose "), "\(text)")
        #expect(text.contains(" °C over the 10 min and was still rising ") && text.contains(" °C/min at the end"), "\(text)")
        #expect(!text.contains("pressure"))
        #expect(text.contains("edge-agent calibrate --machine pump-1 --from 2026-11-29T09:10:00.000Z --until 2026-11-29T09:40:00.000Z"), "\(text)")
        #expect(text.contains("expect alerts on winding_temperature while it does"))
    }

    @Test("a machine cooling down (fell, still falling) warns too")
    func coolingWarns() throws {
        let drifts = CalibrationDrift.measure(table: Self.table(minutes: 20, temperature: Self.warming(from: 90, to: 40, tau: 1200)),
                                              skipping: [2], secondsPerRow: 1)
        #expect(drifts.first?.isTrending() == true)
        let text = try #require(CalibrationDrift.warning(machine: "m", drifts: drifts, sensorNames: ["winding_temperature", "pressure", "loaded"],
                                                         units: ["°C", "bar", ""], lastRowTime: nil, fromBuffer: false))
        #expect(text.contains("winding_temperature fell ") && text.contains("still falling "), "\(text)")
        #expect(text.contains("give --input a stretch recorded after it had run an hour or more"))
    }

    @Test("a settled machine whose sensors wander both ways does not warn", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func settledDoesNotWarn(seed: UInt64) {
        // Noise plus a slow wander of ±0.4 °C with a 7-minute period.
        let drifts = CalibrationDrift.measure(table: Self.table(minutes: 10, seed: seed) { t in 75 + 0.4 * sin(2 * .pi * t / 420) },
                                              skipping: [2], secondsPerRow: 1)
        #expect(drifts.count == 2)
        #expect(!drifts.contains { $0.isTrending() }, "\(drifts.map { ($0.changeSpreads, $0.endChangeSpreads) })")
        #expect(CalibrationDrift.warning(machine: "m", drifts: drifts, sensorNames: ["a", "b", "c"], units: ["", "", ""],
                                         lastRowTime: nil, fromBuffer: true) == nil)
    }

    @Test("a sensor that rose and settled early in the calibration does not warn")
    func roseAndSettledDoesNotWarn() throws {
        // Warm within the first 6 minutes (τ = 2 min) of 15: a large change, no movement at the end.
        let drifts = CalibrationDrift.measure(table: Self.table(minutes: 15, temperature: Self.warming(from: 30, to: 70, tau: 120)),
                                              skipping: [2], secondsPerRow: 1)
        let winding = try #require(drifts.first)
        #expect(winding.changeNoises > CalibrationDrift.Rule.standard.changeNoises, "\(winding.changeNoises)")
        #expect(!winding.isTrending(), "\(winding.endChangeSpreads)")
    }

    @Test("state sensors are skipped and a calibration too short to judge gives nothing")
    func skipsStatesAndShortData() {
        let warming = Self.warming(from: 20, to: 80, tau: 900)
        #expect(CalibrationDrift.measure(table: Self.table(minutes: 10, temperature: warming), skipping: [2], secondsPerRow: 1)
            .allSatisfy { $0.column != 2 })
        // 90 rows: a fifth is 18 rows, under a window's 20.
        #expect(CalibrationDrift.measure(table: Self.table(minutes: 1.5, temperature: warming), secondsPerRow: 1).isEmpty)
    }
}
