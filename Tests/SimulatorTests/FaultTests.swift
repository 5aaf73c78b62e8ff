import Testing
@testable import Simulator

/// Each fault against a fault-free twin (same seed): identical before the fault, its signature during it.
@Suite struct FaultTests {
    /// What a fault must do to a channel, comparing the faulty run with the fault-free twin.
    enum Change: Sendable, CustomStringConvertible {
        case meanUp(String, by: Double)
        case meanDown(String, by: Double)
        case noisier(String, factor: Double)

        var description: String {
            switch self {
            case .meanUp(let c, let by): return "\(c) mean up by \(by)"
            case .meanDown(let c, let by): return "\(c) mean down by \(by)"
            case .noisier(let c, let f): return "\(c) spread ×\(f)"
            }
        }
    }

    struct Case: Sendable, CustomStringConvertible {
        var machine: MachineKind
        var fault: FaultKind
        var profile: FaultProfile
        var load: Double?
        var changes: [Change]
        var description: String { "\(machine) \(fault.rawValue) \(profile)" }
    }

    static let cases: [Case] = [
        Case(machine: .pump, fault: .bearingWear, profile: .step, changes: [
            .meanUp("vibration_x", by: 1), .meanUp("vibration_y", by: 1), .meanUp("bearing_temperature", by: 3),
        ]),
        Case(machine: .pump, fault: .cavitation, profile: .step, changes: [
            .meanDown("inlet_pressure", by: 0.2), .noisier("outlet_pressure", factor: 3), .noisier("flow", factor: 2),
            .meanUp("vibration_x", by: 1.5), .meanDown("flow", by: 0),
        ]),
        Case(machine: .pump, fault: .inletValveClosing, profile: .step, changes: [
            .meanDown("flow", by: 5), .meanDown("inlet_pressure", by: 0.05), .meanDown("outlet_pressure", by: 0),
        ]),
        Case(machine: .pump, fault: .outletValveClosing, profile: .step, changes: [
            .meanDown("flow", by: 5), .meanUp("outlet_pressure", by: 0.1), .meanDown("motor_current", by: 0),
        ]),
        Case(machine: .pump, fault: .imbalance, profile: .step, changes: [
            .meanUp("vibration_x", by: 2), .meanUp("vibration_y", by: 1.5),
        ]),
        Case(machine: .pump, fault: .overheating, profile: .step, changes: [
            .meanUp("winding_temperature", by: 10), .meanUp("bearing_temperature", by: 3),
        ]),
        Case(machine: .pump, fault: .leak, profile: .step, changes: [
            .meanUp("flow", by: 2), .meanDown("outlet_pressure", by: 0.05), .meanUp("motor_current", by: 0),
        ]),
        Case(machine: .motor, fault: .bearingWear, profile: .step, changes: [
            .meanUp("vibration_x", by: 1), .meanUp("bearing_temperature", by: 3), .meanUp("torque", by: 0),
        ]),
        Case(machine: .motor, fault: .imbalance, profile: .ramp, changes: [.meanUp("vibration_x", by: 1)]),
        Case(machine: .motor, fault: .imbalance, profile: .spike, changes: [.noisier("vibration_x", factor: 3)]),
        Case(machine: .motor, fault: .overheating, profile: .step, changes: [.meanUp("winding_temperature", by: 10)]),
        Case(machine: .compressor, fault: .leak, profile: .step, load: 0.4, changes: [
            .meanUp("loaded", by: 0.1), .meanUp("motor_current", by: 0),
        ]),
        Case(machine: .compressor, fault: .inletValveClosing, profile: .step, load: 0.4, changes: [
            .meanUp("loaded", by: 0.1), .meanUp("discharge_temperature", by: 0.5),
        ]),
        Case(machine: .compressor, fault: .outletValveClosing, profile: .step, load: 0.4, changes: [
            .meanUp("discharge_temperature", by: 0.5),
        ]),
        Case(machine: .compressor, fault: .overheating, profile: .step, load: 0.4, changes: [
            .meanUp("oil_temperature", by: 5), .meanUp("discharge_temperature", by: 5),
        ]),
        Case(machine: .compressor, fault: .bearingWear, profile: .step, load: 0.4, changes: [
            .meanUp("vibration_x", by: 1), .meanUp("bearing_temperature", by: 3),
        ]),
        Case(machine: .compressor, fault: .imbalance, profile: .step, load: 0.4, changes: [.meanUp("vibration_y", by: 1)]),
    ]

    @Test(arguments: cases)
    func processFaultShowsItsSignature(_ c: Case) throws {
        let start = 1200
        let steps = 3600
        var normal = steadyMachine(c.machine, load: c.load)
        var faulty = normal
        try faulty.add(Fault(c.fault, startSeconds: Double(start), durationSeconds: 2400, severity: 1, profile: c.profile, rampSeconds: 600))
        let a = normal.generate(steps: steps)
        let b = faulty.generate(steps: steps)

        // Identical before the fault, labelled exactly inside it.
        #expect(bitIdentical(a, b, rows: 0..<start))
        #expect(!a.anomaly.contains(true))
        let labelled = (0..<steps).filter { b.anomaly[$0] }
        if c.profile == .spike {
            #expect(labelled.count > 200 && labelled.count < 600)
        } else {
            #expect(labelled.first == start + (c.profile == .ramp ? 1 : 0))
            #expect(labelled.count >= steps - start - 1)
        }
        let window = (start + 1200)..<steps
        for change in c.changes {
            switch change {
            case .meanUp(let name, let by):
                #expect(mean(b, name, window) > mean(a, name, window) + by, "\(change)")
            case .meanDown(let name, let by):
                #expect(mean(b, name, window) < mean(a, name, window) - by, "\(change)")
            case .noisier(let name, let factor):
                #expect(standardDeviation(b, name, window) > factor * standardDeviation(a, name, window), "\(change)")
            }
            // The channel is among those the label says show the fault.
            let name: String
            switch change { case .meanUp(let n, _), .meanDown(let n, _), .noisier(let n, _): name = n }
            if let column = b.channels.firstIndex(where: { $0.name == name }), ["vibration_x", "flow", "oil_temperature"].contains(name) {
                let row = window.first { b.anomaly[$0] } ?? window.lowerBound
                #expect(b.faultyChannelMask[row] & (1 << UInt64(column)) != 0, "\(name) not labelled")
            }
        }
    }

