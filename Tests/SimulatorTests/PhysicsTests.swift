import Testing
@testable import Simulator

/// Physical sanity of each machine kind: the couplings a plant engineer would expect.
@Suite struct PhysicsTests {
    @Test func pumpFlowFallsWhenInletValveCloses() throws {
        var normal = steadyMachine(.pump)
        var faulty = normal
        try faulty.add(Fault(.inletValveClosing, startSeconds: 600, severity: 0.8, profile: .step))
        let a = normal.generate(steps: 1200)
        let b = faulty.generate(steps: 1200)
        let after = 900..<1200
        #expect(mean(b, "flow", after) < 0.85 * mean(a, "flow", after))
        #expect(mean(b, "inlet_pressure", after) < mean(a, "inlet_pressure", after) - 0.05)
        // With less flow the system needs less head: the outlet pressure falls too.
        #expect(mean(b, "outlet_pressure", after) < mean(a, "outlet_pressure", after))
        #expect(mean(b, "motor_current", after) < mean(a, "motor_current", after))
    }

    @Test func pumpOutletValveRaisesOutletPressureAndCutsFlow() throws {
        var normal = steadyMachine(.pump)
        var faulty = normal
        try faulty.add(Fault(.outletValveClosing, startSeconds: 600, severity: 0.8, profile: .step))
        let a = normal.generate(steps: 1200)
        let b = faulty.generate(steps: 1200)
        let after = 900..<1200
        #expect(mean(b, "flow", after) < 0.85 * mean(a, "flow", after))
        #expect(mean(b, "outlet_pressure", after) > mean(a, "outlet_pressure", after) + 0.1)
        // Less suction loss: the inlet pressure rises a little rather than falling.
        #expect(mean(b, "inlet_pressure", after) >= mean(a, "inlet_pressure", after))
    }

    @Test(arguments: [MachineKind.pump, .motor])
    func currentAndVibrationRiseWithSpeed(kind: MachineKind) {
        let range = steadyMachine(kind).loadRange
        var low = steadyMachine(kind, load: range.lowerBound)
        var high = steadyMachine(kind, load: range.upperBound)
        let a = low.generate(steps: 600)
        let b = high.generate(steps: 600)
        let window = 300..<600
        #expect(mean(b, "motor_current", window) > 1.2 * mean(a, "motor_current", window))
        #expect(mean(b, "vibration_x", window) > mean(a, "vibration_x", window))
        #expect(mean(b, "speed", window) > mean(a, "speed", window))
        // Same grid, more current: the supply voltage sags.
        #expect(mean(b, "supply_voltage", window) < mean(a, "supply_voltage", window))
    }

    @Test func pumpFlowFollowsTheAffinityLaws() {
        var low = steadyMachine(.pump, load: 0.7)
        var high = steadyMachine(.pump, load: 1.0)
        let a = low.generate(steps: 300)
        let b = high.generate(steps: 300)
        let w = 150..<300
        // Head ∝ speed²: the pump's pressure rise grows faster than speed.
        let riseLow = mean(a, "outlet_pressure", w) - mean(a, "inlet_pressure", w)
        let riseHigh = mean(b, "outlet_pressure", w) - mean(b, "inlet_pressure", w)
        #expect(riseHigh / riseLow > 1.0 / 0.7)
        #expect(mean(b, "flow", w) > mean(a, "flow", w))
    }

    @Test(arguments: [MachineKind.pump, .motor])
    func bearingTemperatureLagsALoadStep(kind: MachineKind) {
        var machine = steadyMachine(kind)
        let range = machine.loadRange
        machine.setOperatingPoint(running: true, load: range.lowerBound)
        let before = machine.generate(steps: 3600)
        machine.setOperatingPoint(running: true, load: range.upperBound)
        let after = machine.generate(steps: 7200)
        let t0 = mean(before, "bearing_temperature", 3540..<3600)
        let tEnd = mean(after, "bearing_temperature", 7140..<7200)
        let t60 = mean(after, "bearing_temperature", 50..<70)
        let i0 = mean(before, "motor_current", 3540..<3600)
        let iEnd = mean(after, "motor_current", 7140..<7200)
        let i60 = mean(after, "motor_current", 50..<70)
        #expect(tEnd > t0 + 1)
        // The current has (nearly) arrived a minute after the step; the bearing has barely started.
        #expect((i60 - i0) / (iEnd - i0) > 0.9)
        #expect((t60 - t0) / (tEnd - t0) < 0.3)
    }

