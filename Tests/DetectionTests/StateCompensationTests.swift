#if canImport(Glibc)
import Glibc
#endif
@testable import Detection
import EdgeCore
import Testing

/// Two-state compensation: a compressor cycling between loaded and unloaded is scored on one
/// steady level per sensor, so another duty cycle is normal and a fault while loaded stands out.
@Suite("State compensation: a machine that switches between two states")
struct StateCompensationTests {
    static let names = ["loaded", "suction_pressure", "motor_current"]

    /// A compressor loaded for `loadedRows` then unloaded for `unloadedRows`, repeatedly; suction
    /// and current move to their state's level with a one-second lag. `loadedSuction` is the
    /// suction pressure while loaded (1.0 normally; lower when the inlet valve closes).
    /// `rowsPerSecond` 10 is the same machine polled every 100 ms: every lag spans ten times the rows.
    func rows(count: Int, loadedRows: Int, unloadedRows: Int, seed: UInt64, loadedSuction: Float = 1.0,
              rowsPerSecond: Float = 1) -> [Float] {
        var random = SplitMix64(seed: seed)
        var values: [Float] = []
        var suction: Float = 0.25, current: Float = 32
        for r in 0..<count {
            let loaded = r % (loadedRows + unloadedRows) < loadedRows
            suction += ((loaded ? loadedSuction : 0.25) - suction) * (1 - exp(-1 / rowsPerSecond))
            current += ((loaded ? 85 : 32) - current) * (1 - exp(-2 / rowsPerSecond))
            values += [loaded ? 1 : 0, suction + 0.003 * random.signedUnitFloat(), current * (1 + 0.003 * random.signedUnitFloat())]
        }
        return values
    }

    func alerts(_ detector: MachineDetector, _ values: [Float]) -> Int {
        var stream = detector.makeStream()
        var count = 0
        let n = Self.names.count
        for r in 0..<(values.count / n) where stream.process(row: values[(r * n)..<(r * n + n)]).alert { count += 1 }
        return count
    }

    /// Rows whose score is above the threshold (the evidence, before the alert rule's hold and cooldown).
    func rowsAbove(_ detector: MachineDetector, _ values: [Float]) -> Int {
        var stream = detector.makeStream()
        let n = Self.names.count
        return (0..<(values.count / n)).filter { r in stream.score(row: values[(r * n)..<(r * n + n)]) > detector.alertThreshold }.count
    }

    func calibrated(compensateStates: Bool) -> MachineDetector {
        var settings = CalibrationSettings()
        settings.compensateStates = compensateStates
        return Calibrator(settings: settings).calibrate(values: rows(count: 600, loadedRows: 30, unloadedRows: 30, seed: 1)[...],
                                                        sensorNames: Self.names).detector
    }

    @Test("the shifts are the two states' level differences, found from calibration alone")
    func shifts() throws {
        let detector = calibrated(compensateStates: true)
        let state = try #require(detector.state)
        #expect(state.state == 0)
        #expect(abs(state.shift[1] - 0.75) < 0.02)
        #expect(abs(state.shift[2] - 53) < 1)
        #expect(calibrated(compensateStates: false).state == nil)
    }

    @Test("another duty cycle is normal; suction 30 % low while loaded alerts, and is far less visible without the compensation")
    func dutyCycleAndFault() {
        let detector = calibrated(compensateStates: true)
        #expect(alerts(detector, rows(count: 1200, loadedRows: 45, unloadedRows: 15, seed: 2)) == 0)
        let fault = rows(count: 1200, loadedRows: 30, unloadedRows: 30, seed: 3, loadedSuction: 0.7)
        #expect(alerts(detector, fault) > 0)
        // Windows holding loaded rows are above the threshold: about half of all rows.
        let above = rowsAbove(detector, fault)
        let plain = calibrated(compensateStates: false)
        #expect(above > 400)
        #expect(rowsAbove(plain, fault) * 2 < above)
    }

    @Test("a machine whose 0/1 sensor never changed in calibration has no state compensation")
    func noSecondState() {
        let values = rows(count: 600, loadedRows: 600, unloadedRows: 1, seed: 4)
        #expect(StateCompensation.fit(values: values[...], sensorCount: 3) == nil)
    }

    @Test("the rows left out after a change of state are measured on calibration: ten times as many at 100 ms polling, and another duty cycle stays normal")
    func settlingFollowsThePollRate() throws {
        var settings = CalibrationSettings()
        settings.compensateStates = true
        let slow = try #require(calibrated(compensateStates: true).state)
        let fast = Calibrator(settings: settings).calibrate(
            values: rows(count: 6000, loadedRows: 300, unloadedRows: 300, seed: 5, rowsPerSecond: 10)[...],
            sensorNames: Self.names).detector
        let state = try #require(fast.state)
        // The suction's lag is 1 s: it is within a tenth of its step after ln 10 ≈ 2.3 s, that is
        // 2–3 rows at one row a second (the 5-row floor applies) and about 23 rows at ten rows a
        // second, × 1.5 ≈ 35 (a fixed 5-row wait leaves most of the transition in the windows).
        #expect(slow.settleRows >= 5 && slow.settleRows < 15)
        #expect(state.settleRows >= 30 && state.settleRows < 150)
        #expect(alerts(fast, rows(count: 12000, loadedRows: 450, unloadedRows: 150, seed: 6, rowsPerSecond: 10)) == 0)
    }

    /// A noisy sensor 25 % higher in the second state (a compressor's vibration: 2.0 mm/s loaded,
    /// 1.6 unloaded, noise 0.15): its states are 2.7 spreads of a single row apart, which single
    /// rows hide, but 12 spreads of a 20-row window mean, which the score compares.
    func noisyStep(count: Int, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed)
        var values: [Float] = []
        for r in 0..<count {
            let loaded = r % 600 < 300
            values += [loaded ? 1 : 0, (loaded ? 85 : 32) * (1 + 0.003 * Float(random.gaussian())),
                       (loaded ? 2.0 : 1.6) + 0.15 * Float(random.gaussian())]
        }
        return values
    }

    @Test("a noisy sensor's step between the states is judged on window means: compensated, though single rows hide it")
    func noisyStepIsCompensated() throws {
        let values = noisyStep(count: 6000, seed: 7)
        let rows = try #require(StateCompensation.fit(values: values[...], sensorCount: 3))
        let windows = try #require(StateCompensation.fit(values: values[...], sensorCount: 3, averagedRows: 20))
        // The current is compensated either way; the vibration only on window means.
        #expect(abs(rows.shift[1] - 53) < 1 && abs(windows.shift[1] - 53) < 1)
        #expect(rows.shift[2] == 0)
        #expect(abs(windows.shift[2] - 0.4) < 0.05)
        // Calibration judges it on its window rows (20 by default).
        let detector = Calibrator().calibrate(values: values[...], sensorNames: ["loaded", "motor_current", "vibration_x"]).detector
        let state = try #require(detector.state)
        #expect(abs(state.shift[2] - 0.4) < 0.05)
    }
}
