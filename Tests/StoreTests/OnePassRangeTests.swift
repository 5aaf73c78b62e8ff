import EdgeCore
import Testing
import TestSupport

@testable import Store

/// `forEachRow(machines:…)`: one pass over a range gives every machine asked for exactly its
/// own rows, as plain arithmetic over what was written says, whatever else the range holds.
@Suite struct OnePassRangeTests {
    /// Machines of 3, 4 and 5 sensors (12 readings per time: a 20,000-reading chunk ends inside
    /// a time); machine 0 polled every 100 ms, machine 1 every 150 ms, machine 2 every 100 ms
    /// from 50 ms, each missing some sensors now and then. Value: time + 0.01 × sensor + machine.
    static let sensors = [3, 4, 5]
    static let endMilliseconds: Int64 = 900_000

    static func written(machine m: Int, time t: Int64) -> [Double]? {
        switch m {
        case 0: guard t % 100 == 0 else { return nil }
        case 1: guard t % 150 == 0 else { return nil }
        default: guard t % 100 == 50 else { return nil }
        }
        return (0..<sensors[m]).map { s in
            // Every 7th poll of a machine lacks its last sensor; every 11th has it bad (NULL).
            (t / 10 + Int64(m)) % 7 == 0 && s == sensors[m] - 1 ? .nan : Double(t) + 0.01 * Double(s) + Double(m)
        }
    }

    @Test(arguments: [[0, 1, 2], [0, 2], [2, 0], [1]])
    func eachMachineGetsItsOwnRowsInOnePass(machines: [Int32]) async throws {
        let db = try TestDatabase()
        defer { db.remove() }
        let configuration = makeConfiguration(machines: 3, sensors: 5)
        var trimmed = configuration
        for m in 0..<3 { trimmed.machines[m].sensors = Array(configuration.machines[m].sensors.prefix(Self.sensors[m])) }
        let mapping = try BufferDatabase(path: db.path).registerSensors(trimmed)
        let writer = try ReadingWriter(path: db.path, mapping: mapping)
        for t in stride(from: Int64(0), to: Self.endMilliseconds, by: 50) {
            var cycle: [Reading] = []
            for m in 0..<3 {
                guard let values = Self.written(machine: m, time: t) else { continue }
                for (s, value) in values.enumerated() {
                    if value.isNaN, (t / 10 + Int64(m)) % 11 != 0 { continue }
                    cycle.append(Reading(machine: Int32(m), sensor: Int32(s), time: Timestamp(millisecondsSinceEpoch: t),
                                         value: value, quality: value.isNaN ? .timeout : .good))
                }
            }
            _ = writer.append(cycle)
        }
        #expect(await writer.committed(within: .seconds(60)))
        _ = writer.close()

        let reader = try BufferDatabase(path: db.path, access: .readOnly)
        let from: Int64 = 1_000, until: Int64 = 890_000
        var seen: [[(Int64, [Double])]] = Array(repeating: [], count: machines.count)
        let rows = try reader.forEachRow(
            machines: machines, mapping: mapping, from: Timestamp(millisecondsSinceEpoch: from),
            until: Timestamp(millisecondsSinceEpoch: until)
        ) { k, time, values in
            seen[k].append((time.millisecondsSinceEpoch, Array(values)))
        }
        for (k, machine) in machines.enumerated() {
            let expected = stride(from: from, to: until, by: 50).compactMap { t in
                Self.written(machine: Int(machine), time: t).map { (t, $0) }
            }
            #expect(seen[k].count == expected.count, "machine \(machine)")
            #expect(seen[k].map(\.0) == expected.map(\.0), "machine \(machine): times")
            let wrong = zip(seen[k], expected).filter { a, b in
                a.1.count != b.1.count || zip(a.1, b.1).contains { x, y in !(x == y || x.isNaN && y.isNaN) }
            }.count
            #expect(wrong == 0, "machine \(machine): rows with other values than written")
        }
        #expect(rows == seen.reduce(0) { $0 + $1.count })
        // More readings than one chunk holds: the cuts inside a time were exercised.
        #expect(machines.indices.reduce(0) { $0 + seen[$1].count * Self.sensors[Int(machines[$1])] } > 20_000)
    }
}
