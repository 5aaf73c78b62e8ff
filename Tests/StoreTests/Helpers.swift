import Configuration
import EdgeCore
import Foundation
import TestSupport

@testable import Store

/// A configuration with `machines` machines of `sensors` sensors each (`m0`… / `s0`…).
func makeConfiguration(machines: Int, sensors: Int, pollInterval: Duration = .seconds(1)) -> AgentConfiguration {
    let bus = BusConfiguration(name: "bus", transport: .tcp(host: "127.0.0.1", port: 502))
    let list = (0..<machines).map { m in
        var machine = MachineConfiguration(
            id: "m\(m)",
            sensors: (0..<sensors).map {
                var sensor = SensorConfiguration(name: "s\($0)", bus: "bus", address: $0)
                sensor.unit = "bar"
                return sensor
            })
        machine.pollInterval = pollInterval
        return machine
    }
    return AgentConfiguration(sourcePath: "test.conf", agent: AgentSettings(), buses: [bus], machines: list)
}

/// A temporary directory with a database path in it; removed by `remove()`.
struct TestDatabase {
    let directory: TemporaryDirectory
    var path: String { Store.databasePath(dataDirectory: directory.path) }

    init() throws { directory = try TemporaryDirectory(prefix: "store-test") }
    func remove() { directory.remove() }
}

/// One poll of every sensor of machine `machine` at `time`.
func poll(machine: Int32, sensors: Int, time: Int64, value: (Int) -> Double = { Double($0) }) -> [Reading] {
    (0..<sensors).map {
        Reading(machine: machine, sensor: Int32($0), time: Timestamp(millisecondsSinceEpoch: time), value: value($0), quality: .good)
    }
}

/// Runs a query returning one integer on a fresh connection.
func queryInteger(_ path: String, _ sql: String) throws -> Int64? {
    try SQLiteConnection(path: path, mode: .readOnly).integer(sql)
}

/// A clock fixed at a wall-clock time.
struct FixedClock: AgentClock {
    let time: Timestamp
    func now() -> Timestamp { time }
    func monotonicNanoseconds() -> UInt64 { SystemClock.monotonicNanoseconds() }
}

