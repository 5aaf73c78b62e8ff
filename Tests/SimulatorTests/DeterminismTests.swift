import Testing
@testable import Simulator

@Suite struct DeterminismTests {
    @Test func sameSeedGivesBitIdenticalSeries() {
        var a = Fleet(seed: 123, count: 3)
        var b = Fleet(seed: 123, count: 3)
        a.addRandomFaults(count: 2, hours: 2)
        b.addRandomFaults(count: 2, hours: 2)
        let sa = a.generate(hours: 2)
        let sb = b.generate(hours: 2)
        for (x, y) in zip(sa, sb) {
            #expect(bitIdentical(x, y))
            #expect(x.faultMask == y.faultMask && x.faultyChannelMask == y.faultyChannelMask)
            #expect(x.faults == y.faults)
        }
        #expect(sa.contains { $0.anomaly.contains(true) })
    }

    @Test func differentSeedsGiveDifferentMachines() {
        var a = Fleet(seed: 1, count: 3)
        var b = Fleet(seed: 2, count: 3)
        let sa = a.generate(hours: 0.1)
        let sb = b.generate(hours: 0.1)
        for (x, y) in zip(sa, sb) { #expect(x.values != y.values) }
        #expect(a.machines[0].ratingSummary != b.machines[0].ratingSummary)
    }

    @Test func aMachineDoesNotDependOnTheFleetSize() {
        var small = Fleet(seed: 5, count: 3)
        var large = Fleet(seed: 5, count: 9)
        #expect(large.machines.map(\.id).prefix(4) == ["pump-1", "motor-1", "compressor-1", "pump-2"])
        #expect(bitIdentical(small.machines[2].generate(steps: 500), large.machines[2].generate(steps: 500)))
    }

    @Test func fleetsVaryInSizeNoiseAndSensorCount() {
        var options = MachineOptions()
        options.channels = .random(minimum: 4)
        let fleet = Fleet(seed: 77, count: 15, options: options)
        let counts = Set(fleet.machines.map(\.channels.count))
        #expect(counts.count >= 3)
        #expect(fleet.machines.allSatisfy { $0.channels.count >= 4 })
        #expect(Set(fleet.machines.map(\.ratingSummary)).count == 15)
    }

    @Test func tenthOfASecondStepsAreTimedAndStable() {
        var options = MachineOptions()
        options.stepMilliseconds = 100
        var machine = SimulatedMachine(kind: .compressor, id: "c", seed: 4, options: options)
        let s = machine.generate(hours: 0.5)
        #expect(s.rowCount == 18_000)
        #expect(s.time(ofRow: 10).millisecondsSinceEpoch - s.time(ofRow: 0).millisecondsSinceEpoch == 1000)
        #expect(!s.values.contains { !$0.isFinite })
        let receiver = s.column(named: "receiver_pressure")!
        #expect(receiver.max()! < 10 && receiver.min()! > 4)
    }

    @Test func generatesMuchFasterThanRealTime() {
        var fleet = Fleet(seed: 1, count: 3)
        let clock = ContinuousClock()
        let elapsed = clock.measure { _ = fleet.generate(hours: 1) }
        // 3 machine-hours must take far less than a second even in a debug build on a loaded machine.
        #expect(elapsed < .seconds(10))
    }
}