    @Test func compressorCyclesBetweenLoadAndUnload() {
        var machine = steadyMachine(.compressor)
        machine.setOperatingPoint(running: true, load: 0.5)
        let s = machine.generate(steps: 3600)
        let loaded = s.column(named: "loaded")!
        var transitions = 0
        for i in 1..<loaded.count where loaded[i] != loaded[i - 1] { transitions += 1 }
        #expect(transitions >= 8)
        let receiver = s.column(named: "receiver_pressure")!
        #expect(receiver.max()! - receiver.min()! > 0.4)
        #expect(receiver.max()! < 10)
        let loadedRows = (0..<s.rowCount).filter { loaded[$0] == 1 && $0 > 10 }
        let unloadedRows = (0..<s.rowCount).filter { loaded[$0] == 0 && $0 > 10 }
        func avg(_ name: String, _ rows: [Int]) -> Double {
            let column = s.column(named: name)!
            return rows.map { Double(column[$0]) }.reduce(0, +) / Double(rows.count)
        }
        #expect(avg("motor_current", loadedRows) > 1.8 * avg("motor_current", unloadedRows))
        #expect(avg("suction_pressure", loadedRows) > avg("suction_pressure", unloadedRows) + 0.4)
        #expect(avg("discharge_pressure", loadedRows) > avg("discharge_pressure", unloadedRows) + 2)
    }

    @Test func compressorLoadsMoreWhenDemandRises() {
        var low = steadyMachine(.compressor, load: 0.3)
        var high = steadyMachine(.compressor, load: 0.7)
        let a = low.generate(steps: 3600)
        let b = high.generate(steps: 3600)
        let w = 600..<3600
        #expect(mean(b, "loaded", w) > mean(a, "loaded", w) + 0.2)
        #expect(mean(b, "motor_current", w) > mean(a, "motor_current", w))
    }

    @Test(arguments: MachineKind.allCases)
    func normalOperationHasStepsAndStopsButNoLabels(kind: MachineKind) {
        var options = MachineOptions()
        options.meanSecondsBetweenChanges = 900
        var stops = 0
        var changes = 0
        var labelled = 0
        // Over a few seeds the plant must both change setpoints and stop machines.
        for seed in UInt64(1)...4 {
            var machine = SimulatedMachine(kind: kind, id: "m", seed: seed, options: options)
            var last = machine.operatingPoint
            for _ in 0..<(6 * 3600) {
                let sample = machine.step()
                if sample.label.anomaly { labelled += 1 }
                let now = machine.operatingPoint
                if last.running && !now.running { stops += 1 }
                if now.running && last.running && now.load != last.load { changes += 1 }
                last = now
            }
        }
        #expect(stops >= 1)
        #expect(changes >= 8)
        #expect(labelled == 0)
    }

    @Test func stoppedMachinesAreQuiet() {
        var machine = steadyMachine(.pump)
        machine.setOperatingPoint(running: false, load: 0)
        let s = machine.generate(steps: 600)
        let w = 300..<600
        #expect(mean(s, "flow", w) < 1)
        #expect(mean(s, "motor_current", w) < 0.5)
        #expect(mean(s, "running", w) == 0)
        #expect(abs(mean(s, "outlet_pressure", w) - mean(s, "inlet_pressure", w)) < 0.1)
    }

    @Test func ambientFollowsTheDay() {
        var options = MachineOptions()
        options.channels = .all
        options.automaticOperation = false
        var machine = SimulatedMachine(kind: .motor, id: "m", seed: 3, options: options)
        let s = machine.generate(hours: 24)
        let hour = 3600
        // 15:00 UTC is warmer than 03:00 UTC (daily amplitude ≥ 2 °C, weather drift aside).
        #expect(mean(s, "ambient_temperature", 15 * hour..<(15 * hour + 600)) > mean(s, "ambient_temperature", 3 * hour..<(3 * hour + 600)))
    }
}
