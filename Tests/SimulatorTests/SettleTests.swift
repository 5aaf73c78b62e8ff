import Simulator
import Testing

/// A machine moved to another operating point is still cooling or warming toward it for tens of
/// minutes; `settle()` starts it in thermal steady state there instead, without moving any random
/// stream. `edge-bench vibration-faults` used to calibrate pumps and fan motors inside that
/// transient (pump seed 5's winding fell 8.9 °C over its 30 minutes, motor seed 5's 13.0 °C),
/// which hid their overheating (see docs/detection.md, "Pumps' and fan motors' overheating").
@Suite struct SettleTests {
    /// The bench's operating point: the middle of the machine's load range, 1 s steps, all channels.
    static func machine(_ kind: MachineKind, seed: UInt64) -> SimulatedMachine {
        var options = MachineOptions()
        options.automaticOperation = false
        options.channels = .all
        var machine = SimulatedMachine(kind: kind, id: "m", seed: seed, options: options)
        let range = machine.loadRange
        machine.setOperatingPoint(running: true, load: (range.lowerBound + range.upperBound) / 2)
        return machine
    }

    /// Per minute, the mean of `channel` over `minutes` minutes of 1 s steps.
    static func minuteMeans(_ machine: inout SimulatedMachine, _ channel: String, minutes: Int) throws -> [Double] {
        let c = try #require(machine.channelIndex(named: channel))
        var row: [Double] = []
        return (0..<minutes).map { _ in
            var sum = 0.0
            for _ in 0..<60 {
                _ = machine.step(into: &row)
                sum += row[c]
            }
            return sum / 60
        }
    }

    @Test("a settled machine's winding holds its level; moved without settling it drifts for half an hour",
          arguments: [(MachineKind.pump, UInt64(5)), (.motor, 5)])
    func settledWindingHoldsItsLevel(kind: MachineKind, seed: UInt64) throws {
        var moved = Self.machine(kind, seed: seed)
        var settled = moved
        settled.settle()
        #expect(settled.elapsedSeconds == moved.elapsedSeconds)

        let drifting = try Self.minuteMeans(&moved, "winding_temperature", minutes: 30)
        let steady = try Self.minuteMeans(&settled, "winding_temperature", minutes: 30)
        // Moved only: many °C toward the new level in half an hour (17.0 and 25.6 °C measured).
        #expect(abs(drifting[29] - drifting[0]) > 5, "unsettled: \(drifting[0]) → \(drifting[29]) °C")
        // Settled: what the ambient does in half an hour (about 1 °C or less).
        #expect(abs(steady[29] - steady[0]) < 1.5, "settled: \(steady[0]) → \(steady[29]) °C")

        // The surroundings and the noise are the same draws: the ambient is identical minute by minute.
        var a = Self.machine(kind, seed: seed)
        var b = a
        b.settle()
        #expect(try Self.minuteMeans(&a, "ambient_temperature", minutes: 30) == Self.minuteMeans(&b, "ambient_temperature", minutes: 30))

        // Where settling put it is where the unsettled machine ends up after three more hours.
        let late = try Self.minuteMeans(&moved, "winding_temperature", minutes: 180)
        let lateSettled = try Self.minuteMeans(&settled, "winding_temperature", minutes: 180)
        #expect(abs(late[179] - lateSettled[179]) < 0.5, "after 3.5 h: \(late[179]) vs settled \(lateSettled[179]) °C")
    }
}