    @Test func faultsThatDoNotApplyAreRefusedWithTheAlternatives() {
        var motor = steadyMachine(.motor)
        #expect(throws: FaultError.self) { try motor.add(Fault(.cavitation, startSeconds: 0)) }
        do {
            try motor.add(Fault(.leak, startSeconds: 0))
            Issue.record("a leak on a fan motor was accepted")
        } catch {
            #expect(error.message.contains("bearing-wear"))
        }
        #expect(throws: FaultError.self) { try motor.add(Fault(.sensorStuck, startSeconds: 0, channel: "flow")) }
    }

    @Test func stuckSensorHoldsItsLastValue() throws {
        var normal = steadyMachine(.pump)
        var faulty = normal
        try faulty.add(Fault(.sensorStuck, startSeconds: 600, durationSeconds: 600, channel: "flow"))
        let a = normal.generate(steps: 1800)
        let b = faulty.generate(steps: 1800)
        let flow = b.column(named: "flow")!
        #expect(Set(flow[600..<1200]).count == 1)
        #expect(flow[600] == flow[599])
        #expect(Set(a.column(named: "flow")![600..<1200]).count > 100)
        // Afterwards it follows the process again; other channels never changed.
        #expect(Array(flow[1200...]) == Array(a.column(named: "flow")![1200...]))
        #expect(b.column(named: "outlet_pressure")! == a.column(named: "outlet_pressure")!)
        let column = b.channels.firstIndex { $0.name == "flow" }!
        #expect(b.faultyChannelMask[700] == 1 << UInt64(column))
    }

    @Test func driftingSensorWalksAway() throws {
        var normal = steadyMachine(.motor)
        var faulty = normal
        try faulty.add(Fault(.sensorDrift, startSeconds: 0, severity: 1, profile: .step, channel: "winding_temperature"))
        let a = normal.generate(steps: 7200)
        let b = faulty.generate(steps: 7200)
        let early = mean(b, "winding_temperature", 0..<300) - mean(a, "winding_temperature", 0..<300)
        let late = mean(b, "winding_temperature", 6900..<7200) - mean(a, "winding_temperature", 6900..<7200)
        // 0.3 × typical magnitude (40 °C) per hour: about 24 °C after two hours.
        #expect(early < 1.5)
        #expect(late > 18 && late < 30)
    }

    @Test func spikingSensorHasRareLargeOutliers() throws {
        var normal = steadyMachine(.compressor, load: 0.4)
        var faulty = normal
        try faulty.add(Fault(.sensorSpike, startSeconds: 0, severity: 1, channel: "oil_temperature"))
        let a = normal.generate(steps: 3600).column(named: "oil_temperature")!
        let b = faulty.generate(steps: 3600).column(named: "oil_temperature")!
        let spikes = zip(a, b).filter { abs($0 - $1) > 10 }.count
        #expect(spikes > 100 && spikes < 300)
    }

    @Test(arguments: [0.5, 1.0])
    func droppedOutSensorIsMissing(severity: Double) throws {
        var machine = steadyMachine(.pump)
        try machine.add(Fault(.sensorDropout, startSeconds: 0, severity: severity, channel: "vibration_y"))
        let s = machine.generate(steps: 2000)
        let missing = s.column(named: "vibration_y")!.filter(\.isNaN).count
        #expect(abs(Double(missing) / 2000 - severity) < 0.05)
        #expect(!s.column(named: "vibration_x")!.contains { $0.isNaN })
    }

    @Test func injectedFaultStartsNowAndClearStopsIt() throws {
        var machine = steadyMachine(.pump)
        for _ in 0..<100 { _ = machine.step() }
        try machine.inject(.imbalance, severity: 1, profile: .step)
        let first = machine.step()
        #expect(first.label.anomaly)
        #expect(machine.faults[0].startSeconds == 100)
        for _ in 0..<10 { _ = machine.step() }
        machine.clearFaults()
        #expect(!machine.step().label.anomaly)
    }

    @Test func randomFaultsLeaveTheStartCleanAndDifferPerMachine() {
        var fleet = Fleet(seed: 9, count: 6)
        fleet.addRandomFaults(count: 3, hours: 4)
        for machine in fleet.machines {
            #expect(machine.faults.count == 3)
            #expect(machine.faults.allSatisfy { $0.startSeconds >= 3600 && $0.endSeconds <= 4 * 3600 })
        }
        let kinds = Set(fleet.machines.flatMap { $0.faults.map(\.kind) })
        #expect(kinds.count >= 4)
    }
}
